"""``valact collect`` and ``valact rehydrate``: Reddit collection from dumps, the API and the index.

Both talk to Reddit, so they take the same connection options, declared once here
(``reddit_options``). No ``from __future__ import annotations`` in this module: the decorator
hands typer the commands' real annotations, which must exist at import time.
"""

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from flows.cli_common import (
    ConfigOpt,
    JsonOpt,
    ProfileOpt,
    WorkspaceOpt,
    emit,
    failing,
    run_recorded,
    run_ref,
)

if TYPE_CHECKING:  # a type only: the pydantic model would slow `valact --help`
    from pipeline.sources.reddit_api import RedditOptions

_REDDIT_OPTIONS: dict[str, tuple[Any, object]] = {  # parameter -> (typer annotation, default)
    "reddit_oauth_url": (Annotated[str | None, typer.Option(
        "--reddit-oauth-url", envvar="VALACT_REDDIT_OAUTH_URL",
        help="Reddit API base URL (default https://oauth.reddit.com; point at a stand-in server for tests)",
    )], None),
    "reddit_url": (Annotated[str | None, typer.Option(
        "--reddit-url", envvar="VALACT_REDDIT_URL", help="Reddit token endpoint base (default https://www.reddit.com)",
    )], None),
    "reddit_timeout": (Annotated[float, typer.Option(
        "--reddit-timeout", min=1, help="seconds to wait for one API response")], 30.0),
    "max_attempts": (Annotated[int, typer.Option(
        "--max-attempts", min=1, help="tries per API page before giving up")], 8),
    "backoff": (Annotated[float, typer.Option(
        "--backoff", min=0, help="first retry wait in seconds (doubles)")], 2.0),
}


def reddit_options(command: Callable[..., None]) -> Callable[..., None]:
    """Give a command the Reddit connection options; it receives them as one ``reddit`` value.

    The command declares a keyword-only ``reddit: "RedditOptions"``; typer sees the five
    options in its place (same order in ``--help``), and the command gets them validated as
    one ``RedditOptions``, so every Reddit command takes the same options the same way.
    """
    own = inspect.signature(command)
    params: list[inspect.Parameter] = []
    for param in own.parameters.values():
        if param.name != "reddit":
            params.append(param)
            continue
        params += [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)
            for name, (annotation, default) in _REDDIT_OPTIONS.items()
        ]

    def with_reddit(**values: Any) -> None:
        # deferred: a pydantic model; --help stays fast
        from pipeline.sources.reddit_api import RedditOptions

        given = {name: values.pop(name) for name in _REDDIT_OPTIONS}
        command(**values, reddit=RedditOptions(
            oauth_url=given["reddit_oauth_url"], reddit_url=given["reddit_url"],
            timeout_s=given["reddit_timeout"], max_attempts=given["max_attempts"], backoff_s=given["backoff"],
        ))

    with_reddit.__signature__ = own.replace(parameters=params)  # type: ignore[attr-defined]
    with_reddit.__annotations__ = {p.name: p.annotation for p in params} | {"return": None}
    for attribute in ("__name__", "__qualname__", "__doc__", "__module__"):
        setattr(with_reddit, attribute, getattr(command, attribute))
    return with_reddit


@reddit_options
def collect(
    *,
    dump: Annotated[
        list[str] | None,
        typer.Option(
            "--dump", help="dump file (.zst NDJSON, .jsonl, .jsonl.gz); repeatable; replaces the config's"
        ),
    ] = None,
    valact_index: Annotated[
        Path | None,
        typer.Option(
            "--valact-index",
            exists=True,
            dir_okay=False,
            help="the authors' index CSV: fetch its posts by id (100 per request), keep its domains",
        ),
    ] = None,
    retry_missing: Annotated[
        bool, typer.Option(help="ask again for index posts Reddit did not return")
    ] = False,
    subreddit: Annotated[
        list[str] | None,
        typer.Option(
            "--subreddit",
            "-s",
            help="read this subreddit through the API (repeatable; 'all' = every configured)",
        ),
    ] = None,
    listing: Annotated[
        list[str] | None,
        typer.Option(
            "--listing",
            "-l",
            help="new | top:<t> | controversial:<t> | search:<query>  (t = hour..all; "
            "repeatable; default new)",
        ),
    ] = None,
    full: Annotated[bool, typer.Option(help="ignore checkpoints: re-read listings to their end")] = False,
    runner: Annotated[
        str,
        typer.Option(
            help="dump reading: 'thread' (this process), 'dask' (local cluster) or 'dask://HOST:PORT' "
            "(a running scheduler whose workers can read the dumps and the workspace)"
        ),
    ] = "thread",
    workers: Annotated[int, typer.Option(min=1, help="workers of the local Dask cluster")] = 2,
    part_mib: Annotated[
        float,
        typer.Option(min=0.001, help="with Dask: a zstd dump of several frames is split into parts of at "
                     "least this many compressed MiB (a single-frame file is one part)"),
    ] = 64.0,
    reddit: "RedditOptions",
    profile: ProfileOpt = None,
    config: ConfigOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Stage 1: posts into the workspace from dumps, the Reddit API and the authors' index.

    Without options it reads the config's dump files. API access needs REDDIT_CLIENT_ID,
    REDDIT_CLIENT_SECRET and REDDIT_USER_AGENT in the environment or .env. Re-running
    stores nothing new; listings resume from per-subreddit checkpoints.
    """
    ref = run_ref(profile, config, workspace)
    # deferred: Prefect reads its settings at import, so only after run_ref put them in place
    from flows.collect import CollectOptions, collect_flow
    from flows.runtime import context
    from pipeline.sources.reddit_api import RedditCredentialsError, RedditUnavailableError
    from pipeline.sources.valact_index import IndexFormatError

    subs = list(subreddit or [])
    if subs == ["all"]:
        subs = [s for group in context(ref).config.domains.values() for s in group]
    options = CollectOptions(
        dumps=list(dump) if dump else None if not (valact_index or subs) else [],
        valact_index=str(valact_index) if valact_index else None,
        retry_missing=retry_missing,
        subreddits=subs,
        listings=list(listing or ["new"]),
        full=full,
        runner=runner,
        dask_workers=workers,
        part_mib=part_mib,
        reddit=reddit,
    )
    with failing(RedditCredentialsError, RedditUnavailableError, IndexFormatError, ValueError):
        result = run_recorded("collect", ref, lambda: collect_flow(ref, options))
    emit(result, as_json)


@reddit_options
def rehydrate(
    release_dir: Annotated[
        Path, typer.Argument(exists=True, file_okay=False, help="a valact release folder")
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="where to write the filled copy (default <release>-rehydrated)"),
    ] = None,
    *,
    reddit: "RedditOptions",
    as_json: JsonOpt = False,
) -> None:
    """Fill a masked release's scenario texts from Reddit by post id, into a copy.

    Needs REDDIT_CLIENT_ID, REDDIT_CLIENT_SECRET and REDDIT_USER_AGENT. Posts now deleted or
    removed keep no text and are listed in rehydration.json; re-running fetches only what is
    still missing.
    """
    # deferred: the Reddit client and the release reader (pydantic, pyarrow); --help stays fast
    from dotenv import load_dotenv

    from pipeline.release.rehydrate import ReleaseFormatError, rehydrate_release
    from pipeline.sources.reddit_api import RedditCredentialsError, RedditUnavailableError

    load_dotenv(Path.cwd() / ".env", override=False)
    with failing(RedditCredentialsError, RedditUnavailableError, ReleaseFormatError, ValueError):
        report = rehydrate_release(release_dir, reddit.connect, output)
    emit(report.as_dict(), as_json)
