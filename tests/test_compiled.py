"""The compiled (JAX) batch backend against the numpy reference: the same economy, to rounding.

One batch of one structure holds runs that exercise every branch of the step (each emission schedule,
both payment modes, each treasury policy, space on and off, stake modes, and every shock type that fits
a run without a price file), so a single compilation serves every check.

JAX runs only in a child interpreter (:func:`computed`): it starts threads, and other tests in the same
worker fork (cadCAD's multi-process mode, subprocesses), which a multithreaded parent can deadlock.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.exogenous import run_seed_sequence, sample_exogenous
from models.params import load_scenario, with_overrides
from models.sd import compiled
from models.sd.batch import run_batch

PARAMS = Path(__file__).resolve().parents[1] / "params"
SHOCKS = [
    {"type": "price_crash", "start_day": 455, "size": 0.8, "duration_days": 7, "actor": "distressed_fund",
     "inventory_tokens": 7000000},
    {"type": "bear_market", "start_day": 364, "size": 0.8, "duration_days": 91},
    {"type": "liquidity_drain", "start_day": 300, "size": 0.5, "duration_days": 7},
    {"type": "demand_drop", "start_day": 300, "size": 0.4, "duration_days": 30},
    {"type": "cost_spike", "start_day": 210, "size": 0.5, "duration_days": 56},
    {"type": "unlock_cliff", "start_day": 500, "size": 0.5, "duration_days": 7},
]
VARIANTS = [
    {},
    {"emission.schedule": "constant"},
    {"emission.schedule": "exponential_decay"},
    {"emission.schedule": "baseline"},
    {"payment.mode": "fee", "payment.take_rate": 0.2},
    {"treasury.policy": "buyback_burn"},
    {"treasury.policy": "add_liquidity"},
    {"space.enabled": True},
    {"stake.mode": "pledge"},
    {"providers.anticipate_schedule": False},
]


def _batch():
    base = load_scenario(PARAMS / "base.yaml")
    scenarios = [with_overrides(base, v) for v in VARIANTS]
    scenarios += [with_overrides(base, {"shocks": [shock]}) for shock in SHOCKS]
    exos = [sample_exogenous(sc, run_seed_sequence(11, i)) for i, sc in enumerate(scenarios)]
    return scenarios, exos


def compute_in_child(out: Path) -> None:
    """What the tests compare, computed with JAX (run by :func:`computed` in a fresh interpreter)."""
    from sweep_helpers import write_spec

    from models.experiments.runner import run_sweep
    from models.experiments.spec import load_sweep

    scenarios, exos = _batch()
    run_batch(scenarios, exos).to_parquet(out / "numpy.parquet")
    run_batch(scenarios, exos, backend="jax").to_parquet(out / "jax.parquet")
    run_batch(scenarios[:3], exos[:3], backend="jax").to_parquet(out / "jax_first3.parquet")
    for backend in ("numpy", "jax"):
        spec = load_sweep(write_spec(out / f"{backend}.yaml", name="t", keep="summary", backend=backend))
        path = run_sweep(spec, out=out / f"sweep_{backend}", progress=False, local=True)
        (out / f"sweep_{backend}.json").write_text(json.dumps(str(path / "summary.parquet")))


@pytest.fixture(scope="module")
def computed(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("compiled")
    here = Path(__file__).resolve().parent
    code = (f"import sys; sys.path[:0] = [{str(here)!r}, {str(here.parent)!r}]; import test_compiled; "
            f"from pathlib import Path; test_compiled.compute_in_child(Path({str(out)!r}))")
    done = subprocess.run([sys.executable, "-c", code], cwd=here.parent, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def frames(computed):
    return pd.read_parquet(computed / "numpy.parquet"), pd.read_parquet(computed / "jax.parquet")


def test_compiled_frame_has_the_reference_layout(frames):
    reference, fast = frames
    assert list(fast.columns) == list(reference.columns)
    assert (fast.dtypes == reference.dtypes).all()
    pd.testing.assert_series_equal(fast["run"], reference["run"])
    pd.testing.assert_series_equal(fast["step"], reference["step"])


def test_compiled_backend_agrees_with_numpy_to_1e9(frames):
    """Every value within 1e-9 relative, with a floor of 1e-12 of its column's scale (cancellation residue)."""
    reference, fast = frames
    numeric = [c for c in reference.columns if c not in ("run", "step")]
    x, y = reference[numeric].to_numpy(float), fast[numeric].to_numpy(float)
    assert np.array_equal(np.isnan(x), np.isnan(y))
    scale = np.max(np.abs(np.where(np.isfinite(x), x, 0.0)), axis=0)
    both = np.isfinite(x) & np.isfinite(y)
    assert np.array_equal(x[~both & ~np.isnan(x)], y[~both & ~np.isnan(x)])  # infinities agree exactly
    err = np.where(both, np.abs(x - y), 0.0)
    allowed = 1e-9 * np.abs(np.where(both, x, 0.0)) + 1e-12 * scale
    worst = np.argmax(np.max(err / np.maximum(allowed, 1e-300), axis=0))
    assert (err <= allowed).all(), f"{numeric[worst]} differs beyond 1e-9"


