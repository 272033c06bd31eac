"""Sweep specifications: a YAML file naming a base scenario, the parameters to vary and how to sample them.

A sweep file is validated completely before anything runs: its own schema, every parameter path (by
applying it to the base scenario with :func:`models.params.with_overrides`) and every sampled point. Bad
input raises :class:`models.params.ParameterError` with ``file: field.path: problem``.

Example::

    name: smoke
    base: ../base_crash.yaml          # relative to the sweep file
    overrides: {simulation.seed: 7}   # applied to every run
    parameters:
      market.liquidity_usd: {values: [25000, 100000]}
      providers.opex_usd_per_step: {low: 3.0, high: 9.0}
    sampler: latin_hypercube          # grid | zip | latin_hypercube | sobol
    samples: 64
    replicates: 4
    engine: batch
    steps: 104
    keep: summary                     # or timeseries
    seed: 2024
"""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from models.params import ParameterError, Scenario, format_validation_error, load_scenario, read_yaml, with_overrides

SAMPLERS = ("grid", "zip", "latin_hypercube", "sobol")


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ParameterRange(_Frozen):
    """Values of one swept parameter: an explicit list, or a continuous range ``[low, high]``."""

    values: tuple[Any, ...] | None = Field(None, description="Explicit values (grid, zip, or drawn from).")
    low: float | None = Field(None, description="Lower bound of a continuous range.")
    high: float | None = Field(None, description="Upper bound of a continuous range.")
    integer: bool = Field(False, description="Round sampled range values to integers (set for int fields).")

    @model_validator(mode="after")
    def _one_form(self) -> ParameterRange:
        if self.values is not None:
            if self.low is not None or self.high is not None:
                raise ValueError("give either values or low/high, not both")
            if len(self.values) == 0:
                raise ValueError("values is empty")
        else:
            if self.low is None or self.high is None:
                raise ValueError("give values: [...] or both low and high")
            if not self.low < self.high:
                raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        return self

    def scale(self, u: np.ndarray) -> list[Any]:
        """Map unit-interval samples onto this parameter's values."""
        if self.values is not None:
            idx = np.minimum((u * len(self.values)).astype(int), len(self.values) - 1)
            return [self.values[i] for i in idx]
        x = self.low + u * (self.high - self.low)
        if self.integer:
            return [int(round(v)) for v in x]
        return [float(v) for v in x]


