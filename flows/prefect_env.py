"""Prefect's settings for a workspace, in place before Prefect reads them.

Why this module exists: Prefect reads its settings once, when ``prefect`` is first imported
(``prefect.context`` builds its root settings context from the environment then). Settings
put into ``os.environ`` afterwards are ignored, which is how a first command on a loaded
2-core machine used to die after ~40 s with "Timed out while attempting to connect to
ephemeral Prefect API server": the longer startup timeout arrived too late. So:

- ``apply_defaults`` runs first thing in the console entry point (nothing imported yet);
- ``configure_prefect`` adds the workspace's Prefect home and, when ``valact server`` is up
  for the workspace, its API URL; it runs before a command imports any flow, and if Prefect
  was imported earlier anyway (tests, library use) it makes Prefect re-read the environment.

Variables the user exported win over all of these (``setdefault``), so ``PREFECT_API_URL``
pointing at a team server or Prefect Cloud is kept. Light on imports: no Prefect here.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from flows import server
from flows.server import ServerInfo

PREFECT_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    # Prefect counts only its own sleeps against this while it polls a starting server; on
    # 2 busy cores the embedded server needs 20-60 s, far over Prefect's default of 20.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "600",
}


def apply_defaults() -> None:
    """valact's Prefect defaults into the environment, unless the user set them."""
    for key, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(key, value)


def server_environment(workspace: Path) -> dict[str, str]:
    """The Prefect settings a ``valact server`` process for this workspace runs with."""
    env = {k: v for k, v in os.environ.items() if k.startswith("PREFECT_")}
    return {**PREFECT_DEFAULTS, **env, "PREFECT_HOME": str(server.prefect_home(workspace))}


def configure_prefect(workspace: Path) -> ServerInfo | None:
    """Point Prefect at the workspace: its home, and its running server if there is one.

    Returns the server in use (None: Prefect's ephemeral server, or the user's own
    ``PREFECT_API_URL``). Call before running a flow; safe to call again.
    """
    apply_defaults()
    home = server.prefect_home(workspace)
    home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_HOME", str(home))
    info = None
    if "PREFECT_API_URL" not in os.environ:
        info = server.running(workspace)
        if info is not None:
            os.environ["PREFECT_API_URL"] = info.api_url
    elif (recorded := server.running(workspace)) and os.environ["PREFECT_API_URL"] == recorded.api_url:
        info = recorded
    _reload_if_imported()
    return info


def _reload_if_imported() -> None:
    """Make an already imported Prefect re-read the environment (its settings are cached)."""
    context = sys.modules.get("prefect.context")
    if context is not None:
        context.refresh_global_settings_context()
