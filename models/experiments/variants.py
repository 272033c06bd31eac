"""Specs derived from a sweep spec: its quick mode, and a spec whose ranges come from a box file.

Both are applied by :func:`models.experiments.spec.load_sweep` (``quick=True``; a ``box:`` field) and the
result is validated again as a whole spec.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from models.experiments.spec import SweepSpec, resolve_relative
from models.params import ParameterError, field_error, format_validation_error


def quick_spec(spec: SweepSpec) -> SweepSpec:
    """The spec's quick mode (its ``quick`` block applied, name ``<name>-quick``), or the spec if it has none.

    The quick block may only replace what the sweep has: a parameter it does not sweep, or a base it does not
    have, is an error (``ValueError`` naming the field); the result is validated again as a whole spec.
    """
    if spec.quick is None:
        return spec
    q = spec.quick
    for key in q.parameters:
        if key not in spec.parameters:
            raise field_error(f"quick.parameters.{key}", "the sweep does not sweep it in parameters (allowed: "
                              f"{', '.join(spec.parameters) or 'none'})")
    for label, extra in q.base_parameters.items():
        own = spec.base_parameters.get(label)
        if own is None:
            raise field_error(f"quick.base_parameters.{label}", "the sweep has no base_parameters of that base "
                              f"(allowed: {', '.join(spec.base_parameters) or 'none'})")
        for key in extra:
            if key not in own:
                raise field_error(f"quick.base_parameters.{label}.{key}", "the sweep does not sweep it for that "
                                  f"base (allowed: {', '.join(own)})")
    update: dict[str, Any] = {"name": f"{spec.name}-quick", "quick": None,
                              "parameters": {**spec.parameters, **q.parameters},
                              "base_parameters": {label: {**spec.base_parameters.get(label, {}), **extra}
                                                  for label, extra in {**{k: {} for k in spec.base_parameters},
                                                                       **q.base_parameters}.items()}}
    for field in ("samples", "replicates", "steps", "backend"):
        if getattr(q, field) is not None:
            update[field] = getattr(q, field)
    return SweepSpec.model_validate({**spec.model_dump(mode="json"), **{
        k: ({n: r.model_dump(mode="json") for n, r in v.items()} if k == "parameters" else
            {lb: {n: r.model_dump(mode="json") for n, r in ex.items()} for lb, ex in v.items()}
            if k == "base_parameters" else v) for k, v in update.items()}})



def apply_box(path: Path, spec: SweepSpec) -> SweepSpec:
    """The spec with its box's limits as the ranges of the parameters they name (``models.experiments.boxes``)."""
    from models.experiments.boxes import box_ranges, read_box

    box_path = resolve_relative(path, spec.box)
    try:
        ranges = box_ranges(read_box(box_path))
    except ParameterError as exc:
        raise ParameterError(f"{path}: box: {exc}") from None
    own = {label: dict(extra) for label, extra in spec.base_parameters.items()}
    common = dict(spec.parameters)
    for key, rng in ranges.items():
        holders = [label for label, extra in own.items() if key in extra]
        for label in holders:
            own[label][key] = rng
        if not holders:
            common[key] = rng
    data = {**spec.model_dump(mode="json"), "box": str(box_path),
            "parameters": {k: r.model_dump(mode="json") for k, r in common.items()},
            "base_parameters": {lb: {k: r.model_dump(mode="json") for k, r in ex.items()} for lb, ex in own.items()}}
    try:
        return SweepSpec.model_validate(data)
    except ValidationError as exc:
        raise ParameterError(f"{path}: box: {box_path}: " + format_validation_error(str(path), exc, SweepSpec)
                             .removeprefix(f"{path}: ")) from exc
