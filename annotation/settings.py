"""Where a validation project's settings and server connection come from.

The settings are the ``[annotation]`` table of the project config (``valact.toml`` or a
profile), with command-line overrides on top. Without a ``url`` valact uses the local
server it started for the workspace; with one, the token is read from ``api_key_env``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from annotation import server
from annotation.client import LabelStudioClient, LabelStudioError
from schemas.config import AnnotationConfig, ProjectConfig


def server_dir(workspace: Path) -> Path:
    """The local server's data folder inside the workspace."""
    return workspace / "label-studio"


def report_dir(workspace: Path, project: str) -> Path:
    """Where the report of a project is written."""
    return workspace / "annotation" / project


def load_annotation_config(project: ProjectConfig, overrides: dict[str, Any] | None = None
                           ) -> AnnotationConfig:
    """The project's ``[annotation]`` settings with non-None overrides applied (and validated)."""
    data = project.annotation.model_dump()
    data.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return AnnotationConfig.model_validate(data)


def connect(cfg: AnnotationConfig, workspace: Path) -> LabelStudioClient:
    """A client for the configured server, or for the workspace's local one."""
    if cfg.url:
        return LabelStudioClient.from_env(cfg.url, cfg.api_key_env)
    state = server.status(server_dir(workspace))
    if not state.healthy or state.url is None:
        raise LabelStudioError(
            "no Label Studio server: run `valact annotate server start` "
            "or set `url` under [annotation] in valact.toml"
        )
    return LabelStudioClient(state.url, server.credentials(server_dir(workspace)).token)
