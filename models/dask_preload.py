"""Dask worker preload for the sweeps' LocalCluster: Ctrl-C in the terminal is the client's to handle.

The terminal sends SIGINT to the whole process group; workers that ignore it let the client stop them
cleanly instead of each printing a traceback. Kept free of imports so a worker always starts.
"""

from __future__ import annotations

import signal
import threading


def dask_setup(worker) -> None:  # noqa: ARG001 - the signature Dask's preload hook calls
    """Ignore SIGINT in the worker process (signal handlers can only be set from the main thread)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
