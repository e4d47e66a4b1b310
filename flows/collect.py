"""The collect flow: dumps (in this process or part by part over Dask), the Reddit API, the index.

With ``--runner dask`` (a local cluster on loopback) or ``dask://HOST:PORT`` (a running
scheduler) the flow runs on a ``DaskTaskRunner``, and every part of every dump (a file, or a
run of its zstd frames) goes to that cluster as a plain Dask task, not a Prefect task: a
worker then imports only the dump reader (no Prefect, no connection to the Prefect API),
which keeps it small and quick to start. A worker reads its part and writes the kept posts
to a shard file as it goes; the driver takes the parts in file order as they finish and
replays each shard into the store (a post new to the store as the text the worker wrote,
neither parsed nor serialised again), storing part k while the workers still read the parts
after it. Its memory stays flat however many files there are, and it stores exactly what a
single-process run stores. Workers must be able to read the dump paths and write the shard
folder (under the workspace), as on one machine or on a shared filesystem.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.task_runners import TaskRunner
from pydantic import BaseModel, Field

from flows.runtime import RunRef, context
from pipeline.collect import dumps
from pipeline.sources.dump import MIN_PART_BYTES, plan_parts
from pipeline.sources.reddit_api import RedditOptions
from pipeline.stages import collect

TASK = {"cache_policy": NO_CACHE, "retries": 0}


class CollectOptions(BaseModel):
    """What one ``valact collect`` reads. Defaults reproduce the config-driven dump collect."""

    dumps: list[str] | None = Field(default=None, description="dump files; None = the config's")
    valact_index: str | None = None
    retry_missing: bool = False
    subreddits: list[str] = Field(default_factory=list)
    listings: list[str] = Field(default_factory=lambda: ["new"])
    full: bool = False
    runner: str = "thread"
    dask_workers: int = 2
    part_mib: float = Field(default=MIN_PART_BYTES / 2**20, gt=0,
                            description="compressed MiB per part of a multi-frame zstd dump, at least")
    reddit: RedditOptions = Field(default_factory=RedditOptions)


def dask_task_runner(runner: str, workers: int) -> TaskRunner[Any]:
    """``dask`` -> a local cluster on 127.0.0.1; ``dask://HOST:PORT`` -> that scheduler."""
    from prefect_dask.task_runners import DaskTaskRunner  # only dask runs pay for importing it

    if runner == "dask":
        return DaskTaskRunner(cluster_kwargs={  # type: ignore[no-any-return]
            "n_workers": workers, "threads_per_worker": 1, "processes": True,
            "host": "127.0.0.1", "dashboard_address": None,
        })
    if runner.startswith("dask://"):
        return DaskTaskRunner(address="tcp://" + runner.removeprefix("dask://"))  # type: ignore[no-any-return]
    raise ValueError(f"unknown runner {runner!r}: use thread, dask or dask://HOST:PORT")


@task(name="collect-dumps", **TASK)  # type: ignore[call-overload]
def collect_dumps_task(ref: RunRef, specs: list[str] | None = None) -> dict[str, Any]:
    """Read dump files into the store in this process, streaming."""
    return collect.collect_dumps(context(ref), specs).as_dict()


@flow(name="collect-dumps-parts")
def dump_parts_flow(ref: RunRef, specs: list[str], part_mib: float) -> dict[str, Any]:
    """Send every part of every dump to the Dask workers; store the results in part order."""
    started = time.time()
    ctx = context(ref)
    merger = dumps.DumpMerger(ctx, dumps.dump_scan(ctx))
    parts = plan_parts(dumps.dump_paths(ctx, specs), max(1, int(part_mib * 2**20)))
    folder = dumps.shard_folder(ctx)
    try:
        client = _dask_client()
        # No decompression thread on a worker: its cluster gives each task one core (a second
        # thread there slowed 2 one-thread workers on 2 cores from 6.7 s to 8.6 s over 300,000 posts).
        futures = [
            client.submit(dumps.read_part_to_shard, part, merger.scan, str(folder), prefetch=False,
                          pure=False, key=f"dump-part-{ctx.run_id}-{part.file_index}-{part.part_index}")
            for part in parts
        ]
        reading = _PartsRead(started)
        report = dumps.merge_shards(merger, _in_order(futures, reading))
    finally:
        dumps.remove_shards(folder)
    return {**report.as_dict(), "parts": len(parts), **reading.as_dict()}


