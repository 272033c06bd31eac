"""Reproducing a run: `depin run --from summary.json` and any sweep row with `--point N --replicate R`."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from sweep_helpers import ROOT, depin, write_spec

from models.experiments import load, load_sweep, run_sweep
from models.output import COLUMNS


def test_from_summary_reproduces_the_run_exactly(tmp_path):
    out = tmp_path / "first"
    first = depin("run", str(ROOT / "params" / "base_crash.yaml"), "--seed", "11", "--steps", "70",
                  "--engine", "cadcad", "--out", str(out), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    again = depin("run", "--from", str(out / "summary.json"), "--out", str(tmp_path / "again"), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "identical time series" in again.stdout
    pd.testing.assert_frame_equal(pd.read_parquet(out / "timeseries.parquet"),
                                  pd.read_parquet(tmp_path / "again" / "timeseries.parquet"))
    a, b = (json.loads((d / "summary.json").read_text()) for d in (out, tmp_path / "again"))
    assert (a["engine"], a["seed"], a["steps"], a["results"]) == (b["engine"], b["seed"], b["steps"], b["results"])
    assert (a["engine"], a["seed"], a["steps"]) == ("cadcad", 11, 70)


def test_from_summary_reports_a_different_result(tmp_path):
    out = tmp_path / "first"
    assert depin("run", str(ROOT / "params" / "base.yaml"), "--steps", "30", "--out", str(out),
                 cwd=tmp_path).returncode == 0
    summary = json.loads((out / "summary.json").read_text())
    summary["parameters"]["market"]["fee"] = 0.01  # the recorded parameters no longer give these numbers
    (out / "summary.json").write_text(json.dumps(summary))
    result = depin("run", "--from", str(out / "summary.json"), cwd=tmp_path)
    assert result.returncode == 1 and "DIFFERENT time series" in result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["first"]  # without --out nothing is written


@pytest.mark.parametrize("engine", ["batch", "cadcad"])
def test_point_and_replicate_reproduce_a_sweep_row(tmp_path, engine):
    spec = write_spec(tmp_path / "spec.yaml", engine=engine, keep="timeseries", replicates=3, sampler="grid",
                      parameters={"market.liquidity_usd": {"values": [30000.0, 90000.0]},
                                  "simulation.seed": {"values": [5, 6]}})
    res = load("t", run_sweep(load_sweep(spec), workers=1, out=tmp_path / "sweep", progress=False).parent)
    row = res.summary.query("point == 3 and replicate == 2").iloc[0]
    assert row["root_seed"] == 6  # a swept seed is honoured as the point's root seed
    out = tmp_path / "row"
    result = depin("run", str(spec), "--point", "3", "--replicate", "2", "--out", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    mine = pd.read_parquet(out / "timeseries.parquet")
    stored = res.timeseries(filter={"run": row["run_id"]}).sort_values("step").reset_index(drop=True)
    pd.testing.assert_frame_equal(mine[list(COLUMNS)], stored[list(COLUMNS)])
    summary = json.loads((out / "summary.json").read_text())
    assert summary["run_id"] == row["run_id"] and summary["results"]["final_price"] == row["final_price"]
    assert summary["results"]["regime"] == row["regime"]


def test_point_outside_the_sweep_is_a_clear_error(tmp_path):
    spec = write_spec(tmp_path / "spec.yaml")
    result = depin("run", str(spec), "--point", "9", "--replicate", "0", cwd=tmp_path)
    assert result.returncode == 2 and "--point 9" in result.stderr and "0..1" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spec.yaml"]


def test_abm_run_whose_providers_die_before_the_reference_step(tmp_path):
    """Was a TypeError in the CLI: a run with no providers at the reference step has no ratios to format."""
    scenario = tmp_path / "dying.yaml"
    scenario.write_text(
        "name: dying\n"
        "simulation: {steps: 60, potential_providers: 200, potential_users: 1000, speculators: 20}\n"
        "providers: {initial_active: 50, opex_usd_per_year: 26000.0, opex_dispersion: 0.0, exit_patience_days: 7,\n"
        "            exit_rate_per_year: 1000.0, entry_max_rate_per_year: 0.0}\n"
        "users: {initial_users: 20}\n"
    )
    result = depin("run", str(scenario), "--engine", "abm", "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    frame = pd.read_parquet(tmp_path / "out" / "timeseries.parquet")
    assert frame.loc[frame.step == 52, "providers"].item() == 0  # dead before the reference step (day 364)
    results = json.loads((tmp_path / "out" / "summary.json").read_text())["results"]
    assert results["regime_absolute"] == "collapse"
    assert results["regime"] == "stall"  # no shock: the run is its own twin, so never a collapse against it
