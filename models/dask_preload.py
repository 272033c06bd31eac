"""Dask worker preload for the sweeps' LocalCluster: Ctrl-C is the client's to handle; one core per worker.

The terminal sends SIGINT to the whole process group; workers that ignore it let the client stop them
cleanly instead of each printing a traceback. Each worker is pinned to one core (worker ``i`` to the
``i``-th core it may use, round robin): XLA sizes its thread pool by the cores a process may run on, so an
unpinned worker stepping the jax backend spreads over every core and two such workers fight for them
(measured on 2 cores, 64 runs x 208 steps: one process 28 k run-steps/s unpinned, 17-19 k pinned; two at
once 13 k each unpinned, 19 k each pinned). Kept free of non-standard imports so a worker always starts.
"""

from __future__ import annotations

import os
import signal
import threading


def dask_setup(worker) -> None:
    """Ignore SIGINT in the worker process (only the main thread can set handlers) and pin it to a core."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    pin(worker.name)


def pin(name) -> int | None:
    """Pin every thread of this process to one core chosen by the worker's name (LocalCluster: 0, 1, ...).

    Returns:
        The core, or None where affinity cannot be set, the name is not a number or ``$DEPIN_PIN_WORKERS``
        is ``0`` (nothing is changed then).
    """
    if not hasattr(os, "sched_setaffinity") or os.environ.get("DEPIN_PIN_WORKERS", "1") == "0":
        return None
    try:
        index = int(name)
    except (TypeError, ValueError):
        return None
    cores = sorted(os.sched_getaffinity(0))
    core = cores[index % len(cores)]
    tasks = os.listdir("/proc/self/task") if os.path.isdir("/proc/self/task") else ["0"]
    for tid in tasks:  # threads started later inherit the mask of the thread that starts them
        try:
            os.sched_setaffinity(int(tid), {core})
        except OSError:
            pass
    return core
