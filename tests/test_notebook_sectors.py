"""Notebook 04 (the sectors under the same shocks) executes from a clean state with tiny parameters."""

from __future__ import annotations

from notebook_helpers import ROOT, execute, figures, markdown

SECTORS = ("storage", "compute", "wireless", "ai", "sensor")


def test_sectors_notebook_runs_with_tiny_parameters(tmp_path):
    outs = execute("04_sectors.ipynb", tmp_path, {
        "steps": 60, "seeds": 2, "crash_day": 70.0, "bear_day": 91.0, "bear_duration_days": 91.0,
        "sector_files": [str(ROOT / "params" / "sectors" / f"{name}.yaml") for name in SECTORS]})
    assert figures(outs) >= 4
    assert any("Most fragile" in text for text in markdown(outs)), "the Findings list is missing"
