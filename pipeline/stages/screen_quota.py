"""Which post to screen next, and which scenarios are already certain: the quota rules.

A domain's scenarios are the first ``quota`` kept posts of its seeded queue. Screening
concurrently must neither overpay nor change that rule, so:

- a post is handed out only while the domain's kept posts plus the posts in flight, times
  the keep rate, stay below the quota. Streaming uses an upper bound on the keep rate (few
  posts too many are ever paid for; more are handed out as answers show the real rate),
  batch rounds use the point estimate (fewer rounds);
- a scenario is *confirmed* once every earlier post of its queue is decided, because no
  later answer can then push it out. Confirmed scenarios can go to generation at once.

Plain data, no I/O: the screen stage feeds it decisions and asks it for posts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

PRIOR_WEIGHT = 10.0


@dataclass
class DomainQueue:
    """One domain's queue and where screening stands in it."""

    posts: list[str]
    next_index: int = 0
    frontier: int = 0
    kept: int = 0
    in_flight: int = 0
    confirmed: list[str] = field(default_factory=list)


class QuotaBoard:
    """Hands out posts domain by domain and confirms scenarios in queue order."""

    def __init__(
        self, queues: dict[str, list[str]], decided: dict[str, bool | None], quota: int,
        prior_keep_rate: float, optimistic: bool,
    ) -> None:
        self.quota = quota
        self.prior = prior_keep_rate
        self.optimistic = optimistic
        self.domains = {d: DomainQueue(list(posts)) for d, posts in queues.items()}
        self.domain_of = {pid: d for d, q in self.domains.items() for pid in q.posts}
        # None = decided without a verdict (failed or rejected): not kept, never retried here.
        self.decided: dict[str, bool | None] = {p: v for p, v in decided.items() if p in self.domain_of}
        self._turn = 0
        for queue in self.domains.values():
            queue.kept = sum(1 for p in queue.posts if self.decided.get(p))
            self._advance(queue)

    @property
    def in_flight(self) -> int:
        """Posts handed out and not yet decided."""
        return sum(q.in_flight for q in self.domains.values())

    def keep_rate(self) -> float:
        """The share of screened posts kept so far (smoothed towards the prior while data is thin).

        When handing out posts while streaming, an upper bound (about +2 standard errors) is
        used instead, so the first wave does not overshoot the quota on a low prior.
        """
        verdicts = [v for v in self.decided.values() if v is not None]
        kept = sum(verdicts)
        n = len(verdicts)
        if not self.optimistic:
            return (kept + self.prior * PRIOR_WEIGHT) / (n + PRIOR_WEIGHT)
        if n == 0:
            return 1.0
        rate = kept / n
        return min(1.0, rate + 2 * math.sqrt(max(rate * (1 - rate), 0.01) / n))

    def next_post(self) -> str | None:
        """The next post to screen, taking domains in turn; None if none may go out now."""
        rate = max(self.keep_rate(), 1e-3)
        names = list(self.domains)
        for step in range(len(names)):
            queue = self.domains[names[(self._turn + step) % len(names)]]
            if queue.kept + queue.in_flight * rate >= self.quota:
                continue
            while queue.next_index < len(queue.posts) and queue.posts[queue.next_index] in self.decided:
                queue.next_index += 1
            if queue.next_index >= len(queue.posts):
                continue
            post_id = queue.posts[queue.next_index]
            queue.next_index += 1
            queue.in_flight += 1
            self._turn = (self._turn + step + 1) % len(names)
            return post_id
        return None

    def record(self, post_id: str, keep: bool | None) -> list[str]:
        """A post is decided (None: no verdict); returns the scenarios this newly confirms."""
        queue = self.domains[self.domain_of[post_id]]
        if post_id in self.decided:
            return []
        queue.in_flight -= 1
        self.decided[post_id] = keep
        if keep:
            queue.kept += 1
        return self._advance(queue)

    def _advance(self, queue: DomainQueue) -> list[str]:
        fresh: list[str] = []
        while queue.frontier < len(queue.posts) and queue.posts[queue.frontier] in self.decided:
            post_id = queue.posts[queue.frontier]
            if self.decided[post_id] and len(queue.confirmed) < self.quota:
                queue.confirmed.append(post_id)
                fresh.append(post_id)
            queue.frontier += 1
        return fresh

    def confirmed(self) -> list[str]:
        """Every scenario confirmed so far."""
        return [p for q in self.domains.values() for p in q.confirmed]
