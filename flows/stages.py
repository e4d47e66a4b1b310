"""One Prefect flow per stage. Tasks work on batches, never on single LLM calls."""

from __future__ import annotations

from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from flows.collect import collect_flow as collect_flow  # stage 1: dumps, API, index, Dask
from flows.runtime import RunRef, board, context
from pipeline.stages import assemble, generate, publish, screen


@task(name="prefilter", cache_policy=NO_CACHE)
def prefilter_task(ref: RunRef) -> dict[str, int]:
    """Rule prefilter over every stored post."""
    return dict(screen.run_prefilter(context(ref)))


@task(name="screen-domain", cache_policy=NO_CACHE)
def screen_domain_task(ref: RunRef, domain: str) -> dict[str, Any]:
    """LLM screen of one domain, batch by batch, until its quota is met."""
    report = screen.screen_domain(context(ref), domain, on_progress=board.advancer("screen"))
    return {"domain": domain, "screened": report.screened, "kept": report.kept,
            "failed": len(report.failed), "quota_met": report.quota_met}


@task(name="select-scenarios", cache_policy=NO_CACHE)
def select_task(ref: RunRef) -> dict[str, int]:
    """Quota sampling: scenarios per domain."""
    return screen.select_scenarios(context(ref))


@flow(name="screen", task_runner=ThreadPoolTaskRunner(max_workers=5))  # type: ignore[arg-type]
def screen_flow(ref: RunRef) -> dict[str, Any]:
    """Stage 2: prefilter, LLM screen ensemble, quota per domain."""
    drops = prefilter_task(ref)
    config = context(ref).config
    domains = list(config.domains)
    board.stage("screen", config.screen.quota_per_domain * len(domains))
    futures = [screen_domain_task.submit(ref, d) for d in domains]
    per_domain = [f.result() for f in futures]
    scenarios = select_task(ref)
    return {"prefilter_drops": drops, "domains": per_domain, "scenarios": scenarios}


@task(name="generate-batch", cache_policy=NO_CACHE)
def generate_batch_task(ref: RunRef, pairs: list[tuple[str, str]]) -> dict[str, int]:
    """Generate actions for a batch of (scenario, generator) pairs."""
    report = generate.generate_batch(context(ref), pairs, on_progress=board.advancer("generate"))
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


@task(name="assemble", cache_policy=NO_CACHE)
def assemble_task(ref: RunRef) -> dict[str, int]:
    """The 5x4 design for every complete scenario."""
    return assemble.run_assemble(context(ref))


@flow(name="assemble")
def assemble_flow(ref: RunRef) -> dict[str, int]:
    """Stage 4: questions from candidates."""
    result: dict[str, int] = assemble_task(ref)
    return result


@task(name="publish-local", cache_policy=NO_CACHE)
def publish_task(ref: RunRef, overwrite: bool) -> dict[str, Any]:
    """Write the release folder."""
    result = publish.publish_local(context(ref), overwrite=overwrite)
    return {"path": str(result.path), "changed": result.changed, "counts": result.manifest.counts}


@flow(name="publish")
def publish_flow(ref: RunRef, overwrite: bool = False) -> dict[str, Any]:
    """Stage 6: a versioned, Hub-shaped release folder."""
    result: dict[str, Any] = publish_task(ref, overwrite)
    return result
