"""``valact cache stats`` and ``valact cache prune``: look into and trim the response cache.

The cache is what makes re-runs free, so pruning needs an explicit criterion: entries older
than a duration, and/or answers to an old prompt version (after a prompt edit they can never
be asked for again), named as ``valact cache stats`` shows it: ``generate:1``. A prune that
matches nothing lists the prompt versions the cache does hold.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from flows.cli_common import ConfigOpt, JsonOpt, ProfileOpt, WorkspaceOpt, fail, load_project

if TYPE_CHECKING:  # a type only: the cache module would slow `valact --help` (see flows/cli_common.py)
    from pipeline.llm.cache import ResponseCache

cache_app = typer.Typer(help="Inspect and prune the LLM response cache.", no_args_is_help=True)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> float:
    """Seconds in ``30d``, ``12h``, ``90m``, ``2w`` or a plain number of seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", text)
    if not match:
        raise typer.BadParameter(f"not a duration: {text!r} (use e.g. 30d, 12h, 90m)")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


def _open(profile: str | None, config: Path | None, workspace: str | None) -> ResponseCache:
    from pipeline.llm.cache import ResponseCache  # deferred: the LLM layer; --help stays fast

    path = Path(load_project(profile, config, workspace).workspace) / "llm_cache.sqlite"
    if not path.exists():
        fail(f"no cache at {path.resolve()}")
    return ResponseCache(path)


@cache_app.command("stats")
def stats(
    profile: ProfileOpt = None, config: ConfigOpt = None, workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Entries, size and age per prompt, prompt version and model."""
    cache = _open(profile, config, workspace)
    try:
        data = cache.summary()
    finally:
        cache.close()
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    table = Table("prompt", "version", "prompt hash", "model", "entries", "KiB", "oldest", "newest",
                  title=f"{data['path']}: {data['entries']} answers")
    for g in data["groups"]:
        table.add_row(g["prompt"], g["prompt_version"], g["prompt_hash"], g["model"], str(g["entries"]),
                      f"{g['bytes'] / 1024:.1f}", _day(g["oldest"]), _day(g["newest"]))
    Console().print(table)


def _day(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M")


@cache_app.command("prune")
def prune(
    older_than: Annotated[str | None, typer.Option("--older-than", help="e.g. 30d, 12h")] = None,
    prompt_version: Annotated[str | None, typer.Option(
        "--prompt-version", help="NAME:VERSION (e.g. generate:1), a version for every prompt (1), "
        "or a full prompt hash (1-3f9a0c12de)")] = None,
    prompt: Annotated[str | None, typer.Option("--prompt", help="only this prompt, e.g. screen")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="count, do not delete")] = False,
    profile: ProfileOpt = None, config: ConfigOpt = None, workspace: WorkspaceOpt = None,
) -> None:
    """Delete cached answers older than a duration and/or of one prompt version."""
    if older_than is None and prompt_version is None:
        fail("give --older-than and/or --prompt-version")
    from pipeline.llm.cache import split_prompt_version  # deferred: the LLM layer; --help stays fast

    seconds = parse_duration(older_than) if older_than is not None else None
    version = prompt_version
    if prompt_version is not None:
        named, version = split_prompt_version(prompt_version)
        if named is not None and prompt is not None and named != prompt:
            fail(f"--prompt-version names prompt {named!r}, --prompt says {prompt!r}")
        prompt = named or prompt
    cache = _open(profile, config, workspace)
    try:
        count = cache.prune(seconds, version, prompt, dry_run=dry_run)
        groups = cache.summary()["groups"] if count == 0 else []
    finally:
        cache.close()
    typer.echo(f"{'would delete' if dry_run else 'deleted'} {count} cached answers")
    if groups:  # say what is there instead of silently matching nothing
        known = sorted({f"{g['prompt']}:{g['prompt_version']}" for g in groups})
        typer.echo(f"nothing matched; prompt versions in the cache: {', '.join(known)}")
