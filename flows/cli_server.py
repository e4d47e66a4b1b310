"""``valact server start|stop|status``: keep one Prefect server (and its UI) for a workspace.

While it is up, every valact command on that workspace sends its runs to it instead of
starting Prefect's ephemeral server (faster start, runs and artifacts visible in the UI).
Process management lives in ``flows.server``; this module only parses options and prints.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

server_app = typer.Typer(
    help="A long-lived Prefect server with its UI on 127.0.0.1, used by every command while it is up.",
    no_args_is_help=True,
)

ProfileOpt = Annotated[str | None, typer.Option("--profile", "-p", help="packaged profile")]
ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="project TOML")]
WorkspaceOpt = Annotated[str | None, typer.Option("--workspace", "-w", help="workspace folder")]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable JSON on stdout")]


def _workspace(profile: str | None, config: Path | None, workspace: str | None) -> Path:
    # Imported when a command runs so `valact --help` stays fast (see flows/cli.py's docstring).
    from flows.cli import _fail
    from pipeline.config import ConfigError, load_config

    try:
        return Path(load_config(profile, config, workspace).workspace).resolve()
    except ConfigError as exc:
        _fail(str(exc))
        raise


@server_app.command("start")
def start(
    profile: ProfileOpt = None, config: ConfigOpt = None, workspace: WorkspaceOpt = None,
    timeout: Annotated[float, typer.Option(min=1, help="seconds to wait for the server to answer")] = 300.0,
    as_json: JsonOpt = False,
) -> None:
    """Start `prefect server start` on a free loopback port with the workspace's Prefect home.

    Safe to repeat: a server already up is left running. Its log is workspace/logs/prefect-server.log.
    """
    # Imported when the command runs (see flows/cli.py's docstring).
    from flows import server
    from flows.cli import _fail
    from flows.prefect_env import server_environment

    folder = _workspace(profile, config, workspace)
    typer.echo("starting the Prefect server (cold start 10-40 s)...", err=True)
    try:
        info, started = server.start(folder, server_environment(folder), timeout)
    except server.ServerError as exc:
        _fail(str(exc))
        return
    if as_json:
        typer.echo(json.dumps({**info.as_dict(), "started": started}, indent=2))
    else:
        typer.echo(f"{'started' if started else 'already running'}: UI {info.ui_url}  API {info.api_url}  "
                   f"(pid {info.pid}, log {info.log})")


@server_app.command("stop")
def stop(profile: ProfileOpt = None, config: ConfigOpt = None, workspace: WorkspaceOpt = None) -> None:
    """Stop the workspace's server; commands go back to Prefect's ephemeral server."""
    from flows import server  # imported when the command runs (see flows/cli.py's docstring)

    info = server.stop(_workspace(profile, config, workspace))
    typer.echo(f"stopped (pid {info.pid}, port {info.port})" if info else "not running")


@server_app.command("status")
def status(
    profile: ProfileOpt = None, config: ConfigOpt = None, workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Whether the workspace's server is up and answering; exits 1 when it is not."""
    from flows import server  # imported when the command runs (see flows/cli.py's docstring)

    folder = _workspace(profile, config, workspace)
    info = server.read_record(server.prefect_home(folder))
    up = info is not None and server.is_healthy(info)
    if as_json:
        typer.echo(json.dumps({"running": up, **(info.as_dict() if info else {})}, indent=2))
    elif info is None:
        typer.echo("not running (commands use Prefect's ephemeral server)")
    else:
        state = "running" if up else "not answering (stale record; `valact server start` replaces it)"
        typer.echo(f"{state}: UI {info.ui_url}  API {info.api_url}  "
                   f"(pid {info.pid}, since {info.started_at}, log {info.log})")
    if not up:
        raise typer.Exit(1)
