"""``make bench``: every performance target of issue 14 measured in one run, printed as one table.

Usage: ``python benchmarks/bench.py [--quick] [--report]``. Each area runs in its own process (so peak memory
and imports belong to it): the batch engine (``batch_engine.py``), cadCAD (``engines.py``), sweeps
(``sweeps.py``), memory (``memory.py``) and the ABM (``abm_perf.py``). ``--report`` also times ``make report``
in full mode on a fresh clone of this checkout's HEAD, which is otherwise listed as not run.
``--quick`` runs smaller sizes to check the script itself; its numbers are not the targets'.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent


def area(module: str, *args: str) -> list[list[str]]:
    """Rows ``[measurement, target, value, result]`` from ``benchmarks/<module>.py --rows-json``."""
    out = subprocess.run([sys.executable, str(HERE / f"{module}.py"), "--rows-json", *args], cwd=ROOT,
                         capture_output=True, text=True)
    if out.returncode not in (0, 1) or not out.stdout.strip():
        return [[f"{module}.py", "-", f"failed (exit {out.returncode}): {out.stderr.strip()[-300:]}", "fail"]]
    return json.loads(out.stdout.strip().splitlines()[-1])


def report_rows(run: bool) -> list[list[str]]:
    """``make report`` (full) on a fresh clone, or a line saying it was not run."""
    if not run:
        return [["make report, full mode, fresh clone, 2 cores", "< 10 min", "not run (bench.py --report)", "-"]]
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        clone = Path(tmp) / "clone"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        started = time.perf_counter()
        done = subprocess.run(["make", "report"], cwd=clone, capture_output=True, text=True)
        minutes = (time.perf_counter() - started) / 60
    value = f"{minutes:.1f} min" + ("" if done.returncode == 0 else f" (exit {done.returncode})")
    return [["make report, full mode, fresh clone (venv included), 2 cores", "< 10 min", value,
             "pass" if done.returncode == 0 and minutes < 10 else "fail"]]


def machine() -> str:
    """One line naming the machine the table was measured on."""
    try:
        import psutil

        memory = f"{psutil.virtual_memory().total / 2**30:.1f} GiB"
    except ImportError:
        memory = "memory unknown"
    cpu = platform.processor() or platform.machine()
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), cpu) if Path("/proc/cpuinfo").exists() else cpu
    return f"{model}, {os.cpu_count()} cores, {memory}, Python {platform.python_version()}, {platform.system()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: checks the script, not the targets")
    parser.add_argument("--report", action="store_true", help="also time a full make report on a fresh clone")
    args = parser.parse_args()
    quick = ["--quick"] if args.quick else []
    load = os.getloadavg()
    started = time.perf_counter()
    sections = [
        ("batch engine", area("batch_engine", *quick)),
        ("cadCAD", area("engines", *quick)),
        ("sweeps", area("sweeps", *quick)),
        ("memory", area("memory", *quick)),
        ("Mesa ABM", area("abm_perf", *quick)),
        ("main job", report_rows(args.report)),
    ]
    print(f"# make bench{' --quick' if args.quick else ''}: {machine()}")
    print(f"# load average before {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
          f"took {(time.perf_counter() - started) / 60:.1f} min\n")
    print("| area | measurement | target | value | result |")
    print("|---|---|---|---|---|")
    failed = 0
    for name, rows in sections:
        for measurement, target, value, result in rows:
            failed += result == "fail"
            print(f"| {name} | {measurement} | {target} | {value} | {result} |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
