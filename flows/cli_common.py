"""What every ``valact`` command shares: the common options, output, errors, exit codes and
run records.

Every sub-CLI (``flows/cli_*.py``) takes these from here and ``flows/cli.py`` only assembles
the app, so the CLI modules import in one direction and every command fails the same way.

Exit codes, the same for every command:

- 0: done;
- 1 (``EXIT_PROBLEMS``): the command ran and found problems: a release failed verification,
  a server is down;
- 2 (``EXIT_ERROR``): the command could not do its work: a usage or configuration error (typer's
  own usage errors exit 2 as well), a missing workspace, cache or declaration, a fatal error
  during a run (bad credentials, a release that exists, a provider refusing).

Import rule for this module and every sub-CLI: at module level only the standard library,
typer, rich, the other CLI modules and ``flows.prefect_env`` (no Prefect in it; the entry
point loads it first anyway), so ``valact --help`` (and typer's completion) starts in
well under a second. Our own modules (pydantic configs, the store, the LLM layer) and Prefect
are imported inside the function that needs them, with a comment saying so;
``tests/unit/test_cli_help.py`` checks that ``--help`` imports none of the heavy modules.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from flows.prefect_env import configure_prefect  # light (no Prefect); `valact` loads it anyway in main()

if TYPE_CHECKING:  # types only: importing them would slow `valact --help`
    from flows.runtime import RunRef
    from pipeline.store import Store
    from schemas.config import ProjectConfig

EXIT_PROBLEMS = 1
EXIT_ERROR = 2

console = Console(stderr=True)

ProfileOpt = Annotated[
    str | None,
    typer.Option(
        "--profile", "-p", help="packaged profile: 'default' (the paper's recipe) or 'demo' (offline)"
    ),
]
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="project TOML (default: ./valact.toml if present)")
]
WorkspaceOpt = Annotated[
    str | None, typer.Option("--workspace", "-w", help="workspace folder (default from config)")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="print machine-readable JSON on stdout")]
BudgetOpt = Annotated[
    float | None,
    typer.Option("--budget", min=0, help="stop cleanly before this run's model spending would exceed USD; "
                 "re-run to resume"),
]
BatchOpt = Annotated[
    bool,
    typer.Option("--batch", help="send model requests through the providers' Batch APIs (about half the "
                 "price, answers within the completion window; a restarted run picks its batches up)"),
]


def llm_overrides(config: ProjectConfig, budget: float | None, batch: bool) -> dict[str, Any]:
    """Config overrides for the options: a budget, and batch mode for every remote model alias."""
    overrides: dict[str, Any] = {}
    if budget is not None:
        overrides["budget_usd"] = budget
    if batch:
        remote = [alias for alias, model in config.models.items() if model.base_url != "local"]
        if not remote:
            raise typer.BadParameter("--batch needs remote models; this profile only uses the local server")
        overrides["models"] = {alias: {"batch": True} for alias in remote}
    return overrides


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    """Stop the command: the reason on stderr, the exit code of its kind (see the module docstring)."""
    console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(code)


@contextmanager
def failing(*errors: type[BaseException]) -> Iterator[None]:
    """Turn the expected errors of a block into a readable ``fail`` instead of a traceback."""
    try:
        yield
    except errors as exc:
        fail(str(exc))


def emit(result: Any, as_json: bool) -> None:
    """A command's result: plain JSON on stdout for ``--json``, pretty JSON on stderr otherwise."""
    if as_json:
        typer.echo(json.dumps(result, indent=2, default=str))
    else:
        console.print_json(json.dumps(result, default=str))


def load_project(profile: str | None, config: Path | None, workspace: str | None,
                 overrides: dict[str, Any] | None = None) -> ProjectConfig:
    """The effective configuration; a broken one fails the command with the reason."""
    # deferred: pydantic config models; --help stays fast
    from pipeline.config import ConfigError, load_config

    try:
        return load_config(profile, config, workspace, overrides)
    except ConfigError as exc:
        fail(str(exc))


