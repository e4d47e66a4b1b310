"""Client-side rate limits per model alias: token buckets, a concurrency cap, cooldowns.

Retrying 429s alone turns a busy minute into a storm (every worker retries at once and
gets throttled again). Instead every request first takes a permit here: one token from the
requests-per-minute bucket, its estimated input tokens from the input-TPM bucket and its
expected output tokens from the output-TPM bucket (corrected by the real count afterwards).
Buckets start with room for a single request and refill continuously, so the requests sent
in *any* 60-second window stay under the limit, not just on average. When the provider
still answers 429, the whole alias pauses for ``Retry-After``; when 429s cluster, the pause
gets longer and the send rate drops, then recovers step by step as requests succeed.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from schemas.config import ModelConfig

CLUSTER_WINDOW_S = 10.0
CLUSTER_SIZE = 3
MIN_FACTOR = 0.25
EPSILON_S = 1e-6
THREAD_SLOTS = 16  # the thread path's default cap when max_concurrency is unset
UNLIMITED_IN_FLIGHT = 256  # no rate limit and no cap: still bound sockets and memory
INITIAL_LATENCY_S = 30.0  # before any answer is measured, assume the slow tail
LATENCY_SAMPLES = 256  # float rounding must not turn "now" into an endless series of tiny sleeps


def burst(per_minute: int, headroom: float) -> float:
    """A bucket's capacity: half the headroom's slack, at most half a second of refill.

    A bucket of one request keeps every window exact, but then any moment the event loop is
    late (busy filing answers) is rate lost for good: at 100 requests/s a loop that wakes
    20 ms late sends half as many. Half of what ``headroom`` leaves unused per window (2% of
    5,000 RPM = 100 requests, so 50) absorbs that lateness; the other half absorbs the
    jitter between taking a permit and the request reaching the provider, so no 60-second
    window passes the limit. The same holds for token buckets.
    """
    slack = (1.0 - headroom) * per_minute / 2
    return max(1.0, min(slack, per_minute * headroom / 60 * 0.5))


class TokenBucket:
    """Continuous refill at ``per_minute / 60`` per second, capacity ``burst``."""

    def __init__(self, per_minute: float, burst: float, now: float) -> None:
        self.per_second = per_minute / 60.0
        self.burst = burst
        self.tokens = burst
        self.updated = now

    def _refill(self, now: float, factor: float) -> None:
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(self.burst, self.tokens + elapsed * self.per_second * factor)
        self.updated = now

    def wait_for(self, amount: float, now: float, factor: float) -> float:
        """Seconds until ``amount`` can be taken (a request bigger than the bucket waits for a full one)."""
        self._refill(now, factor)
        need = min(amount, self.burst)
        if self.tokens >= need - 1e-9:
            return 0.0
        return (need - self.tokens) / (self.per_second * factor)

    def take(self, amount: float) -> None:
        """Spend tokens (may go negative: the debt delays later requests)."""
        self.tokens -= amount

    def refund(self, amount: float) -> None:
        """Give back tokens reserved but not used (or take more when ``amount`` < 0)."""
        self.tokens = min(self.burst, self.tokens + amount)


@dataclass
class Permit:
    """What one request holds while in flight."""

    limiter: RateLimiter
    tokens_out_reserved: float
    slotted: bool = True
    released: bool = False

    def release(self, tokens_out: int | None = None) -> None:
        """Free the concurrency slot; correct the output bucket with the real count."""
        if self.released:
            return
        self.released = True
        self.limiter._release(self, tokens_out)


class RateLimiter:
    """Limits for one model alias, shared by every thread of the run."""

    def __init__(
        self,
        model: ModelConfig,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.model = model
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max(1, model.max_concurrency or THREAD_SLOTS))
        self._async_waiters: deque[tuple[int, asyncio.Future[Permit]]] = deque()
        self._dispatchers: dict[int, asyncio.Task[None]] = {}
        now = clock()
        headroom = model.limit_headroom
        self._buckets: dict[str, TokenBucket] = {}
        for name, limit in (("rpm", model.rpm), ("tpm_in", model.tpm_in), ("tpm_out", model.tpm_out)):
            if limit:
                self._buckets[name] = TokenBucket(limit * headroom, burst(limit, headroom), now)
        self.factor = 1.0
        self.cooldown_until = now
        self._recent_429: deque[float] = deque()
        self._out_mean = float(model.max_tokens) / 2
        self._in_mean = 500.0
        self.rate_limited = 0
        self.cooldowns = 0

    def acquire(self, tokens_in: int) -> Permit:
        """Block until a request of ``tokens_in`` input tokens may be sent (threads)."""
        self._slots.acquire()
        try:
            while True:
                wait, permit = self._try_take(tokens_in, slotted=True)
                if permit is not None:
                    return permit
                self._sleep(min(wait, 30.0))
        except BaseException:
            self._slots.release()
            raise

    async def acquire_async(self, tokens_in: int) -> Permit:
        """Wait without blocking the event loop; waiters are served in arrival order.

        One dispatcher per alias hands out permits: each time it wakes it grants every
        waiter the buckets have room for, at once, then sleeps until the next one fits. So
        thousands of waiting requests cost one timer, a busy loop still sends at the full
        rate (a chain of one-by-one handoffs would send one request per loop turn), and no
        request overtakes an earlier one. In-flight bounds are the ``InFlightGate``'s job on
        this path, not ``max_concurrency``.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Permit] = loop.create_future()
        self._async_waiters.append((tokens_in, future))
        dispatcher = self._dispatchers.get(id(loop))
        if dispatcher is None or dispatcher.done():
            self._dispatchers[id(loop)] = loop.create_task(self._dispatch())
        try:
            return await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                future.result().release(None)  # granted just as we were cancelled: give it back
            raise

    async def _dispatch(self) -> None:
        while self._async_waiters:
            wait = 0.0
            while self._async_waiters:
                tokens_in, future = self._async_waiters[0]
                if future.done():  # cancelled while waiting
                    self._async_waiters.popleft()
                    continue
                wait, permit = self._try_take(tokens_in, slotted=False)
                if permit is None:
                    break
                self._async_waiters.popleft()
                future.set_result(permit)
            if self._async_waiters:
                await asyncio.sleep(min(max(wait, EPSILON_S), 30.0))

    def _try_take(self, tokens_in: int, slotted: bool) -> tuple[float, Permit | None]:
        """Take the request's tokens if every bucket has them; else say how long to wait."""
        with self._lock:
            now = self._clock()
            out_guess = min(float(self.model.max_tokens), self._out_mean)
            wait = self.cooldown_until - now
            if wait > EPSILON_S:
                return wait, None
            amounts = {"rpm": 1.0, "tpm_in": float(tokens_in), "tpm_out": out_guess}
            waits = (b.wait_for(amounts[n], now, self.factor) for n, b in self._buckets.items())
            wait = max(waits, default=0.0)
            if wait > EPSILON_S:
                return wait, None
            for name, bucket in self._buckets.items():
                bucket.take(amounts[name])
            self._in_mean = 0.9 * self._in_mean + 0.1 * tokens_in
            return 0.0, Permit(self, out_guess, slotted=slotted)

    def sustainable_rate(self) -> float | None:
        """Requests per second the limits allow at the current mean request size (None = no limit)."""
        with self._lock:
            rates = []
            headroom = self.model.limit_headroom
            if self.model.rpm:
                rates.append(self.model.rpm * headroom / 60)
            if self.model.tpm_in:
                rates.append(self.model.tpm_in * headroom / 60 / max(1.0, self._in_mean))
            if self.model.tpm_out:
                rates.append(self.model.tpm_out * headroom / 60 / max(1.0, self._out_mean))
            return min(rates) if rates else None

    def _release(self, permit: Permit, tokens_out: int | None) -> None:
        with self._lock:
            if tokens_out is not None:
                bucket = self._buckets.get("tpm_out")
                if bucket is not None:
                    bucket.refund(permit.tokens_out_reserved - tokens_out)
                self._out_mean = 0.9 * self._out_mean + 0.1 * tokens_out
                self.factor = min(1.0, self.factor + 0.02)
        if permit.slotted:
            self._slots.release()

    def on_rate_limited(self, retry_after_s: float | None) -> float:
        """A 429 arrived: pause the alias; slow down if 429s cluster. Returns the pause."""
        with self._lock:
            now = self._clock()
            self.rate_limited += 1
            self._recent_429.append(now)
            while self._recent_429 and now - self._recent_429[0] > CLUSTER_WINDOW_S:
                self._recent_429.popleft()
            pause = retry_after_s if retry_after_s is not None else 1.0
            if len(self._recent_429) >= CLUSTER_SIZE:
                self.factor = max(MIN_FACTOR, self.factor * 0.7)
                pause = max(pause * 2, 2.0)
                self.cooldowns += 1
                self._recent_429.clear()
            self.cooldown_until = max(self.cooldown_until, now + pause)
            return pause


