"""``valact status`` and ``valact config show``: commands that only read.

They open nothing for writing and start no Prefect run, so they answer fast and can be
pointed at any workspace without changing it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from flows.cli_common import ConfigOpt, JsonOpt, ProfileOpt, WorkspaceOpt, fail, load_project

config_app = typer.Typer(help="Inspect the effective configuration.", no_args_is_help=True)


def status(
    profile: ProfileOpt = None, config: ConfigOpt = None, workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """What the workspace holds: counts per stage, posts and checkpoints, drops, model calls, cost, release.

    Model calls are split into requests made and answers served from the cache, with
    failures, invalid answers, tokens and cost per stage and model."""
    # deferred: the store and the status queries load pydantic and pyarrow; --help stays fast
    from pipeline.status import workspace_status
    from pipeline.store import NoWorkspaceError, open_existing_store

    cfg = load_project(profile, config, workspace)
    try:
        store = open_existing_store(Path(cfg.workspace))
    except NoWorkspaceError as exc:
        fail(str(exc))
    data = workspace_status(store)
    if as_json:
        typer.echo(json.dumps(data, indent=2, default=str))
        return
    _print_status(data)


def _print_collect(collect: dict[str, Any], out: Console) -> None:
    sources = ", ".join(f"{n} from {src}" for src, n in collect["posts_by_source"].items()) or "no posts"
    out.print(f"[bold]posts[/] {sources}; {collect['deleted']} deleted and {collect['removed']} removed "
              f"on Reddit; {collect['revisions']} earlier versions kept for {collect['revised_posts']} posts")
    if collect["checkpoints"]:
        marks = Table("subreddit", "listing", "newest post (UTC)", "runs", "last fetched",
                      title="Listing checkpoints (the next collect starts here)")
        for c in collect["checkpoints"]:
            newest = datetime.fromtimestamp(c["newest_created_utc"], UTC).strftime("%Y-%m-%d %H:%M")
            listing = c["listing"] + (f" ({c['filter']})" if c["filter"] else "")
            marks.add_row(c["subreddit"], listing, newest, str(c["completed_runs"]), str(c["last_fetched"]))
        out.print(marks)


def _print_status(data: dict[str, Any]) -> None:
    out = Console()
    out.print(f"[bold]workspace[/] {data['workspace']}")
    counts = Table("stage", "count", title="Counts")
    for key, value in data["counts"].items():
        counts.add_row(key, str(value))
    out.print(counts)
    _print_collect(data["collect"], out)
    drops = Table("stage", "item", "reason", "detail / title", title="Dropped items")
    for d in data["dropped_items"]:
        drops.add_row(d["stage"], d["item"], d["reason"], (d["detail"] or d["title"])[:70])
    out.print(drops)
    llm = data["llm"]
    calls = Table("stage", "model", "requests", "cache hits", "errors", "invalid", "tokens in",
                  "tokens out", "cost $", title="LLM calls (all runs)")
    for r in llm["by_stage_model"]:
        calls.add_row(
            r["stage"], r["model"], *(str(r[k]) for k in
            ("requests", "cache_hits", "errors", "invalid_output", "tokens_in", "tokens_out")),
            f"{r['cost_usd']:.4f}",
        )
    out.print(calls)
    print_llm_health(data, out)
    if data["last_run"]:
        last = data["last_run"]
        out.print(f"last run {last['id']} ({last['command']}, {last['status']}): "
                  f"{last['llm']['requests']} model requests, {last['llm']['cache_hits']} from cache")
    if data["release"]:
        out.print(f"[bold green]release[/] {data['release']['path']}")


@config_app.command("show")
def config_show(
    profile: ProfileOpt = None, config: ConfigOpt = None, workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Print the effective configuration; API keys show only as set / not set."""
    from pipeline.config import as_toml, redacted_view  # deferred: pydantic configs; --help stays fast

    view = redacted_view(load_project(profile, config, workspace))
    if as_json:
        typer.echo(json.dumps(view, indent=2, default=str))
    else:
        typer.echo(as_toml(view))


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
