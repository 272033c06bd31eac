"""A compiled backend for the batch engine, generated from the same economy source (JAX, float64).

The economy is written once, in numpy, in ``models.mechanisms``, ``models.ledger``, ``models.sd.supply``,
``models.sd.economy`` and ``models.output``. This module executes *those source files* a second time with
``numpy`` bound to ``jax.numpy`` (and ``scipy.special`` to ``jax.scipy.special``), so the step of every
block is traced by JAX, and the whole horizon becomes one ``jax.lax.scan`` compiled by XLA: the same
approach as mechafil-jax, without a second copy of any rule. numpy stays the reference; the two agree to
rounding (``tests/test_compiled.py`` holds them to 1e-9 relative).

Only the stepping is compiled: parameters are compiled and the initial state is built by the numpy code
(``models.sd.compile``, ``models.sd.economy.initial_state``), then moved to JAX. Batches are padded to a
bucket of run counts, so a sweep's chunks reuse one compiled program per structure.

JAX is a dependency of the project (the full-size sweeps use it); :func:`available` tells whether it is installed.
"""

from __future__ import annotations

import builtins
import contextlib
import importlib.util
import os
import sys
import types
from functools import lru_cache

import numpy as np

#: modules the traced step reaches, in import order (their own ``models.*`` imports resolve to twins)
TWINNED = (
    "models.mechanisms.timebase", "models.mechanisms.amm", "models.mechanisms.coverage",
    "models.mechanisms.demand", "models.mechanisms.emission", "models.mechanisms.market",
    "models.mechanisms.payment", "models.mechanisms.providers", "models.mechanisms.speculators",
    "models.mechanisms.stake", "models.mechanisms.supply_chain", "models.mechanisms.treasury",
    "models.mechanisms.vesting", "models.ledger", "models.sd.supply", "models.sd.economy", "models.output",
)
BUCKETS = (16, 64, 256)  # padded batch sizes, runs (measured: 256 runs per chunk is near the best rate)


def available() -> bool:
    """Whether JAX is installed (the compiled backend's only extra dependency)."""
    return importlib.util.find_spec("jax") is not None


class _ErrState(contextlib.AbstractContextManager):
    """``numpy.errstate`` for traced code: XLA raises no floating-point warnings, so it does nothing."""

    def __init__(self, **_):
        pass

    def __exit__(self, *exc):
        return None


def cache_dir() -> str | None:
    """Where compiled programs persist between processes (each compilation costs 15-30 s on 2 cores).

    ``$DEPIN_JAX_CACHE`` (empty: no cache), else ``$XDG_CACHE_HOME/depin-flywheel/jax`` (``~/.cache``): a
    sweep's Dask workers and the next session then load a program in about a second instead of compiling it.
    """
    if "DEPIN_JAX_CACHE" in os.environ:
        return os.environ["DEPIN_JAX_CACHE"] or None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "depin-flywheel", "jax")


@lru_cache(maxsize=1)
def _configure() -> None:
    """Point JAX's persistent compilation cache at :func:`cache_dir`, unless the caller set one already."""
    import jax

    where = cache_dir()
    if where and not jax.config.jax_compilation_cache_dir:
        jax.config.update("jax_compilation_cache_dir", where)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 1.0)


def _numpy_namespace():
    """``jax.numpy`` with the few numpy names the economy uses that JAX spells differently."""
    import jax.numpy as jnp

    shim = types.ModuleType("numpy")
    shim.__dict__.update({k: getattr(jnp, k) for k in dir(jnp) if not k.startswith("__")})
    shim.errstate = _ErrState
    shim.bool_ = np.bool_  # a traced value is never an instance: ``isinstance(x, np.bool_)`` means "known"
    shim.ndarray = jnp.ndarray
    return shim


@lru_cache(maxsize=1)
def twins() -> dict[str, types.ModuleType]:
    """The economy's modules executed again with ``numpy`` bound to ``jax.numpy`` (name -> module)."""
    import jax.scipy.special as jsp

    npx = _numpy_namespace()
    special = types.ModuleType("scipy.special")
    special.__dict__.update(vars(jsp))
    made: dict[str, types.ModuleType] = {}

    def package(name: str, fromlist):
        ns = types.SimpleNamespace()
        for attr in fromlist:
            full = f"{name}.{attr}"
            setattr(ns, attr, made[full] if full in made else getattr(importlib.import_module(name), attr))
        return ns

    def twin_import(name, globals_=None, locals_=None, fromlist=(), level=0):
        if name == "numpy":
            return npx
        if name == "scipy.special":
            return special
        if fromlist and any(f"{name}.{f}" in made for f in fromlist):
            return package(name, fromlist)
        if name in made:
            return made[name]
        return builtins.__import__(name, globals_, locals_, fromlist, level)

    for name in TWINNED:
        spec = importlib.util.find_spec(name)
        module = types.ModuleType(f"{name}[jax]")
        module.__dict__["__builtins__"] = {**vars(builtins), "__import__": twin_import}
        module.__file__ = spec.origin
        code = compile(spec.loader.get_source(name), spec.origin, "exec")
        exec(code, module.__dict__)  # noqa: S102 - our own source files, executed with another numpy
        made[name] = module
    return made


