"""Prices per alias, the batch discount, and the budget guard's reservations."""

from __future__ import annotations

import pytest

from pipeline.llm.errors import BudgetExceededError
from pipeline.llm.pricing import BudgetGuard, call_cost
from pipeline.llm.types import FatalError
from schemas.config import ModelConfig

GPT4O = ModelConfig(provider="openai", model="gpt-4o", price_in_per_mtok=2.5, price_out_per_mtok=10.0)


def test_call_cost_and_batch_discount() -> None:
    assert call_cost(GPT4O, 1_000_000, 0) == pytest.approx(2.5)
    assert call_cost(GPT4O, 1000, 500) == pytest.approx(0.0075)
    assert call_cost(GPT4O, 1000, 500, batch=True) == pytest.approx(0.00375)


def test_budget_reserves_worst_case_and_settles_real_cost() -> None:
    guard = BudgetGuard(0.10)
    held = guard.reserve(0.06, "first")
    with pytest.raises(BudgetExceededError, match="budget"):
        guard.reserve(0.06, "second")  # would overshoot while the first is in flight
    guard.settle(held, 0.01)
    assert guard.spent_usd == pytest.approx(0.01)
    guard.settle(guard.reserve(0.06, "second"), 0.05)
    assert guard.spent_usd == pytest.approx(0.06)
    with pytest.raises(FatalError):  # a budget stop stops the run like any fatal error
        guard.reserve(0.05, "third")


def test_no_budget_means_unlimited() -> None:
    guard = BudgetGuard(None)
    guard.settle(guard.reserve(1e9, "huge"), 1e9)
    assert guard.spent_usd == 1e9


def test_the_workspace_cap_counts_earlier_runs() -> None:
    guard = BudgetGuard(limit_usd=1.0, total_limit_usd=5.0, prior_usd=4.5)
    held = guard.reserve(0.4, "a request")
    guard.settle(held, 0.3)
    with pytest.raises(BudgetExceededError, match=r"workspace budget of \$5\.0000 reached \(spent \$4\.8000"):
        guard.reserve(0.25, "the next request")
    assert guard.reserve(0.2, "a smaller one") == 0.2  # the run cap (1.0) alone would allow both
