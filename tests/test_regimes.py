"""Regime classification, headline metrics and Wilson intervals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.analysis.regimes import (
    REGIMES,
    classify,
    pre_shock_step,
    reference_step,
    regime_probabilities,
    run_replicates,
    summarise_run,
)
from models.params import RegimeParams, load_scenario, scenario_from_dict

ROOT = Path(__file__).resolve().parents[1]
R = RegimeParams()  # 0.5 collapse, 0.8 recovery, 1.1 growth, 182-day window, reference day 364 (weekly: 26, 52)
PRE = 10


def series(post, pre_level=100.0, pre_steps=PRE):
    """A flat pre-shock stretch at ``pre_level`` followed by ``post`` (levels relative to it)."""
    return np.concatenate([np.full(pre_steps + 1, pre_level), pre_level * np.asarray(post, dtype=float)])


def test_collapse():
    post = np.concatenate([np.linspace(1.0, 0.3, 20), np.full(40, 0.3)])
    result = classify(series(post), PRE, R)
    assert result.regime == "collapse"
    first_below = PRE + 1 + int(np.argmax(post < 0.5))
    assert result.fell_below_step == first_below
    assert result.trough == pytest.approx(0.3)
    assert result.final_ratio == pytest.approx(0.3)


def test_low_but_rising_is_not_collapse():
    post = np.concatenate([np.full(20, 0.2), np.linspace(0.2, 0.4, 40)])
    result = classify(series(post), PRE, R)
    assert result.regime == "stall"
    assert result.fell_below_step == PRE + 1


def test_recovery():
    post = np.concatenate([np.full(10, 0.3), np.linspace(0.3, 0.9, 30), np.full(20, 0.9)])
    result = classify(series(post), PRE, R)
    assert result.regime == "recovery"
    assert result.trough == pytest.approx(0.3)


def test_growth():
    post = np.linspace(0.9, 1.5, 60)
    result = classify(series(post), PRE, R)
    assert result.regime == "growth"
    assert result.fell_below_step is None


def test_stall_between_levels():
    result = classify(series(np.full(60, 0.7)), PRE, R)
    assert result.regime == "stall"
    assert result.fell_below_step is None


def test_fell_and_partly_back_is_stall():
    post = np.concatenate([np.full(10, 0.4), np.full(50, 0.7)])
    assert classify(series(post), PRE, R).regime == "stall"


def test_edges():
    # exactly 50% is not "below" 50%
    assert classify(series(np.full(60, 0.5)), PRE, R).fell_below_step is None
    assert classify(series(np.full(60, 0.5)), PRE, R).regime == "stall"
    # ending exactly at 80% after a fall counts as recovery ("at or above")
    assert classify(series(np.r_[np.full(10, 0.4), np.full(50, 0.8)]), PRE, R).regime == "recovery"
    assert classify(series(np.r_[np.full(10, 0.4), np.full(50, 0.79)]), PRE, R).regime == "stall"
    # ending exactly at 110% is not growth ("above"); just above is
    assert classify(series(np.full(60, 1.1)), PRE, R).regime == "stall"
    assert classify(series(np.full(60, 1.1001)), PRE, R).regime == "growth"
    # a flat tail is "no rise": collapse
    assert classify(series(np.full(60, 0.49)), PRE, R).regime == "collapse"


def test_rise_measured_over_the_window_only():
    # rose long ago, flat over the last 26 steps -> collapse
    post = np.concatenate([np.full(10, 0.1), np.linspace(0.1, 0.3, 10), np.full(40, 0.3)])
    assert classify(series(post), PRE, R).regime == "collapse"
    narrow = RegimeParams(recovery_window_days=50 * 7)
    assert classify(series(post), PRE, narrow).regime == "stall"


def test_window_is_in_days_at_any_step_length():
    # the same 26 weeks of data, daily: flat over the last 182 days -> collapse; the window is 182 steps
    post = np.concatenate([np.full(70, 0.1), np.linspace(0.1, 0.3, 70), np.full(200, 0.3)])
    assert classify(series(post), PRE, R, dt_days=1.0).regime == "collapse"
    # rising within the last 182 days (but flat over the last 26 steps, which are days here): not collapse
    post = np.concatenate([np.full(70, 0.1), np.linspace(0.1, 0.3, 70), np.full(100, 0.3)])
    assert classify(series(post), PRE, R, dt_days=1.0).regime == "stall"
    # at monthly steps the window is about six steps
    post = np.concatenate([np.full(5, 0.1), np.linspace(0.1, 0.3, 4), np.full(7, 0.3)])
    assert classify(series(post), PRE, R, dt_days=30.0).regime == "collapse"
    assert classify(series(post[:-2]), PRE, R, dt_days=30.0).regime == "stall"


def test_reference_step_follows_the_step_length():
    assert reference_step(scenario_from_dict({})) == 52
    assert reference_step(scenario_from_dict({"simulation": {"dt_days": 1}})) == 364
    assert reference_step(scenario_from_dict({"simulation": {"dt_days": 30}})) == 12
    assert reference_step(scenario_from_dict({"regimes": {"reference_day": 0}})) == 0


def test_drop_before_the_shock_is_ignored():
    values = np.r_[np.full(5, 100.0), np.full(6, 10.0), np.full(60, 12.0)]
    # pre-shock level is the value at step 10 (10.0); the earlier fall does not count
    result = classify(values, 10, R)
    assert result.pre_level == 10.0
    assert result.fell_below_step is None
    assert result.regime == "growth"


def test_short_horizon_and_zero_level():
    short = classify(np.linspace(1, 2, 20), 52, R)  # horizon ends before the reference step
    assert short.pre_step == 19
    assert short.final_ratio == pytest.approx(1.0)
    zero = classify(np.zeros(30), 5, R)
    assert zero.regime == "stall" and np.isnan(zero.final_ratio)


def test_died_before_the_reference_step_is_collapse():
    # 80 until step 30, then down 8 a step to 0 at step 40, dead at the reference step 52 and after
    values = np.r_[np.full(31, 80.0), np.linspace(80.0, 0.0, 11)[1:], np.zeros(70)]
    assert values[39] == pytest.approx(8.0) and values[40] == 0 and values[52] == 0
    result = classify(values, 52, R)
    assert result.regime == "collapse"
    assert result.pre_step == 52
    # judged against the last positive level before the reference (8 at step 39), so the fall is the death
    assert result.level_step == 39 and result.pre_level == pytest.approx(8.0)
    assert result.fell_below_step == 40
    assert result.trough == 0.0 and result.final_ratio == 0.0
    # a sudden death: the last positive level is the full level
    sudden = classify(np.r_[np.full(31, 80.0), np.zeros(80)], 52, R)
    assert (sudden.regime, sudden.level_step, sudden.pre_level, sudden.fell_below_step) == ("collapse", 30, 80.0, 31)


def test_died_before_the_reference_step_then_revived():
    values = np.r_[np.full(20, 50.0), np.zeros(40), np.full(40, 45.0)]  # dead at 52, back to 90% later
    result = classify(values, 52, R)
    assert result.level_step == 19 and result.fell_below_step == 20
    assert result.regime == "recovery" and result.final_ratio == pytest.approx(0.9)


def test_never_positive_is_stall_with_nan():
    for values in (np.zeros(100), np.r_[np.zeros(60), np.full(40, 10.0)], np.full(100, -1.0)):
        result = classify(values, 52, R)
        assert result.regime == "stall"
        assert result.fell_below_step is None
        assert np.isnan(result.trough) and np.isnan(result.final_ratio)
    # short horizon: the last step stands in for the reference and was never positive
    assert classify(np.zeros(20), 52, R).regime == "stall"


def test_summarise_run_never_positive_gives_none():
    from models.analysis.regimes import format_ratio, headline_table

    scenario = scenario_from_dict({})
    summary = summarise_run(frame_of(np.zeros(120)), scenario)
    assert summary["regime"] == "stall" and summary["regime_capacity"] == "stall"
    for key in ("trough", "final_ratio", "fell_below_step", "time_to_collapse", "trough_capacity",
                "final_ratio_capacity"):
        assert summary[key] is None, key
    assert format_ratio(summary["trough"]) == "n/a"
    assert format_ratio(0.25) == "0.25" and format_ratio(float("nan")) == "n/a"
    table = headline_table(pd.DataFrame([{"scenario": "s", **summary}] * 2))
    assert np.isnan(table.loc["s", "trough"]) and table.loc["s", "regimes"] == "stall: 2"


def test_summarise_run_died_before_reference():
    scenario = scenario_from_dict({})
    providers = np.r_[np.full(11, 100.0), np.zeros(109)]
    summary = summarise_run(frame_of(providers), scenario)
    assert summary["regime"] == "collapse" and summary["regime_capacity"] == "collapse"
    assert summary["pre_shock_step"] == 52 and summary["fell_below_step"] == 11
    assert summary["trough"] == 0.0 and summary["final_ratio"] == 0.0
    assert summary["time_to_collapse"] == 11 - 52  # negative: fell before the shock


def test_engine_run_dead_before_reference_is_collapse():
    from models import engines
    from models.params import with_overrides

    base = load_scenario(ROOT / "params" / "base.yaml")
    doomed = with_overrides(base, {
        "providers.opex_usd_per_year": 5e7, "providers.entry_max_rate_per_year": 0.0,
        "providers.exit_rate_per_year": 1e4, "providers.exit_patience_days": 7,
    })
    frame = engines.run(doomed, "batch", steps=80)
    ref = pre_shock_step(doomed)
    assert ref == 52
    at_ref = frame.loc[frame["step"] == ref, "providers"]
    assert len(at_ref) == 1 and at_ref.iloc[0] == 0  # really dead at the reference step
    assert frame.loc[frame["step"] == 0, "providers"].iloc[0] > 0
    summary = summarise_run(frame, doomed, ref)
    assert summary["regime"] == "collapse"
    assert summary["fell_below_step"] is not None and 0 < summary["fell_below_step"] < ref
    assert summary["trough"] == 0.0 and summary["final_ratio"] == 0.0
    assert summary["final_providers"] == 0


def test_steps_argument_maps_positions_to_steps():
    values = series(np.full(60, 0.3))
    steps = np.arange(100, 100 + len(values))
    result = classify(values, 100 + PRE, R, steps=steps)
    assert result.fell_below_step == 100 + PRE + 1
    assert result.regime == "collapse"


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [(5, 10, 0.2366, 0.7634), (0, 10, 0.0, 0.2775), (10, 10, 0.7225, 1.0), (1, 20, 0.0089, 0.2361)],
)
def test_wilson_known_values(k, n, low, high):
    labels = ["growth"] * k + ["stall"] * (n - k)
    table = regime_probabilities(labels).set_index("regime")
    assert table.loc["growth", "share"] == pytest.approx(k / n)
    assert table.loc["growth", "ci_low"] == pytest.approx(low, abs=5e-5)
    assert table.loc["growth", "ci_high"] == pytest.approx(high, abs=5e-5)


def test_probabilities_cover_all_regimes():
    table = regime_probabilities(["collapse", "collapse", "growth"])
    assert list(table["regime"]) == list(REGIMES)
    assert table["count"].sum() == 3
    assert table["share"].sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="unknown regime"):
        regime_probabilities(["boom"])
    with pytest.raises(ValueError):
        regime_probabilities([])


def frame_of(providers, revenue=1.0, emission=2.0):
    n = len(providers)
    return pd.DataFrame({
        "run": 0, "step": np.arange(n), "providers": providers, "capacity": np.asarray(providers) * 10,
        "users": np.full(n, 50.0), "price": np.linspace(1.0, 2.0, n), "revenue_usd": np.full(n, revenue),
        "emission_usd": np.full(n, emission),
    })


def test_summarise_run_synthetic():
    scenario = scenario_from_dict({})
    providers = series(np.full(60, 0.3), pre_steps=52)
    summary = summarise_run(frame_of(providers), scenario, None)
    assert summary["regime"] == "collapse"
    assert summary["regime_capacity"] == "collapse"
    assert summary["regime_users"] == "stall"
    assert summary["regime_price"] == "growth"
    assert summary["pre_shock_step"] == 52
    assert summary["time_to_collapse"] == 1
    assert summary["subsidy_ratio"] == pytest.approx(2.0)
    assert summary["final_providers"] == pytest.approx(30.0)
    assert summarise_run(frame_of(providers, revenue=0.0), scenario)["subsidy_ratio"] is None


def test_pre_shock_step_uses_realised_start():
    base = load_scenario(ROOT / "params" / "base.yaml")
    assert pre_shock_step(base) == reference_step(base) == 52
    # a 50% drop needs about 2.1 M tokens sold into the default genesis pool of 5 M tokens
    jittered = scenario_from_dict({"shocks": [{"type": "price_crash", "start_day": 280, "size": 0.5,
                                               "start_jitter_days": 70, "inventory_tokens": 3e6}]})
    starts = {pre_shock_step(jittered, replicate=r) for r in range(20)}
    assert starts <= set(range(40, 51)) and len(starts) > 1
    daily = scenario_from_dict({"simulation": {"dt_days": 1, "steps": 400},
                                "shocks": [{"type": "liquidity_drain", "start_day": 280, "start_jitter_days": 70}]})
    starts = {pre_shock_step(daily, replicate=r) for r in range(20)}
    assert starts <= set(range(280, 351)) and len(starts) > 1


def test_run_replicates_batch_matches_single_runs():
    from models import engines

    crash = load_scenario(ROOT / "params" / "base_crash.yaml")
    frame, summary = run_replicates(crash, "batch", replicates=3, steps=80)
    assert len(summary) == 3 and set(frame["run"]) == {0, 1, 2}
    one = engines.run(crash, "batch", replicate=2, steps=80)
    mine = frame[frame["run"] == 2].reset_index(drop=True)
    np.testing.assert_allclose(mine["providers"], one["providers"])
    # the crash starts on day 455, step 65; the forced seller reached its 80% drop
    assert (summary["pre_shock_step"] == 65).all()
    assert (summary["shock_target"] == 0.8).all()
    np.testing.assert_allclose(summary["shock_achieved"].astype(float), 0.8, rtol=1e-6)
    assert (summary["shock_warnings"] == 0).all()


def test_summary_warns_when_the_forced_seller_runs_out():
    """A seller whose inventory covers the drop in the genesis pool but not in the pool of the day falls short."""
    from models import engines
    from models.params import with_overrides

    crash = load_scenario(ROOT / "params" / "base_crash.yaml")
    # LPs double their target depth: the pool is deeper than at genesis when the crash comes
    deep = with_overrides(crash, {"market.liquidity_target_share": 2 * 50000 / (0.04 * 16.5e6)})
    frame = engines.run(deep, "batch", steps=80)
    summary = summarise_run(frame, deep, pre_shock_step(deep))
    assert summary["shock_target"] == 0.8 and summary["shock_achieved"] < 0.8 - 1e-3
    assert summary["shock_warnings"] == 1
