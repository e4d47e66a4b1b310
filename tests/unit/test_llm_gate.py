"""In-flight bounds from Little's law: the limits and the measured latency size the pipe."""

from __future__ import annotations

import asyncio

from pipeline.llm.limits import INITIAL_LATENCY_S, UNLIMITED_IN_FLIGHT, InFlightGate, RateLimiter
from schemas.config import ModelConfig


def _gate(cap: int | None = None, **fields: object) -> InFlightGate:
    model = ModelConfig.model_validate({"provider": "openai", "model": "m", "limit_headroom": 1.0, **fields})
    return InFlightGate(RateLimiter(model), cap)


def test_bound_follows_rate_times_latency() -> None:
    gate = _gate(rpm=6000)  # 100 requests per second
    assert gate.limit() == int(100 * INITIAL_LATENCY_S * 1.25) + 2  # before any answer: the slow tail
    for _ in range(100):
        gate._latencies.append(5.0)
    assert gate.limit() == 100 * 5 * 1.25 + 2  # 627: enough to keep 100/s going at 5 s each


def test_the_tail_counts_not_the_median() -> None:
    gate = _gate(rpm=600)  # 10 per second
    for i in range(100):
        gate._latencies.append(30.0 if i >= 90 else 6.0)  # a 10 % slow tail
    assert gate.limit() == 10 * 30 * 1.25 + 2


def test_token_limits_can_be_the_tighter_ones() -> None:
    gate = _gate(rpm=6000, tpm_in=60_000)  # 1,000 tokens/s; requests of ~500 tokens -> 2/s
    for _ in range(10):
        gate._latencies.append(10.0)
    assert gate.limit() == 2 * 10 * 1.25 + 2


def test_max_concurrency_is_only_a_cap() -> None:
    assert _gate(cap=8, rpm=6000).limit() == 8
    assert _gate().limit() == UNLIMITED_IN_FLIGHT
    assert _gate(cap=1).limit() == 1


def test_enter_waits_for_room_first_come_first_served() -> None:
    gate = _gate(cap=2)
    order: list[int] = []

    async def request(i: int, hold: float) -> None:
        await gate.enter()
        order.append(i)
        await asyncio.sleep(hold)
        gate.leave(hold)

    async def main() -> None:
        await asyncio.gather(request(0, 0.05), request(1, 0.05), request(2, 0), request(3, 0))
        assert gate.peak == 2 and gate.in_flight == 0

    asyncio.run(main())
    assert order == [0, 1, 2, 3]
