"""``valact release build|publish|verify|diff`` and ``valact import valact-original``.

Build, publish and import run Prefect flows (they write); verify and diff only read, so they
run directly and stay fast. Errors exit 2 with the reason on stderr; a release that fails
verification exits 1 (see ``flows/cli_common.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

import typer

from flows.cli_common import EXIT_PROBLEMS, JsonOpt, console, emit, fail, failing
from flows.prefect_env import configure_prefect

release_app = typer.Typer(help="Versioned releases: build, publish, verify, diff.", no_args_is_help=True)
import_app = typer.Typer(help="Import existing benchmark files into a workspace.", no_args_is_help=True)

ReleasesDirOpt = Annotated[Path, typer.Option("--releases-dir", help="folder of release declarations")]


def _errors() -> tuple[type[BaseException], ...]:
    """What a release command can meet that is the user's to fix: said in one line, exit 2."""
    # deferred: the Hub client and the release modules load pyarrow and pydantic; --help stays fast
    from huggingface_hub.errors import HfHubHTTPError

    from pipeline.config import ConfigError
    from pipeline.release.declarations import DeclarationError
    from pipeline.release.folder import ReleaseExistsError
    from pipeline.release.hub import ReleaseInvalidError
    from pipeline.release.local_repo import GitError

    return (DeclarationError, ConfigError, ReleaseExistsError, ReleaseInvalidError, GitError,
            HfHubHTTPError, FileNotFoundError, ValueError)


def _release_flow(releases_dir: Path, version: str, call: Callable[[ModuleType], Any]) -> Any:
    """Point Prefect's embedded server at the release's workspace, then run a ``flows.release`` flow."""
    # deferred: the declarations and the release config load pydantic; --help stays fast
    from pipeline.release.build import release_config
    from pipeline.release.declarations import load_declaration

    with failing(*_errors()):
        configure_prefect(Path(release_config(load_declaration(releases_dir, version)).workspace))
        from flows import release  # deferred: imports Prefect, configured just above

        return call(release)


@release_app.command("build")
def build_cmd(
    version: Annotated[str, typer.Argument(help="version declared in releases/<version>.toml")],
    releases_dir: ReleasesDirOpt = Path("releases"),
    overwrite: Annotated[bool, typer.Option(help="replace an unpublished build of this version")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Build the release folder of a declared version: tables, card, figures, changelog, manifest."""
    result = _release_flow(releases_dir, version,
                           lambda release: release.release_build_flow(str(releases_dir), version, overwrite))
    emit(result, as_json)


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
        fail(f"--to expects hf://ORG/NAME, got {to!r}")
    result = _release_flow(releases_dir, version, lambda release: release.release_publish_flow(
        str(releases_dir), version, to, str(repo) if repo else None, dry_run))
    emit(result, as_json)


@release_app.command("verify")
def verify_cmd(
    target: Annotated[str, typer.Argument(help="release folder, or hf://ORG/NAME[@revision]")],
    as_json: JsonOpt = False,
) -> None:
    """Check checksums, assembly invariants and card metadata; exit 1 with the reasons on failure."""
    # deferred: the Hub client and the release reader (pyarrow); --help stays fast
    from pipeline.release.hub import hub_api
    from pipeline.release.verify import verify

    with failing(*_errors()):
        report = verify(target, hub_api() if target.startswith("hf://") else None)
    result: dict[str, object] = {"target": report.target, "ok": report.ok,
                                 "checked_files": report.checked_files, "problems": report.problems}
    if report.manifest is not None and report.manifest.rehydrated is not None:
        result["rehydrated"] = report.manifest.rehydrated.model_dump()  # a local copy, not the release
    emit(result, as_json)
    if not report.ok:
        fail(f"{report.target} failed verification: " + "; ".join(report.problems), EXIT_PROBLEMS)


@release_app.command("diff")
def diff_cmd(
    old: Annotated[str, typer.Argument(help="older release: folder or declared version")],
    new: Annotated[str, typer.Argument(help="newer release: folder or declared version")],
    releases_dir: ReleasesDirOpt = Path("releases"),
    as_json: JsonOpt = False,
) -> None:
    """Questions and scenarios added, removed and changed (with fields) between two releases."""
    # deferred: release_folder's module imports Prefect (diff runs no flow, so no Prefect setup is
    # needed), and the release tables load pyarrow; --help stays fast
    from flows.release import release_folder
    from pipeline.release.card import diff_markdown
    from pipeline.release.diff import diff_releases, load_release_tables

    def folder(ref: str) -> Path:
        path = Path(ref)
        return path if path.is_dir() else release_folder(releases_dir, ref)

    with failing(*_errors()):
        diff = diff_releases(load_release_tables(folder(old)), load_release_tables(folder(new)), old, new)
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
    configure_prefect(workspace)
    from flows.release import import_original_flow  # deferred: imports Prefect, configured just above

    with failing(*_errors()):
        result = import_original_flow(str(workspace), str(questions), str(index) if index else None)
    emit(result, as_json)
    console.print(f"{result['single_model_value_pairs']} of {result['value_pairs']} value pairs take both "
                  "actions from a single model")
