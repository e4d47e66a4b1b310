"""Prefect artifacts of a run: what a user sees on the run's page in the Prefect UI.

Three per run, built from the store (the source of truth), so the UI shows exactly what
``valact status`` would: a markdown summary, a table of cost by model (from the run's
``LLMCall`` records: paid requests, cache hits, errors, tokens, USD) and a table of drop
reasons (from ``Drop`` records). Long stages also get a progress artifact, advanced by the
progress board of ``flows.runtime``. The builders (``cost_rows``, ``drop_rows``,
``summary_markdown``) are plain functions; only the ``publish``/progress parts touch Prefect.
"""

from __future__ import annotations

import bisect
import json
import threading
import warnings
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from typing import Any, cast
from uuid import UUID

from prefect.artifacts import (
    MarkdownArtifact,
    TableArtifact,
    create_progress_artifact,
    update_progress_artifact,
)
from prefect.context import FlowRunContext, TaskRunContext

from pipeline.context import StageContext
from pipeline.llm.report import cost_by_model
from pipeline.store import Store
from schemas.records import Drop, LLMCall, RunRecord

SUMMARY_KEY = "valact-run-summary"
COST_KEY = "valact-cost-by-model"
DROPS_KEY = "valact-drop-reasons"


def run_tag(run_id: str) -> str:
    """The Prefect tag on every flow run of a valact run (filter by it in the UI)."""
    return f"valact-run-{run_id}".lower()


def publish_run_artifacts(ctx_or_store: StageContext | Store, run_id: str,
                          stage_summaries: dict[str, Any]) -> None:
    """Publish a run's summary, cost-by-model and drop-reason artifacts.

    Call at the end of a run (or of a stage; a later call publishes new versions of the
    same keys, and the UI shows the latest):

    - ``ctx_or_store``: the run's ``StageContext`` (``flows.runtime.context(ref)``) or its ``Store``;
    - ``run_id``: ``RunRef.run_id``, the id the run's ``LLMCall`` and ``RunRecord`` carry;
    - ``stage_summaries``: stage name -> that stage flow's JSON-able result, e.g.
      ``{"screen": {...}}`` for one stage or the ``build`` flow's result for all of them.

    ``Drop`` records are kept per (stage, item), not per run (a re-run replaces a stage's
    drops), so the drop table shows every stage's drops in the workspace after this run,
    like ``valact status`` does.

    Inside a flow or task run the artifacts attach to that run. Outside one (the CLI, after
    the top-level flow returned) they attach to the top-level flow run tagged
    ``run_tag(run_id)``; ``flows.cli._run`` runs every command's flow under that tag and
    calls this once when the flow returns, so flows started by the CLI need not call it.
    """
    store = ctx_or_store.store if isinstance(ctx_or_store, StageContext) else ctx_or_store
    # Streamed: a 15,000-question build has tens of thousands of calls and drops.
    costs = cost_rows(c for c in store.iter(LLMCall) if c.run_id == run_id)
    reasons = drop_rows(store.iter(Drop))
    record = store.get(RunRecord, run_id)
    target = _flow_run_for(run_id)
    _create(MarkdownArtifact(key=SUMMARY_KEY, flow_run_id=target,
                             markdown=summary_markdown(record, run_id, stage_summaries, costs, reasons),
                             description=f"valact run {run_id}"), target)
    cost_note = f"Model calls of run {run_id} by model alias (cached answers are free)"
    _create(TableArtifact(key=COST_KEY, flow_run_id=target, table=costs, description=cost_note), target)
    drop_note = "Dropped items by stage and reason, in the workspace after this run"
    _create(TableArtifact(key=DROPS_KEY, flow_run_id=target, table=reasons, description=drop_note), target)


def cost_rows(calls: Iterable[LLMCall]) -> list[dict[str, Any]]:
    """One row per model alias: paid requests, cache hits, errors, tokens and USD; a total row last.

    One pass over ``calls``, so the store can stream them.
    """
    cached: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    aliases: set[str] = set()

    def counted() -> Iterator[LLMCall]:
        for call in calls:
            aliases.add(call.model_alias)
            cached[call.model_alias] += int(call.cached)
            errors[call.model_alias] += int(not call.cached and call.outcome == "error")
            yield call

    paid = {row["model"]: row for row in cost_by_model(counted())}
    rows = []
    for model in sorted(aliases):
        row = paid.get(model, {})
        rows.append({"model": model, "requests": row.get("requests", 0), "cached": cached[model],
                     "errors": errors[model], "tokens_in": row.get("tokens_in", 0),
                     "tokens_out": row.get("tokens_out", 0), "cost_usd": row.get("cost_usd", 0.0)})
    if rows:
        counts = ("requests", "cached", "errors", "tokens_in", "tokens_out")
        total = {k: sum(r[k] for r in rows) for k in counts}
        rows.append({"model": "total", **total, "cost_usd": round(sum(r["cost_usd"] for r in rows), 6)})
    return rows


