"""One generic Prefect wiring for every stage of the contract, plus the streamed pair.

Each stage command is a flow named after its stage, running one task that drives the stage
through ``pipeline.runner``; the flow returns the stage's ``StageStats`` as a dict. The
order of stages lives in ``pipeline.stages.catalog`` only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from annotation import release_validation
from flows.collect import collect_flow as collect_flow  # stage 1 has its own wiring (dumps on Dask)
from flows.runtime import RunRef, board, context
from pipeline.context import StageContext
from pipeline.runner import Progress, run_stage, run_together
from pipeline.stage import Outcome, Stage, StageStats
from pipeline.stages.catalog import StageOptions, make_stage, streamed_pair


def progress(ctx: StageContext, stages: list[Stage[Any]]) -> Progress:
    """Progress bars for the stages (one each), moved by every unit's outcome."""
    advancers: dict[str, Callable[[int], None]] = {}
    for stage in stages:
        board.stage(stage.name, stage.total(ctx) or 0)
        advancers[stage.name] = board.advancer(stage.name)

    def advance(stats: StageStats, outcome: Outcome) -> None:
        if outcome.advance:
            advancers[stats.stage](outcome.advance)

    return advance


@task(name="run-stage", cache_policy=NO_CACHE)
def stage_task(ref: RunRef, name: str, overwrite: bool = False) -> dict[str, Any]:
    """Drive one stage through its contract."""
    ctx = context(ref)
    stage = make_stage(name, StageOptions(overwrite=overwrite, validation=release_validation))
    return run_stage(ctx, stage, progress(ctx, [stage])).as_dict()


@task(name="screen-and-generate", cache_policy=NO_CACHE)
def streamed_task(ref: RunRef) -> dict[str, Any]:
    """Screening and generation side by side: scenarios go to generation once confirmed."""
    ctx = context(ref)
    stages = list(streamed_pair())
    results = run_together(ctx, stages, progress(ctx, stages))  # type: ignore[arg-type]
    return {stats.stage: stats.as_dict() for stats in results}


def stage_flow(name: str) -> Any:
    """The flow of one stage (a Prefect flow named after it)."""

    @flow(name=name)
    def run(ref: RunRef, overwrite: bool = False) -> dict[str, Any]:
        result: dict[str, Any] = stage_task.with_options(name=name)(ref, name, overwrite)
        return result

    run.__doc__ = f"Stage {name}: plan, run every unit, finish."
    return run


screen_flow = stage_flow("screen")
generate_flow = stage_flow("generate")
assemble_flow = stage_flow("assemble")
publish_flow = stage_flow("publish")


@flow(name="screen-and-generate")
def streamed_flow(ref: RunRef) -> dict[str, Any]:
    """Screen and generate as one stream (what ``build`` runs unless in batch mode)."""
    result: dict[str, Any] = streamed_task(ref)
    return result


FLOWS: dict[str, Any] = {
    "collect": collect_flow, "screen": screen_flow, "generate": generate_flow,
    "assemble": assemble_flow, "publish": publish_flow,
}
