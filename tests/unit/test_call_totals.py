"""Running call figures (stage stats, the live cost note) count each record once, in memory
that does not grow with the build."""

from __future__ import annotations

import pytest

from pipeline.llm import report
from pipeline.llm.report import CallTotals, CostMeter
from pipeline.runner import CallCounter
from pipeline.stage import StageStats
from tests.unit.test_run_artifacts import call


def test_an_answer_re_marked_invalid_is_one_paid_request_and_one_failure() -> None:
    totals = CallTotals()
    totals.add(call(1, "gpt-4o", cost=0.5))
    totals.add(call(1, "gpt-4o", cost=0.5, outcome="invalid_output"))  # same id, written again
    totals.add(call(2, "gpt-4o", cached=True))
    totals.add(call(3, "gpt-4o", outcome="error"))
    assert (totals.attempts, totals.paid, totals.cached, totals.failed) == (2, 1, 1, 2)
    assert (totals.tokens_in, totals.tokens_out, totals.cost_usd) == (200, 20, 0.5)


def test_only_recent_records_are_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report, "RECENT_CALLS", 3)
    totals = CallTotals()
    for n in range(10):
        totals.add(call(n, "gpt-4o", cost=1.0))
    assert totals.paid == 10 and totals.cost_usd == 10.0
    assert len(totals._recent) == 3
    totals.add(call(9, "gpt-4o", cost=1.0, outcome="invalid_output"))  # recent: replaced, not added
    assert totals.paid == 10 and totals.failed == 1


def test_stage_stats_and_cost_note_follow_the_records() -> None:
    stats = StageStats("screen")
    counter = CallCounter(stats, "r1")
    notes: dict[str, str] = {}
    meter = CostMeter(notes.__setitem__, budget_usd=5.0)
    for record in [call(1, "gpt-4o", cost=0.25), call(1, "gpt-4o", cost=0.25, outcome="invalid_output"),
                   call(2, "qwen", cached=True), call(3, "qwen", outcome="error")]:
        counter(record)
        meter(record)
    counter(call(4, "qwen", cost=9.0).model_copy(update={"run_id": "another run"}))
    assert (stats.requests, stats.cached, stats.tokens_in, stats.cost_usd) == (2, 1, 200, 0.25)
    assert notes == {"screen": "$0.2500 · 220 tok · 1 paid · 2 failed · budget $5.00"}
