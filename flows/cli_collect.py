"""``valact collect`` and ``valact rehydrate``: Reddit collection from dumps, the API and the index.

Registered on the main app in ``flows/cli.py``; the shared helpers (config loading, run
records, output) are imported from there when a command runs, so this module can be
imported on its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

Profile = Annotated[str | None, typer.Option("--profile", "-p", help="packaged profile: 'default' or 'demo'")]
Config = Annotated[Path | None, typer.Option("--config", "-c", help="project TOML (default: ./valact.toml)")]
Workspace = Annotated[
    str | None, typer.Option("--workspace", "-w", help="workspace folder (default from config)")
]
Json = Annotated[bool, typer.Option("--json", help="print machine-readable JSON on stdout")]
OauthUrl = Annotated[
    str | None,
    typer.Option(
        "--reddit-oauth-url",
        envvar="VALACT_REDDIT_OAUTH_URL",
        help="Reddit API base URL (default https://oauth.reddit.com; point at a stand-in server for tests)",
    ),
]
RedditUrl = Annotated[
    str | None,
    typer.Option(
        "--reddit-url",
        envvar="VALACT_REDDIT_URL",
        help="Reddit token endpoint base (default https://www.reddit.com)",
    ),
]
Timeout = Annotated[
    float, typer.Option("--reddit-timeout", min=1, help="seconds to wait for one API response")
]
Attempts = Annotated[int, typer.Option("--max-attempts", min=1, help="tries per API page before giving up")]
Backoff = Annotated[float, typer.Option("--backoff", min=0, help="first retry wait in seconds (doubles)")]

if TYPE_CHECKING:
    from pipeline.sources.reddit_api import RedditOptions


def _reddit(
    oauth_url: str | None, reddit_url: str | None, timeout_s: float, max_attempts: int, backoff_s: float
) -> RedditOptions:
    """The shared Reddit connection options from the command line's Reddit option block."""
    from pipeline.sources.reddit_api import RedditOptions  # imported when a command runs (fast --help)

    return RedditOptions(oauth_url=oauth_url, reddit_url=reddit_url, timeout_s=timeout_s,
                         max_attempts=max_attempts, backoff_s=backoff_s)


def collect(
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
    reddit_oauth_url: OauthUrl = None,
    reddit_url: RedditUrl = None,
    reddit_timeout: Timeout = 30.0,
    max_attempts: Attempts = 8,
    backoff: Backoff = 2.0,
    profile: Profile = None,
    config: Config = None,
    workspace: Workspace = None,
    as_json: Json = False,
) -> None:
    """Stage 1: posts into the workspace from dumps, the Reddit API and the authors' index.

    Without options it reads the config's dump files. API access needs REDDIT_CLIENT_ID,
    REDDIT_CLIENT_SECRET and REDDIT_USER_AGENT in the environment or .env. Re-running
    stores nothing new; listings resume from per-subreddit checkpoints.
    """
    from flows.cli import _emit, _fail, _ref, _run
    from flows.collect import CollectOptions
    from pipeline.sources.reddit_api import RedditCredentialsError, RedditUnavailableError
    from pipeline.sources.valact_index import IndexFormatError

    ref = _ref(profile, config, workspace, None)
    subs = list(subreddit or [])
    if subs == ["all"]:
        from flows.runtime import context

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
        reddit=_reddit(reddit_oauth_url, reddit_url, reddit_timeout, max_attempts, backoff),
    )
    from flows.collect import collect_flow

    try:
        result = _run("collect", ref, lambda: collect_flow(ref, options))
    except (RedditCredentialsError, RedditUnavailableError, IndexFormatError, ValueError) as exc:
        _fail(str(exc))
        return
    _emit(result, as_json)


def rehydrate(
    release_dir: Annotated[
        Path, typer.Argument(exists=True, file_okay=False, help="a valact release folder")
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="where to write the filled copy (default <release>-rehydrated)"),
    ] = None,
    reddit_oauth_url: OauthUrl = None,
    reddit_url: RedditUrl = None,
    reddit_timeout: Timeout = 30.0,
    max_attempts: Attempts = 8,
    backoff: Backoff = 2.0,
    as_json: Json = False,
) -> None:
    """Fill a masked release's scenario texts from Reddit by post id, into a copy.

    Needs REDDIT_CLIENT_ID, REDDIT_CLIENT_SECRET and REDDIT_USER_AGENT. Posts now deleted or
    removed keep no text and are listed in rehydration.json; re-running fetches only what is
    still missing.
    """
    from dotenv import load_dotenv

    from flows.cli import _emit, _fail
    from pipeline.sources.reddit_api import RedditCredentialsError, RedditUnavailableError
    from pipeline.sources.rehydrate import ReleaseFormatError, rehydrate_release

    load_dotenv(Path.cwd() / ".env", override=False)
    reddit = _reddit(reddit_oauth_url, reddit_url, reddit_timeout, max_attempts, backoff)
    try:
        report = rehydrate_release(release_dir, reddit.connect, output)
    except (RedditCredentialsError, RedditUnavailableError, ReleaseFormatError, ValueError) as exc:
        _fail(str(exc))
        return
    _emit(report.as_dict(), as_json)
