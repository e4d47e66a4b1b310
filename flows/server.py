"""``valact server start|stop|status``: one long-lived Prefect server per workspace.

Why: without it every command starts Prefect's ephemeral server and stops it on exit,
paying 15-35 s on a small machine and leaving no UI to look at. With it, ``prefect server
start`` runs on loopback with the workspace's Prefect home (the same database the
ephemeral server uses, so earlier runs show up), and every valact command on that
workspace talks to it (``PREFECT_API_URL``, see ``flows.runtime.configure_prefect``).

The process is started detached, in its own session, with a minimal environment (no
provider keys); its pid, port and log file are recorded in ``<prefect home>/valact-server.json``
so ``stop`` and ``status`` (in any later process) find it, and its output goes to
``<workspace>/logs/prefect-server.log``. This module never imports Prefect: it runs
Prefect's own CLI as a subprocess and checks health over plain HTTP, so ``valact --help``
and the commands' start stay fast.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from pipeline.net import free_port

RECORD_NAME = "valact-server.json"
LOG_NAME = "prefect-server.log"
# Variables the server process keeps from our environment; provider keys never reach it.
_KEPT_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "VIRTUAL_ENV")
# Client-side Prefect settings (where to send runs, and its credentials): not the server's business.
_CLIENT_ONLY = ("PREFECT_API_URL", "PREFECT_API_KEY", "PREFECT_API_AUTH_STRING")


class ServerError(RuntimeError):
    """The Prefect server could not be started or stopped; the message says why."""


@dataclass(frozen=True)
class ServerInfo:
    """Where a started server lives: enough for another process to use or stop it."""

    pid: int
    port: int
    home: str
    log: str
    started_at: str

    @property
    def ui_url(self) -> str:
        """The Prefect UI in a browser."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """What ``PREFECT_API_URL`` must be for clients of this server."""
        return f"{self.ui_url}/api"

    def as_dict(self) -> dict[str, object]:
        """Plain JSON-able fields plus both URLs (for ``--json`` output)."""
        return {**asdict(self), "api_url": self.api_url, "ui_url": self.ui_url}


def prefect_home(workspace: Path) -> Path:
    """The Prefect home of a workspace: ``PREFECT_HOME`` if the user set it, else ``<ws>/.prefect``."""
    explicit = os.environ.get("PREFECT_HOME")
    return Path(explicit) if explicit else workspace.resolve() / ".prefect"


def read_record(home: Path) -> ServerInfo | None:
    """The recorded server of a Prefect home, if any (it may have died since)."""
    path = home / RECORD_NAME
    try:
        return ServerInfo(**json.loads(path.read_text()))
    except (FileNotFoundError, json.JSONDecodeError, TypeError):
        return None


def is_healthy(info: ServerInfo, timeout_s: float = 2.0) -> bool:
    """True when the recorded process is alive and its API answers ``/health``."""
    if not _ours(info):
        return False
    try:
        with urllib.request.urlopen(f"{info.api_url}/health", timeout=timeout_s) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def running(workspace: Path) -> ServerInfo | None:
    """The workspace's server when it is up and answering, else None."""
    info = read_record(prefect_home(workspace))
    return info if info is not None and is_healthy(info) else None


def start(workspace: Path, env: dict[str, str], timeout_s: float = 300.0) -> tuple[ServerInfo, bool]:
    """Start the workspace's server (or return the one already up); True when newly started.

    ``env`` holds the Prefect settings the server runs with (``flows.runtime`` passes its
    defaults and ``PREFECT_HOME``). Waits until the API answers; a server that exits or
    stays silent for ``timeout_s`` is killed and reported with the end of its log.
    """
    home = prefect_home(workspace)
    home.mkdir(parents=True, exist_ok=True)
    with _locked(home):
        current = read_record(home)
        if current is not None and is_healthy(current):
            return current, False
        (home / RECORD_NAME).unlink(missing_ok=True)
        logs = workspace.resolve() / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        log = logs / LOG_NAME
        info = _launch(home, log, env, timeout_s)
        (home / RECORD_NAME).write_text(json.dumps(asdict(info), indent=2))
        return info, True


def stop(workspace: Path, timeout_s: float = 30.0) -> ServerInfo | None:
    """Stop the workspace's server; returns what was stopped (None when nothing was recorded)."""
    home = prefect_home(workspace)
    with _locked(home):
        info = read_record(home)
        if info is None:
            return None
        if _ours(info):  # a stale record's pid may belong to another process by now: leave that alone
            _terminate_group(info.pid, timeout_s)
        (home / RECORD_NAME).unlink(missing_ok=True)
        return info


def _launch(home: Path, log: Path, env: dict[str, str], timeout_s: float) -> ServerInfo:
    """Run ``prefect server start`` detached on a free loopback port and wait for its health."""
    server_env = {k: os.environ[k] for k in _KEPT_ENV if k in os.environ}
    server_env.update({k: v for k, v in env.items() if k not in _CLIENT_ONLY})
    server_env["PREFECT_HOME"] = str(home)
    port = free_port()
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
               "--port", str(port), "--analytics-off"]
    with log.open("ab") as out:
        out.write(f"\n--- {datetime.now(UTC).isoformat()} {' '.join(command)}\n".encode())
        out.flush()
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                   env=server_env, start_new_session=True)
    info = ServerInfo(pid=process.pid, port=port, home=str(home), log=str(log),
                      started_at=datetime.now(UTC).isoformat(timespec="seconds"))
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:  # died: port taken meanwhile, bad settings, ...
            raise ServerError(f"prefect server exited with code {process.returncode}; "
                              f"end of {log}:\n{_tail(log)}")
        if is_healthy(info):
            return info
        time.sleep(0.5)
    _terminate_group(process.pid, 10.0)
    raise ServerError(f"prefect server did not answer within {timeout_s:.0f} s; end of {log}:\n{_tail(log)}")


def _terminate_group(pid: int, timeout_s: float) -> None:
    """SIGTERM the server's process group (it runs uvicorn and services as children), then SIGKILL."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.2)
    if _alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)


def _ours(info: ServerInfo) -> bool:
    """True when the recorded pid is still the ``prefect server start`` we launched on its port."""
    if not _alive(info.pid):
        return False
    import psutil  # type: ignore[import-untyped]  # only status/stop need it, not the CLI's start

    try:
        command = psutil.Process(info.pid).cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False
    return "prefect" in command and "server" in command and str(info.port) in command


def _alive(pid: int) -> bool:
    """True when the process exists and is not a zombie waiting to be reaped."""
    import psutil  # type: ignore[import-untyped]  # only status/stop need it, not the CLI's start

    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


@contextlib.contextmanager
def _locked(home: Path) -> Iterator[None]:
    """One start/stop at a time per Prefect home (two shells starting servers at once)."""
    home.mkdir(parents=True, exist_ok=True)
    with (home / "valact-server.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
