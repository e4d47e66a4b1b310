"""Figures about model use for ``valact status`` and the live progress note: failures by kind,
money and tokens per model, batch jobs, and how much the screeners agree.

Read-only over the store; nothing here talks to a provider.
"""

from __future__ import annotations

import re
import threading
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from pipeline.store import Store
from schemas.batch import BatchJob
from schemas.records import LLMCall, ScreenVote

_HTTP = re.compile(r"HTTP (\d{3})")


def failure_kind(call: LLMCall) -> str:
    """A short label for a failed call: the validation rule, or the transport problem."""
    error = call.error or ""
    if call.outcome == "invalid_output":
        return "invalid:" + (error.split(":", 1)[0].strip() or "unknown")
    if "rate limited" in error:
        return "rate_limited"
    if "Timeout" in error:
        return "timeout"
    if "unreadable response" in error:
        return "malformed_response"
    match = _HTTP.search(error)
    if match:
        return f"http_{match.group(1)}"
    return "connection" if "Connection" in error else "other"


def failures_by_stage(calls: list[LLMCall]) -> dict[str, dict[str, int]]:
    """Failed attempts per stage and kind (each was retried or repaired, or its item dropped)."""
    table: dict[str, Counter[str]] = defaultdict(Counter)
    for call in calls:
        if call.outcome != "ok":
            table[call.stage][failure_kind(call)] += 1
    return {stage: dict(sorted(c.items())) for stage, c in sorted(table.items())}


def cost_by_model(calls: Iterable[LLMCall]) -> list[dict[str, Any]]:
    """Paid requests, tokens and USD per model alias (batch requests at their discounted price)."""
    rows: dict[str, dict[str, Any]] = {}
    for call in calls:
        if call.cached or call.outcome == "error":
            continue
        empty = {"model": call.model_alias, "requests": 0, "batch_requests": 0,
                 "tokens_in": 0, "tokens_out": 0, "cost_usd": 0.0}
        row = rows.setdefault(call.model_alias, empty)
        row["requests"] += 1
        row["batch_requests"] += int("batch_id" in call.params)
        row["tokens_in"] += call.tokens_in
        row["tokens_out"] += call.tokens_out
        row["cost_usd"] += call.cost_usd
    for row in rows.values():
        row["cost_usd"] = round(row["cost_usd"], 6)
    return [rows[k] for k in sorted(rows)]


def paid_calls(calls: Iterable[LLMCall]) -> Iterator[LLMCall]:
    """The calls a provider billed: answered requests, not cache hits or failed attempts."""
    return (c for c in calls if not c.cached and c.outcome != "error")


RECENT_CALLS = 20_000  # far more records than requests in flight (a re-mark follows its answer)


@dataclass
class CallTotals:
    """Running figures over call records, each record counted once even when written again.

    An answer that fails its checks is written a second time under the same id, marked
    invalid. Its first version is taken back before the second is added, so that only the
    ``RECENT_CALLS`` most recent records need to be remembered, as a few numbers each:
    keeping every record (as the progress note once did) grew with the build and made each
    update cost a pass over all of them.
    """

    attempts: int = 0  # requests sent (answered or not), not cache hits
    paid: int = 0  # answered requests: what a provider bills
    cached: int = 0
    failed: int = 0  # records whose outcome is not ok (failed attempts, invalid answers)
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    _recent: OrderedDict[str, CallFigures] = field(default_factory=OrderedDict, repr=False)

    def add(self, call: LLMCall) -> None:
        """Count one record (replacing its earlier version, if it was written before)."""
        figures = CallFigures(call.cached, call.outcome, call.tokens_in, call.tokens_out, call.cost_usd)
        previous = self._recent.pop(call.id, None)
        if previous is not None:
            self._apply(previous, -1)
        self._apply(figures, 1)
        self._recent[call.id] = figures
        if len(self._recent) > RECENT_CALLS:
            self._recent.popitem(last=False)

    def _apply(self, call: CallFigures, sign: int) -> None:
        if call.outcome != "ok":
            self.failed += sign
        if call.cached:
            self.cached += sign
            return
        self.attempts += sign
        self.paid += sign * (call.outcome != "error")
        self.tokens_in += sign * call.tokens_in
        self.tokens_out += sign * call.tokens_out
        self.cost_usd += sign * call.cost_usd


class CallFigures(NamedTuple):
    """What ``CallTotals`` counts of one record (and takes back if it is written again)."""

    cached: bool
    outcome: str
    tokens_in: int
    tokens_out: int
    cost_usd: float


def cost_note(totals: CallTotals, budget_usd: float | None = None) -> str:
    """One line for the progress display: money and tokens so far, failures, budget left."""
    tokens = totals.tokens_in + totals.tokens_out
    text = f"${totals.cost_usd:.4f} · {tokens:,} tok · {totals.paid} paid · {totals.failed} failed"
    if budget_usd is not None:
        text += f" · budget ${budget_usd:.2f}"
    return text


def batch_summary(store: Store) -> dict[str, int]:
    """Batch jobs per status."""
    return dict(Counter(job.status for job in store.all(BatchJob)))


def llm_health(store: Store) -> dict[str, Any]:
    """Everything above for ``valact status``."""
    from pipeline.stages.screen import screen_agreement  # stage module; imported late, no cycle

    calls = store.all(LLMCall)
    return {
        "failures_by_stage": failures_by_stage(calls),
        "cost_by_model": cost_by_model(calls),
        "batch_jobs": batch_summary(store),
        "screen_agreement": screen_agreement(store.all(ScreenVote)),
    }


class CostMeter:
    """Running totals per stage for the live progress note (fed by every call record)."""

    def __init__(self, note: Callable[[str, str], None], budget_usd: float | None = None) -> None:
        self._note = note
        self.budget_usd = budget_usd
        self._totals: dict[str, CallTotals] = defaultdict(CallTotals)
        self._lock = threading.Lock()

    def __call__(self, call: LLMCall) -> None:
        """Add one call record and refresh its stage's note."""
        with self._lock:
            totals = self._totals[call.stage]
            totals.add(call)
            text = cost_note(totals, self.budget_usd)
        self._note(call.stage, text)
