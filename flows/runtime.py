"""Shared plumbing for flows: Prefect settings, per-run stage contexts, progress display.

Flows receive a small serialisable ``RunRef`` (never live objects) so Prefect can record
their parameters; the live ``StageContext`` for a run is looked up here, opened once per
process and closed when the outermost flow ends.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from pipeline.config import load_config
from pipeline.context import StageContext, new_run_id
from pipeline.llm.report import CostMeter

PREFECT_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "300",
}


def configure_prefect(workspace: Path) -> None:
    """Set Prefect's environment before it is imported: embedded server state in the workspace."""
    for key, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(key, value)
    home = workspace.resolve() / ".prefect"
    home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_HOME", str(home))


class RunRef(BaseModel):
    """How a flow finds its configuration and run: plain data, safe as a flow parameter."""

    profile: str | None = None
    config_path: str | None = None
    workspace: str | None = None
    overrides: dict[str, Any] = {}
    run_id: str = ""

    def with_run(self) -> RunRef:
        """The same reference with a fresh run id if it has none."""
        return self if self.run_id else self.model_copy(update={"run_id": new_run_id()})


_contexts: dict[str, StageContext] = {}
_lock = threading.Lock()


def context(ref: RunRef) -> StageContext:
    """The live context of a run, opened on first use in this process."""
    with _lock:
        if ref.run_id not in _contexts:
            config = load_config(
                ref.profile, Path(ref.config_path) if ref.config_path else None, ref.workspace,
                ref.overrides,
            )
            _contexts[ref.run_id] = StageContext.open(config, run_id=ref.run_id)
            _contexts[ref.run_id].registry.listeners.append(CostMeter(board.note, config.budget_usd))
        return _contexts[ref.run_id]


def close(ref: RunRef) -> None:
    """Close a run's context (stops the local model server if it was started)."""
    with _lock:
        ctx = _contexts.pop(ref.run_id, None)
    if ctx is not None:
        ctx.close()


class ProgressBoard:
    """One progress bar per stage, shared by every task thread of the process.

    Drawn on stderr so ``--json`` output on stdout stays machine-readable.
    """

    def __init__(self) -> None:
        self.progress = Progress(
            TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("{task.fields[note]}"), console=Console(stderr=True),
        )
        self._tasks: dict[str, TaskID] = {}
        self._lock = threading.Lock()

    def stage(self, name: str, total: int) -> None:
        """Create a stage's bar with its total (or reset the total if it exists)."""
        with self._lock:
            if name not in self._tasks:
                self._tasks[name] = self.progress.add_task(name, total=total, note="")
            else:
                self.progress.update(self._tasks[name], total=total)

    def advancer(self, name: str) -> Callable[[int], None]:
        """The function that moves a stage's bar forward (the bar must exist)."""
        task_id = self._tasks[name]
        return lambda n: self.progress.advance(task_id, n)

    def note(self, name: str, text: str) -> None:
        """Show a short status text next to a stage's bar."""
        if name in self._tasks:
            self.progress.update(self._tasks[name], note=text)


board = ProgressBoard()
