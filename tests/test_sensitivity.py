"""Sensitivity analysis (issue 12): the pipeline is checked on functions with known indices before the economy.

Sobol on the Ishigami function and Morris on a linear function go through the same code path a sweep does:
the spec's design (``models.experiments.spec.points``, scaled onto the ranges) and
``models.analysis.sensitivity``; only the model evaluated at the points differs.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml
from sweep_helpers import BASE

from models.analysis import sensitivity as sa
from models.experiments.results import SweepResults
from models.experiments.runner import run_sweep, seed_key
from models.experiments.spec import SweepSpec, expected_runs, load_sweep, points
from models.params import ParameterError

PI = math.pi
# Analytic Ishigami indices for a = 7, b = 0.1 (Ishigami and Homma 1990; Sobol' and Levitan 1999)
A, B = 7.0, 0.1
V = A**2 / 8 + B * PI**4 / 5 + B**2 * PI**8 / 18 + 0.5
V1 = 0.5 * (1 + B * PI**4 / 5) ** 2
V2 = A**2 / 8
V13 = B**2 * PI**8 * (1 / 18 - 1 / 50)
ISHIGAMI_S1 = [V1 / V, V2 / V, 0.0]
ISHIGAMI_ST = [(V1 + V13) / V, V2 / V, V13 / V]


def design_spec(sampler: str, ranges: dict, samples: int, **extra) -> SweepSpec:
    """A spec whose points are the design; ``base`` is never read by ``points``."""
    return SweepSpec(name="analytic", base="unused.yaml", sampler=sampler, samples=samples, seed=20261203,
                     parameters=ranges, **extra)


def matrix(spec: SweepSpec) -> np.ndarray:
    return np.array([[p[name] for name in spec.parameters] for p in points(spec)])


def ishigami(x: np.ndarray) -> np.ndarray:
    return np.sin(x[:, 0]) + A * np.sin(x[:, 1]) ** 2 + B * x[:, 2] ** 4 * np.sin(x[:, 0])


def test_sobol_matches_the_analytic_ishigami_indices_within_0_02():
    spec = design_spec("sobol", {f"x{i}": {"low": -PI, "high": PI} for i in (1, 2, 3)}, 1024, second_order=True)
    assert expected_runs(spec) == 1024 * 8
    result = sa.sobol_indices(spec, ishigami(matrix(spec)))
    table = result["indices"]
    assert list(table["parameter"]) == ["x1", "x2", "x3"]
    np.testing.assert_allclose(table["S1"], ISHIGAMI_S1, atol=0.02)
    np.testing.assert_allclose(table["ST"], ISHIGAMI_ST, atol=0.02)
    # second-order estimates are noisier at the same N: each lies within its bootstrap interval of the truth
    s2 = result["second_order"].set_index(["parameter_a", "parameter_b"])
    for pair, truth in [(("x1", "x3"), V13 / V), (("x1", "x2"), 0.0), (("x2", "x3"), 0.0)]:
        assert s2.loc[pair, "S2_low"] <= truth <= s2.loc[pair, "S2_high"], (pair, s2.loc[pair].to_dict())
    assert s2.loc[("x1", "x3"), "S2"] == pytest.approx(V13 / V, abs=0.02)
    assert (table["S1_low"] < table["S1"]).all() and (table["ST_high"] > table["ST"]).all()


def test_sobol_first_and_total_only_design_has_n_d_plus_2_points():
    spec = design_spec("sobol", {f"x{i}": {"low": -PI, "high": PI} for i in (1, 2, 3)}, 1024)
    assert len(points(spec)) == expected_runs(spec) == 1024 * 5
    table = sa.sobol_indices(spec, ishigami(matrix(spec)))["indices"]
    np.testing.assert_allclose(table["S1"], ISHIGAMI_S1, atol=0.02)
    np.testing.assert_allclose(table["ST"], ISHIGAMI_ST, atol=0.02)
    with pytest.raises(ValueError, match="outcomes for a design of"):
        sa.sobol_indices(spec, np.ones(10))
    y = ishigami(matrix(spec))
    y[3] = np.nan
    with pytest.raises(ValueError, match="1 of 5120 outcomes are not finite"):
        sa.sobol_indices(spec, y)


def test_morris_ranks_the_inputs_of_a_linear_function_by_their_effect():
    coefficients = {"a": 4.0, "b": -3.0, "c": 1.0, "d": 0.0}  # per unit of each input
    ranges = {"d": {"low": 0, "high": 1}, "c": {"low": 0, "high": 2}, "a": {"low": 0, "high": 1},
              "b": {"low": 10, "high": 11.5}}
    spec = design_spec("morris", ranges, 20, levels=4)
    assert len(points(spec)) == expected_runs(spec) == 20 * 5
    x = pd.DataFrame(points(spec))
    y = sum(coef * x[name] for name, coef in coefficients.items()).to_numpy()
    table = sa.morris_indices(spec, y)
    # effect over each input's full range: a 4, b -3 x 1.5 = -4.5, c 1 x 2 = 2, d 0
    assert list(table["parameter"]) == ["b", "a", "c", "d"]
    np.testing.assert_allclose(table.set_index("parameter")["mu_star"][["b", "a", "c", "d"]], [4.5, 4, 2, 0],
                               atol=1e-9)
    np.testing.assert_allclose(table["sigma"], 0, atol=1e-9)  # linear: every elementary effect is the same
    assert table.set_index("parameter").loc["b", "mu"] == pytest.approx(-4.5)


def test_indices_over_time_follow_the_input_that_drives_each_step():
    spec = design_spec("sobol", {"early": {"low": 0, "high": 1}, "late": {"low": 0, "high": 1}}, 256)
    x = matrix(spec)
    steps = np.arange(6)
    paths = np.column_stack([np.ones(len(x)), *(x[:, 0] if t < 3 else x[:, 1] for t in steps[1:])])
    paths = np.column_stack([paths, 1 + 1e-6 * x[:, 0]])  # a spread of a millionth of the mean: no indices
    steps = np.arange(7)
    frame = sa.sobol_over_time(spec, paths, steps, num_resamples=50)
    assert not frame[frame.step == 0]["defined"].any() and frame[frame.step == 0]["S1"].isna().all()
    assert not frame[frame.step == 6]["defined"].any() and frame[frame.step == 6]["variance"].gt(0).all()
    by = frame[frame.defined].pivot(index="step", columns="parameter", values="S1")
    np.testing.assert_allclose(by.loc[[1, 2], "early"], 1, atol=0.05)
    np.testing.assert_allclose(by.loc[[3, 4, 5], "late"], 1, atol=0.05)
    np.testing.assert_allclose(by.loc[[3, 4, 5], "early"], 0, atol=0.05)
    every = sa.sobol_over_time(spec, paths, steps, every=2, num_resamples=20)
    assert sorted(every.step.unique()) == [0, 2, 4, 6]


def test_outcomes_average_replicates_and_refuse_missing_points():
    summary = pd.DataFrame({"point": [0, 0, 1, 1, 2], "replicate": [0, 1, 0, 1, 0],
                            "regime": ["collapse", "stall", "stall", "stall", "collapse"],
                            "trough": [0.2, 0.4, 0.9, 0.7, 0.1]})
    np.testing.assert_allclose(sa.outcome(summary, "regime", "collapse"), [0.5, 0, 1])
    np.testing.assert_allclose(sa.outcome(summary, "trough"), [0.3, 0.8, 0.1])
    with pytest.raises(ValueError, match="1 points have no run in the summary .first: point 3"):
        sa.outcome(summary, "trough", points=4)
    series = pd.DataFrame({"point": [0, 0, 0, 0, 1, 1], "replicate": [0, 0, 1, 1, 0, 0], "step": [0, 1] * 3,
                           "providers": [1.0, 2, 3, 4, 5, 6], "twin_providers": [1.0, 4, 1, 4, 5, 0]})
    paths, steps = sa.outcome_paths(series, "providers", relative_to_twin=True)
    assert list(steps) == [0, 1]
    np.testing.assert_allclose(paths[0], [2.0, 0.75])
    assert paths[1, 0] == 1.0 and paths[1, 1] == pytest.approx(6 / 1e-12)  # a dead twin: floored, not NaN


def test_analysis_refuses_designs_it_cannot_read():
    lhs = design_spec("latin_hypercube", {"x": {"low": 0, "high": 1}}, 8)
    with pytest.raises(ValueError, match="needs sampler sobol or morris"):
        sa.sobol_indices(lhs, np.zeros(8))


def write_spec(tmp_path, **fields):
    data = {"name": "s", "base": str(BASE), "seed": 3, "engine": "batch", "steps": 70, "overrides": {"shocks": []},
            "parameters": {"providers.opex_usd_per_year": {"low": 100.0, "high": 400.0},
                           "market.liquidity_usd": {"low": 25000.0, "high": 100000.0}}, **fields}
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(("fields", "message"), [
    ({"sampler": "morris", "samples": 4, "levels": 3}, "levels: 3 is odd"),
    ({"sampler": "latin_hypercube", "samples": 4, "second_order": True}, "second_order: only for sampler sobol"),
    ({"sampler": "sobol", "samples": 4, "series_columns": ["providers"]}, "series_columns: needs keep: timeseries"),
    ({"sampler": "sobol", "samples": 4, "keep": "timeseries", "series_columns": ["providerz"]},
     "series_columns: 'providerz' is not an output column"),
    ({"sampler": "morris"}, "samples: required for sampler morris"),
    ({"sampler": "sobol", "samples": 4, "levers": ["market.liquidity_usd", "nope"]},
     "levers: 'nope' is not a swept parameter"),
])
def test_bad_sensitivity_specs_name_the_field(tmp_path, fields, message):
    with pytest.raises(ParameterError, match=message):
        load_sweep(write_spec(tmp_path, **fields))


def test_design_sizes_match_their_points(tmp_path):
    for fields, size in [({"sampler": "morris", "samples": 3}, 3 * 3),
                         ({"sampler": "sobol", "samples": 4, "second_order": True}, 4 * 6),
                         ({"sampler": "sobol", "samples": 4}, 4 * 4)]:
        spec = load_sweep(write_spec(tmp_path, **fields))
        assert expected_runs(spec) == len(points(spec)) == size == len(sa.design(spec))


def test_a_sobol_sweep_with_common_random_numbers_stores_only_the_series_it_needs(tmp_path):
    shock = {"shocks": [{"type": "bear_market", "start_day": 70, "size": 0.6, "duration_days": 28}]}
    path = write_spec(tmp_path, sampler="sobol", samples=2, common_random_numbers=True, keep="timeseries",
                      series_columns=["providers", "price", "supply"], overrides=shock,
                      parameters={"shocks.0.size": {"low": 0.3, "high": 0.9},
                                  "providers.opex_usd_per_year": {"low": 100.0, "high": 400.0}})
    spec = load_sweep(path)
    results = SweepResults(run_sweep(spec, workers=1, out=tmp_path / "out", progress=False))
    summary = results.summary
    assert len(summary) == 8 and summary["seed"].nunique() == 1  # one market path for every point
    assert seed_key(5, 1, True) == (0, 1) and seed_key(5, 1) == (5, 1)
    series = results.timeseries()
    assert {"providers", "price", "supply", "twin_providers", "twin_price"} <= set(series.columns)
    assert "users" not in series.columns and "twin_supply" not in series.columns
    before = series[series.step < 10]
    assert (before["providers"] == before["twin_providers"]).all()  # identical before the shock
    paths, steps = sa.outcome_paths(series, "providers", relative_to_twin=True, points=len(sa.design(spec)))
    assert paths.shape == (8, 71) and np.allclose(paths[:, :10], 1.0)
    # the time series ends at the summary's own outcome: the providers ratio at the horizon
    np.testing.assert_allclose(paths[:, -1], sa.outcome(summary, "final_ratio"), rtol=1e-12)
    over = sa.sobol_over_time(spec, paths, steps, every=10, num_resamples=10)
    assert not over[over.step == 0]["defined"].any()
    # `depin run SPEC --point P` reproduces the row on the common path, and so does --from its summary
    row = summary[(summary.point == 5) & (summary.replicate == 0)].iloc[0]
    out = tmp_path / "row5"
    proc = subprocess.run([sys.executable, "-m", "models.cli", "run", str(path), "--point", "5", "--out", str(out)],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    record = json.loads((out / "summary.json").read_text())
    assert record["point"] == 5 and record["seed_key"] == [0, 0]
    assert record["results"]["final_ratio"] == pytest.approx(row["final_ratio"], rel=1e-12)
    again = subprocess.run([sys.executable, "-m", "models.cli", "run", "--from", str(out / "summary.json")],
                           capture_output=True, text=True, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    # the rerun of a stored run reproduces it on the same common path
    again = results.rerun([summary.run_id.iloc[5]], columns=["providers"])
    stored = series[series.run == summary.run_id.iloc[5]].sort_values("step")
    np.testing.assert_array_equal(again["providers"].to_numpy(), stored["providers"].to_numpy())
