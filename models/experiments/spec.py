"""Sweep specifications: a YAML file naming a base scenario, the parameters to vary and how to sample them.

A sweep file is validated completely before anything runs: its own schema (read strictly: duplicate
keys, inf/nan and booleans for numbers are refused), its size (at most ``MAX_SWEEP_RUNS`` runs unless
forced), every parameter path (by applying it to the base scenario with
:func:`models.params.with_overrides`) and every sampled point. Bad input raises
:class:`models.params.ParameterError` with one line, ``file: field.path: problem``.

The root seed of every run is ``seed:`` if given, else ``overrides: {simulation.seed: N}``, else the base
scenario's ``simulation.seed`` (giving both ``seed:`` and a different override is an error). After
:func:`load_sweep`, ``spec.seed`` is that int and :func:`base_scenario` carries it as ``simulation.seed``;
when ``simulation.seed`` is itself a swept parameter, each point carries its own root seed.

Example::

    name: smoke                       # letters, digits, - _ . (not leading); never a path
    base: ../base_crash.yaml          # relative to the sweep file
    overrides: {simulation.seed: 7}   # applied to every run; here also the root seed
    parameters:
      market.liquidity_usd: {values: [25000, 100000]}
      providers.opex_usd_per_year: {low: 100.0, high: 400.0}
    sampler: latin_hypercube          # grid | zip | latin_hypercube | sobol
    samples: 64
    replicates: 4
    engine: batch
    steps: 104
    keep: summary                     # or timeseries
    # seed: 7                         # optional; must agree with overrides' simulation.seed if both given
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import AfterValidator, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from models.param_io import MAX_SEED
from models.params import (
    Float,
    Frozen,
    Int,
    ParameterError,
    SafeName,
    Scenario,
    check_engine_limits,
    field_error,
    format_validation_error,
    load_scenario,
    read_yaml,
    with_overrides,
)

SAMPLERS = ("grid", "zip", "latin_hypercube", "sobol")
MAX_SWEEP_RUNS = 1_000_000
MAX_SAMPLES = 10**9
_NON_FINITE_TEXT = {"inf", "infinity", "nan"}


def _finite(value: Any) -> Any:
    """Refuse inf and nan (as numbers or text) anywhere inside a free-form override or swept value."""
    if isinstance(value, float) and not np.isfinite(value) or (
            isinstance(value, str) and value.strip().lower().lstrip("+-") in _NON_FINITE_TEXT):
        raise PydanticCustomError("finite_number", "Input should be a finite number")
    for item in value.values() if isinstance(value, dict) else value if isinstance(value, list) else ():
        _finite(item)
    return value


Value = Annotated[Any, AfterValidator(_finite)]


class ParameterRange(Frozen):
    """Values of one swept parameter: an explicit list, or a continuous range ``[low, high]``."""

    values: tuple[Value, ...] | None = Field(None, description="Explicit values (grid, zip, or drawn from).")
    low: Float | None = Field(None, description="Lower bound of a continuous range.")
    high: Float | None = Field(None, description="Upper bound of a continuous range.")
    integer: bool = Field(False, description="Round sampled range values to integers (set for int fields).")

    @model_validator(mode="after")
    def _one_form(self) -> ParameterRange:
        if self.values is not None:
            if self.low is not None or self.high is not None:
                raise field_error("values", "give either values or low/high, not both")
            if len(self.values) == 0:
                raise field_error("values", "the list is empty (allowed: at least one value)")
        else:
            if self.low is None or self.high is None:
                raise field_error("low" if self.low is None else "high",
                                  "missing (allowed: values: [...] or both low and high)")
            if not self.low < self.high:
                raise field_error("high", f"{self.high:g} is not above low ({self.low:g}) (allowed: high > low)")
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


class SweepSpec(Frozen):
    """A parameter sweep (see the module docstring for the YAML form)."""

    name: SafeName = Field(description="Sweep name; results go to <out>/<name>/ (never a path).")
    base: str = Field(description="Base scenario YAML, relative to the sweep file (absolute once loaded).")
    overrides: dict[str, Value] = Field(default_factory=dict, description="Dotted path -> value for every run.")
    parameters: dict[str, ParameterRange] = Field(description="Dotted path -> values or range.")
    sampler: Literal["grid", "zip", "latin_hypercube", "sobol"] = "grid"
    samples: Int | None = Field(None, ge=1, le=MAX_SAMPLES,
                                description="latin_hypercube: points; sobol: base sample N.")
    replicates: Int = Field(1, ge=1, le=MAX_SWEEP_RUNS, description="Monte Carlo replicates per point.")
    engine: Literal["abm", "cadcad", "batch"] = "batch"
    steps: Int | None = Field(None, ge=1, description="Horizon override (default: the scenario's).")
    keep: Literal["timeseries", "summary"] = "summary"
    seed: Int | None = Field(None, ge=0, le=MAX_SEED, description=(
        "Root seed of numpy.random.SeedSequence; default overrides' simulation.seed, else the base scenario's. "
        "Always an int after load_sweep."))

    @model_validator(mode="after")
    def _check(self) -> SweepSpec:
        if not self.parameters:
            raise field_error("parameters", "at least one parameter is needed (allowed: dotted.path: {values: [...]} "
                              "or {low: x, high: y})")
        if self.sampler in ("latin_hypercube", "sobol") and self.samples is None:
            raise field_error("samples", f"required for sampler {self.sampler} (allowed: 1 to {MAX_SAMPLES:,})")
        if self.sampler in ("grid", "zip"):
            for path, rng in self.parameters.items():
                if rng.values is None:
                    raise field_error(f"parameters.{path}", f"sampler {self.sampler} needs values: [...], "
                                      "not low/high (allowed for latin_hypercube and sobol)")
        if self.sampler == "zip":
            lengths = {len(r.values) for r in self.parameters.values()}
            if len(lengths) > 1:
                raise field_error("parameters", f"the zip sampler needs value lists of one length, "
                                  f"got lengths {sorted(lengths)}")
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
    if spec.seed is None and spec.sampler in ("latin_hypercube", "sobol"):
        raise ValueError("the spec has no resolved seed: load it with load_sweep")
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


def expected_runs(spec: SweepSpec) -> int:
    """Number of runs (points x replicates) of a validated spec, computed without building the points.

    grid: product of the value-list lengths; zip: their common length; latin_hypercube: ``samples``;
    sobol: ``samples * (D + 2)`` for D parameters (first-order and total indices).
    """
    return _point_count(spec) * spec.replicates


def _point_count(spec: SweepSpec) -> int:
    lengths = [len(r.values) if r.values is not None else 0 for r in spec.parameters.values()]
    if spec.sampler == "grid":
        return math.prod(lengths)
    if spec.sampler == "zip":
        return lengths[0]
    if spec.sampler == "latin_hypercube":
        return spec.samples
    return spec.samples * (len(spec.parameters) + 2)


def base_scenario(spec: SweepSpec) -> Scenario:
    """The base scenario with the sweep's fixed overrides, horizon and root seed applied."""
    fixed = dict(spec.overrides)
    if spec.steps is not None:
        fixed["simulation.steps"] = spec.steps
    if spec.seed is not None:
        fixed["simulation.seed"] = spec.seed
    return with_overrides(load_scenario(spec.base), fixed)


