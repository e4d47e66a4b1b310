"""The ``valact`` command line. Stage commands run Prefect flows; ``status`` and ``config``
only read.

Import rule for this module and its sub-CLIs (``flows/cli_*.py``): at module level only
typer, rich's console and other sub-CLIs, so ``valact --help`` (and typer's completion)
starts in well under a second. Everything else, our own modules included (pydantic
configs, the store, the LLM layer, Prefect), is imported inside the command that needs
it; each such import carries a short comment saying so. ``tests/unit/test_cli_help.py``
checks that ``--help`` imports none of the heavy modules.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from flows import cli_collect
from flows.cli_annotate import annotate_app
from flows.cli_cache import cache_app
from flows.cli_evaluate import register as register_evaluate_commands
from flows.cli_llm import BatchOpt, BudgetOpt, llm_overrides, print_llm_health
from flows.cli_release import register as register_release_commands
from flows.cli_server import server_app

if TYPE_CHECKING:
    from pipeline.store import Store

app = typer.Typer(
    help=(
        "valact builds, audits and publishes value-action benchmarks in the style of VALACT-15K.\n\n"
        "Start offline with `valact build --profile demo` (no keys, no network): it collects the "
        "bundled Reddit-style posts, screens them with a local model, generates one action per "
        "Schwartz value with two generators, assembles 5 questions x 4 options per scenario and "
        "writes a release folder. `valact status` then shows what happened."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Inspect the effective configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(annotate_app, name="annotate")
app.add_typer(cache_app, name="cache")
app.add_typer(server_app, name="server")
register_release_commands(app)
register_evaluate_commands(app)
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
LimitOpt = Annotated[
    int | None, typer.Option("--limit", min=1, help="at most N scenarios per domain (overrides the quota)")
]


def _fail(message: str, code: int = 2) -> None:
    console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


def _ref(
    profile: str | None, config: Path | None, workspace: str | None, limit: int | None,
    budget: float | None = None, batch: bool = False,
) -> Any:
    """Load the config (fail early and readably), set up Prefect, return the flow reference."""
    # Imported here so `valact --help` stays fast (see the module docstring).
    from flows.prefect_env import configure_prefect
    from pipeline.config import ConfigError, load_config

    overrides: dict[str, Any] = {"screen": {"quota_per_domain": limit}} if limit else {}
    try:
        cfg = load_config(profile, config, workspace, overrides)
        if budget is not None or batch:
            overrides = {**overrides, **llm_overrides(cfg, budget, batch)}
            cfg = load_config(profile, config, workspace, overrides)
    except ConfigError as exc:
        _fail(str(exc))
    server = configure_prefect(Path(cfg.workspace))
    if server is not None:
        console.print(f"Prefect: runs at {server.ui_url}/runs (valact server for this workspace)")
    # Only now may Prefect be imported (flows.runtime pulls in the pipeline and, through it, Prefect).
    from flows.runtime import RunRef

    return RunRef(
        profile=profile, config_path=str(config) if config else None,
        workspace=cfg.workspace, overrides=overrides,
    ).with_run()


def _run(command: str, ref: Any, flow_call: Any) -> dict[str, Any]:
    """Run a flow with progress bars, a run record, run artifacts and readable errors.

    The flow runs under the Prefect tag ``run_tag(run_id)`` so its artifacts can be attached
    to the top-level flow run after it returned (``flows.artifacts.publish_run_artifacts``).
    """
    # Imported when a command runs, after configure_prefect (see the module docstring).
    from prefect import tags

    from flows.artifacts import publish_run_artifacts, run_tag
    from flows.runtime import board, close, context
    from pipeline.config import ConfigError
    from pipeline.llm.local_server import LocalServerError
    from pipeline.llm.types import FatalError
    from pipeline.stages.publish import EmptyReleaseError, ReleaseExistsError
    from schemas.records import RunRecord

    ctx = context(ref)
    _note_missing_input(command, ctx.store)
    record = RunRecord(id=ref.run_id, command=command, started_at=datetime.now(UTC))
    ctx.store.put([record])
    status = "failed"
    try:
        with board.progress, tags(run_tag(ref.run_id)):
            result: dict[str, Any] = flow_call()
        publish_run_artifacts(ctx, ref.run_id, result if command == "build" else {command: result})
        status = "completed"
        return result
    except (FatalError, LocalServerError, ReleaseExistsError, EmptyReleaseError, ConfigError,
            FileNotFoundError) as exc:
        _fail(str(exc))
        raise  # unreachable; keeps type checkers content
    finally:
        ctx.store.put([record.model_copy(update={"finished_at": datetime.now(UTC), "status": status})])
        close(ref)


def _note_missing_input(command: str, store: Store) -> None:
    """A stage run on an empty input does nothing; say which earlier stage is missing."""
    # Imported when a command runs (pydantic models are slow to import; see the module docstring).
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


def _emit(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(result, indent=2, default=str))
    else:
        console.print_json(json.dumps(result, default=str))


@app.command()
def build(
    profile: ProfileOpt = None, config: ConfigOpt = None, workspace: WorkspaceOpt = None,
    limit: LimitOpt = None,
    overwrite: Annotated[bool, typer.Option(help="replace an existing release of the same version")] = False,
    as_json: JsonOpt = False, budget: BudgetOpt = None, batch: BatchOpt = False,
) -> None:
    """Run every stage end to end: collect, screen, generate, assemble, publish.

    Safe to re-run: finished work is skipped and model answers come from the cache, so a run
    interrupted at any point resumes where it stopped.
    """
    ref = _ref(profile, config, workspace, limit, budget, batch)
    from flows.build import build_flow

    result = _run("build", ref, lambda: build_flow(ref, overwrite))
    _emit(result, as_json)
    release = result["publish"]["path"]
    console.print(f"[bold green]release:[/] {release}  (valact status shows details)")


def _stage_command(name: str, doc: str) -> None:
    def command(
        profile: ProfileOpt = None, config: ConfigOpt = None, workspace: WorkspaceOpt = None,
        limit: LimitOpt = None, as_json: JsonOpt = False, budget: BudgetOpt = None, batch: BatchOpt = False,
    ) -> None:
        ref = _ref(profile, config, workspace, limit, budget, batch)
        from flows import stages

        flow = getattr(stages, f"{name}_flow")
        _emit(_run(name, ref, lambda: flow(ref)), as_json)

    command.__doc__ = doc
    app.command(name=name)(command)


app.command(name="collect")(cli_collect.collect)
app.command(name="rehydrate")(cli_collect.rehydrate)
_stage_command("screen", "Stage 2: rule prefilter, LLM Yes/No screen with tie-break, quota per domain.")
_stage_command("generate", "Stage 3: each generator writes one action per Schwartz value per scenario.")


@app.command(name="assemble")
def assemble_cmd(
    profile: ProfileOpt = None, config: ConfigOpt = None, workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Stage 4: five questions of four value-distinct actions per scenario (no model calls)."""
    ref = _ref(profile, config, workspace, None)
    from flows.stages import assemble_flow

    _emit(_run("assemble", ref, lambda: assemble_flow(ref)), as_json)


