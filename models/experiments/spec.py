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
    sampler: latin_hypercube          # grid | zip | latin_hypercube | sobol | morris
    samples: 64                       # LHS points; Sobol base sample N; Morris trajectories r
    replicates: 4
    engine: batch
    steps: 104
    keep: summary                     # or timeseries
    # seed: 7                         # optional; must agree with overrides' simulation.seed if both given

Several base scenarios (every run's summary row names its label in ``base``; a root ``seed`` is required),
base-specific parameters crossed with the common ones, and a quick mode (``depin sweep --quick``, results in
``<name>-quick``; its fields replace the sweep's own)::

    base: {wireless: ../sectors/wireless.yaml, storage: ../sectors/storage.yaml}
    base_parameters:
      storage: {emission.schedule: {values: [baseline, exponential_decay]}}
    quick:
      parameters: {market.liquidity_usd: {values: [25000]}}
      replicates: 2

A sweep without ``parameters`` (sampler ``grid``) is Monte Carlo only: one point, ``replicates`` runs.

For sensitivity analysis (``models.analysis.sensitivity``): ``sampler: sobol`` (``second_order: true`` for
the ``N (2D + 2)`` design) or ``sampler: morris`` (``levels``), ``common_random_numbers: true`` so that every
point's replicate ``r`` sees the same market paths, and ``keep: timeseries`` with ``series_columns`` to store
only the paths the indices over time need. ``box: FILE`` reads a box of scenario discovery
(``models.experiments.boxes``) back as ranges.
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

from models.experiments.samplers import design_points, unit_design
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

SAMPLERS = ("grid", "zip", "latin_hypercube", "sobol", "morris")
SAMPLED = ("latin_hypercube", "sobol", "morris")  # designs drawn on the unit cube (models.experiments.samplers)
BASE_KEY = "base"  # the summary column that names a run's base scenario in a sweep over several
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


class QuickMode(Frozen):
    """A smaller version of a sweep for a fast check (``depin sweep --quick``; results go to ``<name>-quick``).

    Every field given replaces the sweep's own; ``parameters`` and ``base_parameters`` replace the ranges of
    the parameters they name (a parameter left out keeps the sweep's range).
    """

    parameters: dict[str, ParameterRange] = Field(default_factory=dict, description="Ranges replaced in quick mode.")
    base_parameters: dict[SafeName, dict[str, ParameterRange]] = Field(
        default_factory=dict, description="Per-base ranges replaced in quick mode.")
    samples: Int | None = Field(None, ge=1, le=MAX_SAMPLES, description="Points (LHS), N (sobol), r (morris).")
    replicates: Int | None = Field(None, ge=1, le=MAX_SWEEP_RUNS, description="Replicates per point.")
    steps: Int | None = Field(None, ge=1, description="Horizon, steps.")
    backend: Literal["numpy", "jax"] | None = Field(None, description=(
        "Batch backend in quick mode (numpy spares a quick check the compilation of the jax backend)."))


class SweepSpec(Frozen):
    """A parameter sweep (see the module docstring for the YAML form)."""

    name: SafeName = Field(description="Sweep name; results go to <out>/<name>/ (never a path).")
    base: str | dict[SafeName, str] = Field(description=(
        "Base scenario YAML, relative to the sweep file (absolute once loaded); or a mapping label -> YAML to "
        "sweep the same parameters over several scenarios (each run's summary row names its label in `base`)."))
    base_parameters: dict[SafeName, dict[str, ParameterRange]] = Field(default_factory=dict, description=(
        "With several bases: label -> extra swept parameters of that base only (for example its own emission "
        "schedules), crossed with `parameters`."))
    quick: QuickMode | None = Field(None, description="A smaller version of the sweep (`depin sweep --quick`).")
    overrides: dict[str, Value] = Field(default_factory=dict, description="Dotted path -> value for every run.")
    parameters: dict[str, ParameterRange] = Field(default_factory=dict, description=(
        "Dotted path -> values or range; none at all = a Monte Carlo-only sweep (one point, `replicates` runs)."))
    levers: tuple[str, ...] = Field((), description=(
        "The swept parameters a protocol team sets (EMA Workbench's levers); every other swept parameter is an "
        "uncertainty it does not control. Used by the analysis to tell them apart."))
    box: str | None = Field(None, description=(
        "A box file of scenario discovery (models.experiments.boxes), relative to the sweep file; its limits "
        "replace the ranges of the parameters they name (or add them). Absolute once loaded."))
    sampler: Literal["grid", "zip", "latin_hypercube", "sobol", "morris"] = "grid"
    samples: Int | None = Field(None, ge=1, le=MAX_SAMPLES,
                                description="latin_hypercube: points; sobol: base sample N; morris: trajectories r.")
    second_order: bool = Field(False, description="sobol: the N (2D + 2) design that gives second-order indices.")
    levels: Int = Field(4, ge=2, le=64, description="morris: grid levels p (even; Morris 1991).")
    common_random_numbers: bool = Field(False, description=(
        "Replicate r of every point draws the same exogenous paths (seed key (0, r) instead of (point, r)), "
        "so a parameter's effect is not confounded with a new market path (for sensitivity analysis)."))
    series_columns: tuple[str, ...] | None = Field(None, description=(
        "keep: timeseries only: store just these output columns (and twin_<column> of those with a twin "
        "column), keyed by run, point and replicate (the swept values stay in the summary); default all."))
    replicates: Int = Field(1, ge=1, le=MAX_SWEEP_RUNS, description="Monte Carlo replicates per point.")
    engine: Literal["abm", "cadcad", "batch"] = "batch"
    backend: Literal["numpy", "jax"] = Field("numpy", description=(
        "engine: batch only: numpy (the reference) or jax (models.sd.compiled: the same source compiled by "
        "XLA, 1.8-2.4x faster on one core, equal to numpy within 1e-9 relative). Runs of the two "
        "backends have different ids, so a store never mixes them."))
    steps: Int | None = Field(None, ge=1, description="Horizon override (default: the scenario's).")
    keep: Literal["timeseries", "summary"] = "summary"
    seed: Int | None = Field(None, ge=0, le=MAX_SEED, description=(
        "Root seed of numpy.random.SeedSequence; default overrides' simulation.seed, else the base scenario's. "
        "Always an int after load_sweep."))

    @property
    def run_engine(self) -> str:
        """The engine as runs are identified and labelled: ``batch+jax`` for the compiled backend."""
        return "batch+jax" if self.engine == "batch" and self.backend == "jax" else self.engine

    @model_validator(mode="after")
    def _check(self) -> SweepSpec:
        if self.backend != "numpy" and self.engine != "batch":
            raise field_error("backend", f"{self.backend} steps the batch engine only (allowed with engine: "
                              f"{self.engine}: numpy)")
        labels = set(self.base) if isinstance(self.base, dict) else set()
        if isinstance(self.base, dict) and not self.base:
            raise field_error("base", "the mapping is empty (allowed: a YAML path, or label: path pairs)")
        unknown = sorted(set(self.base_parameters) - labels)
        if unknown:
            raise field_error(f"base_parameters.{unknown[0]}", f"no base is labelled {unknown[0]!r} (allowed: "
                              f"{', '.join(sorted(labels)) or 'base_parameters needs base: {label: path}'})")
        for label, extra in self.base_parameters.items():
            clash = sorted(set(extra) & set(self.parameters))
            if clash:
                raise field_error(f"base_parameters.{label}.{clash[0]}", "is swept in parameters already")
        if BASE_KEY in self.parameters:
            raise field_error(f"parameters.{BASE_KEY}", "`base` is not a scenario parameter (allowed: base: "
                              "{label: path} to sweep over scenarios)")
        if not self.parameters and self.sampler in SAMPLED:
            raise field_error("parameters", f"sampler {self.sampler} needs at least one parameter (allowed: "
                              "dotted.path: {low: x, high: y}, or sampler: grid for a Monte Carlo-only sweep)")
        if self.sampler in SAMPLED and self.samples is None:
            raise field_error("samples", f"required for sampler {self.sampler} (allowed: 1 to {MAX_SAMPLES:,})")
        swept = set(self.parameters).union(*(set(extra) for extra in self.base_parameters.values()))
        for lever in self.levers:
            if lever not in swept:
                raise field_error("levers", f"{lever!r} is not a swept parameter (allowed: "
                                  f"{', '.join(sorted(swept)) or 'none'})")
        if self.second_order and self.sampler != "sobol":
            raise field_error("second_order", f"only for sampler sobol (this sweep uses {self.sampler})")
        if self.sampler == "morris" and self.levels % 2:
            raise field_error("levels", f"{self.levels} is odd (allowed: an even number of levels, Morris 1991)")
        if self.series_columns is not None:
            from models.output import COLUMNS

            if self.keep != "timeseries":
                raise field_error("series_columns", "needs keep: timeseries")
            unknown_columns = [c for c in self.series_columns if c not in COLUMNS]
            if unknown_columns:
                raise field_error("series_columns", f"{unknown_columns[0]!r} is not an output column (allowed: "
                                  f"{', '.join(COLUMNS)})")
        groups = [("parameters", self.parameters)]
        groups += [(f"base_parameters.{label}", extra) for label, extra in self.base_parameters.items()]
        if self.sampler in ("grid", "zip"):
            for prefix, ranges in groups:
                for path, rng in ranges.items():
                    if rng.values is None:
                        raise field_error(f"{prefix}.{path}", f"sampler {self.sampler} needs values: [...], "
                                          "not low/high (allowed for latin_hypercube and sobol)")
        if self.sampler == "zip":
            for label in (self.base if isinstance(self.base, dict) else {None: None}):
                ranges = {**self.parameters, **(self.base_parameters.get(label, {}) if label else {})}
                lengths = {len(r.values) for r in ranges.values()}
                if len(lengths) > 1:
                    where = "parameters" if label is None else f"base_parameters.{label}"
                    raise field_error(where, f"the zip sampler needs value lists of one length, "
                                      f"got lengths {sorted(lengths)}")
        return self

    def spec_hash(self) -> str:
        """sha256 of the spec's canonical JSON."""
        return hashlib.sha256(canonical_json(self.model_dump(mode="json")).encode()).hexdigest()


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no whitespace: equal objects give equal strings."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def bases(spec: SweepSpec) -> dict[str | None, str]:
    """Label -> base YAML path; ``{None: path}`` for a sweep over one base."""
    return dict(spec.base) if isinstance(spec.base, dict) else {None: spec.base}


def base_parameters(spec: SweepSpec, label: str | None) -> dict[str, ParameterRange]:
    """The swept parameters of base ``label``: the common ones, then its own."""
    return {**spec.parameters, **(spec.base_parameters.get(label, {}) if label is not None else {})}


def points(spec: SweepSpec) -> list[dict[str, Any]]:
    """The parameter points of a sweep, in a fixed order.

    Args:
        spec: a validated sweep.

    Returns:
        One ``{dotted.path: value}`` dict per point; index ``i`` is the point's seed key. A sweep over several
        bases lists each base's points in turn, each led by ``{"base": label}``.
    """
    if isinstance(spec.base, dict):
        out = []
        for label in spec.base:
            sub = spec.model_copy(update={"base": spec.base[label], "parameters": base_parameters(spec, label),
                                          "base_parameters": {}})
            out.extend({BASE_KEY: label, **p} for p in points(sub))
        return out
    names = list(spec.parameters)
    ranges = [spec.parameters[n] for n in names]
    if not names:  # Monte Carlo only: one point, the base scenario itself
        return [{}]
    if spec.seed is None and spec.sampler in SAMPLED:
        raise ValueError("the spec has no resolved seed: load it with load_sweep")
    if spec.sampler == "grid":
        return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*(r.values for r in ranges))]
    if spec.sampler == "zip":
        return [dict(zip(names, combo, strict=True)) for combo in zip(*(r.values for r in ranges), strict=True)]
    unit = unit_design(spec.sampler, names, spec.samples, spec.seed, second_order=spec.second_order,
                       levels=spec.levels)
    columns = [r.scale(unit[:, j]) for j, r in enumerate(ranges)]
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def expected_runs(spec: SweepSpec) -> int:
    """Number of runs (points x replicates) of a validated spec, computed without building the points.

    grid: product of the value-list lengths; zip: their common length; latin_hypercube: ``samples``;
    sobol: ``samples * (D + 2)`` for D parameters (``2D + 2`` with ``second_order``); morris:
    ``samples * (D + 1)``.
    """
    return _point_count(spec) * spec.replicates


