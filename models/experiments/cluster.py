"""Dask clients for sweeps, and the checks that must pass before a sweep writes anything.

A sweep talks to a ``LocalCluster`` (default) or to an external scheduler (``--scheduler`` or
``$DASK_SCHEDULER_ADDRESS``). Failures a user can act on become one-line :class:`ClusterError` or
:class:`models.experiments.lock.StoreError` messages within seconds, never a traceback after minutes.
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import shutil
from pathlib import Path

from models.experiments.lock import StoreError

CONNECT_TIMEOUT_S = 6  # unreachable scheduler: message well inside 10 s including imports
WORKER_WAIT_S = 10  # a scheduler with no workers
_ADDRESS = re.compile(r"^(tcp|tls|ws|wss)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)(?::(\d{1,5}))?/?$")


class ClusterError(RuntimeError):
    """The Dask scheduler or its workers cannot run the sweep; nothing was written."""


def check_scheduler_address(address: str) -> str:
    """Return ``address`` if it is ``PROTOCOL://HOST[:PORT]`` with a port in 1..65535.

    Raises:
        ValueError: with what is allowed.
    """
    match = _ADDRESS.match(address.strip())
    port = match.group(3) if match else None
    if match is None or (port is not None and not 1 <= int(port) <= 65535):
        raise ValueError(f"--scheduler {address!r}: expected tcp://HOST:PORT with a port in 1..65535")
    return address.strip()


def open_client(workers: int | None, scheduler: str | None, shared: bool = False):
    """A Dask client on ``scheduler`` (or ``$DASK_SCHEDULER_ADDRESS``), else on a LocalCluster.

    Args:
        workers: LocalCluster worker processes (default: CPU count).
        scheduler: address of a running scheduler.
        shared: reuse this process's LocalCluster of ``workers`` workers if one is running, and keep a new one
            running for the next sweep (closed when the process exits, or by :func:`release` after a fault),
            so a notebook or benchmark running many sweeps pays the start-up (~3 s) once.

    Returns:
        ``(client, cluster or None)``.

    Raises:
        ClusterError: the scheduler is unreachable or has no workers (after at most a few seconds).
    """
    import dask
    from distributed import Client, LocalCluster

    address = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    if address:
        try:
            address = check_scheduler_address(address)
        except ValueError as exc:
            raise ClusterError(str(exc)) from None
        try:
            with dask.config.set({"distributed.comm.timeouts.connect": f"{CONNECT_TIMEOUT_S}s"}):
                client = Client(address, timeout=CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError) as exc:
            raise ClusterError(f"cannot reach the Dask scheduler at {address} within {CONNECT_TIMEOUT_S} s "
                               f"({type(exc).__name__}); is `dask scheduler` running there?") from None
        try:
            client.wait_for_workers(1, timeout=WORKER_WAIT_S)
        except (OSError, TimeoutError):
            client.close()
            raise ClusterError(f"the Dask scheduler at {address} has no workers after {WORKER_WAIT_S} s; "
                               f"start some with `dask worker {address}`") from None
        return client, None
    n = workers or os.cpu_count() or 1
    if shared and n in _SHARED:
        client, cluster = _SHARED[n]
        if client.status == "running" and getattr(cluster.status, "name", "") == "running":
            try:
                client.wait_for_workers(n, timeout=WORKER_WAIT_S)
                return client, cluster
            except (OSError, TimeoutError):
                pass
        release(client, cluster, broken=True)
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                           dashboard_address=":0", silence_logs=logging.ERROR, preload=["models.dask_preload"])
    client = Client(cluster)
    if shared:
        if not _SHARED:
            atexit.register(_close_shared)
        _SHARED[n] = (client, cluster)
    return client, cluster


# worker count -> (client, LocalCluster) kept running across the sweeps of this process (open_client(shared=True))
_SHARED: dict[int, tuple] = {}


def is_shared(client) -> bool:
    """Whether ``client`` is one of this process's shared LocalCluster clients."""
    return any(client is c for c, _ in _SHARED.values())


def release(client, cluster, broken: bool = False) -> None:
    """Give back a client from :func:`open_client`: close it, unless it is shared and sound.

    Args:
        client: the client (None: nothing to do).
        cluster: its LocalCluster, or None.
        broken: the sweep ended in a fault (Ctrl-C, lost cluster): a shared cluster is closed too.
    """
    if client is None:
        return
    if is_shared(client):
        if not broken:
            return
        for n, (c, _) in list(_SHARED.items()):
            if c is client:
                del _SHARED[n]
    close_quietly(client, cluster)


def _close_shared() -> None:
    for n in list(_SHARED):
        client, cluster = _SHARED.pop(n)
        close_quietly(client, cluster)


def check_worker_code(client, code_hash: str) -> None:
    """Every worker must run the same model code as the client.

    Raises:
        ClusterError: naming the workers that do not.
    """
    from models.io import model_code_hash

    other = sorted(w for w, h in client.run(model_code_hash).items() if h != code_hash)
    if other:
        raise ClusterError(f"workers {', '.join(other)} run different model code than this client; install "
                           "the same version of the project on every worker")


def check_worker_paths(client, probe: Path) -> None:
    """Every worker must see the store directory (a file ``probe`` the client has just written in it).

    Raises:
        ClusterError: naming the workers that cannot.
    """
    blind = sorted(w for w, ok in client.run(os.path.isfile, str(probe)).items() if not ok)
    if blind:
        raise ClusterError(f"workers {', '.join(blind)} cannot see {probe.parent}; on an external cluster "
                           "--out must be on a file system every worker shares")


def close_quietly(client, cluster) -> None:
    """Close a client and its LocalCluster without the log noise of shutting down mid-task."""
    for name in ("distributed", "tornado", "asyncio"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    for thing in (client, cluster):
        if thing is not None:
            try:
                thing.close()
            except Exception:  # noqa: BLE001, S110 - closing after an interrupt: nothing left to save
                pass


def preflight(out: Path, root: Path, bytes_needed: int, force: bool) -> None:
    """Check, before any work, that the sweep can write where it is asked to.

    Args:
        out: absolute parent directory of the store.
        root: the store directory ``out/<name>``.
        bytes_needed: a lower estimate of the bytes the pending runs will write.
        force: skip the free-space check.

    Raises:
        StoreError: ``out`` is a file, not writable, on a read-only file system, or too full.
    """
    from models.io import unwritable_reason

    reason = unwritable_reason(root if root.is_dir() else out)
    if reason is not None:
        raise StoreError(f"--out {out}: {reason}")
    probe = root if root.is_dir() else out
    while not probe.exists():
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if not force and free < bytes_needed:
        raise StoreError(f"--out {out}: about {bytes_needed / 1e6:.1f} MB needed, {free / 1e6:.1f} MB free on "
                         f"{probe}; free space, choose another --out, or pass --force to try anyway")
