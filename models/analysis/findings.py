"""Findings: short statements whose numbers come from results, collected in ``site/findings.json``.

Each notebook ends with its Findings and writes them with :func:`write_findings`: the file holds one list,
and a notebook replaces only its own entries, so notebooks can run in any order. A finding records the
direction that must keep holding (``direction`` and ``threshold``), so a later test can re-run the notebook
and check it still holds (:func:`holds`).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

DIRECTIONS = (">", "<", ">=", "<=")
# A finding that tests a claim made about DePIN (notebook 00) carries one of these verdicts.
VERDICTS = ("supported", "not supported", "untestable here")


@dataclass(frozen=True)
class Finding:
    """One finding.

    Attributes:
        statement: the sentence, with its numbers already formatted from the results.
        value: the headline number.
        interval: ``(low, high)`` of ``value`` (None where it has none).
        direction: how ``value`` must compare with ``threshold`` for the statement to hold (one of
            ``DIRECTIONS``).
        threshold: the number it is compared with.
        notebook: the notebook file that computes it.
        figure: the figure (title or number) that shows it.
        verdict: for a finding that tests a claim, one of ``VERDICTS`` (None for the model's own findings).
    """

    statement: str
    value: float
    interval: tuple[float, float] | None
    direction: str
    threshold: float
    notebook: str
    figure: str
    verdict: str | None = None

    def __post_init__(self):
        if self.verdict is not None and self.verdict not in VERDICTS:
            raise ValueError(f"verdict {self.verdict!r} is not one of {', '.join(VERDICTS)}")
        if self.direction not in DIRECTIONS:
            raise ValueError(f"direction {self.direction!r} is not one of {', '.join(DIRECTIONS)}")
        if not math.isfinite(float(self.value)):
            raise ValueError(f"finding {self.statement!r}: value {self.value!r} is not a finite number")
        if self.interval is not None and not all(math.isfinite(float(v)) for v in self.interval):
            # an open or missing bound is no interval to report (JSON has no infinity either)
            object.__setattr__(self, "interval", None)


def holds(finding: Finding | dict) -> bool:
    """Whether the finding's value still lies on its stated side of its threshold."""
    f = finding if isinstance(finding, dict) else asdict(finding)
    value, threshold = float(f["value"]), float(f["threshold"])
    return {">": value > threshold, "<": value < threshold, ">=": value >= threshold,
            "<=": value <= threshold}[f["direction"]]


def _plain(x):
    if isinstance(x, float | int):
        return float(x)
    if hasattr(x, "item"):
        return float(x.item())
    return x


def write_findings(findings: list[Finding], path: str | Path = "site/findings.json") -> Path:
    """Replace the findings of the notebooks in ``findings`` in ``path`` and keep everyone else's.

    Written by atomic rename (``models.io``), so a reader never sees half a file.
    """
    from models.io import atomic_write_json

    path = Path(path)
    mine = {f.notebook for f in findings}
    kept = []
    if path.exists():
        kept = [f for f in json.loads(path.read_text()) if f.get("notebook") not in mine]
    records = []
    for f in findings:
        record = {k: _plain(v) for k, v in asdict(f).items()}
        if f.interval is not None:
            record["interval"] = [float(f.interval[0]), float(f.interval[1])]
        record["holds"] = holds(f)
        records.append(record)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, kept + records)
    return path
