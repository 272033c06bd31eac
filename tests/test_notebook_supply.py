"""Notebook 03 (the supply side) executes from a clean state with tiny parameters."""

from __future__ import annotations

from notebook_helpers import ROOT, execute, figures


def test_supply_side_notebook_runs_with_tiny_parameters(tmp_path):
    outs = execute("03_supply_side.ipynb", tmp_path, {
        "steps": 80, "seeds": 2, "abm_steps": 20, "scenario_file": str(ROOT / "params" / "base.yaml"),
        "crash_file": str(ROOT / "params" / "base_crash.yaml")})
    assert figures(outs) >= 4
