"""Drive any stage through its contract: plan, run every unit, finish, and count.

Stages that ask models run on the run's event loop through the streaming engine; the others
run their units in order. Either way the caller gets one ``StageStats``, with the requests,
tokens and cost of the stage's own calls counted from the ``LLMCall`` records as they are
written, so the numbers in a progress bar, ``--json`` and a test are the same numbers.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pipeline.context import StageContext
from pipeline.engine import UNBOUNDED, stream_units
from pipeline.hashing import content_id
from pipeline.llm.client import InvalidOutputError
from pipeline.llm.report import CallTotals
from pipeline.llm.types import RequestRejectedError, RetryableError
from pipeline.stage import ModelStage, Outcome, Stage, StageStats
from schemas.records import LLMCall, StageRun

Progress = Callable[[StageStats, Outcome], None]


def _libc() -> ctypes.CDLL | None:
    """glibc, whose ``malloc_trim`` returns free heap pages; None on other C libraries."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


_LIBC = _libc()


class CallCounter:
    """Adds the stage's call records to its stats as they are written (each record once)."""

    def __init__(self, stats: StageStats, run_id: str) -> None:
        self.stats = stats
        self.run_id = run_id
        self._totals = CallTotals()
        self._lock = threading.Lock()

    def __call__(self, call: LLMCall) -> None:
        """Count one call record of this stage and run (an answer re-marked invalid is the
        same request: its second record replaces the first)."""
        if call.stage != self.stats.stage or call.run_id != self.run_id:
            return
        with self._lock:
            totals = self._totals
            totals.add(call)
            self.stats.requests, self.stats.cached = totals.attempts, totals.cached
            self.stats.tokens_in, self.stats.tokens_out = totals.tokens_in, totals.tokens_out
            self.stats.cost_usd = totals.cost_usd


def run_stage(ctx: StageContext, stage: Stage[Any], on_progress: Progress | None = None) -> StageStats:
    """Run one stage to the end and return its stats (fatal errors propagate after cleanup)."""
    if isinstance(stage, ModelStage):
        return run_together(ctx, [stage], on_progress)[0]
    stats = StageStats(stage.name)
    started = time.monotonic()
    try:
        for unit in stage.plan(ctx):
            _count(stats, stage.run(ctx, unit), on_progress)
    except BaseException:
        stats.seconds = time.monotonic() - started
        raise
    _close(ctx, stage, stats, started)
    return_free_memory()
    return stats


def _close(ctx: StageContext, stage: Stage[Any], stats: StageStats, started: float) -> None:
    """Every unit is done: finish the stage, time it, keep its stats, tell linked stages."""
    try:
        stage.finish(ctx, stats)
    finally:
        stats.seconds = time.monotonic() - started
    record_stats(ctx, stats)
    if stage.on_finished is not None:
        stage.on_finished()


def return_free_memory() -> None:
    """Hand the heap a finished stage freed back to the OS before the next stage allocates.

    Thousands of requests in flight leave the C heap with free space glibc keeps by default;
    the next stage (publishing's Arrow tables) would then grow the process past it instead
    of reusing it, and a build's peak memory would be the sum of its stages, not the largest.
    """
    gc.collect()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def run_together(
    ctx: StageContext, stages: list[ModelStage[Any]], on_progress: Progress | None = None
) -> list[StageStats]:
    """Run model stages side by side on the run's loop (linked stages feed each other).

    If one stops with a fatal error the others are cancelled; what finished is stored.
    """
    all_stats = [StageStats(stage.name) for stage in stages]
    counters = [CallCounter(stats, ctx.run_id) for stats in all_stats]
    ctx.registry.listeners.extend(counters)

    async def one(stage: ModelStage[Any], stats: StageStats) -> None:
        started = time.monotonic()
        try:
            await _run_model_stage(ctx, stage, stats, on_progress)
        except BaseException:
            stats.seconds = time.monotonic() - started
            raise
        _close(ctx, stage, stats, started)

    async def main() -> None:
        async with asyncio.TaskGroup() as group:
            for stage, stats in zip(stages, all_stats, strict=True):
                group.create_task(one(stage, stats))

    try:
        ctx.registry.run_sync(main())
    except BaseExceptionGroup as group:
        raise group.exceptions[0] from None
    finally:
        for counter in counters:
            ctx.registry.listeners.remove(counter)
    ctx.registry.close_pools()  # the stages' connections: the next stage opens what it needs
    return_free_memory()
    return all_stats


def record_stats(ctx: StageContext, stats: StageStats) -> None:
    """Keep a stage run's stats in the store (``valact status`` shows the last one per stage)."""
    ctx.store.put([StageRun(
        id=content_id("stagerun", ctx.run_id, stats.stage), run_id=ctx.run_id, stage=stats.stage,
        stats=stats.as_dict(), finished_at=datetime.now(UTC),
    )])


def _count(stats: StageStats, outcome: Outcome, on_progress: Progress | None) -> None:
    stats.count(outcome)
    if on_progress is not None:
        on_progress(stats, outcome)


async def _run_model_stage(
    ctx: StageContext, stage: ModelStage[Any], stats: StageStats, on_progress: Progress | None
) -> None:
    llm = ctx.llm(stage.name)

    async def work(unit: Any) -> Outcome:
        return await run_unit(ctx, stage, llm, unit)

    await stream_units(stage.aplan(ctx), work, lambda _unit, outcome: _count(stats, outcome, on_progress),
                       unit_window(ctx, stage.aliases(ctx)))


async def run_unit(ctx: StageContext, stage: ModelStage[Any], llm: Any, unit: Any) -> Outcome:
    """One unit, with the per-item errors turned into a recorded drop or failure."""
    try:
        return await stage.arun(ctx, llm, unit)
    except RequestRejectedError as exc:
        outcome = Outcome("dropped", exc.reason, str(exc))
    except (InvalidOutputError, RetryableError) as exc:
        outcome = Outcome("failed", stage.failure_reason(), str(exc))
    stage.on_unit_error(ctx, unit, outcome)
    return outcome


def unit_window(ctx: StageContext, aliases: list[str]) -> Callable[[], int]:
    """How many units may be open: enough to fill the slowest alias's pipe, or all in batch mode.

    The gates decide how many *requests* go out; the window only has to keep every alias
    busy. A unit waiting at a full gate only holds memory, and units pile up at the slowest
    alias (a screening unit needs every screener; generation units alternate generators), so
    the window is that alias's bound once per alias, re-read as the bounds follow the
    measured latency: memory stays flat however long the plan is.
    """
    if any(ctx.config.models[a].batch for a in aliases):
        return lambda: UNBOUNDED
    gates = list({id(ctx.registry.gates[a]): ctx.registry.gates[a] for a in aliases}.values())
    return lambda: max(4, min(g.limit() for g in gates) * len(gates) + 4)

