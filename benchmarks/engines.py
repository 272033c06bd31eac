"""Time each engine on the base scenario and print one table.

Usage: ``python benchmarks/engines.py [--repeats N]`` (``make bench``). Measures, in one process:
seconds per base run for the ABM, for this project's cadCAD runner (deepcopy off, single process), for
cadCAD's default configuration (deepcopy on, multi-process mode), and run-steps per second for the
batched engine at 1, 100 and 10,000 runs.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np

from models import engines
from models.exogenous import run_seed_sequence, sample_exogenous
from models.params import load_scenario
from models.sd.batch import run_batch
from models.sd.cadcad_model import run_cadcad

BASE = Path(__file__).resolve().parents[1] / "params" / "base.yaml"


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def cadcad_rows(repeats: int, steps: int | None = None) -> list[list[str]]:
    """``make bench``'s cadCAD lines: this project's runner against cadCAD's default configuration."""
    sc = load_scenario(BASE)
    if steps is not None:
        sc = sc.model_copy(update={"simulation": sc.simulation.model_copy(update={"steps": steps})})
    exo = sample_exogenous(sc, run_seed_sequence(sc.simulation.seed))
    ours = best_of(lambda: run_cadcad([sc], [exo]), repeats)
    exos4 = [sample_exogenous(sc, run_seed_sequence(1, 0, r)) for r in range(4)]
    theirs = best_of(lambda: run_cadcad([sc], exos4, replicates=4, mode="multi", deepcopy=True), 1) / 4
    same = run_cadcad([sc], exos4[:1]).equals(run_cadcad([sc], exos4[:1], deepcopy=True))
    n = sc.simulation.steps
    return [
        [f"cadCAD, project runner (deepcopy off, single process), s per run of {n} steps", "-", f"{ours:.3f} s", "-"],
        ["cadCAD default (deepcopy on, multi-process, 4 runs), s per run", "-", f"{theirs:.3f} s", "-"],
        ["project runner over cadCAD's default", ">= 3x", f"{theirs / ours:.1f}x",
         "pass" if theirs / ours >= 3 else "fail"],
        ["project runner == deepcopy-on runner (same frame)", "identical", "identical" if same else "different",
         "pass" if same else "fail"],
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-batch", type=int, default=10_000)
    parser.add_argument("--quick", action="store_true", help="104 steps, one repeat (with --rows-json)")
    parser.add_argument("--rows-json", action="store_true", help="only the cadCAD rows, as JSON (bench.py)")
    args = parser.parse_args()
    if args.rows_json:
        import json

        print(json.dumps(cadcad_rows(1 if args.quick else args.repeats, 104 if args.quick else None)))
        return
    sc = load_scenario(BASE)
    steps = sc.simulation.steps
    exo = sample_exogenous(sc, run_seed_sequence(sc.simulation.seed))
    rows = [
        ("abm (Mesa)", best_of(lambda: engines.run(sc, "abm"), args.repeats), "s/run"),
        ("cadCAD, project runner (deepcopy off, single_proc)",
         best_of(lambda: run_cadcad([sc], [exo]), args.repeats), "s/run"),
    ]
    # cadCAD's defaults: deepcopy of the state at every substep and its multi-process mode (4 runs)
    exos4 = [sample_exogenous(sc, run_seed_sequence(1, 0, r)) for r in range(4)]
    t = best_of(lambda: run_cadcad([sc], exos4, replicates=4, mode="multi", deepcopy=True), 1)
    rows.append(("cadCAD default (deepcopy on, multi_proc, 4 runs)", t / 4, "s/run"))
    for n in (1, 100, args.max_batch):
        exos = [sample_exogenous(sc, run_seed_sequence(1, i)) for i in range(n)]
        t = best_of(lambda exos=exos, n=n: run_batch([sc] * n, exos), 1 if n > 100 else args.repeats)
        rows.append((f"batch, {n:,} runs", n * steps / t, "run-steps/s"))
    print(f"# engines on params/base.yaml ({steps} steps), {platform.processor() or platform.machine()}, "
          f"{np.__name__} {np.__version__}")
    print(f"| {'engine':<52} | {'value':>14} | unit |")
    print(f"|{'-' * 54}|{'-' * 16}|------|")
    for name, value, unit in rows:
        print(f"| {name:<52} | {value:>14,.3f} | {unit} |")


if __name__ == "__main__":
    main()
