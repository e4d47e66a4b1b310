"""What a run's Prefect artifacts say, built from literal records (no server needed)."""

from __future__ import annotations

from datetime import UTC, datetime

from flows.artifacts import cost_rows, drop_rows, run_tag, summary_markdown
from schemas.records import Drop, LLMCall, RunRecord

NOW = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)


def call(n: int, model: str, *, cached: bool = False, outcome: str = "ok", cost: float = 0.0) -> LLMCall:
    return LLMCall(id=f"c{n}", run_id="r1", stage="screen", item_id=f"p{n}", provider="openai",
                   model_alias=model, served_model=model, prompt_name="screen", prompt_hash="h",
                   params={}, request_hash=f"q{n}", cached=cached, tokens_in=100, tokens_out=10,
                   cost_usd=cost, outcome=outcome, created_at=NOW)  # type: ignore[arg-type]


def test_cost_rows_count_paid_cached_and_failed_calls_per_model_with_a_total() -> None:
    calls = [call(1, "gpt-4o", cost=0.5), call(2, "gpt-4o", cached=True), call(3, "gpt-4o", outcome="error"),
             call(4, "qwen", cached=True)]
    rows = cost_rows(iter(calls))  # one pass: the store streams them
    assert rows == [
        {"model": "gpt-4o", "requests": 1, "cached": 1, "errors": 1, "tokens_in": 100, "tokens_out": 10,
         "cost_usd": 0.5},
        {"model": "qwen", "requests": 0, "cached": 1, "errors": 0, "tokens_in": 0, "tokens_out": 0,
         "cost_usd": 0.0},
        {"model": "total", "requests": 1, "cached": 2, "errors": 1, "tokens_in": 100, "tokens_out": 10,
         "cost_usd": 0.5},
    ]
    assert cost_rows([]) == []


def test_drop_rows_group_by_stage_and_reason_with_examples() -> None:
    drops = [Drop(id=f"d{i}", stage="screen", item_id=f"p{i}", reason="too_short") for i in range(5)]
    drops.append(Drop(id="g", stage="generate", item_id="s1", reason="invalid_output"))
    assert drop_rows(drops) == [
        {"stage": "generate", "reason": "invalid_output", "count": 1, "examples": "s1"},
        {"stage": "screen", "reason": "too_short", "count": 5, "examples": "p0, p1, p2"},
    ]
    # one pass over a stream in any order: the examples are still the first ids
    assert drop_rows(iter(drops[::-1])) == drop_rows(drops)


def test_summary_names_the_command_stages_spending_and_drops() -> None:
    record = RunRecord(id="r1", command="screen", started_at=NOW)
    costs = cost_rows([call(1, "gpt-4o", cost=0.25)])
    text = summary_markdown(record, "r1", {"screen": {"kept": 3}}, costs,
                            [{"stage": "screen", "reason": "too_short", "count": 4, "examples": ""}])
    assert text.startswith("# valact screen\n")
    assert '| screen | `{"kept": 3}` |' in text
    assert "1 paid requests, 0 answers from the cache, 0 failed attempts, $0.2500" in text
    assert "4 dropped items in 1 (stage, reason) groups" in text


def test_run_tag_is_a_valid_prefect_tag_and_key() -> None:
    assert run_tag("20261203T0600-AbC") == "valact-run-20261203t0600-abc"
