"""Running the package's own sweeps from a notebook: found by name, timed, never mixing model versions."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any


def sweep_path(file: str) -> Path:
    """Path of ``params/sweeps/<file>``, found relative to the installed ``models`` package."""
    import models

    return Path(models.__file__).resolve().parents[1] / "params" / "sweeps" / file


def stored_runs(root: str | Path) -> int:
    """Number of run records already stored under a sweep directory (0 if there is none)."""
    runs = Path(root) / "runs"
    return sum(1 for p in runs.glob("*.json") if not p.name.startswith(".")) if runs.is_dir() else 0


def run_timed(spec, workers: int = 2, out: str | Path = "results", quick: bool = False,
              scheduler: str | None = None, progress: bool = True) -> dict[str, Any]:
    """Run (or resume, or verify) a sweep and time the call.

    A store computed by other model code (an edit under ``models/`` changes the code hash) is not mixed with
    new runs: it is moved aside by ``run_sweep(..., resume=False)`` and every run is recomputed.

    Args:
        spec: a loaded spec or a sweep YAML path (loaded with ``quick``).
        workers: Dask worker processes of a LocalCluster (ignored with ``scheduler``).
        out: parent directory of the sweep stores.
        quick: the spec's quick mode (a path only).
        scheduler: a running Dask scheduler's address, so several sweeps share one cluster.
        progress: a tqdm bar of the runs computed (a widget in a notebook; off where stderr is no terminal).

    Returns:
        ``root`` (the sweep directory), ``spec``, ``seconds`` (wall time of the call), ``stored`` (runs on disk
        before the call), ``computed`` (runs computed by this call) and ``stale`` (an older model's store was
        moved aside).
    """
    from models.experiments.runner import run_sweep
    from models.experiments.spec import SweepSpec, load_sweep
    from models.experiments.store import MixedModelError

    spec = spec if isinstance(spec, SweepSpec) else load_sweep(spec, quick=quick)
    stored = stored_runs(Path(out) / spec.name)
    started = time.perf_counter()
    try:
        root, stale = run_sweep(spec, workers=workers, scheduler=scheduler, out=out, progress=progress), False
    except MixedModelError:
        root, stale = run_sweep(spec, workers=workers, scheduler=scheduler, out=out, progress=progress,
                                resume=False), True
    seconds = time.perf_counter() - started
    _log_sweep(root)
    total = stored_runs(root)
    return {"root": root, "spec": spec, "seconds": seconds, "stored": 0 if stale else stored,
            "computed": total if stale else max(total - stored, 0), "stale": stale}


def _log_sweep(root: Path) -> None:
    """Append the sweep's identity to the file ``$DEPIN_SWEEP_LOG`` names, if that is set.

    ``depin report`` sets it per notebook, so each page's footer names the sweeps it used.
    """
    import json
    import os

    log = os.environ.get("DEPIN_SWEEP_LOG")
    if not log:
        return
    try:
        m = json.loads((Path(root) / "manifest.json").read_text())
    except (OSError, ValueError):
        return
    record = {"name": m.get("name", Path(root).name), "spec_hash": str(m.get("spec_hash", "?")),
              "code_hash": str(m.get("model", {}).get("code_hash", "?")), "runs": m.get("completed_runs", "?"),
              "status": m.get("status", "?")}
    with open(log, "a", encoding="utf-8") as f:  # one line per sweep; a reader skips a torn last line
        f.write(json.dumps(record) + "\n")