def _dask_client() -> Any:
    """The Dask client of the running flow's ``DaskTaskRunner`` (its cluster starts on first use
    and stops with the flow)."""
    flow_run = FlowRunContext.get()
    if flow_run is None or not hasattr(flow_run.task_runner, "client"):
        raise RuntimeError("dump parts need a flow running on a DaskTaskRunner")
    return flow_run.task_runner.client


@dataclass
class _PartsRead:
    """What reading the parts cost the workers (to set against the driver's own CPU time), and
    when the last one was read: the rest of the run is the driver storing what was left."""

    started: float
    cpu_seconds: float = 0.0
    last_read: float = 0.0

    def add(self, result: dumps.PartResult) -> None:
        self.cpu_seconds += result.cpu_seconds
        self.last_read = max(self.last_read, result.finished_at)

    def as_dict(self) -> dict[str, float]:
        return {"parts_cpu_seconds": round(self.cpu_seconds, 3),
                "parts_read_seconds": round(max(self.last_read - self.started, 0.0), 3)}


def _in_order(futures: list[Any], reading: _PartsRead) -> Iterator[dumps.PartResult]:
    """Each future's result in submission order, released once taken (results stay small)."""
    while futures:
        result: dumps.PartResult = futures.pop(0).result()
        reading.add(result)
        yield result


def collect_dumps_with(ref: RunRef, specs: list[str], options: CollectOptions) -> dict[str, Any]:
    """Dumps with the chosen runner; ``seconds`` is the time spent reading and storing them and
    ``cpu_seconds`` the CPU this process (the driver, with a Dask runner) spent on it."""
    started, cpu = time.perf_counter(), time.process_time()
    if options.runner == "thread":
        result: dict[str, Any] = collect_dumps_task(ref, specs)
    else:
        runner = dask_task_runner(options.runner, options.dask_workers)
        result = dump_parts_flow.with_options(task_runner=runner)(ref, specs, options.part_mib)
    return {**result, "seconds": round(time.perf_counter() - started, 3),
            "cpu_seconds": round(time.process_time() - cpu, 3)}


@task(name="collect-index", **TASK)  # type: ignore[call-overload]
def collect_index_task(ref: RunRef, options: CollectOptions) -> dict[str, Any]:
    """Rehydrate the authors' index through the Reddit API."""
    path = Path(options.valact_index or "")
    return collect.collect_index(context(ref), path, options.reddit.connect, options.retry_missing).as_dict()


@task(name="collect-api", **TASK)  # type: ignore[call-overload]
def collect_api_task(ref: RunRef, options: CollectOptions) -> dict[str, Any]:
    """Subreddit listings and searches through the Reddit API."""
    specs = [collect.ListingSpec.parse(text) for text in options.listings]
    source = options.reddit.connect()
    return collect.collect_api(context(ref), source, options.subreddits, specs, full=options.full).as_dict()


@flow(name="collect")
def collect_flow(ref: RunRef, options: CollectOptions | None = None) -> dict[str, Any]:
    """Stage 1: posts into the store from dumps, the authors' index and Reddit listings."""
    opts = options or CollectOptions()
    ctx = context(ref)
    specs = opts.dumps if opts.dumps is not None else list(ctx.config.collect.dumps)
    result: dict[str, Any] = {}
    if specs:
        result["dumps"] = collect_dumps_with(ref, specs, opts)
    if opts.valact_index:
        result["index"] = collect_index_task(ref, opts)
    if opts.subreddits:
        result["api"] = collect_api_task(ref, opts)
    return result
