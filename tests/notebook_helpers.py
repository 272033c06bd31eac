"""Run a notebook with papermill in a clean directory and collect its outputs (for the notebook tests)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import papermill

ROOT = Path(__file__).resolve().parents[1]


def execute(name: str, tmp_path: Path, parameters: dict | None = None) -> list[dict]:
    """Execute ``notebooks/NAME`` with ``parameters`` in ``tmp_path``; the outputs of its code cells.

    Fails the test when any cell raised.
    """
    out = tmp_path / name
    papermill.execute_notebook(str(ROOT / "notebooks" / name), str(out), kernel_name="python3", cwd=str(tmp_path),
                               progress_bar=False, parameters=parameters or {})
    executed = nbformat.read(out, as_version=4)
    outs = [o for c in executed.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    errors = [o for o in outs if o.get("output_type") == "error"]
    assert not errors, errors[0].get("evalue")
    return outs


def figures(outs: list[dict]) -> int:
    """Number of PNG figures among the outputs."""
    return sum("image/png" in o.get("data", {}) for o in outs)


def markdown(outs: list[dict]) -> list[str]:
    """Markdown texts the notebook displayed."""
    return [o.get("data", {}).get("text/markdown", "") for o in outs]
