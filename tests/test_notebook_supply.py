"""Notebook 03 (the supply side) executes from a clean state with tiny parameters."""

from __future__ import annotations

from pathlib import Path

import nbformat
import papermill

ROOT = Path(__file__).resolve().parents[1]


def test_supply_side_notebook_runs_with_tiny_parameters(tmp_path):
    out = tmp_path / "03.ipynb"
    papermill.execute_notebook(
        str(ROOT / "notebooks" / "03_supply_side.ipynb"), str(out), kernel_name="python3", cwd=str(tmp_path),
        progress_bar=False,
        parameters={"steps": 80, "seeds": 2, "abm_steps": 20, "scenario_file": str(ROOT / "params" / "base.yaml"),
                    "crash_file": str(ROOT / "params" / "base_crash.yaml")},
    )
    executed = nbformat.read(out, as_version=4)
    outs = [o for c in executed.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outs if o.get("output_type") == "error"]
    assert sum("image/png" in o.get("data", {}) for o in outs) >= 4