def _lookup(data: dict, dotted: str) -> Any:
    node: Any = data
    for key in dotted.split("."):
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def _check_size(path: Path, spec: SweepSpec, force: bool) -> None:
    """Refuse a sweep of more than ``MAX_SWEEP_RUNS`` runs, naming the field that makes it so large."""
    runs = expected_runs(spec)
    if runs <= MAX_SWEEP_RUNS or force:
        return
    n_points = _point_count(spec)
    if n_points > MAX_SWEEP_RUNS:
        field = "samples" if spec.sampler in ("latin_hypercube", "sobol") else "parameters"
    else:
        field = "replicates"
    reps = f"{spec.replicates:,} replicate" + ("s" if spec.replicates != 1 else "")
    raise ParameterError(f"{path}: {field}: the sweep has {runs:,} runs ({n_points:,} points x {reps}), more than "
                         f"the limit of {MAX_SWEEP_RUNS:,}; pass --force to run it anyway")


def _resolve_base(path: Path, base: str) -> Path:
    """The base file as an absolute path (a symlink loop is left for the reader to report)."""
    joined = path.parent / base
    try:
        return joined.resolve()
    except (OSError, RuntimeError):
        return Path(os.path.abspath(joined))


def _root_seed(path: Path, spec: SweepSpec, file_base: Scenario) -> int:
    """``seed:``, else the overrides' ``simulation.seed``, else the base file's; a conflict is an error."""
    try:
        overridden = with_overrides(file_base, spec.overrides).simulation.seed
    except ParameterError as exc:
        raise ParameterError(f"{path}: overrides: {_problem(exc, 'overrides')}") from None
    given = "simulation.seed" in spec.overrides or overridden != file_base.simulation.seed
    if spec.seed is None:
        return overridden
    if given and overridden != spec.seed:
        raise ParameterError(f"{path}: overrides.simulation.seed: {overridden} conflicts with seed: {spec.seed} "
                             "(allowed: give the root seed once, or the same value in both)")
    return spec.seed


