"""The stage contract: what every stage of the pipeline states, and the one stats type.

A stage names the records it reads and writes, splits its work into units (``plan``), does
one unit as plain Python over records (``run``, or ``arun`` for stages that ask models), and
closes the run (``finish``: selection, stale records, a summary). The runner in
``pipeline.runner`` drives any stage the same way, so flows, ``valact status``, progress bars
and tests all read the same ``StageStats``; no caller re-implements a stage's loop.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar

from pipeline.hashing import content_id
from schemas.records import Drop, Record

if TYPE_CHECKING:  # type-only: the context imports the LLM layer, stages only need its shape
    from pipeline.context import StageContext
    from pipeline.llm.client import LLMClient

U = TypeVar("U")
Status = Literal["done", "skipped", "dropped", "failed"]


@dataclass(frozen=True)
class Outcome:
    """What one unit came to; ``reason`` says why for drops and failures."""

    status: Status
    reason: str = ""
    detail: str = ""
    # How far the unit moves the stage's progress bar (screening counts confirmed scenarios).
    advance: int = 1

    @classmethod
    def done(cls) -> Outcome:
        """The unit's records are written."""
        return cls("done")


@dataclass
class StageStats:
    """One stage run in numbers: the same fields for every stage."""

    stage: str
    done: int = 0
    skipped: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    failed: int = 0
    requests: int = 0
    cached: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    seconds: float = 0.0
    # Stage-specific facts a user asks for (scenarios per domain, the release path...).
    facts: dict[str, Any] = field(default_factory=dict)

    def count(self, outcome: Outcome) -> None:
        """Add one unit's outcome."""
        if outcome.status == "done":
            self.done += 1
        elif outcome.status == "skipped":
            self.skipped += 1
        elif outcome.status == "dropped":
            self.dropped[outcome.reason or "dropped"] += 1
        else:
            self.failed += 1

    def as_dict(self) -> dict[str, Any]:
        """Plain data (flow results, ``--json``, Prefect artifacts)."""
        return {
            "stage": self.stage, "done": self.done, "skipped": self.skipped,
            "dropped": dict(sorted(self.dropped.items())), "failed": self.failed,
            "requests": self.requests, "cached": self.cached, "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out, "cost_usd": round(self.cost_usd, 6),
            "seconds": round(self.seconds, 2), **self.facts,
        }


class Stage(ABC, Generic[U]):
    """A stage: plan units, run each, finish. Plain Python; never imports Prefect."""

    name: ClassVar[str]
    reads: ClassVar[tuple[type[Record], ...]]
    writes: ClassVar[tuple[type[Record], ...]]
    # Asks models: the runner drives ``arun`` on the run's event loop through the engine.
    uses_models: ClassVar[bool] = False
    # Called once the stage has finished (a linked stage learns that no more input comes).
    on_finished: Callable[[], None] | None = None

    @abstractmethod
    def plan(self, ctx: StageContext) -> Iterable[U]:
        """The work units still to do (done work is not planned again)."""

    def run(self, ctx: StageContext, unit: U) -> Outcome:
        """Do one unit and write its records."""
        raise NotImplementedError(f"{self.name} runs its units with arun")

    def finish(self, ctx: StageContext, stats: StageStats) -> None:
        """Close the run once every unit is done (selection, stale records, facts)."""

    def total(self, ctx: StageContext) -> int | None:
        """How many units the progress bar should expect (None = unknown up front)."""
        return None


class ModelStage(Stage[U]):
    """A stage whose units ask models: run concurrently by the streaming engine."""

    uses_models: ClassVar[bool] = True

    async def aplan(self, ctx: StageContext) -> AsyncIterator[U]:
        """Units as they become available; by default the static ``plan``.

        Screening overrides this to hold back posts while the quota may already be met by
        the answers in flight, and generation to take scenarios the moment they are selected.
        """
        for unit in self.plan(ctx):
            yield unit

    @abstractmethod
    async def arun(self, ctx: StageContext, llm: LLMClient, unit: U) -> Outcome:
        """Do one unit, awaiting its model calls, and write its records."""

    @abstractmethod
    def aliases(self, ctx: StageContext) -> list[str]:
        """The model aliases the stage sends to (their limits size the engine's window)."""

    @abstractmethod
    def item_id(self, unit: U) -> str:
        """The item a unit's drop or failure is recorded under."""

    def failure_reason(self) -> str:
        """The drop reason of a unit whose answers stayed invalid or whose retries ran out."""
        return f"{self.name}_failed"

    def on_unit_error(self, ctx: StageContext, unit: U, outcome: Outcome) -> None:
        """Record why a unit was dropped or failed (a Drop row, visible in ``valact status``)."""
        ctx.store.put([drop_record(self.name, self.item_id(unit), outcome.reason, outcome.detail)])


def drop_record(stage: str, item_id: str, reason: str, detail: str = "") -> Drop:
    """A drop with its stable id: one per (stage, item)."""
    return Drop(id=drop_id(stage, item_id), stage=stage, item_id=item_id, reason=reason, detail=detail[:500])


def drop_id(stage: str, item_id: str) -> str:
    """The id of an item's drop in a stage (the one formula every caller uses)."""
    return content_id("drop", stage, item_id)
