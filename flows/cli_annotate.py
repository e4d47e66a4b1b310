"""``valact annotate``: the Label Studio server, push, pull, report and corrections.

Push, pull and correct are recorded Prefect runs; the server commands and the report only
touch the workspace folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from flows.cli_common import (
    EXIT_PROBLEMS,
    ConfigOpt,
    JsonOpt,
    ProfileOpt,
    WorkspaceOpt,
    emit,
    fail,
    failing,
    load_project,
    project_workspace,
    run_recorded,
    run_ref,
)

annotate_app = typer.Typer(help="Expert validation in Label Studio (stage 5).", no_args_is_help=True)
server_app = typer.Typer(help="The local Label Studio server (own venv, 127.0.0.1 only).",
                         no_args_is_help=True)
annotate_app.add_typer(server_app, name="server")

ProjectOpt = Annotated[str | None, typer.Option("--project", help="Label Studio project title")]
DesignOpt = Annotated[str | None, typer.Option("--design", help="'blind' (default) or 'verify'")]
UrlOpt = Annotated[str | None, typer.Option("--url", help="your own server; token from LABEL_STUDIO_API_KEY")]


def _overrides(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _flow(name: str, profile: str | None, config: Path | None, workspace: str | None,
          overrides: dict[str, Any], as_json: bool) -> None:
    """Run ``flows.annotate.annotate_<name>_flow`` as a recorded run; Label Studio's refusals fail
    readably."""
    ref = run_ref(profile, config, workspace)
    # deferred: Prefect (configured by run_ref just above), httpx and the Label Studio SDK
    from annotation.client import LabelStudioError
    from flows import annotate

    flow = getattr(annotate, f"annotate_{name}_flow")
    with failing(LabelStudioError, ValueError):
        emit(run_recorded(f"annotate {name}", ref, lambda: flow(ref, overrides)), as_json)


def _server_dir(profile: str | None, config: Path | None, workspace: str | None) -> Path:
    """The workspace's Label Studio data folder."""
    from annotation.settings import server_dir  # deferred: the Label Studio client; --help stays fast

    return server_dir(project_workspace(profile, config, workspace))


@server_app.command("start")
def server_start(profile: ProfileOpt = None, config: ConfigOpt = None, workspace: WorkspaceOpt = None,
                 port: Annotated[int | None, typer.Option(help="port (default: free one)")] = None) -> None:
    """Install Label Studio once into .venv-label-studio/ and start it on 127.0.0.1."""
    from annotation import server  # deferred: loads the store and httpx; --help stays fast

    folder = _server_dir(profile, config, workspace)
    typer.echo("starting Label Studio (first install ~70 s, cold start ~45 s)...", err=True)
    with failing(server.ServerError):
        url, creds = server.start(folder, port=port)
    typer.echo(json.dumps({"url": url, "username": creds.username, "data_dir": str(folder),
                           "credentials_file": str(folder / server.CREDENTIALS_FILE)}, indent=2))


@server_app.command("stop")
def server_stop(profile: ProfileOpt = None, config: ConfigOpt = None, workspace: WorkspaceOpt = None) -> None:
    """Stop the server started for this workspace."""
    from annotation import server  # deferred: loads the store and httpx; --help stays fast

    stopped = server.stop(_server_dir(profile, config, workspace))
    typer.echo("stopped" if stopped else "not running")


@server_app.command("status")
def server_status(profile: ProfileOpt = None, config: ConfigOpt = None,
                  workspace: WorkspaceOpt = None) -> None:
    """Whether the workspace's server is running and healthy."""
    from annotation import server  # deferred: loads the store and httpx; --help stays fast

    state = server.status(_server_dir(profile, config, workspace))
    typer.echo(json.dumps({**state.__dict__, "installed": server.is_installed()}, indent=2))
    if not state.healthy:
        raise typer.Exit(EXIT_PROBLEMS)


@annotate_app.command("push")
def push_cmd(profile: ProfileOpt = None, config: ConfigOpt = None, workspace: WorkspaceOpt = None,
             project: ProjectOpt = None, design: DesignOpt = None, url: UrlOpt = None,
             size: Annotated[int | None, typer.Option(help="sample size (default: CI +/-2 points)")] = None,
             overlap: Annotated[float | None, typer.Option(help="share of tasks for several experts")] = None,
             as_json: JsonOpt = False) -> None:
    """Push the stratified sample (value x domain x generator); safe to repeat."""
    ov = _overrides(project=project, design=design, url=url, sample_size=size, overlap_share=overlap)
    _flow("push", profile, config, workspace, ov, as_json)


@annotate_app.command("pull")
def pull_cmd(profile: ProfileOpt = None, config: ConfigOpt = None, workspace: WorkspaceOpt = None,
             project: ProjectOpt = None, url: UrlOpt = None,
             cron: Annotated[str | None, typer.Option(help="serve on this cron schedule")] = None,
             interval: Annotated[int | None, typer.Option(help="serve every N seconds")] = None,
             as_json: JsonOpt = False) -> None:
    """Pull annotations into the store (new, edited, deleted on server) and write the report."""
    ov = _overrides(project=project, url=url)
    if cron or interval:
        ref = run_ref(profile, config, workspace)
        from flows.annotate import serve_pull  # deferred: imports Prefect, configured by run_ref

        serve_pull(ref, ov, cron=cron, interval_s=interval)
        return
    _flow("pull", profile, config, workspace, ov, as_json)


@annotate_app.command("report")
def report_cmd(profile: ProfileOpt = None, config: ConfigOpt = None, workspace: WorkspaceOpt = None,
               project: ProjectOpt = None) -> None:
    """Write report.md and confusion.png from the annotations in the store (no server needed)."""
    # deferred: matplotlib, the store (pyarrow) and pydantic models; --help stays fast
    from annotation.report import write_report
    from annotation.settings import load_annotation_config, report_dir
    from pipeline.store import NoWorkspaceError, open_existing_store
    from schemas.annotation import AnnotationResult

    project_config = load_project(profile, config, workspace)
    folder = Path(project_config.workspace).resolve()
    cfg = load_annotation_config(project_config, _overrides(project=project))
    try:
        store = open_existing_store(folder)
    except NoWorkspaceError as exc:
        fail(str(exc))
    if not any(r.project == cfg.project for r in store.all(AnnotationResult)):
        typer.echo(f"note: no annotations pulled for project {cfg.project!r} yet "
                   "(run `valact annotate pull`); the report has no figures", err=True)
    typer.echo(str(write_report(store, cfg.project, report_dir(folder, cfg.project))))


@annotate_app.command("correct")
def correct_cmd(profile: ProfileOpt = None, config: ConfigOpt = None, workspace: WorkspaceOpt = None,
                policy: Annotated[str | None, typer.Option(help="drop | relabel | regenerate")] = None,
                as_json: JsonOpt = False) -> None:
    """Apply the correction policy to wrong labels (after assemble, before publish)."""
    _flow("correct", profile, config, workspace, _overrides(policy=policy), as_json)
