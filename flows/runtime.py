"""Shared plumbing for flows: Prefect settings, per-run stage contexts, progress display.

``configure_prefect`` lives in ``flows.prefect_env`` (it must run before Prefect is imported,
so it stays light) and is re-exported here for the flows that import it from this module.

Flows receive a small serialisable ``RunRef`` (never live objects) so Prefect can record
their parameters; the live ``StageContext`` for a run is looked up here, opened once per
process and closed when the outermost flow ends.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from flows.prefect_env import PREFECT_DEFAULTS as PREFECT_DEFAULTS
from flows.prefect_env import configure_prefect as configure_prefect
from pipeline.config import load_config
from pipeline.context import StageContext, new_run_id
from pipeline.llm.report import CostMeter

if TYPE_CHECKING:
    from flows.artifacts import StageProgress

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

    Drawn on stderr so ``--json`` output on stdout stays machine-readable. Inside a flow run
    each stage also gets a Prefect progress artifact, so the UI shows how far it is.
    """

    def __init__(self) -> None:
        self.progress = Progress(
            TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("{task.fields[note]}"), console=Console(stderr=True),
        )
        self._tasks: dict[str, TaskID] = {}
        self._artifacts: dict[str, StageProgress] = {}
        self._lock = threading.Lock()

    def stage(self, name: str, total: int) -> None:
        """Create a stage's bar with its total (or reset the total if it exists)."""
        # Imported here, not at the top: this module is imported before Prefect is
        # configured (flows.prefect_env), and flows.artifacts imports Prefect.
        from flows.artifacts import StageProgress, current_flow_run

        with self._lock:
            if name not in self._tasks:
                self._tasks[name] = self.progress.add_task(name, total=total, note="")
            else:
                self.progress.update(self._tasks[name], total=total)
            run = current_flow_run()
            known = self._artifacts.get(name)
            if known is not None and known.flow_run == run:
                known.reset(total)
            elif run is not None:
                self._artifacts[name] = StageProgress(name, total, run)

    def advancer(self, name: str) -> Callable[[int], None]:
        """The function that moves a stage's bar (and its progress artifact) forward."""
        task_id = self._tasks[name]
        artifact = self._artifacts.get(name)

        def advance(n: int) -> None:
            self.progress.advance(task_id, n)
            if artifact is not None:
                artifact.advance(n)

        return advance

    def note(self, name: str, text: str) -> None:
        """Show a short status text next to a stage's bar."""
        if name in self._tasks:
            self.progress.update(self._tasks[name], note=text)


board = ProgressBoard()
