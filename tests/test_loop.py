"""The flywheel loop analysis: break detection on constructed ratio frames, and the standard shocks on a sector."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.analysis import loop
from models.params import load_scenario, with_overrides

ROOT = Path(__file__).resolve().parents[1]


def ratio_frame(drops: dict[str, tuple[int, float]], steps: int = 30, seeds=(0, 1)) -> pd.DataFrame:
    """Twin ratios of 1 in every link column, except ``column -> (step, level)``: ``level`` from that step on."""
    rows = []
    for seed in seeds:
        for step in range(steps + 1):
            row = {"sector": "s", "shock": "x", "seed": seed, "step": step}
            for column in loop.LOOP_COLUMNS:
                at, level = drops.get(column, (steps + 1, 1.0))
                row[column] = level if step >= at else 1.0
            rows.append(row)
    return pd.DataFrame(rows)


def test_price_breaks_at_once_and_providers_four_weeks_later():
    ratios = ratio_frame({"price": (5, 0.2), "providers": (9, 0.5)})
    breaks = loop.first_break(ratios, start_step=5)
    by_link = breaks[breaks["seed"] == 0].set_index("link")
    assert by_link.loc["price", "delay_weeks"] == 0
    assert by_link.loc["providers", "delay_weeks"] == 4
    assert by_link.loc["providers", "break_step"] == 9
    assert by_link.loc["price", "trough"] == pytest.approx(0.2)
    assert by_link.loc["providers", "trough_step"] == 9
    order = loop.loop_order(breaks).set_index("link")
    assert order.loc["price", "first"] and order.loc["price", "order"] == 1
    assert order.loc["providers", "order"] == 2
    assert order.loc["providers", "median_delay_weeks"] == 4
    first = loop.first_links(loop.loop_order(breaks)).iloc[0]
    assert first["first_link"] == "price" and first["delay_weeks"] == 0
    assert first["first_beyond_price"] == "providers" and first["beyond_price_delay_weeks"] == 4
    assert first["sequence"] == "price → providers"


def test_links_that_never_break_give_nan():
    breaks = loop.first_break(ratio_frame({"price": (5, 0.2)}), start_step=5)
    never = breaks[breaks["link"] == "users"]
    assert never["break_step"].isna().all() and never["delay_weeks"].isna().all()
    assert (never["trough"] == 1.0).all()
    order = loop.loop_order(breaks).set_index("link")
    assert np.isnan(order.loc["users", "median_delay_weeks"]) and np.isnan(order.loc["users", "order"])
    assert order.loc["users", "broken_share"] == 0 and not order.loc["users", "first"]
    first = loop.first_links(loop.loop_order(breaks)).iloc[0]
    assert first["first_beyond_price"] == "none" and np.isnan(first["beyond_price_delay_weeks"])


def test_a_drop_before_the_start_step_is_not_a_break():
    breaks = loop.first_break(ratio_frame({"users": (2, 0.5)}), start_step=5)
    users = breaks[breaks["link"] == "users"]
    assert (users["break_step"] == 5).all() and (users["delay_weeks"] == 0).all()


def test_threshold_edge_is_strict():
    at_threshold = loop.first_break(ratio_frame({"capacity": (6, 0.9)}), start_step=5, threshold=0.9)
    assert at_threshold[at_threshold["link"] == "capacity"]["break_step"].isna().all()
    below = loop.first_break(ratio_frame({"capacity": (6, 0.9 - 1e-9)}), start_step=5, threshold=0.9)
    assert (below[below["link"] == "capacity"]["delay_weeks"] == 1).all()


def test_ties_are_broken_by_loop_order_and_half_never_breaking_is_never():
    ratios = ratio_frame({"users": (8, 0.5), "capacity": (8, 0.5), "price": (5, 0.5)})
    # seed 1's providers break, seed 0's do not: with half the seeds never breaking the median is "never"
    ratios.loc[(ratios["seed"] == 1) & (ratios["step"] >= 6), "providers"] = 0.5
    order = loop.loop_order(loop.first_break(ratios, start_step=5)).set_index("link")
    assert order.loc["capacity", "order"] == 2 and order.loc["users", "order"] == 3
    assert np.isnan(order.loc["providers", "median_delay_weeks"]) and order.loc["providers", "broken_share"] == 0.5


def test_fragility_trough_recovery_and_bootstrap():
    ratios = ratio_frame({"providers": (5, 0.5)}, steps=40, seeds=range(4))
    ratios.loc[ratios["step"] >= 15, "providers"] = 0.85  # back above 0.8 ten weeks after the shock
    ratios.loc[(ratios["seed"] == 3) & (ratios["step"] >= 15), "providers"] = 0.6  # never recovers
    per_seed = loop.fragility_per_seed(ratios, start_step=5).set_index("seed")
    assert per_seed.loc[0, "trough"] == 0.5 and per_seed.loc[0, "recovery_weeks"] == 10
    assert per_seed.loc[3, "recovery_weeks"] == np.inf and not per_seed.loc[3, "recovered"]
    assert per_seed.loc[0, "final_ratio"] == 0.85
    ratios["effect_step"] = 5
    summary = loop.fragility(ratios, n_resamples=200).iloc[0]
    assert summary["trough"] == 0.5 and summary["recovery_weeks"] == 10 and summary["recovered_share"] == 0.75
    assert summary["recovery_weeks_low"] == 10 and summary["recovery_weeks_high"] == np.inf
    assert summary["final_ratio_low"] <= summary["final_ratio"] <= summary["final_ratio_high"]
    assert summary["rank"] == 1
    again = loop.fragility(ratios, n_resamples=200).iloc[0]
    assert again["final_ratio_low"] == summary["final_ratio_low"]  # fixed generator


def test_crash_inventory_is_capped_by_the_genesis_float_and_refused_below_the_need():
    compute = load_scenario(ROOT / "params" / "sectors" / "compute.yaml")
    funding = loop.crash_funding(compute, 0.8, margin=1e6)
    assert funding["inventory_tokens"] == pytest.approx(funding["tokens_available"])
    shocked, twin = loop.standard_crash(compute, 70.0, margin=1e6)
    assert shocked.shocks[0].inventory_tokens == pytest.approx(funding["tokens_available"])
    assert twin.shocks[0].size == 0 and twin.shocks[0].inventory_tokens == shocked.shocks[0].inventory_tokens
    with pytest.raises(ValueError, match="compute: a 80% crash needs"):
        loop.standard_crash(compute, 70.0, margin=1e6, min_margin=funding["margin"] * 1.01)
    thin = with_overrides(compute, {"token.initial_supply": compute.token.initial_supply * 0.9})
    assert loop.crash_funding(thin)["tokens_available"] < funding["tokens_available"]


def test_crash_and_bear_market_against_their_twins_on_two_sectors():
    files = [ROOT / "params" / "sectors" / name for name in ("compute.yaml", "ai.yaml")]
    pairs = loop.sector_shocks(files, crash_day=70.0, bear_day=70.0, steps=30)
    frame = loop.run_twins(pairs, seeds=[0, 1])
    assert set(frame["variant"]) == {"shocked", "twin"} and set(frame["sector"]) == {"compute", "ai"}
    assert len(frame) == 2 * 2 * 2 * 2 * 31
    assert (frame["effect_step"] == 11).all()
    twins = frame[frame["variant"] == "twin"]
    assert (twins["crash_achieved"] == 0).all()
    ratios = loop.link_ratios(frame)
    crash = ratios[(ratios["shock"] == loop.CRASH) & (ratios["sector"] == "compute")]
    assert np.allclose(crash[crash["step"] <= 10]["price"], 1.0)  # the twin shares every draw before the shock
    assert np.allclose(crash[crash["step"] == 11]["price"], 0.2, atol=1e-6)
    bear = ratios[(ratios["shock"] == loop.BEAR) & (ratios["step"] <= 10)]
    assert np.allclose(bear["price"], 1.0)
    base = loop.baseline_runs(frame)
    assert set(base["shock"]) == {loop.BEAR} and set(base["variant"]) == {"twin"}
    drops = loop.achieved_drops(frame)
    assert drops.loc["compute", "achieved_median"] == pytest.approx(0.8)
