"""Prefect flows of stage 5, validate: push the sample, pull annotations, report, correct.

``annotate_pull_flow`` can be served on a schedule (``serve_pull``) so annotations flow
into the store while experts work.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from annotation import corrections, pull, push, report
from annotation.settings import connect, load_annotation_config, report_dir
from flows.runtime import RunRef, context

TASK = {"cache_policy": NO_CACHE, "retries": 0}


@task(name="annotate-push", **TASK)  # type: ignore[call-overload]
def push_task(ref: RunRef, overrides: dict[str, Any]) -> dict[str, object]:
    """Create the missing sample tasks on the server."""
    ctx = context(ref)
    cfg = load_annotation_config(ctx.config, overrides)
    return push.push(ctx.store, connect(cfg, ctx.workspace), cfg,
                     region=ctx.config.publish.phone_region).as_dict()


@flow(name="annotate-push")
def annotate_push_flow(ref: RunRef, overrides: dict[str, Any] | None = None) -> dict[str, object]:
    """Stage 5a: the stratified sample to Label Studio (idempotent)."""
    result: dict[str, object] = push_task(ref, overrides or {})
    return result


@task(name="annotate-pull", **TASK)  # type: ignore[call-overload]
def pull_task(ref: RunRef, overrides: dict[str, Any]) -> dict[str, object]:
    """Bring new, edited and deleted annotations into the store."""
    ctx = context(ref)
    cfg = load_annotation_config(ctx.config, overrides)
    return pull.pull(ctx.store, connect(cfg, ctx.workspace), cfg, ctx.workspace).as_dict()


@task(name="annotate-report", **TASK)  # type: ignore[call-overload]
def report_task(ref: RunRef, overrides: dict[str, Any]) -> str:
    """Write the Markdown report and confusion matrix."""
    ctx = context(ref)
    cfg = load_annotation_config(ctx.config, overrides)
    return str(report.write_report(ctx.store, cfg.project, report_dir(ctx.workspace, cfg.project)))


@flow(name="annotate-pull")
def annotate_pull_flow(ref: RunRef, overrides: dict[str, Any] | None = None,
                       write_report: bool = True) -> dict[str, object]:
    """Stage 5b: annotations back into the store, then the report."""
    result: dict[str, object] = pull_task(ref, overrides or {})
    if write_report:
        result["report"] = report_task(ref, overrides or {})
    return result


@task(name="annotate-correct", **TASK)  # type: ignore[call-overload]
def correct_task(ref: RunRef, overrides: dict[str, Any]) -> dict[str, object]:
    """Apply the release policy to wrongly labelled candidates."""
    ctx = context(ref)
    cfg = load_annotation_config(ctx.config, overrides)
    regen = corrections.llm_regenerator(ctx) if cfg.policy == "regenerate" else None
    return corrections.apply_corrections(ctx.store, ctx.config.generate.generators, ctx.config.assemble.seed,
                                         cfg.policy, regen).as_dict()


@flow(name="annotate-correct")
def annotate_correct_flow(ref: RunRef, overrides: dict[str, Any] | None = None) -> dict[str, object]:
    """Stage 5c: corrections (run after assemble, before publish)."""
    result: dict[str, object] = correct_task(ref, overrides or {})
    return result


def serve_pull(ref: RunRef, overrides: dict[str, Any] | None = None, cron: str | None = None,
               interval_s: int | None = None) -> None:
    """Serve the pull flow on a schedule (blocks; Ctrl-C stops it)."""
    if cron is None and interval_s is None:
        raise ValueError("give a cron expression or an interval")
    annotate_pull_flow.serve(
        name="annotate-pull-scheduled", parameters={"ref": ref.model_dump(), "overrides": overrides or {}},
        cron=cron, interval=interval_s,
    )