def load_sweep(path: str | Path, force: bool = False) -> SweepSpec:
    """Load and fully validate a sweep file.

    Checks the schema, the number of runs, the base scenario, the fixed overrides, every swept path
    and every sampled point against the scenario schema (and the ABM's agent limit for ``engine: abm``).
    Parameters whose base value is an integer get ``integer: true``.

    Args:
        path: sweep YAML file.
        force: allow more than ``MAX_SWEEP_RUNS`` runs and ABM runs above ``MAX_ABM_AGENTS`` agents.

    Returns:
        The spec with ``base`` resolved to an absolute path and ``seed`` resolved to the root seed.

    Raises:
        ParameterError: one line naming the file, the field path and the problem.
    """
    path = Path(path)
    data = read_yaml(path)
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as exc:
        raise ParameterError(format_validation_error(str(path), exc, SweepSpec)) from exc
    _check_size(path, spec, force)
    base_path = _resolve_base(path, spec.base)
    try:
        file_base = load_scenario(base_path)
    except ParameterError as exc:
        raise ParameterError(f"{path}: base: {exc}") from exc
    for key, value in spec.overrides.items():
        _check_override(path, f"overrides.{key}", file_base, {key: value})
    spec = spec.model_copy(update={"base": str(base_path), "seed": _root_seed(path, spec, file_base)})
    try:
        base = base_scenario(spec)
    except ParameterError as exc:
        field = "steps" if spec.steps is not None else "overrides"
        raise ParameterError(f"{path}: {field}: {_problem(exc, field)}") from exc
    _check_limits(path, spec, base, "base", force)
    dumped = base.model_dump(mode="json")
    params = {}
    for key, rng in spec.parameters.items():
        field = f"parameters.{key}"
        probe = rng.values if rng.values is not None else (rng.low, rng.high)
        for value in probe:
            _check_limits(path, spec, _check_override(path, field, base, {key: value}), field, force)
        if rng.values is None and isinstance(_lookup(dumped, key), int) and not rng.integer:
            rng = rng.model_copy(update={"integer": True})
        params[key] = rng
    spec = spec.model_copy(update={"parameters": params})
    for i, point in enumerate(points(spec)):
        field = f"parameters (point {i}: {point})"
        _check_limits(path, spec, _check_override(path, field, base, point), field, force)
    return spec


def _check_limits(path: Path, spec: SweepSpec, scenario: Scenario, field: str, force: bool) -> None:
    try:
        check_engine_limits(scenario, spec.engine, str(path), force=force)
    except ParameterError as exc:
        raise ParameterError(f"{path}: {field}: {str(exc).removeprefix(f'{path}: ')}") from None


def _problem(exc: Exception, field: str) -> str:
    """The text of an override error without its ``<overrides>:`` source and a repeat of ``field``."""
    problem = str(exc).replace("<overrides>: ", "")
    key = field.removeprefix("overrides.").removeprefix("parameters.")
    return problem.removeprefix(f"{key}: ")


def _check_override(path: Path, field: str, base: Scenario, overrides: dict[str, Any]) -> Scenario:
    try:
        return with_overrides(base, overrides)
    except (ParameterError, ValueError, IndexError, TypeError) as exc:
        raise ParameterError(f"{path}: {field}: {_problem(exc, field)}") from exc
