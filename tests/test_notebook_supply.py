"""Notebook 03 (the supply side) executes in the quick site build."""

from __future__ import annotations

import pytest
from notebook_helpers import figures


@pytest.mark.xdist_group("site")
def test_supply_side_notebook_runs_with_tiny_parameters(site_build):
    # quick parameters in the notebook's metadata: 80 steps, 2 seeds, a 20-step spatial ABM run
    outs = site_build.outputs("03_supply_side.ipynb")
    assert figures(outs) >= 4
