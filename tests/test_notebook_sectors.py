"""Notebook 04 (the sectors under the same shocks) executes in the quick site build."""

from __future__ import annotations

import pytest
from notebook_helpers import figures, markdown


@pytest.mark.xdist_group("site")
def test_sectors_notebook_runs_with_tiny_parameters(site_build):
    # quick parameters in the notebook's metadata: 60 steps, 2 seeds, crash on day 70, all five sectors
    outs = site_build.outputs("04_sectors.ipynb")
    assert figures(outs) >= 4
    assert any("Most fragile" in text for text in markdown(outs)), "the Findings list is missing"