class InFlightGate:
    """How many requests of one alias may be in flight at once, from Little's law (L = lambda * W).

    A provider allowing ``lambda`` requests per second, each taking ``W`` seconds, is kept
    busy by ``lambda * W`` open requests. A fixed worker count either starves a slow
    provider (16 workers at 5 s latency send at most 192 RPM, whatever the tier allows) or
    floods a fast one. So the bound follows the limits and the measured latency: the 95th
    percentile of recent answers (slow answers must not empty the pipe), with 25% headroom.
    The rate limiter still decides *when* each request goes; this gate only keeps memory
    and sockets bounded. ``max_concurrency``, when set, is an extra cap on top.
    """

    def __init__(self, limiter: RateLimiter, cap: int | None) -> None:
        self.limiter = limiter
        self.cap = cap
        self.in_flight = 0
        self.peak = 0
        self._latencies: deque[float] = deque(maxlen=LATENCY_SAMPLES)
        self._waiters: deque[asyncio.Future[None]] = deque()

    def latency_estimate(self) -> float:
        """The 95th percentile of recent answer latencies (a pessimistic prior before any)."""
        if not self._latencies:
            return INITIAL_LATENCY_S
        ordered = sorted(self._latencies)
        return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]

    def limit(self) -> int:
        """The current bound on open requests."""
        rate = self.limiter.sustainable_rate()
        bound = UNLIMITED_IN_FLIGHT
        if rate is not None:
            bound = math.ceil(rate * self.latency_estimate() * 1.25) + 2
        return max(1, min(bound, self.cap) if self.cap else bound)

    async def enter(self) -> None:
        """Wait for room (first come, first served)."""
        if self.in_flight >= self.limit() or self._waiters:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(future)
            try:
                await future
            except BaseException:
                if not future.cancelled() and future.done():
                    self._wake()  # pass on the room we were given
                raise
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)

    def leave(self, latency_s: float | None) -> None:
        """A request ended (``latency_s`` None when it failed before an answer)."""
        self.in_flight -= 1
        if latency_s is not None:
            self._latencies.append(latency_s)
        self._wake()

    def _wake(self) -> None:
        room = self.limit() - self.in_flight
        while room > 0 and self._waiters:
            future = self._waiters.popleft()
            if not future.done():
                future.set_result(None)
                room -= 1
