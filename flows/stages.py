"""One Prefect flow per stage. Tasks work on batches, never on single LLM calls."""

from __future__ import annotations

from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from flows.runtime import RunRef, board, context
from pipeline.stages import assemble, collect, generate, publish, screen

TASK = {"cache_policy": NO_CACHE, "retries": 0}


@task(name="collect-dumps", **TASK)  # type: ignore[call-overload]
def collect_dumps_task(ref: RunRef) -> dict[str, Any]:
    """Read the configured dump files into the store."""
    return collect.collect_dumps(context(ref)).as_dict()


@flow(name="collect")
def collect_flow(ref: RunRef) -> dict[str, Any]:
    """Stage 1: posts into the store."""
    report: dict[str, Any] = collect_dumps_task(ref)
    return report


@task(name="prefilter", **TASK)  # type: ignore[call-overload]
def prefilter_task(ref: RunRef) -> dict[str, int]:
    """Rule prefilter over every stored post."""
    return dict(screen.run_prefilter(context(ref)))


@task(name="screen-domain", **TASK)  # type: ignore[call-overload]
def screen_domain_task(ref: RunRef, domain: str) -> dict[str, Any]:
    """LLM screen of one domain, batch by batch, until its quota is met."""
    ctx = context(ref)
    advance = board.stage("screen", ctx.config.screen.quota_per_domain * len(ctx.config.domains))
    before = 0

    def progress(_n: int) -> None:
        nonlocal before
        kept = sum(1 for d in ctx.store.all(screen.ScreenDecision) if d.keep)
        if kept > before:
            advance(kept - before)
            before = kept

    report = screen.screen_domain(ctx, domain, on_progress=progress)
    return {"domain": domain, "screened": report.screened, "kept": report.kept,
            "failed": len(report.failed), "quota_met": report.quota_met}


@task(name="select-scenarios", **TASK)  # type: ignore[call-overload]
def select_task(ref: RunRef) -> dict[str, int]:
    """Quota sampling: scenarios per domain."""
    return screen.select_scenarios(context(ref))


@flow(name="screen", task_runner=ThreadPoolTaskRunner(max_workers=5))  # type: ignore[arg-type]
def screen_flow(ref: RunRef) -> dict[str, Any]:
    """Stage 2: prefilter, LLM screen ensemble, quota per domain."""
    drops = prefilter_task(ref)
    domains = list(context(ref).config.domains)
    futures = [screen_domain_task.submit(ref, d) for d in domains]
    per_domain = [f.result() for f in futures]
    scenarios = select_task(ref)
    return {"prefilter_drops": drops, "domains": per_domain, "scenarios": scenarios}


@task(name="generate-batch", **TASK)  # type: ignore[call-overload]
def generate_batch_task(ref: RunRef, pairs: list[tuple[str, str]]) -> dict[str, int]:
    """Generate actions for a batch of (scenario, generator) pairs."""
    ctx = context(ref)
    advance = board.stage("generate", 0)
    report = generate.generate_batch(ctx, pairs, on_progress=advance)
    return {"generated": report.generated, "failed": len(report.failed)}


@flow(name="generate", task_runner=ThreadPoolTaskRunner(max_workers=4))  # type: ignore[arg-type]
def generate_flow(ref: RunRef) -> dict[str, Any]:
    """Stage 3: ten actions per generator per scenario, skipping what is already done."""
    ctx = context(ref)
    pairs = generate.pending_pairs(ctx)
    size = ctx.config.generate.batch_size
    board.stage("generate", len(pairs))
    futures = [generate_batch_task.submit(ref, pairs[i:i + size]) for i in range(0, len(pairs), size)]
    results = [f.result() for f in futures]
    return {"pending": len(pairs), "generated": sum(r["generated"] for r in results),
            "failed": sum(r["failed"] for r in results)}


@task(name="assemble", **TASK)  # type: ignore[call-overload]
def assemble_task(ref: RunRef) -> dict[str, int]:
    """The 5x4 design for every complete scenario."""
    return assemble.run_assemble(context(ref))


@flow(name="assemble")
def assemble_flow(ref: RunRef) -> dict[str, int]:
    """Stage 4: questions from candidates."""
    result: dict[str, int] = assemble_task(ref)
    return result


@task(name="publish-local", **TASK)  # type: ignore[call-overload]
def publish_task(ref: RunRef, overwrite: bool) -> dict[str, Any]:
    """Write the release folder."""
    result = publish.publish_local(context(ref), overwrite=overwrite)
    return {"path": str(result.path), "changed": result.changed, "counts": result.manifest.counts}


@flow(name="publish")
def publish_flow(ref: RunRef, overwrite: bool = False) -> dict[str, Any]:
    """Stage 6: a versioned, Hub-shaped release folder."""
    result: dict[str, Any] = publish_task(ref, overwrite)
    return result
