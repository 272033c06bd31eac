"""The fits of the calibrated sectors: what is fitted, to which history, over which windows, with which prior.

Experiments as data (the CADLabs house style): each :class:`FitSpec` names the sector file, the target,
the fit and check windows and a prior box per parameter. ``python -m models.calibration SECTOR`` runs one,
writes the posterior medians into the sector file and the full result beside it
(``params/sectors/calibration/SECTOR.json``).

Priors are log-uniform boxes wide enough to hold every value a researcher would call plausible (they are
assumptions; the posterior, not the prior, is reported). Parameters that change the engines' array shapes
(lead time in whole steps, cohort counts) are held fixed because one batch must share one structure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from models.calibration.abc import AbcResult, Generation, Prior
from models.calibration.fit import Calibration, calibrate, make_replayer, save_to_sector, summarise
from models.calibration.targets import Target, filecoin_raw_power, helium_hotspots, hivemapper_contributors
from models.params import load_scenario

SECTORS_DIR = Path(__file__).resolve().parents[2] / "params" / "sectors"
RESULTS_DIR = SECTORS_DIR / "calibration"
STORAGE_UNIT_TIB = 1.0  # storage.yaml counts capacity in TiB (one service unit = 1 TiB stored for a day)


@dataclass(frozen=True)
class FitSpec:
    """One calibration experiment.

    Attributes:
        sector: sector file stem in ``params/sectors``.
        target: builds the observed series (given the scenario, for unit conversions).
        fit, check: (first, last) month of the fit and the out-of-sample windows, ``YYYY-MM``.
        prior: parameter paths with their (low, high) on a log-uniform scale.
        halving: date of an emission halving inside the fit window, checked for a notch (or None).
    """

    sector: str
    target: object
    fit: tuple[str, str]
    check: tuple[str, str] | None
    prior: dict[str, tuple[float, float]]
    halving: str | None = None

    def prior_box(self) -> Prior:
        """The prior as an ABC box (log-uniform in every parameter)."""
        names = tuple(self.prior)
        return Prior(names, tuple(v[0] for v in self.prior.values()), tuple(v[1] for v in self.prior.values()),
                     (True,) * len(names))

    def scenario(self, path: str | Path | None = None):
        """The sector scenario (from ``path`` or ``params/sectors/SECTOR.yaml``)."""
        return load_scenario(path or SECTORS_DIR / f"{self.sector}.yaml")

    def build_target(self, scenario) -> Target:
        """The observed series for this scenario."""
        return self.target(scenario)


ENTRY_PRIOR = {
    "providers.entry_max_rate_per_year": (1e-4, 10.0),
    "providers.word_of_mouth": (1.0, 1e5),
    "providers.entry_steepness": (0.3, 10.0),
    "providers.payback_threshold_years": (0.05, 3.0),
    "providers.expectation_half_life_days": (7.0, 365.0),
}
SUPPLY_CHAIN_PRIOR = {
    "providers.production_units_per_day": (1.0, 1e4),
    "providers.production_adjustment_days": (14.0, 730.0),
}

FITS = {
    "wireless": FitSpec(
        "wireless", lambda sc: helium_hotspots(), ("2019-08", "2022-06"), ("2022-07", "2023-04"),
        {**ENTRY_PRIOR, **SUPPLY_CHAIN_PRIOR, "providers.order_cancellation_rate_per_year": (0.1, 50.0),
         "simulation.potential_providers": (3e5, 5e6)},
        halving="2021-08-01"),
    "storage": FitSpec(
        "storage", lambda sc: filecoin_raw_power(STORAGE_UNIT_TIB),
        ("2020-10", "2022-06"), ("2022-07", "2022-11"),
        {**ENTRY_PRIOR, "providers.production_units_per_day": (1.0, 1e3),
         "providers.production_adjustment_days": (14.0, 730.0), "providers.exit_patience_days": (7.0, 720.0),
         "providers.exit_rate_per_year": (0.2, 50.0), "simulation.potential_providers": (5e3, 1e5)}),
    "sensor": FitSpec(
        "sensor", lambda sc: hivemapper_contributors(), ("2022-10", "2023-06"), ("2023-07", "2023-09"),
        {"providers.entry_max_rate_per_year": (1e-4, 10.0), "providers.production_units_per_day": (0.5, 300.0),
         "providers.exit_patience_days": (7.0, 720.0)}),
}


def run_fit(sector: str, particles: int = 1000, generations: int = 10, seed: int = 0, save: bool = False,
            progress=None, scenario_path: str | Path | None = None) -> Calibration:
    """Run the fit of ``sector``; with ``save`` write the medians into its file and the result beside it."""
    spec = FITS[sector]
    scenario = spec.scenario(scenario_path)
    target = spec.build_target(scenario)
    result = calibrate(scenario, target, spec.prior_box(), spec.fit, spec.check, particles=particles,
                       generations=generations, seed=seed, progress=progress)
    if save:  # the result first: a sector file that cannot take the values must not lose the fit
        write_result(result, RESULTS_DIR / f"{sector}.json", particles, generations, seed)
        save_to_sector(result, scenario_path or SECTORS_DIR / f"{sector}.yaml")
    return result


def resummarise(sector: str, save: bool = False, scenario_path: str | Path | None = None) -> Calibration:
    """Summarise the saved posterior of ``sector`` again (point, errors, bands) without refitting.

    For a fit saved before the point estimate changed, or a sector file edited outside the fitted values.
    The scenario is the file with the fitted parameters at their saved point (they are overridden per
    particle anyway).
    """
    import datetime as dt

    spec, saved = FITS[sector], read_result(sector)
    scenario = spec.scenario(scenario_path)
    prior = spec.prior_box()
    names = [row["parameter"] for row in saved["posterior"]]
    if tuple(names) != prior.names:
        raise ValueError(f"{sector}: the saved posterior fits {names}, the fit spec {list(prior.names)}")
    samples = np.asarray(saved["posterior_samples"], float)
    gen = Generation(prior.to_transformed(samples), np.asarray(saved["posterior_weights"], float),
                     np.full(len(samples), saved["errors"]["final_tolerance"]), saved["errors"]["final_tolerance"],
                     int(saved["errors"]["simulations"]), float(saved["wall_seconds"]))
    replayer = make_replayer(scenario, spec.build_target(scenario), prior.names, spec.fit, spec.check,
                             saved["settings"]["seed"])
    result = summarise(scenario, replayer, AbcResult(prior, [gen]), float(saved["wall_seconds"]),
                       dt.date.fromisoformat(saved["fitted_on"]))
    if save:
        settings = saved["settings"]
        write_result(result, RESULTS_DIR / f"{sector}.json", settings["particles"], settings["generations"],
                     settings["seed"])
        save_to_sector(result, scenario_path or SECTORS_DIR / f"{sector}.yaml")
    return result


def write_result(result: Calibration, path: Path, particles: int, generations: int, seed: int) -> None:
    """The fit's posterior table, errors, predictive bands and settings as JSON (atomic rename)."""
    from models.io import atomic_write_files, json_bytes, provenance

    payload = {
        "sector": result.sector, "target": result.target, "fitted_on": result.fitted_on.isoformat(),
        "fit_window": [f"{m:%Y-%m}" for m in result.replayer.fit_months[[0, -1]]],
        "check_window": ([f"{m:%Y-%m}" for m in result.replayer.check_months[[0, -1]]]
                         if len(result.replayer.check_months) else None),
        "settings": {"particles": particles, "generations": generations, "seed": seed,
                     "algorithm": "ABC-SMC (Beaumont et al. 2009), log RMSE distance, batch engine"},
        "wall_seconds": round(result.seconds, 1), "errors": result.errors,
        "posterior": result.table.reset_index().to_dict(orient="records"),
        "predictive": [{"date": f"{d:%Y-%m-%d}", **{k: (None if pd.isna(v) else float(v)) if k != "window" else v
                                                     for k, v in row.items()}}
                       for d, row in result.predictive.iterrows()],
        "posterior_samples": np.round(result.abc.samples(), 8).tolist(),
        "posterior_weights": np.round(result.abc.posterior.weights, 10).tolist(),
        "provenance": provenance(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_files({path: json_bytes(payload)})


def read_result(sector: str) -> dict:
    """The saved result of a sector's last fit (``params/sectors/calibration/SECTOR.json``)."""
    return json.loads((RESULTS_DIR / f"{sector}.json").read_text(encoding="utf-8"))
