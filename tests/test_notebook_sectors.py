"""Notebook 04 (the sectors under the same shocks) executes from a clean state with tiny parameters."""

from __future__ import annotations

from pathlib import Path

import nbformat
import papermill

ROOT = Path(__file__).resolve().parents[1]
SECTORS = ("storage", "compute", "wireless", "ai", "sensor")


def test_sectors_notebook_runs_with_tiny_parameters(tmp_path):
    out = tmp_path / "04.ipynb"
    papermill.execute_notebook(
        str(ROOT / "notebooks" / "04_sectors.ipynb"), str(out), kernel_name="python3", cwd=str(tmp_path),
        progress_bar=False,
        parameters={"steps": 60, "seeds": 2, "crash_day": 70.0, "bear_day": 91.0, "bear_duration_days": 91.0,
                    "sector_files": [str(ROOT / "params" / "sectors" / f"{name}.yaml") for name in SECTORS]},
    )
    executed = nbformat.read(out, as_version=4)
    outs = [o for c in executed.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outs if o.get("output_type") == "error"]
    assert sum("image/png" in o.get("data", {}) for o in outs) >= 4
    markdown = [o.get("data", {}).get("text/markdown", "") for o in outs]
    assert any("Most fragile" in text for text in markdown), "the Findings list is missing"
