"""Read-only view of a workspace: what each stage holds, why items were dropped, what the
models cost. Backs ``valact status``; opens no model and writes nothing."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from pipeline.llm.report import llm_health
from pipeline.store import Store
from schemas.collect import CHECKPOINT_PREFIX, ListingCheckpoint, PostRevision
from schemas.records import (
    ActionCandidate,
    Drop,
    LLMCall,
    Post,
    Question,
    RunRecord,
    Scenario,
    ScreenDecision,
    StageRun,
)


def llm_summary(calls: list[LLMCall]) -> dict[str, Any]:
    """Calls made vs served from cache, failures, tokens and cost, per stage and model."""
    by: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    money: dict[tuple[str, str], float] = defaultdict(float)
    for call in calls:
        key = (call.stage, call.model_alias)
        counter = by[key]
        if call.cached:
            counter["cache_hits"] += 1
        elif call.outcome == "error":
            counter["errors"] += 1
        else:
            counter["requests"] += 1
        if call.outcome == "invalid_output":
            counter["invalid_output"] += 1
        if not call.cached:
            counter["tokens_in"] += call.tokens_in
            counter["tokens_out"] += call.tokens_out
            money[key] += call.cost_usd
    rows = [
        {"stage": stage, "model": alias, **{k: counter.get(k, 0) for k in
         ("requests", "cache_hits", "errors", "invalid_output", "tokens_in", "tokens_out")},
         "cost_usd": round(money[(stage, alias)], 6)}
        for (stage, alias), counter in sorted(by.items())
    ]
    return {
        "requests": sum(r["requests"] for r in rows),
        "cache_hits": sum(r["cache_hits"] for r in rows),
        "errors": sum(r["errors"] for r in rows),
        "invalid_output": sum(r["invalid_output"] for r in rows),
        "cost_usd": round(sum(money.values()), 6),
        "by_stage_model": rows,
    }


def collect_summary(store: Store, posts: list[Post]) -> dict[str, Any]:
    """Where the posts came from, how many are gone on Reddit, their history, and how far
    each API listing has been read (what the next incremental collect starts from)."""
    sources: Counter[str] = Counter(p.source.split(":", 1)[0] for p in posts)
    checkpoints = [ListingCheckpoint.model_validate(v) for v in store.meta_items(CHECKPOINT_PREFIX).values()]
    revisions = store.all(PostRevision)
    return {
        "posts_by_source": dict(sorted(sources.items())),
        "deleted": sum(1 for p in posts if p.deleted),
        "removed": sum(1 for p in posts if p.removed),
        "revisions": len(revisions),
        "revised_posts": len({r.post_id for r in revisions}),
        "checkpoints": [
            {"subreddit": c.subreddit, "listing": c.listing, "filter": c.time_filter,
             "newest_created_utc": c.newest_created_utc, "completed_runs": c.completed_runs,
             "last_fetched": c.last_fetched}
            for c in checkpoints
        ],
    }


def workspace_status(store: Store) -> dict[str, Any]:
    """Everything ``valact status`` shows, as plain JSON-able data."""
    posts = {p.id: p for p in store.all(Post)}
    drops = store.all(Drop)
    drop_reasons: dict[str, Counter[str]] = defaultdict(Counter)
    for d in drops:
        drop_reasons[d.stage][d.reason] += 1
    calls = store.all(LLMCall)
    stage_runs: dict[str, StageRun] = {}
    for stage_run in store.all(StageRun):
        known = stage_runs.get(stage_run.stage)
        if known is None or stage_run.finished_at > known.finished_at:
            stage_runs[stage_run.stage] = stage_run
    runs = store.all(RunRecord)
    last_run = max(runs, key=lambda r: r.started_at) if runs else None
    decisions = store.all(ScreenDecision)
    return {
        "workspace": str(store.path.parent),
        "counts": {
            "posts": len(posts),
            "screened": len(decisions),
            "screen_kept": sum(1 for d in decisions if d.keep),
            "tie_breaks": sum(1 for d in decisions if d.tie_broken_by),
            "scenarios": store.count(Scenario),
            "candidates": store.count(ActionCandidate),
            "questions": store.count(Question),
        },
        "collect": collect_summary(store, list(posts.values())),
        "drops_by_stage": {stage: dict(c) for stage, c in sorted(drop_reasons.items())},
        "dropped_items": [
            {"stage": d.stage, "item": d.item_id, "reason": d.reason, "detail": d.detail,
             "title": posts[d.item_id].title if d.item_id in posts else ""}
            for d in sorted(drops, key=lambda d: (d.stage, d.reason, d.item_id))
        ],
        "llm": llm_summary(calls),
        "last_stage_runs": {name: {"run_id": r.run_id, **r.stats} for name, r in stage_runs.items()},
        "last_run": None if last_run is None else {
            "id": last_run.id, "command": last_run.command, "status": last_run.status,
            "llm": llm_summary([c for c in calls if c.run_id == last_run.id]),
        },
        "release": store.get_meta("last_release"),
        "llm_health": llm_health(store),
    }
