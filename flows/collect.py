"""The collect flow: dumps (in this process or partitioned over Dask), the Reddit API, the index.

Dump partitions run as Prefect tasks on a ``DaskTaskRunner`` when asked: ``dask`` starts a
local cluster on loopback, ``dask://HOST:PORT`` joins a running scheduler. Workers only read
and filter; the driver merges their results in file/line order and writes the store, so a
Dask run stores exactly what a single-process run stores.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import TaskRunner
from pydantic import BaseModel, Field

from flows.runtime import RunRef, context
from pipeline.privacy import author_salt
from pipeline.sources.dump import BLOCK_LINES, Partition, resolve_dump
from pipeline.sources.reddit_api import RedditCredentials, RedditSource, RetryPolicy
from pipeline.sources.scope import Scope
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
    partitions_per_worker: int = 2
    block_lines: int = BLOCK_LINES
    reddit_oauth_url: str | None = None
    reddit_url: str | None = None
    reddit_timeout_s: float = 30.0
    max_attempts: int = 8
    backoff_s: float = 2.0


def dask_task_runner(runner: str, workers: int) -> TaskRunner[Any]:
    """``dask`` -> a local cluster on 127.0.0.1; ``dask://HOST:PORT`` -> that scheduler."""
    from prefect_dask.task_runners import DaskTaskRunner

    if runner == "dask":
        return DaskTaskRunner(cluster_kwargs={  # type: ignore[no-any-return]
            "n_workers": workers, "threads_per_worker": 1, "processes": True,
            "host": "127.0.0.1", "dashboard_address": None,
        })
    if runner.startswith("dask://"):
        return DaskTaskRunner(address="tcp://" + runner.removeprefix("dask://"))  # type: ignore[no-any-return]
    raise ValueError(f"unknown runner {runner!r}: use thread, dask or dask://HOST:PORT")


def connector(options: CollectOptions) -> Any:
    """A function that opens the Reddit source on first need (credentials from env)."""
    def connect() -> RedditSource:
        return RedditSource.connect(
            RedditCredentials.from_env(), options.reddit_oauth_url, options.reddit_url,
            options.reddit_timeout_s, RetryPolicy(options.max_attempts, options.backoff_s),
        )
    return connect


@task(name="collect-dumps", **TASK)  # type: ignore[call-overload]
def collect_dumps_task(ref: RunRef, specs: list[str] | None = None) -> dict[str, Any]:
    """Read dump files into the store in this process, streaming."""
    return collect.collect_dumps(context(ref), specs).as_dict()


@task(name="dump-partition", **TASK)  # type: ignore[call-overload]
def dump_partition_task(
    path: str, file_index: int, scope: Scope, salt: str, partition: Partition, retrieved_at: int
) -> collect.PartitionResult:
    """One partition of one dump, read and filtered wherever the task runner puts it."""
    return collect.read_dump_partition(path, file_index, scope, salt, partition, retrieved_at)


@flow(name="collect-dumps-partitioned")
def partitioned_dumps_flow(ref: RunRef, specs: list[str], parts: int, block_lines: int) -> dict[str, Any]:
    """Submit every (file, partition) and merge the results into the store in order."""
    ctx = context(ref)
    salt = author_salt(ctx.workspace, ctx.config.collect.author_salt_env)
    scope = Scope.from_config(ctx.config)
    now = int(time.time())
    futures = [
        dump_partition_task.submit(str(path), i, scope, salt, Partition(k, parts, block_lines), now)
        for i, path in enumerate(resolve_dump(spec) for spec in specs) for k in range(parts)
    ]
    results = [future.result() for future in futures]
    report: dict[str, Any] = collect.store_partitions(ctx, results).as_dict()
    return report


def collect_dumps_with(ref: RunRef, specs: list[str], options: CollectOptions) -> dict[str, Any]:
    """Dumps with the chosen runner."""
    if options.runner == "thread":
        result: dict[str, Any] = collect_dumps_task(ref, specs)
        return result
    runner = dask_task_runner(options.runner, options.dask_workers)
    parts = max(1, options.dask_workers * options.partitions_per_worker)
    partitioned = partitioned_dumps_flow.with_options(task_runner=runner)
    return partitioned(ref, specs, parts, options.block_lines)  # type: ignore[no-any-return]


@task(name="collect-index", **TASK)  # type: ignore[call-overload]
def collect_index_task(ref: RunRef, options: CollectOptions) -> dict[str, Any]:
    """Rehydrate the authors' index through the Reddit API."""
    path = Path(options.valact_index or "")
    return collect.collect_index(context(ref), path, connector(options), options.retry_missing).as_dict()


@task(name="collect-api", **TASK)  # type: ignore[call-overload]
def collect_api_task(ref: RunRef, options: CollectOptions) -> dict[str, Any]:
    """Subreddit listings and searches through the Reddit API."""
    specs = [collect.ListingSpec.parse(text) for text in options.listings]
    source = connector(options)()
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
