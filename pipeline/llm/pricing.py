"""Money: what a call costs per the alias's price table, and the spending caps.

Prices are USD per million tokens and live in config next to the model id, so a price
change is a config edit. Batch requests are billed at ``batch_discount`` of the list price.
The budget guard reserves the worst case of a request before it is sent (its input plus its
full ``max_tokens`` of output) so that concurrent workers together cannot overshoot
``--budget``; the reservation is replaced by the real cost when the answer arrives.
"""

from __future__ import annotations

import threading

from pipeline.llm.errors import BudgetExceededError
from schemas.config import ModelConfig


def call_cost(model: ModelConfig, tokens_in: int, tokens_out: int, batch: bool = False) -> float:
    """USD for one answered request."""
    cost = (tokens_in * model.price_in_per_mtok + tokens_out * model.price_out_per_mtok) / 1_000_000
    return cost * (model.batch_discount if batch else 1.0)


def estimate_tokens(text: str) -> int:
    """Rough token count (about four characters per token) for limits and budget reservations."""
    return max(1, len(text) // 4)


class BudgetGuard:
    """Thread-safe spending caps: one per run and one for the workspace's lifetime.

    ``limit_usd`` caps this run (``--budget``); ``total_limit_usd`` caps everything the
    workspace has ever paid, counting ``prior_usd`` (earlier runs) too, so re-running with
    the same ``--budget`` cannot quietly multiply the spending. ``None`` means unlimited.
    """

    def __init__(self, limit_usd: float | None, total_limit_usd: float | None = None,
                 prior_usd: float = 0.0) -> None:
        self.limit_usd = limit_usd
        self.total_limit_usd = total_limit_usd
        self.prior_usd = prior_usd
        self.spent_usd = 0.0
        self._reserved = 0.0
        self._lock = threading.Lock()

    def reserve(self, amount: float, what: str) -> float:
        """Hold ``amount`` for a request about to be sent, or stop the run if it does not fit."""
        with self._lock:
            committed = self.spent_usd + self._reserved + amount
            if self.limit_usd is not None and committed > self.limit_usd:
                raise BudgetExceededError(
                    f"budget of ${self.limit_usd:.4f} reached (spent ${self.spent_usd:.4f}); "
                    f"stopped before {what}. Finished work is saved: run again with a larger "
                    "--budget to resume"
                )
            if self.total_limit_usd is not None and self.prior_usd + committed > self.total_limit_usd:
                raise BudgetExceededError(
                    f"workspace budget of ${self.total_limit_usd:.4f} reached (spent "
                    f"${self.prior_usd + self.spent_usd:.4f} over all runs); stopped before {what}. "
                    "Finished work is saved: raise budget_total_usd in the config to resume"
                )
            self._reserved += amount
            return amount

    def settle(self, reserved: float, actual: float) -> None:
        """Replace a reservation by what the request really cost (0 if it failed unbilled)."""
        with self._lock:
            self._reserved = max(0.0, self._reserved - reserved)
            self.spent_usd += actual
