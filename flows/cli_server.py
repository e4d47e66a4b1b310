"""``valact server start|stop|status``: keep one Prefect server (and its UI) for a workspace.

While it is up, every valact command on that workspace sends its runs to it instead of
starting Prefect's ephemeral server (faster start, runs and artifacts visible in the UI).
Process management lives in ``flows.server``; this module only parses options and prints.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from flows import server  # light (no Prefect); `valact` loads it anyway through flows.prefect_env
from flows.cli_common import (
    EXIT_PROBLEMS,
    ConfigOpt,
    JsonOpt,
    ProfileOpt,
    WorkspaceOpt,
    failing,
    project_workspace,
)
from flows.prefect_env import server_environment

server_app = typer.Typer(
    help="A long-lived Prefect server with its UI on 127.0.0.1, used by every command while it is up.",
    no_args_is_help=True,
)


@server_app.command("start")
def start(
    profile: ProfileOpt = None, config: ConfigOpt = None, workspace: WorkspaceOpt = None,
    timeout: Annotated[float, typer.Option(min=1, help="seconds to wait for the server to answer")] = 300.0,
    as_json: JsonOpt = False,
) -> None:
    """Start `prefect server start` on a free loopback port with the workspace's Prefect home.

    Safe to repeat: a server already up is left running. Its log is workspace/logs/prefect-server.log.
    """
    folder = project_workspace(profile, config, workspace)
    typer.echo("starting the Prefect server (cold start 10-40 s)...", err=True)
    with failing(server.ServerError):
        info, started = server.start(folder, server_environment(folder), timeout)
    if as_json:
        typer.echo(json.dumps({**info.as_dict(), "started": started}, indent=2))
    else:
        typer.echo(f"{'started' if started else 'already running'}: UI {info.ui_url}  API {info.api_url}  "
                   f"(pid {info.pid}, log {info.log})")


@server_app.command("stop")
def stop(profile: ProfileOpt = None, config: ConfigOpt = None, workspace: WorkspaceOpt = None) -> None:
    """Stop the workspace's server; commands go back to Prefect's ephemeral server."""
    info = server.stop(project_workspace(profile, config, workspace))
    typer.echo(f"stopped (pid {info.pid}, port {info.port})" if info else "not running")


@server_app.command("status")
def status(
    profile: ProfileOpt = None, config: ConfigOpt = None, workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Whether the workspace's server is up and answering; exits 1 when it is not."""
    folder = project_workspace(profile, config, workspace)
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
        raise typer.Exit(EXIT_PROBLEMS)