def bucket(runs: int) -> int:
    """Padded batch size for ``runs`` runs: the smallest of :data:`BUCKETS` that holds them (else the largest).

    Few sizes mean few compilations (each costs seconds); batches above the largest are stepped in chunks of
    it, which also keeps the working set in cache and the memory flat.
    """
    return next((b for b in BUCKETS if runs <= b), BUCKETS[-1])


def _pad(a: np.ndarray, size: int) -> np.ndarray:
    """Repeat the last run along the first axis up to ``size`` runs (padded runs are dropped after)."""
    missing = size - a.shape[0]
    return a if missing == 0 else np.concatenate([a, np.repeat(a[-1:], missing, axis=0)], axis=0)


@lru_cache(maxsize=32)
def _program(structure, steps: int, columns: tuple[str, ...]):
    """The jitted scan over ``steps`` steps for one structure, recording ``columns``."""
    import jax
    from jax import lax

    _configure()
    economy, output = twins()["models.sd.economy"], twins()["models.output"]
    jnp = sys.modules["jax.numpy"]

    def run(P, s0, exo):
        def body(s, xs):
            t, exo_t = xs
            for _, block in economy.BLOCKS:
                changes = block(P, structure, s, exo_t, t)
                s = {**s, **{k: jnp.broadcast_to(v, s[k].shape).astype(s[k].dtype) for k, v in changes.items()}}
            row = output.record(s, t + 1)
            return s, {c: row[c] for c in columns}

        xs = (jnp.arange(steps), exo)
        _, rows = lax.scan(body, s0, xs)
        return rows

    return jax.jit(run)


def step_columns(P: dict, structure, exo: dict, steps: int, columns: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Step every run ``steps`` steps on the compiled backend.

    Args:
        P: compiled parameters (``models.sd.compile.compile_params``), one value per run.
        structure: the batch's ``Structure``.
        exo: exogenous paths, ``name -> (runs, steps)`` (``models.exogenous.stack_exogenous``).
        steps: horizon.
        columns: output columns to record (``models.output.COLUMNS`` names).

    Returns:
        ``column -> (runs, steps + 1)`` float arrays, step 0 included (recorded by the numpy code).
    """
    runs = P["market.initial_price_usd"].shape[0]
    size = bucket(runs)
    parts = []
    for lo in range(0, runs, size):
        part = slice(lo, min(lo + size, runs))
        parts.append(_step_chunk({k: np.asarray(v)[part] for k, v in P.items()}, structure,
                                 {k: np.asarray(v)[part, :steps] for k, v in exo.items()}, steps, columns, size))
    return {c: np.concatenate([p[c] for p in parts], axis=0) for c in columns}


def _step_chunk(P: dict, structure, exo: dict, steps: int, columns: tuple[str, ...], size: int) -> dict:
    """:func:`step_columns` for at most ``size`` runs, padded to ``size``."""
    import jax

    from models.output import record
    from models.sd.economy import initial_state

    runs = P["market.initial_price_usd"].shape[0]
    Pp = {k: _pad(v, size) for k, v in P.items()}
    s0 = initial_state(Pp, structure)
    first = record(s0, 0)
    xs = {k: _pad(v, size).T for k, v in exo.items()}
    xs["prev_target_price_rel"] = np.concatenate([np.full((1, size), np.nan), xs["target_price_rel"][:-1]], axis=0)
    with jax.enable_x64(True):
        s0j = {k: jax.numpy.asarray(np.asarray(v, dtype=float)) for k, v in s0.items()}
        rows = _program(structure, steps, tuple(columns))(Pp, s0j, xs)
        rows = {c: np.asarray(v) for c, v in rows.items()}
    return {c: np.concatenate([np.asarray(first[c], dtype=float)[None, :runs], rows[c][:, :runs]], axis=0).T
            for c in columns}


@lru_cache(maxsize=8)
def _one_step(structure):
    import jax

    _configure()
    economy = twins()["models.sd.economy"]

    def step(P, s, exo_t, t):
        for _, block in economy.BLOCKS:
            s = {**s, **block(P, structure, s, exo_t, t)}
        return s

    return jax.jit(step)


def step_once(P: dict, structure, s: dict, exo_t: dict, step: int) -> dict:
    """One compiled step of every block from state ``s`` (numpy in, numpy out): the differential test's unit."""
    import jax

    with jax.enable_x64(True):
        out = _one_step(structure)(P, s, exo_t, step)
        return {k: np.asarray(v) for k, v in out.items()}
