"""``valact release build|publish|verify|diff`` and ``valact import valact-original``.

Build, publish and import run Prefect flows (they write); verify and diff only read, so they
run directly and stay fast. Every failure exits non-zero with the reason on stderr.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

release_app = typer.Typer(help="Versioned releases: build, publish, verify, diff.", no_args_is_help=True)
import_app = typer.Typer(help="Import existing benchmark files into a workspace.", no_args_is_help=True)
console = Console(stderr=True)

ReleasesDirOpt = Annotated[Path, typer.Option("--releases-dir", help="folder of release declarations")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print machine-readable JSON on stdout")]


def register(app: typer.Typer) -> None:
    """Attach the ``release`` and ``import`` command groups to the main CLI."""
    app.add_typer(release_app, name="release")
    app.add_typer(import_app, name="import")


def _fail(message: str, code: int = 1) -> None:
    console.print(f"[bold red]error:[/] {message}", markup=True, highlight=False)
    raise typer.Exit(code)


def _emit(result: Any, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(result, indent=2, default=str))
    else:
        console.print_json(json.dumps(result, default=str))


def _prefect_for(releases_dir: Path, version: str) -> None:
    """Point Prefect's embedded server at the release's workspace before any flow runs."""
    from flows.runtime import configure_prefect
    from pipeline.release.build import release_config
    from pipeline.release.declarations import load_declaration

    configure_prefect(Path(release_config(load_declaration(releases_dir, version)).workspace))


def _errors() -> tuple[type[BaseException], ...]:
    from huggingface_hub.errors import HfHubHTTPError

    from pipeline.config import ConfigError
    from pipeline.release.declarations import DeclarationError
    from pipeline.release.hub import ReleaseInvalidError
    from pipeline.release.local_repo import GitError
    from pipeline.stages.publish import ReleaseExistsError

    return (DeclarationError, ConfigError, ReleaseExistsError, ReleaseInvalidError, GitError,
            HfHubHTTPError, FileNotFoundError, ValueError)


@release_app.command("build")
def build_cmd(
    version: Annotated[str, typer.Argument(help="version declared in releases/<version>.toml")],
    releases_dir: ReleasesDirOpt = Path("releases"),
    overwrite: Annotated[bool, typer.Option(help="replace an unpublished build of this version")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Build the release folder of a declared version: tables, card, figures, changelog, manifest."""
    try:
        _prefect_for(releases_dir, version)
        from flows.release import release_build_flow

        result = release_build_flow(str(releases_dir), version, overwrite)
    except _errors() as exc:
        _fail(str(exc))
    _emit(result, as_json)


@release_app.command("publish")
def publish_cmd(
    version: Annotated[str, typer.Argument(help="a built version")],
    to: Annotated[str | None, typer.Option("--to", help="hf://ORG/NAME on the Hub (token from HF_TOKEN)")]
    = None,
    repo: Annotated[Path | None, typer.Option("--repo", help="local Hub-shaped git repository "
                                               "(default <workspace>/hub/<name>); used without --to")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print the file plan, change nothing")] = False,
    releases_dir: ReleasesDirOpt = Path("releases"),
    as_json: JsonOpt = False,
) -> None:
    """Publish a built version as one commit tagged v<version>; refuses an existing tag."""
    if to is not None and not to.startswith("hf://"):
        _fail(f"--to expects hf://ORG/NAME, got {to!r}")
    try:
        _prefect_for(releases_dir, version)
        from flows.release import release_publish_flow

        result = release_publish_flow(str(releases_dir), version, to, str(repo) if repo else None, dry_run)
    except _errors() as exc:
        _fail(str(exc))
    _emit(result, as_json)


@release_app.command("verify")
def verify_cmd(
    target: Annotated[str, typer.Argument(help="release folder, or hf://ORG/NAME[@revision]")],
    as_json: JsonOpt = False,
) -> None:
    """Check checksums, assembly invariants and card metadata; exit 1 with the reasons on failure."""
    from pipeline.release.hub import hub_api
    from pipeline.release.verify import verify

    try:
        report = verify(target, hub_api() if target.startswith("hf://") else None)
    except _errors() as exc:
        _fail(str(exc))
    result: dict[str, object] = {"target": report.target, "ok": report.ok,
                                 "checked_files": report.checked_files, "problems": report.problems}
    if report.manifest is not None and report.manifest.rehydrated is not None:
        result["rehydrated"] = report.manifest.rehydrated.model_dump()  # a local copy, not the release
    _emit(result, as_json)
    if not report.ok:
        _fail(f"{report.target} failed verification: " + "; ".join(report.problems))


@release_app.command("diff")
def diff_cmd(
    old: Annotated[str, typer.Argument(help="older release: folder or declared version")],
    new: Annotated[str, typer.Argument(help="newer release: folder or declared version")],
    releases_dir: ReleasesDirOpt = Path("releases"),
    as_json: JsonOpt = False,
) -> None:
    """Questions and scenarios added, removed and changed (with fields) between two releases."""
    from flows.release import release_folder
    from pipeline.card import diff_markdown
    from pipeline.release.diff import diff_releases, load_release_tables

    def folder(ref: str) -> Path:
        path = Path(ref)
        return path if path.is_dir() else release_folder(releases_dir, ref)

    try:
        old_dir, new_dir = folder(old), folder(new)
        diff = diff_releases(load_release_tables(old_dir), load_release_tables(new_dir), old, new)
    except _errors() as exc:
        _fail(str(exc))
    if as_json:
        typer.echo(diff.model_dump_json(indent=2))
    else:
        typer.echo(diff_markdown(diff))


@import_app.command("valact-original")
def import_original_cmd(
    questions: Annotated[Path, typer.Option("--questions", exists=True, dir_okay=False,
                                            help="qa_pairs_reddit.txt or a result log (7-line blocks)")],
    workspace: Annotated[Path, typer.Option("--workspace", "-w", help="workspace to import into")]
    = Path("workspace-original"),
    index: Annotated[Path | None, typer.Option("--index", exists=True, dir_okay=False,
                                               help="the authors' index CSV, linked by position")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Import the original VALACT-15K question lists; reports every invariant they break."""
    from flows.runtime import configure_prefect

    configure_prefect(workspace)
    from flows.release import import_original_flow

    try:
        result = import_original_flow(str(workspace), str(questions), str(index) if index else None)
    except _errors() as exc:
        _fail(str(exc))
    _emit(result, as_json)
    console.print(f"{result['single_model_value_pairs']} of {result['value_pairs']} value pairs take both "
                  "actions from a single model")
