"""Flat memory (issue 14): peak memory of 100,000 runs with their full time series kept.

    .venv/bin/python benchmarks/memory.py [--runs 100000] [--steps 26] [--quick] [--rows-json]

Measured, each in a fresh interpreter so that its peak belongs to it alone:

- ``iter_batch`` over ``--runs`` runs of ``params/base.yaml`` (its horizon set to ``--steps``; the inputs,
  one exogenous draw per run, are held whole), every chunk's tidy frame (all columns, every
  step) written to its own Parquet file, on each backend: the process's peak RSS (``ru_maxrss``);
- ``run_batch`` of 10,000 runs, which returns the whole frame: its peak RSS, for comparison;
- batch sweeps of 1/20 and 1/5 of ``--runs`` runs with ``keep: timeseries`` (every output column of every
  step stored) on a 2-worker LocalCluster: the peak of the summed RSS of the client and its workers
  (``psutil``, sampled every 0.1 s), and the bytes stored. The two sizes show whether it grows with the runs;
  a full 100,000-run sweep writes 200,000 files and takes about 10 minutes on 2 cores.

Memory does not depend on the machine's load, so these numbers hold on a busy machine too; the seconds do not.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from table import print_rows

ROOT = Path(__file__).resolve().parents[1]
TARGET_MB = 1536  # the 1.5 GB


def stream(backend: str, runs: int, steps: int, folder: str) -> dict:
    """``iter_batch`` over ``runs`` runs, each chunk written to Parquet; peak RSS of this process."""
    import resource

    import pyarrow as pa
    import pyarrow.parquet as pq

    from models.exogenous import run_seed_sequence, sample_exogenous
    from models.params import load_scenario, with_overrides
    from models.sd.batch import iter_batch

    sc = with_overrides(load_scenario(ROOT / "params" / "base.yaml"), {"simulation.steps": steps})
    started = time.perf_counter()
    exos = [sample_exogenous(sc, run_seed_sequence(1, i)) for i in range(runs)]  # the inputs: O(runs)
    rows = written = 0
    for k, frame in enumerate(iter_batch([sc] * runs, exos, steps=steps, backend=backend)):
        path = Path(folder) / f"chunk-{k:05d}.parquet"
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
        rows += len(frame)
        written += path.stat().st_size
    return {"seconds": time.perf_counter() - started, "rows": rows, "bytes": written,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def whole(runs: int, steps: int) -> dict:
    """``run_batch`` of ``runs`` runs (the whole frame returned); peak RSS of this process."""
    import resource

    from models.exogenous import run_seed_sequence, sample_exogenous
    from models.params import load_scenario, with_overrides
    from models.sd.batch import run_batch

    sc = with_overrides(load_scenario(ROOT / "params" / "base.yaml"), {"simulation.steps": steps})
    exos = [sample_exogenous(sc, run_seed_sequence(1, i)) for i in range(runs)]
    frame = run_batch([sc] * runs, exos, steps=steps)
    return {"rows": len(frame), "frame_mb": frame.memory_usage(deep=True).sum() / 2**20,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def sweep(runs: int, steps: int, folder: str) -> dict:
    """A ``keep: timeseries`` batch sweep of ``runs`` runs on 2 workers; peak summed RSS of client + workers."""
    import psutil
    import yaml

    from models.experiments import load_sweep, run_sweep

    Path(folder).mkdir(parents=True, exist_ok=True)
    spec_path = Path(folder) / "memory_sweep.yaml"
    spec_path.write_text(yaml.safe_dump({
        "name": "memory_sweep", "base": str(ROOT / "params" / "base.yaml"), "sampler": "grid",
        "replicates": runs // 4, "engine": "batch", "seed": 5, "keep": "timeseries", "steps": steps,
        "parameters": {"market.fee": {"values": [0.001, 0.002, 0.003, 0.004]}}}))
    spec = load_sweep(spec_path, force=True)
    me = psutil.Process()
    peak, stop = [0.0], threading.Event()

    def sample():
        while not stop.is_set():
            total = 0
            for p in [me, *me.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            peak[0] = max(peak[0], total / 2**20)
            time.sleep(0.1)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    started = time.perf_counter()
    root = run_sweep(spec, workers=2, out=Path(folder) / "out", progress=False, force=True, local=False)
    seconds = time.perf_counter() - started
    stop.set()
    watcher.join()
    stored = sum(f.stat().st_size for f in (root / "runs").iterdir())
    return {"seconds": seconds, "runs": spec.replicates * 4, "stored_mb": stored / 2**20, "peak_sum_rss_mb": peak[0]}


def in_subprocess(call: str) -> dict:
    """One of this module's functions, called in a fresh interpreter; its JSON result."""
    code = (f"import json, sys; sys.path.insert(0, {str(ROOT)!r}); sys.path.insert(0, {str(ROOT / 'benchmarks')!r});"
            f"import memory; print(json.dumps(memory.{call}))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--steps", type=int, default=26, help="steps per run (the batch benchmark's 26)")
    parser.add_argument("--quick", action="store_true", help="2,000 runs: checks the script, not the target")
    parser.add_argument("--rows-json", action="store_true", help="also print the rows as one JSON line, last")
    args = parser.parse_args(argv)
    runs = 2_000 if args.quick else args.runs
    n_whole = min(runs, 10_000)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as folder:
        for backend in ("numpy", "jax"):
            sub = Path(folder) / backend
            sub.mkdir()
            r = in_subprocess(f"stream({backend!r}, {runs}, {args.steps}, {str(sub)!r})")
            rows.append((f"iter_batch, {backend}: {runs:,} runs x {args.steps} steps, every column kept (Parquet "
                         f"per chunk, {r['bytes'] / 2**20:,.0f} MB; {r['seconds']:.0f} s): peak RSS",
                         f"< {TARGET_MB:,} MB", f"{r['peak_rss_mb']:,.0f} MB",
                         "pass" if r["peak_rss_mb"] < TARGET_MB else "fail"))
        r = in_subprocess(f"whole({n_whole}, {args.steps})")
        rows.append((f"run_batch, numpy: {n_whole:,} runs x {args.steps} steps, whole frame returned "
                     f"({r['frame_mb']:,.0f} MB): peak RSS", "-", f"{r['peak_rss_mb']:,.0f} MB", "-"))
        for n in (runs // 20, runs // 5):  # the summed RSS must not grow with the sweep's size
            r = in_subprocess(f"sweep({n}, {args.steps}, {str(Path(folder) / str(n))!r})")
            rows.append((f"batch sweep, keep: timeseries (every column), {r['runs']:,} runs x {args.steps} steps, "
                         f"2 workers ({r['stored_mb']:,.0f} MB stored; {r['seconds']:.0f} s): peak summed RSS of "
                         "client + workers", f"< {TARGET_MB:,} MB", f"{r['peak_sum_rss_mb']:,.0f} MB",
                         "pass" if r["peak_sum_rss_mb"] < TARGET_MB else "fail"))
    print(f"Machine: {os.cpu_count()} cores\n")
    return print_rows(rows, args.rows_json)


if __name__ == "__main__":
    raise SystemExit(main())
