"""The streaming request engine: work units flow through continuously, never in lock-step chunks.

A unit starts the moment there is room and ends on its own time; a slow answer holds up
only its own unit. Room is what the models allow: each request waits at its alias's
``InFlightGate`` (Little's law over the limits and measured latency) and rate limiter, so
the engine itself only bounds how many *units* are open (``window``), which keeps memory
flat however long the plan is. In batch mode the window is unbounded, so every pending
request of the stage reaches the batch runner together and leaves in as few jobs as the
provider allows.

Errors: an answer that stays invalid, retries that run out, or a provider refusing one
request (context length, content policy) end that unit with a recorded reason while the
others go on. A fatal error (bad key, quota, budget) stops new units; the open ones end on
their own (an answer already paid for is stored), then the error is raised. Finished units
are stored, so a re-run resumes and pays nothing twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

U = TypeVar("U")
R = TypeVar("R")

UNBOUNDED = 1 << 30


async def stream_units(
    units: AsyncIterator[U],
    work: Callable[[U], Awaitable[R]],
    on_result: Callable[[U, R], None],
    window: int | Callable[[], int],
) -> None:
    """Run ``work`` on every unit with at most ``window`` open; report each result as it lands.

    ``work`` must turn per-unit problems into its result; whatever it (or the plan, or
    ``on_result``) raises stops the run once the open units have ended (cancelling the
    caller cancels them at once). Each unit costs O(1) bookkeeping, so a plan of 20,000
    units with 2,000 open stays cheap.
    """
    room = Room(window if callable(window) else (lambda: window))
    open_tasks: set[asyncio.Task[None]] = set()
    problems: list[BaseException] = []
    stop = asyncio.Event()
    idle = asyncio.Event()
    idle.set()

    async def one(unit: U) -> None:
        try:
            on_result(unit, await work(unit))
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            problems.append(exc)
            stop.set()
        finally:
            room.leave()

    def finished(task: asyncio.Task[None]) -> None:
        open_tasks.discard(task)
        if not open_tasks:
            idle.set()

    async def feed() -> None:
        async for unit in units:
            await room.enter()
            if stop.is_set():
                return
            task = asyncio.create_task(one(unit))
            open_tasks.add(task)
            idle.clear()
            task.add_done_callback(finished)

    feeder = asyncio.create_task(feed())
    stopped = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({feeder, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if feeder.done() and not problems:
            feeder.result()  # the plan's own errors
        else:
            feeder.cancel()
        # Let the open units end on their own: their requests are sent and will be billed,
        # so their answers are worth storing. After a fatal error they fail fast anyway
        # (the budget guard or the provider refuses their next request).
        await idle.wait()
        if problems:
            raise problems[0]
    finally:
        for task in [feeder, stopped, *open_tasks]:
            task.cancel()
        await asyncio.gather(feeder, stopped, *open_tasks, return_exceptions=True)


class Room:
    """How many units may be open, re-read as it changes (the bound follows measured latency)."""

    def __init__(self, window: Callable[[], int]) -> None:
        self.window = window
        self.open = 0
        self._freed = asyncio.Event()

    async def enter(self) -> None:
        """Wait until fewer than ``window()`` units are open, then take a place."""
        while self.open >= self.window():
            self._freed.clear()
            await self._freed.wait()
        self.open += 1

    def leave(self) -> None:
        """A unit ended: its place is free."""
        self.open -= 1
        self._freed.set()

