"""Parameter boxes on disk: what scenario discovery writes and a sweep spec reads back as ranges.

A box file is YAML (``models.analysis.discovery.write_box`` writes it; atomic rename)::

    kind: depin-box
    name: safe-1                      # the box's name
    source: {sweep: safe_boxes, outcome: not collapse, runs: 4096, ...}   # where it was found
    stats: {coverage: 0.61, density: 0.93, mass: 0.30, n: 1228, ...}      # in-sample, at discovery
    limits:                           # only the restricted dimensions
      market.liquidity_target_share: {low: 0.21, high: 0.40}
      payment.mode: {values: [bme]}

A sweep spec names it with ``box: ../../results/boxes/safe-1.yaml`` (relative to the sweep file): each limit
replaces the sweep's range of that parameter (or adds it as a swept parameter), so the sweep re-tests the
box with every other parameter over its own range.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError

from models.params import Frozen, ParameterError, SafeName, format_validation_error, read_yaml

BOX_KIND = "depin-box"


class BoxFile(Frozen):
    """A parameter box found by scenario discovery (see the module docstring)."""

    kind: str = Field(description=f"Always {BOX_KIND!r}.", pattern=f"^{BOX_KIND}$")
    name: SafeName = Field(description="The box's name.")
    source: dict[str, Any] = Field(default_factory=dict, description="The sweep and outcome it was found on.")
    stats: dict[str, float | int | None] = Field(default_factory=dict, description="Coverage, density (in sample).")
    limits: dict[str, Any] = Field(description="Dotted path -> {low, high} or {values: [...]}.", min_length=1)


def read_box(path: str | Path) -> BoxFile:
    """Load and validate a box file; each limit is checked as a sweep range.

    Raises:
        ParameterError: ``file: field.path: problem``.
    """
    from models.experiments.spec import ParameterRange

    path = Path(path)
    data = read_yaml(path)
    try:
        box = BoxFile.model_validate(data)
        for key, value in box.limits.items():
            try:
                ParameterRange.model_validate(value)
            except ValidationError as exc:
                raise ParameterError(format_validation_error(str(path), exc, ParameterRange)
                                     .replace(f"{path}: ", f"{path}: limits.{key}.", 1)) from None
    except ValidationError as exc:
        raise ParameterError(format_validation_error(str(path), exc, BoxFile)) from exc
    return box


def box_ranges(box: BoxFile) -> dict[str, Any]:
    """The box's limits as sweep ranges (``models.experiments.spec.ParameterRange``)."""
    from models.experiments.spec import ParameterRange

    return {key: ParameterRange.model_validate(value) for key, value in box.limits.items()}
