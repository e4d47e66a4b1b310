"""``valact annotate``: the Label Studio server, push, pull, report and corrections.

Registered on the main app in ``flows/cli.py``; helpers of that module are imported inside
the commands (it imports this one at load time).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:  # a type only: importing the pydantic configs would slow `valact --help`
    from schemas.config import ProjectConfig

annotate_app = typer.Typer(help="Expert validation in Label Studio (stage 5).", no_args_is_help=True)
server_app = typer.Typer(help="The local Label Studio server (own venv, 127.0.0.1 only).",
                         no_args_is_help=True)
annotate_app.add_typer(server_app, name="server")

ProfileOpt = Annotated[str | None, typer.Option("--profile", "-p", help="packaged profile")]
ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="project TOML")]
WorkspaceOpt = Annotated[str | None, typer.Option("--workspace", "-w", help="workspace folder")]
ProjectOpt = Annotated[str | None, typer.Option("--project", help="Label Studio project title")]
DesignOpt = Annotated[str | None, typer.Option("--design", help="'blind' (default) or 'verify'")]
UrlOpt = Annotated[str | None, typer.Option("--url", help="your own server; token from LABEL_STUDIO_API_KEY")]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable JSON on stdout")]


def _project(profile: str | None, config: Path | None, workspace: str | None) -> ProjectConfig:
    from flows.cli import _fail
    from pipeline.config import ConfigError, load_config

    try:
        return load_config(profile, config, workspace)
    except ConfigError as exc:
        _fail(str(exc))
        raise


def _workspace(profile: str | None, config: Path | None, workspace: str | None) -> Path:
    return Path(_project(profile, config, workspace).workspace).resolve()


def _overrides(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _flow(command: str, profile: str | None, config: Path | None, workspace: str | None,
          call: Any, as_json: bool) -> None:
    from annotation.client import LabelStudioError
    from flows.cli import _emit, _fail, _ref, _run

    ref = _ref(profile, config, workspace, None)
    try:
        _emit(_run(command, ref, lambda: call(ref)), as_json)
    except (LabelStudioError, ValueError) as exc:
        _fail(str(exc))


@server_app.command("start")
def server_start(profile: ProfileOpt = None, config: ConfigOpt = None, workspace: WorkspaceOpt = None,
                 port: Annotated[int | None, typer.Option(help="port (default: free one)")] = None) -> None:
    """Install Label Studio once into .venv-label-studio/ and start it on 127.0.0.1."""
    from annotation import server
    from annotation.settings import server_dir

    folder = server_dir(_workspace(profile, config, workspace))
    typer.echo("starting Label Studio (first install ~70 s, cold start ~45 s)...", err=True)
    url, creds = server.start(folder, port=port)
    typer.echo(json.dumps({"url": url, "username": creds.username, "data_dir": str(folder),
                           "credentials_file": str(folder / server.CREDENTIALS_FILE)}, indent=2))


@server_app.command("stop")
def server_stop(profile: ProfileOpt = None, config: ConfigOpt = None, workspace: WorkspaceOpt = None) -> None:
    """Stop the server started for this workspace."""
    from annotation import server
    from annotation.settings import server_dir

    stopped = server.stop(server_dir(_workspace(profile, config, workspace)))
    typer.echo("stopped" if stopped else "not running")


@server_app.command("status")
def server_status(profile: ProfileOpt = None, config: ConfigOpt = None,
                  workspace: WorkspaceOpt = None) -> None:
    """Whether the workspace's server is running and healthy."""
    from annotation import server
    from annotation.settings import server_dir

    state = server.status(server_dir(_workspace(profile, config, workspace)))
    typer.echo(json.dumps({**state.__dict__, "installed": server.is_installed()}, indent=2))
    if not state.healthy:
        raise typer.Exit(1)


@annotate_app.command("push")
def push_cmd(profile: ProfileOpt = None, config: ConfigOpt = None, workspace: WorkspaceOpt = None,
             project: ProjectOpt = None, design: DesignOpt = None, url: UrlOpt = None,
             size: Annotated[int | None, typer.Option(help="sample size (default: CI +/-2 points)")] = None,
             overlap: Annotated[float | None, typer.Option(help="share of tasks for several experts")] = None,
             as_json: JsonOpt = False) -> None:
    """Push the stratified sample (value x domain x generator); safe to repeat."""
    from flows.annotate import annotate_push_flow

    ov = _overrides(project=project, design=design, url=url, sample_size=size, overlap_share=overlap)
    _flow("annotate push", profile, config, workspace, lambda ref: annotate_push_flow(ref, ov), as_json)


@annotate_app.command("pull")
def pull_cmd(profile: ProfileOpt = None, config: ConfigOpt = None, workspace: WorkspaceOpt = None,
             project: ProjectOpt = None, url: UrlOpt = None,
             cron: Annotated[str | None, typer.Option(help="serve on this cron schedule")] = None,
             interval: Annotated[int | None, typer.Option(help="serve every N seconds")] = None,
             as_json: JsonOpt = False) -> None:
    """Pull annotations into the store (new, edited, deleted on server) and write the report."""
    ov = _overrides(project=project, url=url)
    if cron or interval:
        from flows.annotate import serve_pull
        from flows.cli import _ref

        serve_pull(_ref(profile, config, workspace, None), ov, cron=cron, interval_s=interval)
        return
    from flows.annotate import annotate_pull_flow

    _flow("annotate pull", profile, config, workspace, lambda ref: annotate_pull_flow(ref, ov), as_json)


@annotate_app.command("report")
def report_cmd(profile: ProfileOpt = None, config: ConfigOpt = None, workspace: WorkspaceOpt = None,
               project: ProjectOpt = None) -> None:
    """Write report.md and confusion.png from the annotations in the store (no server needed)."""
    from annotation.report import write_report
    from annotation.settings import load_annotation_config, report_dir
    from flows.cli import _fail
    from pipeline.store import NoWorkspaceError, open_existing_store
    from schemas.annotation import AnnotationResult

    project_config = _project(profile, config, workspace)
    folder = Path(project_config.workspace).resolve()
    cfg = load_annotation_config(project_config, _overrides(project=project))
    try:
        store = open_existing_store(folder)
    except NoWorkspaceError as exc:
        _fail(str(exc))
    if not any(r.project == cfg.project for r in store.all(AnnotationResult)):
        typer.echo(f"note: no annotations pulled for project {cfg.project!r} yet "
                   "(run `valact annotate pull`); the report has no figures", err=True)
    typer.echo(str(write_report(store, cfg.project, report_dir(folder, cfg.project))))


@annotate_app.command("correct")
def correct_cmd(profile: ProfileOpt = None, config: ConfigOpt = None, workspace: WorkspaceOpt = None,
                policy: Annotated[str | None, typer.Option(help="drop | relabel | regenerate")] = None,
                as_json: JsonOpt = False) -> None:
    """Apply the correction policy to wrong labels (after assemble, before publish)."""
    from flows.annotate import annotate_correct_flow

    ov = _overrides(policy=policy)
    _flow("annotate correct", profile, config, workspace, lambda ref: annotate_correct_flow(ref, ov), as_json)