def test_every_variant_moves_its_own_outputs(frames):
    """The batch really exercises its branches: each variant's run differs from the plain base run."""
    reference, _ = frames
    price = reference.pivot(index="step", columns="run", values="price")
    for run in price.columns[1:]:
        assert not np.allclose(price[run], price[0]), f"run {run} equals the base run"


def test_padded_and_chunked_batches_give_the_same_runs(computed, frames):
    """A run's numbers do not depend on the batch it is padded into (bucket 16) or on chunking."""
    _, together = frames
    alone = pd.read_parquet(computed / "jax_first3.parquet")
    pd.testing.assert_frame_equal(alone, together[together["run"] < 3].reset_index(drop=True), check_exact=True)


def test_unknown_backend_is_refused():
    scenarios, exos = _batch()
    with pytest.raises(ValueError, match="unknown batch backend 'gpu'; allowed: numpy, jax"):
        run_batch(scenarios[:1], exos[:1], backend="gpu")


def test_buckets_bound_the_number_of_compiled_programs():
    assert [compiled.bucket(n) for n in (1, 16, 17, 64, 65, 256, 257, 10_000)] == [16, 16, 64, 64, 256, 256, 256, 256]


def test_compilation_cache_location_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DEPIN_JAX_CACHE", str(tmp_path))
    assert compiled.cache_dir() == str(tmp_path)
    monkeypatch.setenv("DEPIN_JAX_CACHE", "")
    assert compiled.cache_dir() is None
    monkeypatch.delenv("DEPIN_JAX_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert compiled.cache_dir() == str(tmp_path / "depin-flywheel" / "jax")


def test_a_sweep_on_the_compiled_backend_agrees_with_numpy_under_its_own_run_ids(computed):
    """``backend: jax`` in a spec: the same summary within 1e-9, runs labelled and identified apart."""
    from sweep_helpers import comparable

    tables = {b: pd.read_parquet(json.loads((computed / f"sweep_{b}.json").read_text())).sort_values(
        ["point", "replicate"]) for b in ("numpy", "jax")}
    ref, fast = (comparable(tables[b]).reset_index(drop=True) for b in ("numpy", "jax"))
    assert set(tables["jax"]["engine"]) == {"batch+jax"} and set(tables["numpy"]["engine"]) == {"batch"}
    assert not set(tables["jax"]["run_id"]) & set(tables["numpy"]["run_id"])
    numeric = [c for c in ref.columns if pd.api.types.is_float_dtype(ref[c])]
    pd.testing.assert_frame_equal(fast[numeric], ref[numeric], rtol=1e-9, atol=1e-12)
    pd.testing.assert_frame_equal(fast.drop(columns=[*numeric, "engine", "run_id"]),
                                  ref.drop(columns=[*numeric, "engine", "run_id"]))


def test_a_compiled_backend_spec_needs_the_batch_engine(tmp_path):
    from sweep_helpers import write_spec

    from models.experiments.spec import load_sweep
    from models.param_io import ParameterError

    with pytest.raises(ParameterError, match="backend: jax steps the batch engine only"):
        load_sweep(write_spec(tmp_path / "s.yaml", engine="cadcad", backend="jax"))
