"""Read what an executed notebook shows (the notebook tests read the quick site build's notebooks)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def figures(outs: list[dict]) -> int:
    """Number of PNG figures among the outputs."""
    return sum("image/png" in o.get("data", {}) for o in outs)


def markdown(outs: list[dict]) -> list[str]:
    """Markdown texts the notebook displayed."""
    return [o.get("data", {}).get("text/markdown", "") for o in outs]
