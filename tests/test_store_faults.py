"""Faults injected into sweeps and runs: in every case nothing is lost, nothing is wrong, the status says the truth.

Disk faults use a real tmpfs (full, read-only), which needs root, as on the CI machine.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest
from sweep_helpers import (
    ROOT,
    UNSHOCKED,
    comparable,
    dask_cluster,
    depin,
    depin_popen,
    free_port,
    remount,
    tmpfs,
    write_spec,
)

from models.cli import main
from models.experiments import load, load_sweep, run_sweep
from models.experiments.lock import StoreError
from models.experiments.store import SweepStore


def listing(folder: Path) -> dict[str, int]:
    """Every path under ``folder`` with its modification time (what a fault must not change)."""
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in sorted(folder.rglob("*"))}


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def wait_for(predicate, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting for the sweep"
        time.sleep(0.05)


def n_runs(store: Path) -> int:
    return len(list((store / "runs").glob("*.json"))) if (store / "runs").is_dir() else 0


# --- names are never paths; nothing deletes what it did not create -------------------------------------


@pytest.mark.parametrize("name", ["..", ".", "../x", "/tmp/abs", ".hidden", "a/b"])
def test_unsafe_sweep_names_delete_nothing(tmp_path, capsys, name):
    project = tmp_path / "project"
    (project / "results" / "other").mkdir(parents=True)
    (project / "results" / "other" / "precious.txt").write_text("a user's file")
    spec = write_spec(project / "spec.yaml", name=name)
    before = listing(tmp_path)
    assert main(["sweep", str(spec), "--out", str(project / "results"), "--no-resume", "--workers", "1"]) == 2
    assert "name" in one_line(capsys.readouterr().err)
    assert listing(tmp_path) == before


def test_a_directory_the_sweep_did_not_create_is_never_replaced(tmp_path, capsys):
    foreign = tmp_path / "out" / "t"
    foreign.mkdir(parents=True)
    (foreign / "thesis.tex").write_text("years of work")
    spec = write_spec(tmp_path / "spec.yaml")
    before = listing(tmp_path)
    for extra in ([], ["--no-resume"]):
        assert main(["sweep", str(spec), "--out", str(tmp_path / "out"), "--workers", "1", *extra]) == 2
        assert "not created by a sweep" in one_line(capsys.readouterr().err)
    assert listing(tmp_path) == before
    with pytest.raises(StoreError):
        SweepStore(foreign).move_aside()


# --- the store knows what it holds --------------------------------------------------------------------


def test_relative_out_with_an_external_scheduler_lands_beside_the_client(tmp_path):
    client_dir, worker_dir = tmp_path / "client", tmp_path / "worker"
    client_dir.mkdir()
    worker_dir.mkdir()
    spec = write_spec(client_dir / "spec.yaml")
    with dask_cluster(workers=1, worker_cwd=worker_dir) as address:
        result = depin("sweep", str(spec), "--scheduler", address, cwd=client_dir)  # default --out results
    assert result.returncode == 0, result.stderr
    assert list(worker_dir.rglob("*")) == []
    res = load("t", client_dir / "results")
    assert res.status == "complete" and res.manifest["completed_runs"] == 4 == len(res.summary)


def test_a_second_sweep_on_the_same_store_is_refused(tmp_path):
    spec = write_spec(tmp_path / "spec.yaml", engine="cadcad", replicates=25, steps=60, **UNSHOCKED)
    first = depin_popen("sweep", str(spec), "--out", str(tmp_path / "out"), "--workers", "2", "--no-resume",
                        cwd=tmp_path)
    store = tmp_path / "out" / "t"
    wait_for(lambda: n_runs(store) >= 2)
    second = depin("sweep", str(spec), "--out", str(tmp_path / "out"), "--workers", "1", "--no-resume", cwd=tmp_path)
    assert second.returncode == 2
    assert f"pid {first.pid}" in one_line(second.stderr)
    assert n_runs(store) < 50, "the first sweep finished before the second started; make it bigger"
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    res = load("t", tmp_path / "out")
    assert res.status == "complete" and len(res.summary) == 50 == res.manifest["completed_runs"]
    assert not list((tmp_path / "out").glob("t.replaced-*"))  # the refused sweep moved nothing aside


def test_resume_after_a_model_change_refuses_unless_asked(tmp_path):
    spec = write_spec(tmp_path / "spec.yaml", keep="timeseries")
    out = tmp_path / "out"
    assert depin("sweep", str(spec), "--out", str(out), "--workers", "1", cwd=tmp_path).returncode == 0
    changed = tmp_path / "changed"
    shutil.copytree(ROOT / "models", changed / "models", ignore=shutil.ignore_patterns("__pycache__"))
    with open(changed / "models" / "mechanisms" / "amm.py", "a") as fh:
        fh.write("\n# a change to the model code\n")
    env = {"PYTHONPATH": str(changed)}
    imported = subprocess.run([sys.executable, "-c", "import models; print(models.__file__)"], cwd=tmp_path,
                              capture_output=True, text=True, env={**os.environ, **env}).stdout
    assert imported.startswith(str(changed)), imported  # the changed code is what runs below
    store = out / "t"
    before = listing(store)
    refused = depin("sweep", str(spec), "--out", str(out), "--workers", "1", cwd=tmp_path, env=env)
    assert refused.returncode == 2 and "other model code" in one_line(refused.stderr)
    assert listing(store) == before
    for victim in sorted((store / "runs").glob("*.json"))[:2]:  # two runs to recompute with the new code
        victim.unlink()
    mixed = depin("sweep", str(spec), "--out", str(out), "--workers", "1", "--allow-mixed", cwd=tmp_path, env=env)
    assert mixed.returncode == 0, mixed.stderr
    manifest = load("t", out).manifest
    assert manifest["status"] == "complete" and manifest["mixed_models"] is True
    assert sorted(manifest["model_code_hashes"].values()) == [2, 2]
    fresh = depin("sweep", str(spec), "--out", str(out), "--workers", "1", "--no-resume", cwd=tmp_path, env=env)
    assert fresh.returncode == 0, fresh.stderr
    manifest = load("t", out).manifest
    assert manifest["mixed_models"] is False and list(manifest["model_code_hashes"].values()) == [4]
    assert len(list(out.glob("t.replaced-*"))) == 1


def test_corrupt_and_truncated_run_files_are_quarantined_and_recomputed(tmp_path):
    spec = load_sweep(write_spec(tmp_path / "spec.yaml", keep="timeseries", replicates=3))
    clean = load("t", run_sweep(spec, workers=1, out=tmp_path / "clean", progress=False).parent)
    path = run_sweep(spec, workers=1, out=tmp_path / "hurt", progress=False)
    ids = sorted(p.stem for p in (path / "runs").glob("*.json"))
    runs = path / "runs"
    data = (runs / f"{ids[0]}.parquet").read_bytes()
    (runs / f"{ids[0]}.parquet").write_bytes(data[: len(data) // 2])  # truncated time series
    text = (runs / f"{ids[1]}.json").read_text()
    (runs / f"{ids[1]}.json").write_text(text[: len(text) // 2])  # truncated record
    record = json.loads((runs / f"{ids[2]}.json").read_text())
    record["row"]["final_price"] *= 1.5  # valid JSON, wrong number
    (runs / f"{ids[2]}.json").write_text(json.dumps(record))
    (runs / f"{ids[3]}.parquet").unlink()  # lost time series
    run_sweep(spec, workers=1, out=tmp_path / "hurt", progress=False)
    hurt = load("t", tmp_path / "hurt")
    assert hurt.status == "complete" and sorted(hurt.manifest["quarantined"]) == ids[:4]
    assert len(list((path / "quarantine").glob("*.problem.txt"))) == 4
    pd.testing.assert_frame_equal(comparable(hurt.summary), comparable(clean.summary))
    pd.testing.assert_frame_equal(hurt.timeseries(filter={"run": ids[:4]}).sort_values(["run", "step"])
                                  .reset_index(drop=True),
                                  clean.timeseries(filter={"run": ids[:4]}).sort_values(["run", "step"])
                                  .reset_index(drop=True))


# --- disks that are full or read-only -----------------------------------------------------------------


def test_a_full_disk_interrupts_the_sweep_and_a_resume_completes_it(tmp_path):
    spec = write_spec(tmp_path / "spec.yaml", keep="timeseries", replicates=30, steps=200, **UNSHOCKED)
    clean = load("t", run_sweep(load_sweep(spec), workers=1, out=tmp_path / "clean", progress=False).parent)
    with tmpfs(tmp_path / "disk", "1m") as disk:
        refused = depin("sweep", str(spec), "--out", str(disk), "--workers", "1", cwd=tmp_path)
        assert refused.returncode == 2 and "MB needed" in one_line(refused.stderr)
        assert list(disk.iterdir()) == []
        full = depin("sweep", str(spec), "--out", str(disk), "--workers", "1", "--force", cwd=tmp_path)
        assert full.returncode == 1
        assert "No space left on device" in one_line(full.stderr) and "resume" in full.stderr
        res = load("t", disk)
        assert res.status == "interrupted" and res.manifest["status"] == "interrupted"
        assert not [p for p in disk.rglob("*") if p.name.endswith(".tmp") and p.name != ".manifest.interrupted.json"]
        stored = sorted(p.stem for p in (disk / "t" / "runs").glob("*.json"))
        assert 0 < len(stored) < 120
        store = SweepStore(disk / "t")
        assert all(store.verify(rid, timeseries=True)[0] is not None for rid in stored)  # nothing half-written
        remount(disk, "size=64m")
        resumed = depin("sweep", str(spec), "--out", str(disk), "--workers", "1", cwd=tmp_path)
        assert resumed.returncode == 0, resumed.stderr
        res = load("t", disk)
        assert res.status == "complete" and res.manifest["quarantined"] == {}
        pd.testing.assert_frame_equal(comparable(res.summary), comparable(clean.summary))


def test_read_only_output_is_refused_before_any_work(tmp_path):
    spec = write_spec(tmp_path / "spec.yaml")
    with tmpfs(tmp_path / "ro", "1m", read_only=True) as ro:
        sweep = depin("sweep", str(spec), "--out", str(ro / "results"), "--workers", "1", cwd=tmp_path)
        assert sweep.returncode == 2 and "not writable" in one_line(sweep.stderr)
        run = depin("run", str(ROOT / "params" / "base.yaml"), "--out", str(ro / "run"), cwd=tmp_path)
        assert run.returncode == 2 and "not writable" in one_line(run.stderr)
        assert list(ro.iterdir()) == []


def test_a_failed_run_leaves_the_previous_outputs_as_they_were(tmp_path):
    base = str(ROOT / "params" / "base.yaml")
    with tmpfs(tmp_path / "disk", "2m") as disk:
        out = disk / "run"
        assert depin("run", base, "--steps", "20", "--out", str(out), cwd=tmp_path).returncode == 0
        before = {p.name: p.read_bytes() for p in out.iterdir()}
        with open(disk / "filler", "wb", buffering=0) as fh:  # fill the disk
            try:
                while True:
                    fh.write(b"\0" * 4096)
            except OSError:
                pass
        failed = depin("run", base, "--steps", "40", "--out", str(out), cwd=tmp_path)
        assert failed.returncode == 1 and "previous outputs are unchanged" in one_line(failed.stderr)
        assert {p.name: p.read_bytes() for p in out.iterdir()} == before


# --- the cluster ---------------------------------------------------------------------------------------


def test_an_unreachable_or_empty_scheduler_gives_one_line_and_writes_nothing(tmp_path):
    spec = write_spec(tmp_path / "spec.yaml")
    before = listing(tmp_path)
    nobody = depin("sweep", str(spec), "--scheduler", f"tcp://127.0.0.1:{free_port()}", cwd=tmp_path, timeout=60)
    assert nobody.returncode == 1 and "cannot reach the Dask scheduler" in one_line(nobody.stderr)
    bad = depin("sweep", str(spec), "--scheduler", "tcp://127.0.0.1:notaport", cwd=tmp_path, timeout=60)
    assert bad.returncode == 2 and "tcp://HOST:PORT" in one_line(bad.stderr)
    with dask_cluster(workers=0) as address:
        empty = depin("sweep", str(spec), "--scheduler", address, cwd=tmp_path, timeout=60)
    assert empty.returncode == 1 and "has no workers" in one_line(empty.stderr)
    assert listing(tmp_path) == before


def worker_processes(pid: int) -> list[psutil.Process]:
    """The Dask worker processes a LocalCluster spawned under the CLI process ``pid``."""
    found = []
    for child in psutil.Process(pid).children(recursive=True):
        try:
            cmd = " ".join(child.cmdline())
        except psutil.Error:
            continue
        if "spawn_main" in cmd:
            found.append(child)
    return found


@pytest.fixture(scope="module")
def cadcad_reference(tmp_path_factory):
    """A cadCAD sweep of one run per task, never interrupted."""
    folder = tmp_path_factory.mktemp("cadcad")
    spec = write_spec(folder / "spec.yaml", engine="cadcad", replicates=30, steps=60, **UNSHOCKED)
    return spec, load("t", run_sweep(load_sweep(spec), workers=2, out=folder / "out", progress=False).parent)


@pytest.mark.parametrize("kills", [1, 2])
def test_killed_workers_are_replaced_and_their_runs_retried(tmp_path, cadcad_reference, kills):
    spec, clean = cadcad_reference
    proc = depin_popen("sweep", str(spec), "--out", str(tmp_path), "--workers", "2", cwd=tmp_path)
    store = tmp_path / "t"
    killed, stored_at_kill = [], []
    for k in range(kills):
        wait_for(lambda k=k: n_runs(store) >= 4 + 8 * k and len(worker_processes(proc.pid)) >= 2)
        victim = worker_processes(proc.pid)[0]
        victim.send_signal(signal.SIGKILL)
        killed.append(victim.pid)
        stored_at_kill.append(n_runs(store))
        if k + 1 < kills:
            time.sleep(1.0)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert max(stored_at_kill) < 60, "the sweep finished before the kills; make it bigger"
    res = load("t", tmp_path)
    assert res.status == "complete" and len(killed) == kills
    pd.testing.assert_frame_equal(comparable(res.summary), comparable(clean.summary))


def test_ctrl_c_leaves_an_interrupted_store_that_resumes_to_the_same_numbers(tmp_path, cadcad_reference):
    spec, clean = cadcad_reference
    proc = depin_popen("sweep", str(spec), "--out", str(tmp_path), "--workers", "2", cwd=tmp_path)
    store = tmp_path / "t"
    wait_for(lambda: n_runs(store) >= 4)
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal does: the whole process group
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert "interrupted by Ctrl-C" in one_line(err)
    res = load("t", tmp_path)
    assert res.manifest["status"] == "interrupted" and res.status == "interrupted"
    stored = n_runs(store)
    assert 4 <= stored < 60
    resumed = depin("sweep", str(spec), "--out", str(tmp_path), "--workers", "2", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    res = load("t", tmp_path)
    assert res.status == "complete"
    pd.testing.assert_frame_equal(comparable(res.summary), comparable(clean.summary))


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["sweep", "SPEC", "--workers", "-1"], "--workers"),
        (["sweep", "SPEC", "--workers", "two"], "--workers"),
        (["run", "BASE", "--seed", "-1"], "--seed"),
        (["run", "BASE", "--steps", "0"], "--steps"),
        (["run", "BASE", "--steps", "999999"], "--steps"),
        (["run", "BASE", "--engine", "warp"], "--engine"),
        (["run", "BASE", "--out", "AFILE"], "not a directory"),
        (["sweep", "SPEC", "--out", "AFILE"], "not a directory"),
        (["run", "BASE", "--point", "-2"], "--point"),
    ],
)
def test_bad_arguments_give_one_line_and_exit_2(tmp_path, argv, needle):
    spec = write_spec(tmp_path / "spec.yaml")
    (tmp_path / "afile").write_text("a user's file")
    swap = {"SPEC": str(spec), "BASE": str(ROOT / "params" / "base.yaml"), "AFILE": str(tmp_path / "afile")}
    before = listing(tmp_path)
    result = depin(*[swap.get(a, a) for a in argv], cwd=tmp_path, timeout=120)
    assert result.returncode == 2 and needle in one_line(result.stderr)
    assert listing(tmp_path) == before
