"""Stylised facts of weekly returns (models.analysis.stylised) and the price-history loaders (models.history)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from models.analysis.stylised import (
    FACTS,
    STYLISED_BOUNDS,
    WEEKS_PER_YEAR,
    check_bounds,
    facts_over_runs,
    pooled_facts,
    stylised_facts,
    summarise_facts,
    weekly_log_returns_from_daily,
    weekly_log_returns_from_steps,
)
from models.history import fil_price_daily, hnt_price_daily, read_coingecko_daily

# --- synthetic data with known answers ---------------------------------------------------------------


def test_normal_returns_give_known_volatility_and_no_excess_kurtosis():
    rng = np.random.default_rng(1)
    sigma = 0.05
    facts = stylised_facts(rng.normal(0.0, sigma, size=50_000))
    assert facts["annual_volatility"] == pytest.approx(sigma * math.sqrt(WEEKS_PER_YEAR), rel=0.01)
    assert abs(facts["excess_kurtosis"]) < 0.1  # standard error about sqrt(24 / n) = 0.02
    assert abs(facts["lag1_autocorrelation"]) < 0.02
    assert facts["n"] == 50_000


def test_periods_per_year_scales_volatility():
    r = np.random.default_rng(2).normal(0.0, 0.01, size=500)
    daily = stylised_facts(r, periods_per_year=365.0)["annual_volatility"]
    assert daily == pytest.approx(np.std(r, ddof=1) * math.sqrt(365.0))


def test_student_t_returns_have_heavy_tails():
    rng = np.random.default_rng(3)
    facts = stylised_facts(0.05 * rng.standard_t(6, size=50_000))  # theoretical excess kurtosis 6 / (6 - 4) = 3
    assert facts["excess_kurtosis"] > 1.5


def test_ar1_returns_have_lag1_autocorrelation_phi():
    rng = np.random.default_rng(4)
    phi, n = 0.5, 50_000
    eps = rng.normal(size=n)
    r = np.empty(n)
    r[0] = eps[0]
    for t in range(1, n):
        r[t] = phi * r[t - 1] + eps[t]
    assert stylised_facts(r)["lag1_autocorrelation"] == pytest.approx(phi, abs=0.02)
    assert stylised_facts(-r)["lag1_autocorrelation"] == pytest.approx(phi, abs=0.02)
    alternating = r * np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    assert stylised_facts(alternating)["lag1_autocorrelation"] == pytest.approx(-phi, abs=0.02)


def test_stylised_facts_refuses_nan_and_too_few_returns():
    with pytest.raises(ValueError, match="finite"):
        stylised_facts([0.1, np.nan, 0.2, 0.3])
    with pytest.raises(ValueError, match="at least 2"):
        stylised_facts([0.1])
    assert math.isnan(stylised_facts([0.1, -0.1, 0.2])["excess_kurtosis"])


# --- weekly sampling -----------------------------------------------------------------------------------


def _daily_path(rng, days: int) -> np.ndarray:
    return 2.0 * np.exp(np.cumsum(np.r_[0.0, rng.normal(0.0, 0.04, size=days - 1)]))


def test_step_sampling_daily_and_weekly_steps_agree():
    daily = _daily_path(np.random.default_rng(5), 7 * 52 + 1)
    from_daily_steps = weekly_log_returns_from_steps(daily, dt_days=1)
    from_weekly_steps = weekly_log_returns_from_steps(daily[::7], dt_days=7)
    assert from_daily_steps.shape == (52,)
    np.testing.assert_array_equal(from_daily_steps, from_weekly_steps)
    np.testing.assert_allclose(from_daily_steps, np.log(daily[7::7] / daily[:-7:7]))
    half_day = np.repeat(daily, 2)[:-1]  # the same path on a 12-hour grid
    np.testing.assert_allclose(weekly_log_returns_from_steps(half_day, dt_days=0.5), from_daily_steps)
    third_week = np.repeat(daily[::7], 3)[:-2]  # steps of 7/3 days
    np.testing.assert_allclose(weekly_log_returns_from_steps(third_week, dt_days=7 / 3), from_daily_steps)


@pytest.mark.parametrize("dt_days", [3.0, 5.0, 14.0, 10.0, 2.5])
def test_step_sampling_refuses_steps_that_do_not_divide_a_week(dt_days):
    with pytest.raises(ValueError, match="does not divide a week"):
        weekly_log_returns_from_steps(np.ones(100), dt_days)


def test_step_sampling_refuses_non_positive_prices():
    with pytest.raises(ValueError, match="positive"):
        weekly_log_returns_from_steps(np.array([1.0, 2.0, 0.0, 1.0]), 7)


def test_daily_resampling_matches_step_sampling_on_sunday_aligned_data():
    daily = _daily_path(np.random.default_rng(6), 7 * 30 + 1)
    index = pd.date_range("2021-01-03", periods=daily.size, freq="D")  # a Sunday to a Sunday
    assert index[0].day_name() == "Sunday" and index[-1].day_name() == "Sunday"
    weekly = weekly_log_returns_from_daily(pd.Series(daily, index=index))
    assert (weekly.index.day_name() == "Sunday").all()
    np.testing.assert_allclose(weekly.to_numpy(), weekly_log_returns_from_steps(daily, dt_days=1))


def test_daily_resampling_uses_sunday_closes_and_drops_a_trailing_partial_week():
    index = pd.date_range("2021-01-06", "2021-01-26", freq="D")  # Wednesday .. Tuesday
    prices = pd.Series(np.arange(1.0, index.size + 1.0), index=index)
    weekly = weekly_log_returns_from_daily(prices.sample(frac=1.0, random_state=np.random.default_rng(7)))
    closes = prices[["2021-01-10", "2021-01-17", "2021-01-24"]]  # the Sundays; the week to 2021-01-31 is cut
    assert list(weekly.index) == list(closes.index[1:])
    np.testing.assert_allclose(weekly.to_numpy(), np.diff(np.log(closes.to_numpy())))
    with pytest.raises(ValueError, match="DatetimeIndex"):
        weekly_log_returns_from_daily(pd.Series([1.0, 2.0]))


# --- runs, bounds --------------------------------------------------------------------------------------


def test_facts_over_runs_and_summary():
    rng = np.random.default_rng(8)
    runs = [rng.normal(0.0, 0.05 * (1 + i % 3), size=300) for i in range(30)]
    df = facts_over_runs(runs)
    assert list(df.columns) == list(FACTS) and len(df) == 30
    assert df.loc[4, "annual_volatility"] == pytest.approx(stylised_facts(runs[4])["annual_volatility"])
    summary = summarise_facts(df, pooled_facts(runs))
    assert list(summary.columns) == ["median", "p10", "p90", "pooled"]
    vol = summary.loc["annual_volatility"]
    assert vol["p10"] < vol["median"] < vol["p90"]
    assert vol["median"] == pytest.approx(df["annual_volatility"].median())


def test_pooled_facts_remove_each_runs_drift_and_never_pair_across_runs():
    rng = np.random.default_rng(9)
    sigma = 0.05
    runs = [rng.normal(drift, sigma, size=200) for drift in np.linspace(-0.3, 0.3, 25)]
    pooled = pooled_facts(runs)
    assert pooled["annual_volatility"] == pytest.approx(sigma * math.sqrt(WEEKS_PER_YEAR), rel=0.03)
    assert abs(pooled["excess_kurtosis"]) < 0.3
    assert pooled["n"] == 25 * 200
    # a run that ends high followed by one that starts low: pairing across runs would show up here
    jumps = [np.r_[np.zeros(5), 1.0], np.r_[-1.0, np.zeros(5)]]
    assert pooled_facts(jumps)["lag1_autocorrelation"] > -0.3


def test_check_bounds():
    reference = {"annual_volatility": 1.4, "lag1_autocorrelation": 0.08, "excess_kurtosis": 3.9}
    good = {"annual_volatility": 1.0, "lag1_autocorrelation": -0.2, "excess_kurtosis": 0.5}
    assert check_bounds(good, reference) == {"volatility": True, "autocorrelation": True, "kurtosis": True}
    assert set(STYLISED_BOUNDS) == set(check_bounds(good, reference))
    calm = {"annual_volatility": 0.9, "lag1_autocorrelation": 0.3, "excess_kurtosis": -0.1}
    assert check_bounds(calm, reference) == {"volatility": False, "autocorrelation": False, "kurtosis": False}
    wild = dict(good, annual_volatility=2.2)
    assert not check_bounds(wild, reference)["volatility"]
    undefined = {"annual_volatility": np.nan, "lag1_autocorrelation": np.nan, "excess_kurtosis": np.nan}
    assert not any(check_bounds(undefined, reference).values())


# --- real history --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("loader", "first", "last", "rows"),
    [(hnt_price_daily, "2020-04-18", "2023-06-13", 1152), (fil_price_daily, "2020-10-15", "2022-11-07", 754)],
)
def test_history_loaders(loader, first, last, rows):
    s = loader()
    assert s.name == "price_usd" and isinstance(s.index, pd.DatetimeIndex)
    assert s.index.tz is None and s.index.is_monotonic_increasing
    assert (s.index[0], s.index[-1], len(s)) == (pd.Timestamp(first), pd.Timestamp(last), rows)
    assert (s.index.to_series().diff().dropna() == pd.Timedelta(days=1)).all()  # no gaps
    assert (s > 0).all()


@pytest.mark.parametrize(
    ("loader", "vol", "acf1", "n"),
    [(hnt_price_daily, 1.43, 0.08, 164), (fil_price_daily, 1.29, 0.16, 107)],
)
def test_real_weekly_facts(loader, vol, acf1, n):
    facts = stylised_facts(weekly_log_returns_from_daily(loader()))
    assert facts["annual_volatility"] == pytest.approx(vol, abs=0.1)
    assert facts["lag1_autocorrelation"] == pytest.approx(acf1, abs=0.1)
    assert facts["excess_kurtosis"] > 0
    assert facts["n"] == n


def test_history_loader_errors(tmp_path):
    missing = tmp_path / "nope.csv"
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        read_coingecko_daily(missing)
    cases = {
        "no_price.csv": ("snapped_at,close\n2021-01-01 00:00:00 UTC,1.0\n", "missing column"),
        "bad_date.csv": ("snapped_at,price\nyesterday,1.0\n", "not a date"),
        "bad_price.csv": ("snapped_at,price\n2021-01-01 00:00:00 UTC,1.0\n2021-01-02 00:00:00 UTC,abc\n",
                          "row 3"),
        "zero.csv": ("snapped_at,price\n2021-01-01 00:00:00 UTC,0\n", "positive"),
        "dup.csv": ("snapped_at,price\n2021-01-01 00:00:00 UTC,1\n2021-01-01 00:00:00 UTC,2\n", "more than once"),
        "hourly.csv": ("snapped_at,price\n2021-01-01 00:00:00 UTC,1\n2021-01-01 06:00:00 UTC,2\n", "00:00"),
        "empty.csv": ("snapped_at,price\n", "no rows"),
    }
    for name, (text, message) in cases.items():
        path = tmp_path / name
        path.write_text(text)
        with pytest.raises(ValueError, match=message) as info:
            read_coingecko_daily(path)
        assert name in str(info.value)


def test_history_loader_reads_thousands_separators_and_sorts(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text('snapped_at,price\n2021-01-02 00:00:00 UTC,"1,250.5"\n2021-01-01 00:00:00 UTC,"1,000"\n')
    s = read_coingecko_daily(path)
    assert list(s) == [1000.0, 1250.5]
    assert list(s.index) == [pd.Timestamp("2021-01-01"), pd.Timestamp("2021-01-02")]
