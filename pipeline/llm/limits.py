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

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from schemas.config import ModelConfig

CLUSTER_WINDOW_S = 10.0
CLUSTER_SIZE = 3
MIN_FACTOR = 0.25
EPSILON_S = 1e-6  # float rounding must not turn "now" into an endless series of tiny sleeps


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
        self._slots = threading.BoundedSemaphore(max(1, model.max_concurrency))
        now = clock()
        headroom = model.limit_headroom
        self._buckets: dict[str, TokenBucket] = {}
        if model.rpm:
            self._buckets["rpm"] = TokenBucket(model.rpm * headroom, 1.0, now)
        per_s = {"tpm_in": (model.tpm_in or 0) / 60, "tpm_out": (model.tpm_out or 0) / 60}
        if model.tpm_in:
            self._buckets["tpm_in"] = TokenBucket(model.tpm_in * headroom, max(1.0, per_s["tpm_in"]), now)
        if model.tpm_out:
            self._buckets["tpm_out"] = TokenBucket(model.tpm_out * headroom, max(1.0, per_s["tpm_out"]), now)
        self.factor = 1.0
        self.cooldown_until = now
        self._recent_429: deque[float] = deque()
        self._out_mean = float(model.max_tokens) / 2
        self.rate_limited = 0
        self.cooldowns = 0

    def acquire(self, tokens_in: int) -> Permit:
        """Block until a request of ``tokens_in`` input tokens may be sent."""
        self._slots.acquire()
        try:
            while True:
                with self._lock:
                    now = self._clock()
                    out_guess = min(float(self.model.max_tokens), self._out_mean)
                    wait = self.cooldown_until - now
                    if wait <= EPSILON_S:
                        amounts = {"rpm": 1.0, "tpm_in": float(tokens_in), "tpm_out": out_guess}
                        wait = max(
                            (b.wait_for(amounts[n], now, self.factor) for n, b in self._buckets.items()),
                            default=0.0,
                        )
                        if wait <= EPSILON_S:
                            for name, bucket in self._buckets.items():
                                bucket.take(amounts[name])
                            return Permit(self, out_guess)
                self._sleep(min(wait, 30.0))
        except BaseException:
            self._slots.release()
            raise

    def _release(self, permit: Permit, tokens_out: int | None) -> None:
        with self._lock:
            if tokens_out is not None:
                bucket = self._buckets.get("tpm_out")
                if bucket is not None:
                    bucket.refund(permit.tokens_out_reserved - tokens_out)
                self._out_mean = 0.9 * self._out_mean + 0.1 * tokens_out
                self.factor = min(1.0, self.factor + 0.02)
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
