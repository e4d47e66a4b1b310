"""A real Dask cluster on loopback: a ``dask scheduler`` and ``dask worker`` processes.

Started as separate processes (not a LocalCluster inside the test), exactly as a user would
start them by hand before ``valact collect --runner dask://HOST:PORT``. Workers run without a
nanny, so each worker is one process whose peak memory can be read from /proc.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.net import free_port

DASK = str(Path(sys.executable).with_name("dask"))
STARTUP_S = 120.0


def peak_rss_mb(pid: int) -> float:
    """A process's high-water resident memory (VmHWM) in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise ValueError(f"no VmHWM for process {pid}")


@dataclass
class DaskCluster:
    """The scheduler's address and the worker processes."""

    address: str
    scheduler: subprocess.Popen[bytes]
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def runner(self) -> str:
        """The ``--runner`` value that joins this cluster."""
        return "dask://" + self.address.removeprefix("tcp://")

    def worker_peak_rss_mb(self) -> list[float]:
        """Peak memory of each worker process so far."""
        return [peak_rss_mb(w.pid) for w in self.workers]


@contextmanager
def dask_cluster(workers: int, env: dict[str, str] | None = None, log_dir: Path | None = None
                 ) -> Iterator[DaskCluster]:
    """Start a scheduler and ``workers`` one-thread workers on 127.0.0.1; stop them on exit."""
    from distributed import Client  # heavy: only for the tests and benchmarks that use a cluster

    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    environ = {**os.environ, **(env or {})}

    def start(args: list[str], log_name: str) -> subprocess.Popen[bytes]:
        """Start one process, its output in ``log_dir/log_name`` (or nowhere)."""
        out = os.open(log_dir / log_name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644) if log_dir else None
        try:
            sink = subprocess.DEVNULL if out is None else out
            proc = subprocess.Popen([DASK, *args], env=environ, stdout=sink, stderr=subprocess.STDOUT)
        finally:
            if out is not None:
                os.close(out)
        procs.append(proc)
        return proc

    procs: list[subprocess.Popen[bytes]] = []
    try:
        cluster = DaskCluster(address, start(["scheduler", "--host", "127.0.0.1", "--port", str(port),
                                              "--no-dashboard"], "scheduler.log"))
        for k in range(workers):
            args = ["worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                    "--memory-limit", "0", "--host", "127.0.0.1"]
            cluster.workers.append(start(args, f"worker-{k}.log"))
        deadline = time.monotonic() + STARTUP_S
        while True:
            try:
                with Client(address, timeout=10) as client:  # type: ignore[no-untyped-call]
                    client.wait_for_workers(workers, timeout=max(1.0, deadline - time.monotonic()))
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        yield cluster
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
