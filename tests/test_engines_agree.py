"""cadCAD and the batched engine give the same numbers; cadCAD Monte Carlo runs are independent and
identical in single- and multi-process modes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.analysis import ensembles
from models.exogenous import run_seed_sequence, sample_exogenous
from models.params import with_overrides
from models.sd.batch import run_batch
from models.sd.cadcad_model import run_cadcad

# (path, low, high): ranges wide enough to move the economy between growth and collapse
RANGES = [
    ("market.liquidity_usd", 3e4, 4e5),
    ("market.float_half_life_days", 0.5, 30.0),
    ("providers.capex_usd", 200.0, 1200.0),
    ("providers.opex_usd_per_year", 50.0, 500.0),
    ("providers.sell_share", 0.1, 0.9),
    ("providers.inventory_sale_rate_per_year", 0.0, 5.0),
    ("payment.service_price_usd", 0.03, 0.5),
    ("emission.initial_tokens_per_year", 2.5e5, 2e6),
    ("speculators.intensity_of_choice", 0.0, 20.0),
    ("speculators.trend_strength", 0.0, 4.0),
    # Economy v2 part 2: supply chain, heterogeneity, resale, stake and pledge, space
    ("providers.production_units_per_day", 0.2, 5.0),
    ("providers.patience_dispersion", 0.0, 1.5),
    ("providers.forward_looking_share", 0.0, 1.0),
    ("providers.resale_value_share", 0.0, 0.8),
    ("stake.tokens_per_provider", 100.0, 5000.0),
    ("stake.pledge_reward_days", 0.0, 60.0),
    ("stake.commitment_days", 0.0, 540.0),
    ("stake.termination_fee_days", 0.0, 140.0),
    ("stake.slash_rate_per_year", 0.0, 5.0),
    ("space.coverage_radius_km", 0.5, 4.0),
]
# the forced seller must hold enough to crash the deepest pool (1e7 tokens) by 80%: about 1.24e7 tokens
CRASH_ACTOR = {"shocks.0.inventory_tokens": 1.5e7, "token.initial_supply": 5e7}


def random_points(base, n: int, seed: int):
    rng = np.random.default_rng(seed)
    points = []
    for _ in range(n):
        overrides = {path: float(rng.uniform(lo, hi)) for path, lo, hi in RANGES}
        overrides["payment.mode"] = "bme" if rng.random() < 0.5 else "fee"
        overrides["treasury.policy"] = str(rng.choice(["hold", "buyback_burn", "add_liquidity"]))
        overrides["stake.mode"] = str(rng.choice(["none", "fixed", "pledge"]))
        overrides["space.enabled"] = bool(rng.random() < 0.5)
        overrides["providers.anticipate_schedule"] = bool(rng.random() < 0.5)
        points.append(with_overrides(base, overrides))
    return points


def max_relative_difference(a: pd.DataFrame, b: pd.DataFrame) -> float:
    assert list(a.columns) == list(b.columns) and len(a) == len(b)
    return ensembles.max_relative_difference(a, b)


def test_cadcad_equals_batch_on_20_random_points_with_a_crash(crash_scenario):
    base = with_overrides(crash_scenario, {"simulation.steps": 104, **CRASH_ACTOR})
    points = random_points(base, 20, seed=2024)
    exos = [sample_exogenous(p, run_seed_sequence(99, i)) for i, p in enumerate(points)]
    cad = run_cadcad(points, exos)  # cadCAD's own parameter sweep over the 20 points
    bat = run_batch(points, exos)
    assert max_relative_difference(cad, bat) < 1e-9
    # the crash (step 65) is in every run and the points really differ
    start = int(crash_scenario.shocks[0].start_day // crash_scenario.simulation.dt_days)
    assert (cad[cad.step == start + 1].crash_achieved > 0.8 - 1e-6).all()
    assert (cad[cad.step == start + 1].price.to_numpy() < cad[cad.step == start].price.to_numpy()).all()
    assert cad.groupby("run").providers.last().nunique() == 20
    # the new mechanisms are exercised: stake locked and unbonding, a binding production queue, coverage < 1
    assert (cad.locked > 0).any() and (cad.unbonding > 0).any() and (cad.order_backlog > 1).any()
    assert (cad.coverage < 1).any() and (cad.exits > 0).any()


def test_cadcad_monte_carlo_runs_differ_and_match_batch(crash_scenario):
    sc = with_overrides(crash_scenario, {"simulation.steps": 80})
    exos = [sample_exogenous(sc, run_seed_sequence(5, 0, r)) for r in range(4)]
    cad = run_cadcad([sc], exos, replicates=4)
    finals = cad.groupby("run").price.last()
    assert finals.nunique() == 4
    assert max_relative_difference(cad, run_batch([sc] * 4, exos)) < 1e-9


@pytest.mark.slow
def test_cadcad_single_and_multi_process_give_the_same_numbers(crash_scenario):
    sc = with_overrides(crash_scenario, {"simulation.steps": 40, "shocks.0.start_day": 20 * 7})
    sc2 = with_overrides(sc, {"providers.capex_usd": 800.0})
    exos = [sample_exogenous(s, run_seed_sequence(8, p, r)) for p, s in enumerate([sc, sc2]) for r in range(2)]
    single = run_cadcad([sc, sc2], exos, replicates=2, mode="single")
    multi = run_cadcad([sc, sc2], exos, replicates=2, mode="multi")
    pd.testing.assert_frame_equal(single, multi)
    assert single.groupby("run").price.last().nunique() == 4
