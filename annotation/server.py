"""Install, start, stop and check a local Label Studio server.

label-studio pins versions that clash with the pipeline's (it downgrades openai, pyarrow and
redis and breaks Prefect's server), so it lives in its own virtual environment
(``.venv-label-studio/`` beside the repo's ``.venv``) and the pipeline only talks to it over
HTTP through ``label-studio-sdk``. The server binds 127.0.0.1 only and keeps its database in
the workspace. The admin account and its API token are preset on the first start (Label
Studio reads them only when the user is created); they come from the environment or are
generated once and kept in a 0600 file next to the server's data, never in the store. The
server process gets them in its own environment, never on its command line, and gets no
other variable of ours (no provider keys): see ``server_env``.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from pipeline.net import free_port

LABEL_STUDIO_VERSION = "1.23.2"
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_VENV = REPO_ROOT / ".venv-label-studio"
VENV_ENV = "VALACT_LABEL_STUDIO_VENV"
INSTALLED_MARKER = ".valact-installed"
CREDENTIALS_FILE = "credentials.json"
STATE_FILE = "server.json"
PASSED_THROUGH = ("HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR")


class ServerError(RuntimeError):
    """The server could not be installed, started or reached."""


@dataclass(frozen=True)
class Credentials:
    """The preset admin account; the token is what API clients send."""

    username: str
    password: str
    token: str


@dataclass(frozen=True)
class ServerStatus:
    """What ``status`` reports: whether a server we started is alive and healthy."""

    running: bool
    healthy: bool
    url: str | None
    pid: int | None
    data_dir: str


def venv_dir() -> Path:
    """Where the Label Studio venv lives (``VALACT_LABEL_STUDIO_VENV`` overrides)."""
    return Path(os.environ.get(VENV_ENV, DEFAULT_VENV)).resolve()


def executable(venv: Path | None = None) -> Path:
    """The ``label-studio`` console script inside the venv."""
    return (venv or venv_dir()) / "bin" / "label-studio"


def is_installed(venv: Path | None = None) -> bool:
    """True when the venv holds the pinned Label Studio version."""
    venv = venv or venv_dir()
    marker = venv / INSTALLED_MARKER
    return (executable(venv).exists() and marker.exists()
            and marker.read_text().strip() == LABEL_STUDIO_VERSION)


def _sdk_pin() -> str:
    """The label-studio-sdk version the pipeline uses, so both sides speak the same API."""
    from importlib.metadata import version

    return version("label-studio-sdk")


def install(venv: Path | None = None) -> Path:
    """Create the venv and install label-studio into it once (about 70 s); returns the venv.

    A file lock makes concurrent callers (parallel test sessions, make + CLI) wait for one
    install instead of racing.
    """
    venv = venv or venv_dir()
    venv.parent.mkdir(parents=True, exist_ok=True)
    lock_path = venv.with_name(venv.name + ".lock")
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if is_installed(venv):
            return venv
        python = venv / "bin" / "python"
        if not python.exists():
            _run([sys.executable, "-m", "venv", str(venv)])
        packages = [f"label-studio=={LABEL_STUDIO_VERSION}", f"label-studio-sdk=={_sdk_pin()}"]
        uv = shutil.which("uv") or shutil.which("uv", path=str(Path(sys.executable).parent))
        if uv:
            _run([uv, "pip", "install", "-q", "--compile-bytecode", "--python", str(python), *packages])
        else:
            _run([str(python), "-m", "pip", "install", "-q", *packages])
        (venv / INSTALLED_MARKER).write_text(LABEL_STUDIO_VERSION + "\n")
    return venv


def _run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise ServerError(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-2000:]}")


def credentials(data_dir: Path) -> Credentials:
    """Admin account from ``LABEL_STUDIO_USERNAME/PASSWORD/USER_TOKEN``, else generated once.

    Generated values are kept in ``<data_dir>/credentials.json`` (mode 0600) because Label
    Studio only applies them when the user is first created: later starts must reuse them.
    """
    path = data_dir / CREDENTIALS_FILE
    stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    creds = Credentials(
        username=os.environ.get("LABEL_STUDIO_USERNAME") or stored.get("username") or "admin@valact.local",
        password=os.environ.get("LABEL_STUDIO_PASSWORD") or stored.get("password")
        or secrets.token_urlsafe(18),
        token=os.environ.get("LABEL_STUDIO_USER_TOKEN") or stored.get("token") or secrets.token_hex(20),
    )
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(creds.__dict__, handle)
    return creds


def healthy(url: str, timeout: float = 2.0) -> bool:
    """True when ``<url>/health`` answers 200."""
    try:
        return httpx.get(f"{url.rstrip('/')}/health", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def _state(data_dir: Path) -> dict[str, object]:
    path = data_dir / STATE_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def status(data_dir: Path) -> ServerStatus:
    """Whether the server started for this data folder is running and healthy."""
    state = _state(data_dir)
    pid = state.get("pid")
    url = state.get("url")
    running = isinstance(pid, int) and _alive(pid)
    return ServerStatus(
        running=running,
        healthy=running and isinstance(url, str) and healthy(url),
        url=url if isinstance(url, str) else None,
        pid=pid if isinstance(pid, int) and running else None,
        data_dir=str(data_dir),
    )


def server_env(venv: Path, data_dir: Path, creds: Credentials) -> dict[str, str]:
    """The whole environment of the Label Studio process, built from nothing.

    Not a copy of ours: that would hand the server every provider key (``OPENAI_API_KEY``,
    ``HF_TOKEN``...) and whatever else the user exported. Only locale, home and temp folder
    pass through. The admin account travels here, in this one process's environment, where
    Label Studio reads it (``LABEL_STUDIO_USERNAME/PASSWORD/USER_TOKEN``) when it creates the
    user; on the command line ``ps`` would show it to every user of the machine.
    """
    env = {name: os.environ[name] for name in PASSED_THROUGH if name in os.environ}
    env.update({
        "PATH": os.pathsep.join([str(venv / "bin"), "/usr/local/bin", "/usr/bin", "/bin"]),
        "VIRTUAL_ENV": str(venv),
        "LABEL_STUDIO_USERNAME": creds.username,
        "LABEL_STUDIO_PASSWORD": creds.password,
        "LABEL_STUDIO_USER_TOKEN": creds.token,
        "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
        "LABEL_STUDIO_BASE_DATA_DIR": str(data_dir),
        "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true",
        "COLLECT_ANALYTICS": "false",
        "LATEST_VERSION_CHECK": "false",  # no call to pypi.org from a loopback server
    })
    return env


def start(data_dir: Path, port: int | None = None, timeout_s: float = 240.0,
          venv: Path | None = None) -> tuple[str, Credentials]:
    """Start the server for ``data_dir`` (installing it if needed); returns (url, credentials).

    Already running and healthy: returns the running server. Waits for ``/health``; cold
    start takes about 45 s on two cores.
    """
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    current = status(data_dir)
    creds = credentials(data_dir)
    if current.healthy and current.url:
        return current.url, creds
    if current.running and current.pid:
        stop(data_dir)
    venv = install(venv)
    port = port or int(_state(data_dir).get("port") or 0) or free_port()  # type: ignore[call-overload]
    url = f"http://127.0.0.1:{port}"
    cmd = [
        str(executable(venv)), "start", "--no-browser", "--internal-host", "127.0.0.1",
        "--port", str(port), "--data-dir", str(data_dir), "--log-level", "WARNING",
        "--enable-legacy-api-token",
    ]
    log = open(data_dir / "server.log", "ab")  # noqa: SIM115 - handed to the child process
    try:
        proc = subprocess.Popen(cmd, env=server_env(venv, data_dir, creds), stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, cwd=data_dir)
    finally:
        log.close()
    (data_dir / STATE_FILE).write_text(json.dumps({"pid": proc.pid, "url": url, "port": port}))
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerError(
                f"label-studio exited with code {proc.returncode}; see {data_dir / 'server.log'}"
            )
        if healthy(url):
            return url, creds
        time.sleep(1.0)
    stop(data_dir)
    raise ServerError(f"label-studio not healthy after {timeout_s:.0f} s; see {data_dir / 'server.log'}")


def stop(data_dir: Path, kill: bool = False, timeout_s: float = 30.0) -> bool:
    """Stop the server started for ``data_dir``; ``kill=True`` simulates a crash (SIGKILL).

    Returns whether a running server was stopped. Only the process group we started is
    signalled, found through the pid recorded at start.
    """
    data_dir = data_dir.resolve()
    state = _state(data_dir)
    pid = state.get("pid")
    if not isinstance(pid, int) or not _alive(pid):
        return False
    sig = signal.SIGKILL if kill else signal.SIGTERM
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = pid if not _alive(pid) else 0
        if done == pid or not _alive(pid):
            break
        time.sleep(0.2)
    else:
        os.killpg(pid, signal.SIGKILL)
    return True


def main(argv: list[str] | None = None) -> int:
    """``python -m annotation.server install``: used by ``make label-studio``."""
    args = argv if argv is not None else sys.argv[1:]
    if args[:1] == ["install"]:
        print(install())
        return 0
    print("usage: python -m annotation.server install", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