def _point_count(spec: SweepSpec) -> int:
    if isinstance(spec.base, dict):
        return sum(_point_count(spec.model_copy(update={"base": path, "parameters": base_parameters(spec, label),
                                                        "base_parameters": {}}))
                   for label, path in spec.base.items())
    lengths = [len(r.values) if r.values is not None else 0 for r in spec.parameters.values()]
    if not lengths:
        return 1
    if spec.sampler == "grid":
        return math.prod(lengths)
    if spec.sampler == "zip":
        return lengths[0]
    return design_points(spec.sampler, len(spec.parameters), spec.samples, spec.second_order)


def base_scenario(spec: SweepSpec, label: str | None = None) -> Scenario:
    """The base scenario (``label`` of several) with the sweep's fixed overrides, horizon and root seed applied."""
    fixed = dict(spec.overrides)
    if spec.steps is not None:
        fixed["simulation.steps"] = spec.steps
    if spec.seed is not None:
        fixed["simulation.seed"] = spec.seed
    path = bases(spec)[label] if isinstance(spec.base, dict) else spec.base
    return with_overrides(load_scenario(path), fixed)


def base_scenarios(spec: SweepSpec) -> dict[str | None, Scenario]:
    """Label -> :func:`base_scenario` for every base (``{None: ...}`` for one)."""
    return {label: base_scenario(spec, label) for label in bases(spec)}


