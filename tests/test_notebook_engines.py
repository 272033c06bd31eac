"""Notebook 02 (engines agree) executes in the quick site build (80 steps, 2 seeds), crash included."""

from __future__ import annotations

import pytest
from notebook_helpers import figures


@pytest.mark.xdist_group("site")
def test_engines_notebook_runs_with_the_crash_inside_a_short_horizon(site_build):
    # quick parameters in the notebook's metadata: 80 steps, 2 seeds, the crash file
    outs = site_build.outputs("02_engines_agree.ipynb")
    assert figures(outs) >= 2
    assert any("crash at step: 65" in o.get("text", "") for o in outs)  # base_crash: day 455 = week 65
