"""A sweep's chunks (issue 14): summaries on (runs, steps) arrays equal the per-run ones; one flush per chunk."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from models.analysis.twin_runs import pair_arrays, run_pair_arrays, run_pairs, summarise
from models.analysis.twins import summarise_pair
from models.experiments.chunks import plan_chunks
from models.experiments.store import SweepStore
from models.experiments.summaries import SUMMARY_COLUMNS, summarise_rows
from models.params import with_overrides

SHOCKS = {
    "bear": [{"type": "bear_market", "start_day": 70.0, "size": 0.8, "duration_days": 91.0}],
    "multi": [{"type": "liquidity_drain", "start_day": 60.0, "size": 0.6, "duration_days": 60.0,
               "start_jitter_days": 60.0},
              {"type": "cost_spike", "start_day": 90.0, "size": 0.7, "duration_days": 120.0}],
    "path": [{"type": "price_path", "start_day": 70.0, "size": 0.0, "actor": "arb", "inventory_tokens": 5e6,
              "path": [1.0, 0.7, 0.5, 0.4, 0.45, 0.5], "path_interval_days": 7.0}],
}


def _scenarios(base_scenario, crash_scenario):
    short = {"simulation.steps": 40}
    out = [with_overrides(crash_scenario, {"simulation.steps": 70}), with_overrides(base_scenario, short)]
    out += [with_overrides(base_scenario, {**short, "shocks": s}) for s in SHOCKS.values()]
    return out


def test_chunk_summaries_equal_the_per_run_summaries_exactly(base_scenario, crash_scenario):
    for k, sc in enumerate(_scenarios(base_scenario, crash_scenario)):
        keys = [(k, r) for r in range(2)]
        arrays = run_pair_arrays([sc] * 2, keys, SUMMARY_COLUMNS)
        rows = summarise_rows(arrays.main, arrays.twin, arrays.steps, [sc] * 2, arrays.shock_starts)
        expected = [summarise(p, sc, *key) for p, key in zip(run_pairs([sc] * 2, keys), keys, strict=True)]
        assert [list(r) for r in rows] == [list(e) for e in expected]  # same keys in the same order
        assert json.dumps(rows) == json.dumps(expected)  # same values and Python types, to the last bit


def _edge_pairs(n_steps=40):
    """Frames at the edges of the regime rules: dead before the reference, zeros, NaN, a dead twin."""
    steps = np.arange(n_steps)
    base = {"step": steps, "providers": 100.0 + steps, "capacity": 100.0, "users": 50.0, "price": 2.0,
            "orders": 4.0, "supply": 1e6 * 1.01 ** steps, "revenue_usd": 1.0, "emission_usd": 2.0,
            "crash_achieved": 0.0, "path_target_price": np.nan}
    twin = pd.DataFrame(base)
    cases = []
    for providers in (np.where(steps < 5, 10.0, 0.0),  # died before the reference step
                      np.zeros(n_steps),  # never alive
                      np.where(steps == 12, np.nan, 100.0 - 2 * steps),  # a NaN and a steady fall
                      np.r_[np.full(20, 100.0), np.full(n_steps - 20, 40.0)],  # a cliff
                      np.where(steps > 30, np.inf, 80.0)):
        frame = twin.copy()
        frame["providers"] = providers
        frame["price"] = np.where(steps > 10, 1.0, 2.0)
        frame["revenue_usd"] = np.where(steps % 7 == 0, np.nan, 1.5)
        cases.append((frame, twin))
    dead_twin = twin.copy()
    dead_twin["providers"] = np.where(steps < 25, 100.0, 0.0)
    cases.append((twin.copy(), dead_twin))
    return cases


@pytest.mark.parametrize("shock_step", [0, 10, 39, 60])
def test_edge_cases_equal_the_per_run_summary(base_scenario, shock_step):
    sc = with_overrides(base_scenario, {"shocks": SHOCKS["bear"]})
    cases = _edge_pairs()
    from models.analysis.twin_runs import Pair

    arrays = pair_arrays([Pair(f, t) for f, t in cases], SUMMARY_COLUMNS)
    rows = summarise_rows(arrays.main, arrays.twin, arrays.steps, [sc] * len(cases), [(shock_step,)] * len(cases))
    expected = [summarise_pair(f, t, sc, shock_step, (shock_step,)) for f, t in cases]
    assert json.dumps(rows) == json.dumps(expected)


def test_write_runs_stores_verified_runs_and_leaves_no_temporary_files(tmp_path):
    store = SweepStore(tmp_path / "s")
    store.create()
    model = {"code_hash": "c" * 64}
    frame = pd.DataFrame({"step": np.arange(3), "price": [1.0, 2.0, 3.0]})
    bad = pd.DataFrame({"step": [0], "x": [object()]})  # pyarrow cannot write this: that run fails alone
    status = store.write_runs([("a", {"v": 1}, frame), ("b", {"v": 2}, bad), ("c", {"v": 3}, None)], model)
    assert [s[0] for s in status] == ["a", "c", "b"] and status[0][1] is None and status[2][1] is not None
    assert store.verify("a", timeseries=True)[0]["row"] == {"v": 1}
    assert store.verify("c", timeseries=False)[0] is not None and store.verify("b", timeseries=False)[1] == "missing"
    assert sorted(p.name for p in store.runs.iterdir()) == ["a.json", "a.parquet", "c.json"]


def test_chunks_cover_every_run_once_and_balance_the_workers():
    pending = [(f"r{i}", i // 20, i % 20, {"market.liquidity_usd": 1.0 + i // 20}) for i in range(200)]
    for engine, workers in (("batch", 1), ("batch", 2), ("cadcad", 2), ("abm", 3)):
        chunks = plan_chunks(pending, engine, workers)
        assert sorted(t[0] for c in chunks for t in c) == sorted(t[0] for t in pending)
        if engine == "batch" and workers == 2:
            assert len(chunks) % 2 == 0 and len({len(c) for c in chunks}) == 1
    # jax: every chunk but the last fills the compiled size of 64 engine runs (32 runs and their twins)
    for twins, full in ((True, 32), (False, 64)):
        chunks = plan_chunks(pending, "batch", 2, twins=twins, backend="jax")
        assert sorted(t[0] for c in chunks for t in c) == sorted(t[0] for t in pending)
        assert [len(c) for c in chunks] == [full] * (200 // full) + ([200 % full] if 200 % full else [])
    # a small sweep is still split over the workers
    assert [len(c) for c in plan_chunks(pending[:10], "batch", 2, backend="jax")] == [5, 5]


@pytest.mark.parametrize("series_columns", [None, ("providers", "price", "burned")])
@pytest.mark.parametrize("liquidity", [[60_000.0, 80_000.0], [60_000, 80_000.5]])
def test_batch_series_are_the_per_run_series_frames(base_scenario, tmp_path, series_columns, liquidity):
    """A batch group's stored series (one Arrow conversion, sliced per run) read back as series_frame's frames.

    The second case sweeps an int beside a float, so the group cannot share one column type: each run is then
    built on its own, and keeps its own type, as before the group conversion.
    """
    from models.analysis.twin_runs import TWIN_COLUMNS
    from models.experiments.chunks import compute_chunk, series_frame
    from models.output import COLUMNS

    sc = with_overrides(base_scenario, {"simulation.steps": 30, "shocks": SHOCKS["bear"]})
    scenarios = [with_overrides(sc, {"market.liquidity_usd": v}) for v in liquidity]
    tasks = [(f"run{k}", k, 0, {"market.liquidity_usd": v, "payment.mode": "bme"}) for k, v in enumerate(liquidity)]
    keys = [(k, 0) for k in range(len(tasks))]
    results = compute_chunk(tasks, scenarios, "batch", keys, "timeseries", series_columns)
    store = SweepStore(tmp_path / "s")
    store.create()
    written = store.write_runs([(t[0], row, series) for t, (row, series, _) in zip(tasks, results, strict=True)],
                               {"code_hash": "x"})
    assert [e for _, e, _ in written] == [None, None]
    for r, (task, (sc_, key)) in enumerate(zip(tasks, zip(scenarios, keys, strict=True), strict=True)):
        (pair,) = run_pairs([sc_], [key])
        frame = pair.frame if series_columns is None else pair.frame[["step", *series_columns]]
        expected = series_frame(task, frame.drop(columns=[c for c in frame if c not in COLUMNS]),
                                {c: pair.twin[c] for c in TWIN_COLUMNS}, series_columns)
        stored = pd.read_parquet(store.runs / f"{task[0]}.parquet")
        pd.testing.assert_frame_equal(stored, expected.reset_index(drop=True), check_exact=True)
        if series_columns is None:  # the swept value is a column, of the run's own type
            assert stored["market.liquidity_usd"].dtype == np.dtype(type(liquidity[r]))
