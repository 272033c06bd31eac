"""Sweep scaling and a worker's time (issue 14): prints a markdown table of target, value, pass or fail.

    .venv/bin/python benchmarks/sweeps.py [--repeats N] [--quick] [--rows-json]

``--quick`` runs 40-run sweeps (checks the script; its numbers are not the targets'); ``--rows-json`` prints the
rows as one JSON line last (for ``benchmarks/bench.py``).

Measured, on this machine as it is (the load average is printed: another user's work on a 2-core machine
slows whatever runs beside it, so each time is the best of ``--repeats``):

- a worker's time on a 200-run batch sweep, split into the engine, the chunk's summaries and its writes;
- the start-up of a 2-worker LocalCluster and its first task, paid once per process (``open_client(shared=True)``);
- 200-run batch and cadCAD sweeps on warm shared LocalClusters of 1 and 2 workers, start-up **excluded**
  (each cluster is started and warmed before the timed sweeps), the client's own work (plan, verify,
  manifest, summary table) **included**; and the same sweep in this process, without Dask;
- that the summary tables of the 1- and 2-worker sweeps are identical (runtime column aside).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml
from table import print_rows

ROOT = Path(__file__).resolve().parents[1]
DEEP_SELLER = {"shocks.0.inventory_tokens": 13e6, "token.initial_supply": 30.5e6}
LIQUIDITY = {"market.liquidity_usd": {"values": [20000.0 + 20000.0 * i for i in range(10)]}}
# 200 runs each: 10 points x 20 replicates
BATCH = {"name": "bench_batch", "base": str(ROOT / "params" / "base_crash.yaml"), "sampler": "grid",
         "replicates": 20, "engine": "batch", "seed": 11, "keep": "summary", "parameters": LIQUIDITY,
         "overrides": DEEP_SELLER}  # a price crash on day 455: every run steps with its twin, 260 steps
CADCAD = {"name": "bench_cadcad", "base": str(ROOT / "params" / "base.yaml"), "sampler": "grid", "replicates": 20,
          "engine": "cadcad", "seed": 11, "keep": "summary", "steps": 104, "parameters": LIQUIDITY}


def _spec(folder: Path, data: dict):
    from models.experiments import load_sweep

    path = folder / f"{data['name']}.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_sweep(path)


def _sweep(spec, folder: Path, workers: int, local: bool) -> tuple[float, pd.DataFrame]:
    """Wall time of one fresh sweep and its summary table."""
    from models.experiments import load, run_sweep

    out = Path(tempfile.mkdtemp(prefix="out", dir=folder))
    started = time.perf_counter()
    run_sweep(spec, workers=workers, out=out, progress=False, local=local)
    seconds = time.perf_counter() - started
    summary = load(spec.name, out).summary.drop(columns=["runtime_seconds"])
    shutil.rmtree(out)  # made by this benchmark, in its own temporary folder
    return seconds, summary


def worker_split(spec, folder: Path) -> dict[str, float]:
    """Seconds of the engine, the summaries and the writes over every chunk of a sweep, run here."""
    from models.analysis.twin_runs import run_pair_arrays
    from models.experiments.chunks import plan_chunks, seed_key, summary_row
    from models.experiments.runner import plan
    from models.experiments.spec import point_scenario
    from models.experiments.store import SweepStore
    from models.experiments.summaries import SUMMARY_COLUMNS, summarise_rows
    from models.io import model_version

    base, tasks = plan(spec)
    store = SweepStore(folder / "split" / spec.name)
    store.create()
    model = model_version()
    spent = {"engine": 0.0, "summaries": 0.0, "writes": 0.0}
    for chunk in plan_chunks(tasks, "batch", 2):
        scenarios = [point_scenario(base, t[3]) for t in chunk]
        keys = [seed_key(t[1], t[2]) for t in chunk]
        t0 = time.perf_counter()
        arrays = run_pair_arrays(scenarios, keys, SUMMARY_COLUMNS)
        t1 = time.perf_counter()
        metrics = summarise_rows(arrays.main, arrays.twin, arrays.steps, scenarios, arrays.shock_starts)
        rows = [summary_row(t, sc, "batch", k, m, 0.0) for t, sc, k, m in zip(chunk, scenarios, keys, metrics,
                                                                                strict=True)]
        t2 = time.perf_counter()
        store.write_runs([(t[0], row, None) for t, row in zip(chunk, rows, strict=True)], model)
        t3 = time.perf_counter()
        spent["engine"] += t1 - t0
        spent["summaries"] += t2 - t1
        spent["writes"] += t3 - t2
    shutil.rmtree(folder / "split")
    return spent


def main(argv=None) -> int:
    """Measure and print the table."""
    from models.experiments.cluster import open_client

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="best of this many timed sweeps (cadCAD: one less)")
    parser.add_argument("--quick", action="store_true", help="40-run sweeps: checks the script, not the targets")
    parser.add_argument("--rows-json", action="store_true", help="also print the rows as one JSON line, last")
    args = parser.parse_args(argv)
    size = {"replicates": 4} if args.quick else {}
    load_before = os.getloadavg()
    folder = Path(tempfile.mkdtemp(prefix="bench-sweeps-"))
    rows: list[tuple[str, str, str, str]] = []
    try:
        batch, cadcad = _spec(folder, {**BATCH, **size}), _spec(folder, {**CADCAD, **size})
        n_runs = len(batch.parameters["market.liquidity_usd"].values) * batch.replicates
        split = worker_split(batch, folder)
        total = sum(split.values())
        post = (split["summaries"] + split["writes"]) / total
        rows.append((f"worker time on the {n_runs}-run batch sweep: summaries + writes (was 70% per issue 14)",
                     "<= 10%", f"{post:.1%} (engine {split['engine']:.2f} s, summaries {split['summaries']:.3f} s, "
                     f"writes {split['writes']:.3f} s)", "pass" if post <= 0.10 else "fail"))
        started = time.perf_counter()
        client, _ = open_client(2, None, shared=True)
        client.submit(sum, [1, 2]).result()
        rows.append(("LocalCluster start-up, 2 workers, with first task (paid once per process)", "-",
                     f"{time.perf_counter() - started:.2f} s", "-"))
        open_client(1, None, shared=True)
        for spec in (batch, cadcad):  # warm both clusters' workers (imports, first compile) before timing
            warm = _spec(folder, {**(BATCH if spec is batch else CADCAD), "name": f"warm_{spec.name}",
                                  "replicates": 1, "parameters": {"market.liquidity_usd": {"values": [5e4, 6e4]}}})
            for n in (1, 2):
                _sweep(warm, folder, n, local=False)
        for spec, label, repeats in ((batch, "batch, 260 steps, price crash + twin", args.repeats),
                                     (cadcad, "cadCAD, 104 steps, no shock", max(1, args.repeats - 1))):
            times, tables = {}, {}
            for n in (1, 2):
                runs = [_sweep(spec, folder, n, local=False) for _ in range(repeats)]
                times[n] = min(t for t, _ in runs)
                tables[n] = runs[0][1]
            ratio = times[1] / times[2]
            rows.append((f"{n_runs}-run {label}: 2 workers vs 1 (warm clusters; start-up excluded; best of {repeats})",
                         ">= 1.8x", f"{ratio:.2f}x ({times[1]:.2f} s vs {times[2]:.2f} s)",
                         "pass" if ratio >= 1.8 else "fail"))
            same = tables[1].equals(tables[2])
            rows.append((f"{n_runs}-run {label}: summary of 1 worker == 2 workers", "identical",
                         "identical" if same else "different", "pass" if same else "fail"))
            if spec is batch:
                local = min(_sweep(spec, folder, 1, local=True)[0] for _ in range(repeats))
                rows.append((f"{n_runs}-run {label}: in this process, no Dask (best of {repeats})", "-",
                             f"{local:.2f} s", "-"))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    load_after = os.getloadavg()
    print(f"Machine: {os.cpu_count()} cores; load average (1, 5, 15 min) before "
          f"{', '.join(f'{x:.2f}' for x in load_before)}, after {', '.join(f'{x:.2f}' for x in load_after)}\n")
    return print_rows(rows, args.rows_json)


if __name__ == "__main__":
    raise SystemExit(main())