@app.command(name="publish")
def publish_cmd(
    profile: ProfileOpt = None, config: ConfigOpt = None, workspace: WorkspaceOpt = None,
    overwrite: Annotated[bool, typer.Option(help="replace an existing release of the same version")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Stage 6: write the release folder (parquet tables, dataset card, manifest)."""
    ref = _ref(profile, config, workspace, None)
    from flows.stages import publish_flow

    _emit(_run("publish", ref, lambda: publish_flow(ref, overwrite)), as_json)


@app.command()
def status(
    profile: ProfileOpt = None, config: ConfigOpt = None, workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """What the workspace holds: counts per stage, posts and checkpoints, drops, model calls, cost, release.

    Model calls are split into requests made and answers served from the cache, with
    failures, invalid answers, tokens and cost per stage and model."""
    # Imported when the command runs, not for --help (see the module docstring).
    from pipeline.config import ConfigError, load_config
    from pipeline.status import workspace_status
    from pipeline.store import NoWorkspaceError, open_existing_store

    try:
        cfg = load_config(profile, config, workspace)
    except ConfigError as exc:
        _fail(str(exc))
    folder = Path(cfg.workspace)
    try:
        store = open_existing_store(folder)
    except NoWorkspaceError as exc:
        _fail(str(exc))
    data = workspace_status(store)
    if as_json:
        typer.echo(json.dumps(data, indent=2, default=str))
        return
    _print_status(data)


def _print_collect(collect: dict[str, Any], out: Console) -> None:
    sources = ", ".join(f"{n} from {src}" for src, n in collect["posts_by_source"].items()) or "no posts"
    out.print(f"[bold]posts[/] {sources}; {collect['deleted']} deleted and {collect['removed']} removed "
              f"on Reddit; {collect['revisions']} earlier versions kept for {collect['revised_posts']} posts")
    if collect["checkpoints"]:
        marks = Table("subreddit", "listing", "newest post (UTC)", "runs", "last fetched",
                      title="Listing checkpoints (the next collect starts here)")
        for c in collect["checkpoints"]:
            newest = datetime.fromtimestamp(c["newest_created_utc"], UTC).strftime("%Y-%m-%d %H:%M")
            listing = c["listing"] + (f" ({c['filter']})" if c["filter"] else "")
            marks.add_row(c["subreddit"], listing, newest, str(c["completed_runs"]), str(c["last_fetched"]))
        out.print(marks)


def _print_status(data: dict[str, Any]) -> None:
    out = Console()
    out.print(f"[bold]workspace[/] {data['workspace']}")
    counts = Table("stage", "count", title="Counts")
    for key, value in data["counts"].items():
        counts.add_row(key, str(value))
    out.print(counts)
    _print_collect(data["collect"], out)
    drops = Table("stage", "item", "reason", "detail / title", title="Dropped items")
    for d in data["dropped_items"]:
        drops.add_row(d["stage"], d["item"], d["reason"], (d["detail"] or d["title"])[:70])
    out.print(drops)
    llm = data["llm"]
    calls = Table("stage", "model", "requests", "cache hits", "errors", "invalid", "tokens in",
                  "tokens out", "cost $", title="LLM calls (all runs)")
    for r in llm["by_stage_model"]:
        calls.add_row(
            r["stage"], r["model"], *(str(r[k]) for k in
            ("requests", "cache_hits", "errors", "invalid_output", "tokens_in", "tokens_out")),
            f"{r['cost_usd']:.4f}",
        )
    out.print(calls)
    print_llm_health(data, out)
    if data["last_run"]:
        last = data["last_run"]
        out.print(f"last run {last['id']} ({last['command']}, {last['status']}): "
                  f"{last['llm']['requests']} model requests, {last['llm']['cache_hits']} from cache")
    if data["release"]:
        out.print(f"[bold green]release[/] {data['release']['path']}")


@config_app.command("show")
def config_show(
    profile: ProfileOpt = None, config: ConfigOpt = None, workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Print the effective configuration; API keys show only as set / not set."""
    # Imported when the command runs, not for --help (see the module docstring).
    from pipeline.config import ConfigError, as_toml, load_config, redacted_view

    try:
        cfg = load_config(profile, config, workspace)
    except ConfigError as exc:
        _fail(str(exc))
    view = redacted_view(cfg)
    if as_json:
        typer.echo(json.dumps(view, indent=2, default=str))
    else:
        typer.echo(as_toml(view))


def main() -> None:
    """Console-script entry point: Prefect's defaults go into the environment before anything
    can import Prefect (it reads its settings once, at import; see flows.prefect_env)."""
    from flows.prefect_env import apply_defaults

    apply_defaults()
    app(prog_name="valact")


if __name__ == "__main__":
    main()