def point_scenario(bases_: dict[str | None, Scenario], params: dict[str, Any]) -> Scenario:
    """The scenario of one point: its base (named by ``params["base"]`` when there are several) with its values."""
    params = dict(params)
    label = params.pop(BASE_KEY, None)
    return with_overrides(bases_[label], params)


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
        field = "samples" if spec.sampler in SAMPLED else "parameters"
    else:
        field = "replicates"
    reps = f"{spec.replicates:,} replicate" + ("s" if spec.replicates != 1 else "")
    raise ParameterError(f"{path}: {field}: the sweep has {runs:,} runs ({n_points:,} points x {reps}), more than "
                         f"the limit of {MAX_SWEEP_RUNS:,}; pass --force to run it anyway")


def resolve_relative(path: Path, base: str) -> Path:
    """A file named relative to the sweep file, as an absolute path (a symlink loop is left to the reader)."""
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


def load_sweep(path: str | Path, force: bool = False, quick: bool = False) -> SweepSpec:
    """Load and fully validate a sweep file.

    Checks the schema, the number of runs, every base scenario, the fixed overrides, every swept path
    and every sampled point against the scenario schema (and the ABM's agent limit for ``engine: abm``).
    Parameters whose base value is an integer get ``integer: true``.

    Args:
        path: sweep YAML file.
        force: allow more than ``MAX_SWEEP_RUNS`` runs and ABM runs above ``MAX_ABM_AGENTS`` agents.
        quick: load the spec's quick mode (``models.experiments.variants.quick_spec``); an error if it has no
            ``quick`` block.

    Returns:
        The spec with ``base`` resolved to absolute paths and ``seed`` resolved to the root seed.

    Raises:
        ParameterError: one line naming the file, the field path and the problem.
    """
    path = Path(path)
    data = read_yaml(path)
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as exc:
        raise ParameterError(format_validation_error(str(path), exc, SweepSpec)) from exc
    from models.experiments.variants import apply_box, quick_spec

    if quick:
        if spec.quick is None:
            raise ParameterError(f"{path}: quick: the sweep has no quick block (allowed: quick: {{parameters: ..., "
                                 "replicates: N, steps: N}} in the file, or run it without --quick)")
        try:
            spec = quick_spec(spec)
        except ValidationError as exc:
            raise ParameterError(format_validation_error(str(path), exc, SweepSpec)) from exc
        except ValueError as exc:
            raise ParameterError(f"{path}: {exc}") from exc
    if isinstance(spec.base, dict) and spec.seed is None:
        raise ParameterError(f"{path}: seed: a sweep over several bases needs its own root seed (allowed: seed: N)")
    if spec.box is not None:
        spec = apply_box(path, spec)
    _check_size(path, spec, force)
    resolved, file_bases = {}, {}
    for label, rel in bases(spec).items():
        field = "base" if label is None else f"base.{label}"
        resolved[label] = str(resolve_relative(path, rel))
        try:
            file_bases[label] = load_scenario(resolved[label])
        except ParameterError as exc:
            raise ParameterError(f"{path}: {field}: {exc}") from exc
        for key, value in spec.overrides.items():
            _check_override(path, f"overrides.{key}", file_bases[label], {key: value})
    first = next(iter(file_bases.values()))
    spec = spec.model_copy(update={"base": resolved[None] if None in resolved else resolved,
                                   "seed": _root_seed(path, spec, first)})
    params: dict[str, ParameterRange] = dict(spec.parameters)
    own: dict[str, dict[str, ParameterRange]] = {k: dict(v) for k, v in spec.base_parameters.items()}
    for label in bases(spec):
        try:
            base = base_scenario(spec, label)
        except ParameterError as exc:
            field = "steps" if spec.steps is not None else "overrides"
            raise ParameterError(f"{path}: {field}: {_problem(exc, field)}") from exc
        _check_limits(path, spec, base, "base" if label is None else f"base.{label}", force)
        dumped = base.model_dump(mode="json")
        for key, rng in base_parameters(spec, label).items():
            common = key in spec.parameters
            field = f"parameters.{key}" if common else f"base_parameters.{label}.{key}"
            probe = rng.values if rng.values is not None else (rng.low, rng.high)
            for value in probe:
                _check_limits(path, spec, _check_override(path, field, base, {key: value}), field, force)
            if rng.values is None and isinstance(_lookup(dumped, key), int) and not rng.integer:
                rng = rng.model_copy(update={"integer": True})
            (params if common else own[label])[key] = rng
    spec = spec.model_copy(update={"parameters": params, "base_parameters": own})
    scenarios = base_scenarios(spec)
    for i, point in enumerate(points(spec)):
        field = f"parameters (point {i}: {point})"
        _check_limits(path, spec, _check_point(path, field, scenarios, point), field, force)
    return spec


def _check_point(path: Path, field: str, scenarios: dict, point: dict[str, Any]) -> Scenario:
    try:
        return point_scenario(scenarios, point)
    except (ParameterError, ValueError, IndexError, TypeError) as exc:
        raise ParameterError(f"{path}: {field}: {_problem(exc, field)}") from exc


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
