"""Helpers shared by the sweep tests: spec files, the CLI as a subprocess, an external Dask cluster, tmpfs."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import yaml

from models.experiments.store import VOLATILE_COLUMNS

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "params" / "base_crash.yaml"
DASK = Path(sys.executable).parent / "dask"
# The base crash's forced seller holds 2.5 M tokens: enough for its 80% crash at 50,000 USD of pool depth, not for
# the deeper pools the tests sweep (validation refuses a crash its seller cannot deliver). This seller can crash a
# pool of up to 200,000 USD by 90%; the supply grows by the same tokens, so the outside float is unchanged.
DEEP_SELLER = {"shocks.0.inventory_tokens": 13e6, "token.initial_supply": 30.5e6}
# The store's fault tests need many runs, not twins: a shocked run is stepped twice (with its unshocked twin), so
# they sweep the base scenario without a shock (its own twin, one run each).
UNSHOCKED = {"base": str(ROOT / "params" / "base.yaml"), "overrides": {}}


def comparable(summary: pd.DataFrame) -> pd.DataFrame:
    return summary.drop(columns=[c for c in VOLATILE_COLUMNS if c in summary]).reset_index(drop=True)


def write_spec(path: Path, **fields) -> Path:
    spec = {
        "name": "t", "base": str(BASE), "sampler": "grid", "replicates": 2, "engine": "batch", "steps": 80,
        "seed": 7, "parameters": {"market.liquidity_usd": {"values": [30000.0, 90000.0]}},
        "overrides": dict(DEEP_SELLER),
    }
    spec.update(fields)
    path.write_text(yaml.safe_dump(spec))
    return path


def depin(*args: str, cwd: Path, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """The CLI in a new process, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "models.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def depin_popen(*args: str, cwd: Path, env: dict | None = None) -> subprocess.Popen:
    """The CLI started in its own session (process group), so signals reach it as from a terminal.

    SIGINT is reset to its default in the child: a pytest-xdist worker may run with SIGINT ignored, and an
    ignored signal is inherited across exec, where Python then installs no Ctrl-C handler at all (a shell
    at a terminal starts commands with the default).
    """
    return subprocess.Popen([sys.executable, "-m", "models.cli", *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env={**os.environ, **(env or {})}, preexec_fn=_default_sigint)


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def dask_cluster(workers: int = 2, worker_cwd: Path | None = None):
    """A `dask scheduler` and `dask worker` processes on 127.0.0.1; yields the scheduler address."""
    from distributed import Client

    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = []
    try:
        procs.append(subprocess.Popen([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                       "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for i in range(workers):
            procs.append(subprocess.Popen(
                [str(DASK), "worker", address, "--nthreads", "1", "--nworkers", "1", "--no-dashboard",
                 "--name", f"w{i}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=worker_cwd))
        if workers:
            with Client(address, timeout="30s") as client:
                client.wait_for_workers(workers, timeout=60)
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()


@contextlib.contextmanager
def tmpfs(path: Path, size: str, read_only: bool = False):
    """A small tmpfs mounted at ``path`` (needs root, as on the CI machine); unmounted afterwards."""
    path.mkdir(parents=True, exist_ok=True)
    opts = f"size={size}" + (",ro" if read_only else "")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, f"these fault tests mount a tmpfs and need root: {done.stderr.strip()}"
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def remount(path: Path, options: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{options}", str(path)], check=True)
