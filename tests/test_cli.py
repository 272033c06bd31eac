"""The ``depin`` command line: validation errors, run outputs, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "params" / "base.yaml"


def depin(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "models.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize(
    ("content", "field", "problem"),
    [
        ("providers: {capex_usd: 500, warp_drive: 3}\n", "providers.warp_drive", "unknown key"),
        ("providers: {capex_usd: -5}\n", "providers.capex_usd", "greater than or equal to 0"),
        ("providers: {sell_share: 1.5}\n", "providers.sell_share", "less than or equal to 1"),
    ],
)
def test_validate_rejects_bad_files(tmp_path, content, field, problem):
    bad = tmp_path / "bad.yaml"
    bad.write_text(content)
    before = sorted(p.name for p in tmp_path.iterdir())
    result = depin("validate", str(bad), cwd=tmp_path)
    assert result.returncode == 2
    assert str(bad) in result.stderr
    assert field in result.stderr
    assert problem in result.stderr
    assert result.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written


def test_validate_accepts_base(tmp_path):
    result = depin("validate", str(BASE), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"ok: {BASE}"


def test_validate_missing_file(tmp_path):
    result = depin("validate", str(tmp_path / "nope.yaml"), cwd=tmp_path)
    assert result.returncode == 2
    assert "file not found" in result.stderr


def test_run_writes_timeseries_and_summary(tmp_path):
    out = tmp_path / "run"
    result = depin("run", str(BASE), "--engine", "batch", "--steps", "20", "--out", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    frame = pd.read_parquet(out / "timeseries.parquet")
    assert len(frame) == 21
    assert frame["step"].tolist() == list(range(21))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["engine"] == "batch"
    assert summary["steps"] == 20
    assert summary["seed"] == 42
    assert summary["parameters"]["name"] == "base"
    assert summary["results"]["regime"] in {"collapse", "recovery", "growth", "stall"}
    assert summary["results"]["final_providers"] == pytest.approx(frame["providers"].iloc[-1])
    assert set(summary["provenance"]) >= {"git_commit", "packages", "python", "created_utc"}
    assert "final price" in result.stdout and "regime" in result.stdout
    # only the two result files, no temp files left behind
    assert sorted(p.name for p in out.iterdir()) == ["summary.json", "timeseries.parquet"]


def test_run_default_out_dir(tmp_path):
    result = depin("run", str(BASE), "--steps", "5", "--seed", "7", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "results" / "runs" / "base-batch-7" / "summary.json").exists()


def test_run_bad_scenario_writes_nothing(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("providers: {sell_share: 1.5}\n")
    out = tmp_path / "out"
    result = depin("run", str(bad), "--out", str(out), cwd=tmp_path)
    assert result.returncode == 2
    assert "providers.sell_share" in result.stderr
    assert not out.exists()
    assert not (tmp_path / "results").exists()


def test_run_rejects_unknown_engine(tmp_path):
    result = depin("run", str(BASE), "--engine", "warp", cwd=tmp_path)
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_main_in_process(tmp_path, capsys):
    from models.cli import main

    assert main(["validate", str(BASE)]) == 0
    assert "ok:" in capsys.readouterr().out
