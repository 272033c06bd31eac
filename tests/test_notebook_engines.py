"""Notebook 02 (engines agree) executes from a clean state with tiny parameters, crash included."""

from __future__ import annotations

from notebook_helpers import ROOT, execute, figures


def test_engines_notebook_runs_with_the_crash_inside_a_short_horizon(tmp_path):
    outs = execute("02_engines_agree.ipynb", tmp_path,
                   {"steps": 80, "seeds": 2, "scenario_file": str(ROOT / "params" / "base_crash.yaml")})
    assert figures(outs) >= 2
    assert any("crash at step: 65" in o.get("text", "") for o in outs)  # base_crash: day 455 = week 65