class SweepSpec(_Frozen):
    """A parameter sweep (see the module docstring for the YAML form)."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", description="Sweep name; results go to <out>/<name>/.")
    base: str = Field(description="Base scenario YAML, relative to the sweep file (absolute once loaded).")
    overrides: dict[str, Any] = Field(default_factory=dict, description="Dotted path -> value for every run.")
    parameters: dict[str, ParameterRange] = Field(description="Dotted path -> values or range.")
    sampler: Literal["grid", "zip", "latin_hypercube", "sobol"] = "grid"
    samples: int | None = Field(None, ge=1, description="latin_hypercube: points; sobol: base sample N.")
    replicates: int = Field(1, ge=1, description="Monte Carlo replicates per point.")
    engine: Literal["abm", "cadcad", "batch"] = "batch"
    steps: int | None = Field(None, ge=1, description="Horizon override (default: the scenario's).")
    keep: Literal["timeseries", "summary"] = "summary"
    seed: int = Field(0, ge=0, description="Root seed of numpy.random.SeedSequence for every run.")

    @model_validator(mode="after")
    def _check(self) -> SweepSpec:
        if not self.parameters:
            raise ValueError("parameters: at least one parameter is needed")
        if self.sampler in ("latin_hypercube", "sobol") and self.samples is None:
            raise ValueError(f"samples is required for sampler {self.sampler}")
        if self.sampler in ("grid", "zip"):
            for path, rng in self.parameters.items():
                if rng.values is None:
                    raise ValueError(f"parameters.{path}: sampler {self.sampler} needs values: [...]")
        if self.sampler == "zip":
            lengths = {len(r.values) for r in self.parameters.values()}
            if len(lengths) > 1:
                raise ValueError(f"zip sampler needs value lists of one length, got {sorted(lengths)}")
        return self

    def spec_hash(self) -> str:
        """sha256 of the spec's canonical JSON."""
        return hashlib.sha256(canonical_json(self.model_dump(mode="json")).encode()).hexdigest()


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no whitespace: equal objects give equal strings."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def points(spec: SweepSpec) -> list[dict[str, Any]]:
    """The parameter points of a sweep, in a fixed order.

    Args:
        spec: a validated sweep.

    Returns:
        One ``{dotted.path: value}`` dict per point; index ``i`` is the point's seed key.
    """
    names = list(spec.parameters)
    ranges = [spec.parameters[n] for n in names]
    if spec.sampler == "grid":
        return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*(r.values for r in ranges))]
    if spec.sampler == "zip":
        return [dict(zip(names, combo, strict=True)) for combo in zip(*(r.values for r in ranges), strict=True)]
    if spec.sampler == "latin_hypercube":
        from scipy.stats import qmc

        unit = qmc.LatinHypercube(d=len(names), rng=np.random.default_rng(spec.seed)).random(spec.samples)
    else:
        from SALib.sample import sobol

        problem = {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}
        unit = np.clip(sobol.sample(problem, spec.samples, calc_second_order=False, seed=spec.seed), 0.0, 1.0)
    columns = [r.scale(unit[:, j]) for j, r in enumerate(ranges)]
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def base_scenario(spec: SweepSpec) -> Scenario:
    """The base scenario with the sweep's fixed overrides and horizon applied."""
    fixed = dict(spec.overrides)
    if spec.steps is not None:
        fixed["simulation.steps"] = spec.steps
    return with_overrides(load_scenario(spec.base), fixed)


def _lookup(data: dict, dotted: str) -> Any:
    node: Any = data
    for key in dotted.split("."):
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def load_sweep(path: str | Path) -> SweepSpec:
    """Load and fully validate a sweep file.

    Checks the schema, the base scenario, the fixed overrides, every swept path and every sampled point
    against the scenario schema. Parameters whose base value is an integer get ``integer: true``.

    Args:
        path: sweep YAML file.

    Returns:
        The spec with ``base`` resolved to an absolute path.

    Raises:
        ParameterError: naming the file, the field path and the problem.
    """
    path = Path(path)
    data = read_yaml(path)
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as exc:
        raise ParameterError(format_validation_error(str(path), exc)) from exc
    base_path = (path.parent / spec.base).resolve()
    if not base_path.is_file():
        raise ParameterError(f"{path}: base: scenario file not found: {base_path}")
    spec = spec.model_copy(update={"base": str(base_path)})
    try:
        base = load_scenario(base_path)
    except ParameterError as exc:
        raise ParameterError(f"{path}: base: {exc}") from exc
    for key, value in spec.overrides.items():
        _check_override(path, f"overrides.{key}", base, {key: value})
    try:
        base = base_scenario(spec)
    except ParameterError as exc:
        raise ParameterError(f"{path}: overrides/steps: {exc}") from exc
    dumped = base.model_dump(mode="json")
    params = {}
    for key, rng in spec.parameters.items():
        field = f"parameters.{key}"
        probe = rng.values if rng.values is not None else (rng.low, rng.high)
        for value in probe:
            _check_override(path, field, base, {key: value})
        if rng.values is None and isinstance(_lookup(dumped, key), int) and not rng.integer:
            rng = rng.model_copy(update={"integer": True})
        params[key] = rng
    spec = spec.model_copy(update={"parameters": params})
    for i, point in enumerate(points(spec)):
        _check_override(path, f"parameters (point {i}: {point})", base, point)
    return spec


def _check_override(path: Path, field: str, base: Scenario, overrides: dict[str, Any]) -> None:
    try:
        with_overrides(base, overrides)
    except (ParameterError, ValueError, IndexError, TypeError) as exc:
        problem = str(exc).replace("<overrides>: ", "")
        raise ParameterError(f"{path}: {field}: {problem}") from exc
