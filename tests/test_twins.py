"""Twin-relative regimes on constructed pairs and edge cases (issue 11, item 1)."""

from __future__ import annotations

import numpy as np
import pytest

from models import engines
from models.analysis.impulse import twin_of
from models.analysis.shocks import nominal_starts
from models.analysis.twins import classify_against_twin, twin_ratio
from models.params import RegimeParams

R = RegimeParams()
STEPS = 100
SHOCK = 20
# a twin that halves at a halving in step 50 (what the absolute label would call a collapse)
TWIN = np.where(np.arange(STEPS) < 50, 100.0, 45.0)


def shocked(after):
    """The twin times ``after`` from the row after the shock step (the shock step's row is recorded before it acts)."""
    out = TWIN.copy()
    out[SHOCK + 1:] = TWIN[SHOCK + 1:] * np.asarray(after)
    return out


@pytest.mark.parametrize(
    ("ratio_after", "regime"),
    [
        (np.linspace(1.0, 1.5, STEPS - SHOCK - 1), "growth"),  # clean growth against the twin
        (np.linspace(1.0, 0.2, STEPS - SHOCK - 1), "collapse"),  # falls away from the twin and stays down
        (np.r_[np.linspace(1.0, 0.3, 20), np.linspace(0.3, 0.95, STEPS - SHOCK - 1 - 20)], "recovery"),  # V shape
        (np.full(STEPS - SHOCK - 1, 0.9), "stall"),  # a flat dent
    ],
)
def test_constructed_pairs(ratio_after, regime):
    result = classify_against_twin(shocked(ratio_after), TWIN, SHOCK, R)
    assert result.regime == regime
    assert result.trough == pytest.approx(min(1.0, float(np.min(ratio_after))))


def test_an_event_that_hits_both_twins_is_not_the_shocks_doing():
    # the twin's halving drop at step 50 would be a collapse on the absolute label; against the twin: stall
    from models.analysis.regimes import classify

    assert classify(TWIN, SHOCK, R).regime == "collapse"
    assert classify_against_twin(TWIN.copy(), TWIN, SHOCK, R).regime == "stall"


@pytest.mark.parametrize(
    ("shocked_series", "twin_series", "shock_step"),
    [
        (np.zeros(30), np.zeros(30), 5),  # all zeros: both dead all along
        (np.full(30, 7.0), np.full(30, 7.0), 5),  # constant
        (np.array([3.0]), np.array([3.0]), 0),  # a single step
        (np.arange(1.0, 31.0), np.arange(1.0, 31.0), 29),  # a shock at the last step
    ],
)
def test_edge_cases_are_never_collapse(shocked_series, twin_series, shock_step):
    result = classify_against_twin(shocked_series, twin_series, shock_step, R)
    assert result.regime == "stall"


def test_a_dead_twin_and_a_live_shocked_run():
    ratio = twin_ratio([1.0, 0.0, 2.0], [1.0, 0.0, 0.0])
    assert list(ratio[:2]) == [1.0, 1.0] and np.isinf(ratio[2])
    with pytest.raises(ValueError, match="differ in length"):
        twin_ratio([1.0], [1.0, 2.0])


def test_a_scenario_without_a_shock_is_never_collapse_against_its_twin(base_scenario, crash_scenario):
    # the base has halvings and a vesting cliff: without a shock the run is its own twin, in every seed
    for seed in range(6):
        frame = engines.run(base_scenario, "batch", seed=seed)
        result = classify_against_twin(frame["providers"], frame["providers"], 52, base_scenario.regimes)
        assert result.regime != "collapse" and result.final_ratio == 1.0
    # and the crash against its twin is judged on the ratio, which is 1 before the crash
    step = nominal_starts(crash_scenario)[0]
    crash = engines.run(crash_scenario, "batch", seed=1)
    twin = engines.run(twin_of(crash_scenario), "batch", seed=1)
    ratio = twin_ratio(crash["providers"], twin["providers"])
    np.testing.assert_allclose(ratio[: step + 1], 1.0, rtol=1e-12)
    result = classify_against_twin(crash["providers"], twin["providers"], step, crash_scenario.regimes)
    assert result.trough < 1.0 and result.regime in ("stall", "recovery", "growth", "collapse")