def drop_rows(drops: Iterable[Drop], examples: int = 3) -> list[dict[str, Any]]:
    """One row per (stage, reason): how many items, and the first few item ids as examples."""
    counts: Counter[tuple[str, str]] = Counter()
    firsts: dict[tuple[str, str], list[str]] = defaultdict(list)
    for drop in drops:
        key = (drop.stage, drop.reason)
        counts[key] += 1
        kept = firsts[key]
        if len(kept) < examples or drop.item_id < kept[-1]:
            bisect.insort(kept, drop.item_id)
            del kept[examples:]
    return [{"stage": stage, "reason": reason, "count": counts[(stage, reason)],
             "examples": ", ".join(firsts[(stage, reason)])}
            for stage, reason in sorted(counts)]


def summary_markdown(record: RunRecord | None, run_id: str, stage_summaries: dict[str, Any],
                     costs: list[dict[str, Any]], drops: list[dict[str, Any]]) -> str:
    """The run in a few lines: command, stage results, model spending, drops."""
    command = record.command if record else ", ".join(stage_summaries)
    lines = [f"# valact {command}", "", f"run `{run_id}`"]
    if record:
        lines[-1] += f", started {record.started_at:%Y-%m-%d %H:%M:%S} UTC"
    lines += ["", "## Stages", "", "| stage | result |", "|---|---|"]
    for stage, summary in stage_summaries.items():
        text = json.dumps(summary, default=str, sort_keys=True)
        lines.append(f"| {stage} | `{text[:400] + ('…' if len(text) > 400 else '')}` |")
    total = costs[-1] if costs else {"requests": 0, "cached": 0, "errors": 0, "cost_usd": 0.0}
    lines += ["", "## Model calls", "",
              f"{total['requests']} paid requests, {total['cached']} answers from the cache, "
              f"{total['errors']} failed attempts, ${total['cost_usd']:.4f} "
              f"(table `{COST_KEY}`).", "", "## Drops", "",
              f"{sum(d['count'] for d in drops)} dropped items in {len(drops)} (stage, reason) groups "
              f"(table `{DROPS_KEY}`)."]
    return "\n".join(lines) + "\n"


class StageProgress:
    """A progress artifact for one long stage, updated when the whole percent changes.

    Whole percents bound the API calls to ~100 per stage however many items it has. Created
    only inside a flow run (an artifact needs a run to belong to); task threads advance it.
    """

    def __init__(self, stage: str, total: int, flow_run: UUID) -> None:
        self._lock = threading.Lock()
        self.flow_run = flow_run
        self.total, self.done, self._shown = total, 0, 0
        self.artifact_id = cast(UUID, create_progress_artifact(  # sync here: no event loop runs
            0.0, key=f"valact-progress-{stage}".lower().replace("_", "-"),
            description=f"{stage}: share of its {total} items done",
        ))

    def reset(self, total: int) -> None:
        """A new total for the same stage (the board re-announced it)."""
        with self._lock:
            self.total = total
        self.advance(0)

    def advance(self, n: int) -> None:
        """Count ``n`` more items done; push the new percent when it changed."""
        with self._lock:
            self.done += n
            percent = 100 if self.total <= 0 else min(100, 100 * self.done // self.total)
            if percent == self._shown:
                return
            self._shown = percent
            update_progress_artifact(self.artifact_id, float(percent))


def in_run() -> bool:
    """True inside a Prefect flow or task run (artifacts then attach to it by themselves)."""
    return FlowRunContext.get() is not None or TaskRunContext.get() is not None


def current_flow_run() -> UUID | None:
    """The id of the flow run this code runs in (a task's flow run included), if any."""
    flow_ctx = FlowRunContext.get()
    if flow_ctx is not None and flow_ctx.flow_run is not None:
        return flow_ctx.flow_run.id
    task_ctx = TaskRunContext.get()
    return task_ctx.task_run.flow_run_id if task_ctx is not None else None


def _flow_run_for(run_id: str) -> UUID | None:
    """None inside a run; else the id of the top-level flow run tagged for this valact run."""
    if in_run():
        return None
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentTaskRunId, FlowRunFilterTags
    from prefect.client.schemas.sorting import FlowRunSort

    top_level = FlowRunFilter(tags=FlowRunFilterTags(all_=[run_tag(run_id)]),
                              parent_task_run_id=FlowRunFilterParentTaskRunId(is_null_=True))
    with get_client(sync_client=True) as client:  # the sync client needs an explicit sort
        runs = client.read_flow_runs(flow_run_filter=top_level, sort=FlowRunSort.START_TIME_DESC, limit=1)
    return runs[0].id if runs else None


def _create(artifact: MarkdownArtifact | TableArtifact, target: UUID | None) -> None:
    with warnings.catch_warnings():
        if target is not None:  # attached explicitly, so Prefect's "outside of a run" warning does not apply
            warnings.filterwarnings("ignore", message="Artifact creation outside", category=FutureWarning)
        artifact.create()
