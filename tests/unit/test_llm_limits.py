"""Token buckets and cooldowns, on a fake clock (sleep advances it), so no wall-clock timing."""

from __future__ import annotations

import itertools

from pipeline.llm.limits import RateLimiter
from schemas.config import ModelConfig


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _limiter(clock: FakeClock, **fields: object) -> RateLimiter:
    model = ModelConfig.model_validate({"provider": "openai", "model": "m", "limit_headroom": 1.0, **fields})
    return RateLimiter(model, clock=clock, sleep=clock.sleep)


def _send_times(
    limiter: RateLimiter, clock: FakeClock, n: int, tokens_in: int = 10, out: int = 10
) -> list[float]:
    times = []
    for _ in range(n):
        permit = limiter.acquire(tokens_in)
        times.append(clock.now)
        permit.release(out)
    return times


def test_rpm_spaces_requests_evenly_and_never_bursts() -> None:
    clock = FakeClock()
    times = _send_times(_limiter(clock, rpm=60), clock, 61)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.999  # one per second, no initial burst
    # any 60-second window holds at most 60 requests
    assert sum(1 for t in times if t < times[0] + 60) == 60


def test_input_tokens_per_minute_limit() -> None:
    clock = FakeClock()
    times = _send_times(_limiter(clock, tpm_in=6000), clock, 11, tokens_in=1000)
    # 6000 tokens/min = 100/s: each 1000-token request needs 10 s of refill after the first burst
    assert times[-1] - times[0] >= 10 * (10 - 1)


def test_output_bucket_is_corrected_by_real_counts() -> None:
    clock = FakeClock()
    limiter = _limiter(clock, tpm_out=600, max_tokens=1000)
    permit = limiter.acquire(1)
    permit.release(0)  # the request reserved ~500 output tokens but used none: refunded
    start = clock.now
    permit = limiter.acquire(1)
    permit.release(0)
    assert clock.now - start < 60  # without the refund this would wait ~50 s


def test_retry_after_pauses_the_alias() -> None:
    clock = FakeClock()
    limiter = _limiter(clock)
    limiter.on_rate_limited(7.0)
    start = clock.now
    limiter.acquire(1).release(1)
    assert clock.now - start >= 7.0


def test_clustered_429s_cool_down_longer_and_slow_down() -> None:
    clock = FakeClock()
    limiter = _limiter(clock, rpm=600)
    pauses = [limiter.on_rate_limited(1.0) for _ in range(3)]
    assert pauses[:2] == [1.0, 1.0]
    assert pauses[2] >= 2.0
    assert limiter.factor < 1.0
    assert limiter.cooldowns == 1
    slow = limiter.factor
    for _ in range(50):
        limiter.acquire(1).release(1)
    assert limiter.factor > slow  # recovers as requests succeed


def test_concurrency_cap_blocks_extra_requests() -> None:
    clock = FakeClock()
    limiter = _limiter(clock, max_concurrency=1)
    permit = limiter.acquire(1)
    assert not limiter._slots.acquire(blocking=False)
    permit.release(1)
    permit.release(1)  # releasing twice is harmless
    assert limiter._slots.acquire(blocking=False)