def project_workspace(profile: str | None, config: Path | None, workspace: str | None) -> Path:
    """The configured workspace folder as an absolute path (it need not exist)."""
    return Path(load_project(profile, config, workspace).workspace).resolve()


def run_ref(profile: str | None, config: Path | None, workspace: str | None,
            plan: Callable[[ProjectConfig], dict[str, Any]] | None = None) -> RunRef:
    """Load the config (fail early and readably), set Prefect up, return the flow reference.

    ``plan`` derives the run's config overrides from the loaded config (a quota, a budget, the
    model under evaluation); the config is loaded again with them so they are checked too.
    """
    # deferred: pydantic configs and the LLM layer's errors; --help stays fast
    from pipeline.config import ConfigError, load_config
    from pipeline.llm.types import FatalError

    with failing(ConfigError, FatalError):
        cfg = load_config(profile, config, workspace)
        overrides = plan(cfg) if plan else {}
        if overrides:
            cfg = load_config(profile, config, workspace, overrides)
    server = configure_prefect(Path(cfg.workspace))
    if server is not None:
        console.print(f"Prefect: runs at {server.ui_url}/runs (valact server for this workspace)")
    # deferred: only now may Prefect be imported (flows.runtime pulls in the pipeline and Prefect)
    from flows.runtime import RunRef

    return RunRef(
        profile=profile, config_path=str(config) if config else None,
        workspace=cfg.workspace, overrides=overrides,
    ).with_run()


def run_recorded(command: str, ref: RunRef, flow_call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run a flow with progress bars, a run record, run artifacts and readable errors.

    The flow runs under the Prefect tag ``run_tag(run_id)`` so its artifacts can be attached
    to the top-level flow run after it returned (``flows.artifacts.publish_run_artifacts``).
    The run record says ``failed`` whatever stopped the run, also errors the caller handles.
    """
    # deferred: imports Prefect, which run_ref has configured by now
    from prefect import tags

    # deferred: Prefect, the store and the LLM layer, after run_ref configured Prefect
    from flows.artifacts import publish_run_artifacts, run_tag
    from flows.runtime import board, close, context
    from pipeline.config import ConfigError
    from pipeline.llm.local_server import LocalServerError
    from pipeline.llm.types import FatalError
    from pipeline.release.content import EmptyReleaseError
    from pipeline.release.folder import ReleaseExistsError
    from schemas.records import RunRecord

    ctx = context(ref)
    note_missing_input(command, ctx.store)
    record = RunRecord(id=ref.run_id, command=command, started_at=datetime.now(UTC))
    ctx.store.put([record])
    status = "failed"
    try:
        with failing(FatalError, LocalServerError, ReleaseExistsError, EmptyReleaseError, ConfigError,
                     FileNotFoundError), board.progress, tags(run_tag(ref.run_id)):
            result = flow_call()
        publish_run_artifacts(ctx, ref.run_id, result if command == "build" else {command: result})
        status = "completed"
        return result
    finally:
        ctx.store.put([record.model_copy(update={"finished_at": datetime.now(UTC), "status": status})])
        close(ref)


def note_missing_input(command: str, store: Store) -> None:
    """A stage run on an empty input does nothing; say which earlier stage is missing."""
    # deferred: pydantic models are slow to import; --help stays fast
    from schemas.records import ActionCandidate, Post, Record, Scenario

    needs: dict[str, tuple[type[Record], str, str]] = {
        "screen": (Post, "posts", "collect"), "generate": (Scenario, "scenarios", "screen"),
        "assemble": (ActionCandidate, "action candidates", "generate"),
    }
    if command in needs:
        table, what, before = needs[command]
        if store.count(table) == 0:
            console.print(f"note: the workspace holds no {what} yet, so {command} has nothing to do; "
                          f"run `valact {before}` first (or `valact build` for every stage)")
