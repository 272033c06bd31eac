"""Sweeps: specs, Dask execution (local and external cluster), resume after SIGKILL, result store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from sweep_helpers import UNSHOCKED, comparable, dask_cluster, write_spec

from models.cli import main
from models.experiments import load, load_sweep, points, run_sweep
from models.params import ParameterError

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "params" / "sweeps" / "smoke.yaml"


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The smoke sweep on a 2-worker LocalCluster."""
    out = tmp_path_factory.mktemp("ref")
    path = run_sweep(load_sweep(SMOKE), workers=2, out=out, progress=False)
    return path, load("smoke", out)


# --- specs -------------------------------------------------------------------------------------------


def test_points_are_deterministic_and_sized(tmp_path):
    smoke = load_sweep(SMOKE)
    assert len(points(smoke)) == 4 and points(smoke) == points(load_sweep(SMOKE))
    lhs = load_sweep(write_spec(tmp_path / "l.yaml", sampler="latin_hypercube", samples=10, parameters={
        "market.liquidity_usd": {"low": 2e4, "high": 2e5}, "providers.initial_active": {"low": 20, "high": 200},
        "providers.exit_patience_days": {"low": 7, "high": 180}}))
    pts = points(lhs)
    assert len(pts) == 10 and pts == points(lhs)
    # a count (an integer in the base) is sampled as integers; a duration in days stays a real number
    assert all(isinstance(p["providers.initial_active"], int) for p in pts)
    assert all(isinstance(p["providers.exit_patience_days"], float) for p in pts)
    assert len({p["providers.exit_patience_days"] % 1 for p in pts}) > 1
    sob = load_sweep(write_spec(tmp_path / "s.yaml", sampler="sobol", samples=8, parameters={
        "market.liquidity_usd": {"low": 2e4, "high": 2e5}, "providers.opex_usd_per_year": {"low": 100, "high": 450}}))
    assert len(points(sob)) == 8 * (2 + 2)
    assert len(points(load_sweep(ROOT / "params" / "sweeps" / "crash_boundary.yaml"))) == 512


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"parameters": {"market.no_such_field": {"values": [1.0]}}}, "parameters.market.no_such_field"),
        ({"parameters": {"market.liquidity_usd": {"values": []}}}, "parameters.market.liquidity_usd"),
        ({"parameters": {"market.liquidity_usd": {"low": 5.0, "high": 5.0}}, "sampler": "latin_hypercube",
          "samples": 4}, "parameters.market.liquidity_usd"),
        ({"replicates": 0}, "replicates"),
        ({"parameters": {"market.liquidity_usd": {"values": [-1.0]}}}, "parameters.market.liquidity_usd"),
        ({"overrides": {"nope.x": 1}}, "overrides.nope.x"),
        ({"steps": 40}, "steps"),  # the crash on day 455 (step 65) would be beyond the 280-day horizon
    ],
)
def test_invalid_spec_exits_2_and_writes_nothing(tmp_path, capsys, fields, needle):
    spec = write_spec(tmp_path / "bad.yaml", **fields)
    with pytest.raises(ParameterError):
        load_sweep(spec)
    out = tmp_path / "out"
    assert main(["sweep", str(spec), "--workers", "1", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert str(spec) in err and needle in err
    assert not out.exists()


# --- execution ---------------------------------------------------------------------------------------


def test_smoke_sweep_local_cluster(reference):
    path, res = reference
    summary = res.summary
    assert len(summary) == 4 * 2 and summary["run_id"].is_unique
    assert list(summary[["point", "replicate"]].itertuples(index=False, name=None)) == \
        [(p, r) for p in range(4) for r in range(2)]
    assert {"market.liquidity_usd", "providers.opex_usd_per_year", "regime", "final_price"} <= set(summary)
    assert len(list((path / "runs").glob("*.json"))) == 8 and len(list((path / "runs").glob("*.parquet"))) == 8
    assert not list(path.rglob("*.tmp"))
    manifest = res.manifest
    assert manifest["status"] == "complete" and manifest["root_seed"] == 2024 and len(manifest["spec_hash"]) == 64
    assert "git_commit" in manifest["provenance"] and manifest["provenance"]["packages"]["dask"]
    ts = res.timeseries(columns=["run", "step", "price"], filter={"point": [1, 2]})
    assert len(ts) == 4 * 81 and set(ts["run"]) == set(summary.loc[summary.point.isin([1, 2]), "run_id"])


def test_one_worker_gives_the_same_summary(reference, tmp_path):
    run_sweep(load_sweep(SMOKE), workers=1, out=tmp_path, progress=False)
    pd.testing.assert_frame_equal(comparable(load("smoke", tmp_path).summary), comparable(reference[1].summary))


def test_resume_skips_stored_runs_and_no_resume_recomputes(reference, tmp_path):
    spec = load_sweep(SMOKE)
    path = run_sweep(spec, workers=1, out=tmp_path, progress=False)
    first = {p.name: p.stat().st_mtime_ns for p in (path / "runs").iterdir()}
    victim = sorted(first)[0]
    (path / "runs" / victim).unlink()
    (path / "runs" / f".{victim}.{'ab' * 16}.tmp").write_text("{partial")  # a writer killed mid-write
    run_sweep(spec, workers=1, out=tmp_path, progress=False)
    after = {p.name: p.stat().st_mtime_ns for p in (path / "runs").iterdir()}
    assert set(after) == set(first)
    stem = victim.split(".")[0]
    assert sorted(n for n in after if after[n] != first[n]) == [f"{stem}.json", f"{stem}.parquet"]
    run_sweep(spec, workers=1, out=tmp_path, resume=False, progress=False)
    assert all((path / "runs" / n).stat().st_mtime_ns != after[n] for n in after)
    # --no-resume never deletes: the previous store was moved aside, whole
    (aside,) = tmp_path.glob("smoke.replaced-*")
    assert {p.name for p in (aside / "runs").iterdir()} == set(after)
    pd.testing.assert_frame_equal(comparable(load("smoke", tmp_path).summary), comparable(reference[1].summary))


def test_external_dask_cluster_gives_the_same_summary(reference, tmp_path):
    with dask_cluster(workers=2) as address:
        run_sweep(load_sweep(SMOKE), scheduler=address, out=tmp_path, progress=False)
    pd.testing.assert_frame_equal(comparable(load("smoke", tmp_path).summary), comparable(reference[1].summary))


def test_sigkill_then_resume_equals_uninterrupted(tmp_path):
    spec = write_spec(tmp_path / "big.yaml", name="big", steps=156, replicates=12, keep="timeseries", **UNSHOCKED,
                      parameters={
        "market.liquidity_usd": {"values": [20000.0, 50000.0, 120000.0, 300000.0]},
        "providers.opex_usd_per_year": {"values": [150.0, 250.0, 350.0, 450.0, 550.0]}})
    total = 4 * 5 * 12
    killed_out, clean_out = tmp_path / "killed", tmp_path / "clean"
    runs = killed_out / "big" / "runs"
    proc = subprocess.Popen(
        [sys.executable, "-m", "models.cli", "sweep", str(spec), "--workers", "2", "--out", str(killed_out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and len(list(runs.glob("*.json"))) < 40:
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    for _ in range(200):  # the whole process group (client, nannies, workers) is gone
        try:
            os.killpg(proc.pid, 0)
            time.sleep(0.05)
        except ProcessLookupError:
            break
    else:
        pytest.fail("processes of the killed sweep survive")
    done_at_kill = len(list(runs.glob("*.json")))
    assert 40 <= done_at_kill < total, "the sweep finished before it could be killed; make it bigger"
    assert not (killed_out / "big" / "summary.parquet").exists()
    # the manifest still says running, but nobody holds the lock: the status reads the truth
    assert load("big", killed_out).manifest["status"] == "running"
    assert load("big", killed_out).status == "interrupted"

    run_sweep(load_sweep(spec), workers=2, out=killed_out, progress=False)
    run_sweep(load_sweep(spec), workers=2, out=clean_out, progress=False)
    resumed_manifest = load("big", killed_out).manifest
    assert resumed_manifest["status"] == "complete" and resumed_manifest["stale_lock"]["pid"] == proc.pid
    assert not (killed_out / ".big.lock").exists()
    files = {p.name for p in runs.iterdir()}
    assert files == {p.name for p in (clean_out / "big" / "runs").iterdir()}
    assert len(files) == 2 * total and not [f for f in files if f.startswith(".") or f.endswith(".tmp")]
    resumed, clean = load("big", killed_out), load("big", clean_out)
    assert len(resumed.summary) == total and resumed.summary["run_id"].is_unique
    pd.testing.assert_frame_equal(comparable(resumed.summary), comparable(clean.summary))
    some = sorted(files)[0].split(".")[0]
    pd.testing.assert_frame_equal(resumed.timeseries(filter={"run": some}), clean.timeseries(filter={"run": some}))
