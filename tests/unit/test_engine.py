"""The streaming engine: units flow continuously, the window bounds open units, errors stop it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from pipeline.engine import stream_units
from pipeline.llm.types import FatalError


async def _units(n: int) -> AsyncIterator[int]:
    for i in range(n):
        yield i


def test_a_slow_unit_does_not_hold_up_the_others() -> None:
    finished: list[int] = []
    open_now = 0
    most_open = 0
    slow_released = asyncio.Event()

    async def work(unit: int) -> int:
        nonlocal open_now, most_open
        open_now += 1
        most_open = max(most_open, open_now)
        if unit == 0:
            await slow_released.wait()  # unit 0 is "the 30 s answer"
        else:
            await asyncio.sleep(0)
            if len(finished) >= 18:
                slow_released.set()
        open_now -= 1
        return unit * 10

    def on_result(unit: int, result: int) -> None:
        assert result == unit * 10
        finished.append(unit)

    asyncio.run(stream_units(_units(20), work, on_result, window=4))
    assert sorted(finished) == list(range(20))
    # Lock-step chunks of 4 would have waited for unit 0 before starting unit 4; here
    # units 1..19 all finished while unit 0 was still open.
    assert finished[-1] == 0
    assert most_open <= 4


def test_the_plan_may_wait_for_answers_in_flight() -> None:
    handed: list[int] = []
    gate = asyncio.Event()

    async def plan() -> AsyncIterator[int]:
        yield 1
        await gate.wait()  # like screening: hold back until an answer shows what is needed
        yield 2

    async def work(unit: int) -> int:
        handed.append(unit)
        if unit == 1:
            gate.set()
        return unit

    asyncio.run(stream_units(plan(), work, lambda _u, _r: None, window=10))
    assert handed == [1, 2]


def test_a_fatal_error_stops_new_units_and_lets_open_ones_finish() -> None:
    started: list[int] = []
    stored: list[int] = []

    async def work(unit: int) -> int:
        started.append(unit)
        if unit == 2:
            raise FatalError("budget reached")
        await asyncio.sleep(0.01)  # an answer already on its way
        return unit

    with pytest.raises(FatalError, match="budget"):
        asyncio.run(stream_units(_units(1000), work, lambda u, _r: stored.append(u), window=3))
    assert len(started) < 10  # no new units after the error
    assert {0, 1} <= set(stored)  # the open units' answers were kept


def test_errors_in_the_plan_propagate() -> None:
    async def plan() -> AsyncIterator[int]:
        yield 1
        raise ValueError("broken plan")

    async def work(unit: int) -> int:
        return unit

    with pytest.raises(ValueError, match="broken plan"):
        asyncio.run(stream_units(plan(), work, lambda _u, _r: None, window=2))
