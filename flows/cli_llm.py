"""Model-spending options of the stage commands (``--budget``, ``--batch``) and the model
figures of ``valact status``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:  # a type only: importing the pydantic configs would slow `valact --help`
    from schemas.config import ProjectConfig

BudgetOpt = Annotated[
    float | None,
    typer.Option("--budget", min=0, help="stop cleanly before this run's model spending would exceed USD; "
                 "re-run to resume"),
]
BatchOpt = Annotated[
    bool,
    typer.Option("--batch", help="send model requests through the providers' Batch APIs (about half the "
                 "price, answers within the completion window; a restarted run picks its batches up)"),
]


def llm_overrides(config: ProjectConfig, budget: float | None, batch: bool) -> dict[str, Any]:
    """Config overrides for the options: a budget, and batch mode for every remote model alias."""
    overrides: dict[str, Any] = {}
    if budget is not None:
        overrides["budget_usd"] = budget
    if batch:
        remote = [alias for alias, model in config.models.items() if model.base_url != "local"]
        if not remote:
            raise typer.BadParameter("--batch needs remote models; this profile only uses the local server")
        overrides["models"] = {alias: {"batch": True} for alias in remote}
    return overrides


def print_llm_health(data: dict[str, Any], out: Console) -> None:
    """Cost per model, failures per stage, batch jobs and screener agreement."""
    health = data.get("llm_health") or {}
    costs = Table("model", "paid requests", "in batch", "tokens in", "tokens out", "cost $",
                  title="Cost by model")
    for row in health.get("cost_by_model", []):
        costs.add_row(row["model"], str(row["requests"]), str(row["batch_requests"]), str(row["tokens_in"]),
                      str(row["tokens_out"]), f"{row['cost_usd']:.4f}")
    out.print(costs)
    failures = health.get("failures_by_stage", {})
    if failures:
        table = Table("stage", "failure", "count", title="Failed model calls (retried, repaired or dropped)")
        for stage, kinds in failures.items():
            for kind, count in kinds.items():
                table.add_row(stage, kind, str(count))
        out.print(table)
    if health.get("batch_jobs"):
        out.print("batch jobs: " + ", ".join(f"{k}={v}" for k, v in sorted(health["batch_jobs"].items())))
    for pair in health.get("screen_agreement", []):
        kappa = pair["kappa"] if pair["kappa"] is not None else "n/a (a screener gave one answer to all)"
        out.print(f"screeners {pair['screeners'][0]} vs {pair['screeners'][1]}: {pair['posts']} posts, "
                  f"agreement {pair['agreement']}, Cohen's kappa {kappa}")
