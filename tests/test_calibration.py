"""Calibration is trusted only after it recovers known parameters from data the model itself produced.

Also: the ABC-SMC core on a problem with a known posterior, the history measures (lags, notches) on
constructed series, and writing calibrated values into a sector file.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.calibration import metrics
from models.calibration.abc import Prior, smc_abc
from models.calibration.fit import calibrate, log_rmse, make_replayer, save_to_sector
from models.calibration.targets import Target, onboarded
from models.params import load_scenario

ROOT = Path(__file__).resolve().parents[1]
WIRELESS = ROOT / "params" / "sectors" / "wireless.yaml"


def test_abc_finds_the_mean_of_a_normal_sample():
    # data: 50 draws of N(theta, 1) with mean 1.3; the posterior of theta under a flat prior is N(1.3, 1/50)
    observed_mean = 1.3
    rng = np.random.default_rng(1)

    def simulate(theta):
        draws = rng.normal(theta[:, :1], 1.0, size=(len(theta), 50))
        return np.abs(draws.mean(axis=1) - observed_mean)

    prior = Prior(("theta",), (-5.0,), (5.0,), (False,))
    result = smc_abc(simulate, prior, particles=400, generations=6, seed=2)
    q05, q50, q95 = result.quantiles([0.05, 0.5, 0.95])[:, 0]
    assert q05 < observed_mean < q95
    assert abs(q50 - observed_mean) < 0.1
    # the exact posterior sd is 1/sqrt(50) = 0.14: the 90% interval is of that order, not the prior's 10
    assert 0.2 < q95 - q05 < 1.0
    assert [g.tolerance for g in result.generations[1:]] == sorted((g.tolerance for g in result.generations[1:]),
                                                                   reverse=True)


def test_prior_rejects_bad_boxes():
    with pytest.raises(ValueError, match="need low < high"):
        Prior(("a",), (2.0,), (1.0,), (False,))
    with pytest.raises(ValueError, match="low > 0 on a log scale"):
        Prior(("a",), (0.0,), (1.0,), (True,))


def test_log_rmse():
    assert log_rmse(np.array([[1.0, np.e]]), np.array([np.e, 1.0]))[0] == pytest.approx(1.0)


TRUE = {"providers.entry_max_rate_per_year": 0.004, "providers.word_of_mouth": 800.0,
        "providers.production_units_per_day": 900.0}


@pytest.fixture(scope="module")
def synthetic():
    """Helium's real HNT prices replayed 2020-05 .. 2021-12 with known parameters; their monthly onboarded counts."""
    from models import history

    scenario = load_scenario(WIRELESS)
    months = pd.date_range("2020-05-01", "2021-12-01", freq="MS")
    placeholder = Target("synthetic", pd.Series(1.0, index=months), "hotspots", onboarded, "synthetic",
                         history.hnt_price_daily)
    from models.params import with_overrides

    scenario = with_overrides(scenario, {"simulation.start_date": "2020-05-01", "providers.initial_active": 3300})
    replayer = make_replayer(scenario, placeholder, tuple(TRUE), ("2020-05", "2021-12"), None)
    observed = pd.Series(replayer.monthly(np.array([list(TRUE.values())]))[0], index=months)
    return scenario, Target("synthetic", observed, "hotspots", onboarded, "synthetic", history.hnt_price_daily)


def test_calibration_recovers_known_parameters_from_model_data(synthetic):
    scenario, target = synthetic
    prior = Prior(tuple(TRUE), (1e-4, 10.0, 100.0), (0.1, 1e4, 1e4), (True, True, True))
    result = calibrate(scenario, target, prior, ("2020-05", "2021-09"), ("2021-10", "2021-12"), particles=250,
                       generations=6, seed=3)
    for name, truth in TRUE.items():
        row = result.table.loc[name]
        assert row["q05"] <= truth <= row["q95"], (name, truth, row.to_dict())
    # the posterior is much narrower than the prior on the parameter growth pins down best
    width = np.log(result.table["q95"] / result.table["q05"])
    prior_width = np.log(result.table["prior_high"] / result.table["prior_low"])
    assert (width < prior_width / 2).any()
    # the fit reproduces its own data; the three held-out months (a production-limited boom) less exactly
    assert result.errors["in_sample_log_rmse"] < 0.1 and result.errors["out_of_sample_log_rmse"] < 0.3


def test_save_to_sector_writes_values_with_the_date_and_keeps_the_rest(tmp_path, synthetic):
    scenario, target = synthetic
    path = tmp_path / "wireless.yaml"
    shutil.copy(WIRELESS, path)
    prior = Prior(tuple(TRUE), (1e-4, 10.0, 100.0), (0.1, 1e4, 1e4), (True, True, True))
    result = calibrate(scenario, target, prior, ("2020-05", "2021-09"), None, particles=60, generations=1, seed=4)
    before = WIRELESS.read_text().splitlines()
    save_to_sector(result, path)
    after = path.read_text().splitlines()
    changed = [a for a, b in zip(after, before, strict=True) if a != b]
    assert len(changed) == len(TRUE)
    assert all(f"calibrated {result.fitted_on.isoformat()} on synthetic 2020-05..2021-09" in line for line in changed)
    saved = load_scenario(path)
    assert saved.providers.word_of_mouth == pytest.approx(result.table.loc["providers.word_of_mouth", "point"],
                                                          rel=1e-3)


def test_lag_and_notch_on_constructed_series():
    months = pd.date_range("2021-01-01", periods=24, freq="MS")
    price = pd.Series(np.exp(-((np.arange(24) - 10) / 3.0) ** 2), index=months)  # peaks 2021-11
    added = np.exp(-((np.arange(24) - 13) / 4.0) ** 2) * 1000  # onboarding peaks three months later
    counts = pd.Series(np.cumsum(added), index=months)
    lag = metrics.price_onboarding_lag(price, counts)
    assert lag["price_peak"] == pd.Timestamp("2021-11-01")
    assert lag["lag_months"] == 3
    notched = counts.copy()
    notched.iloc[7:] -= 0.9 * added[7]  # additions in 2021-08 fall by 90%, then recover
    assert metrics.halving_notch(notched, pd.Timestamp("2021-08-01")) < 0.5
    assert metrics.halving_notch(counts, pd.Timestamp("2021-08-01")) > 1.0
