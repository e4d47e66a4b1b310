"""Where a validation project's settings and server connection come from.

The project config (``schemas.config.ProjectConfig``) has no annotation section, so the
settings live in ``<workspace>/annotation.toml`` (an ``[annotation]`` table, all keys
optional) with command-line overrides on top. Without a ``url`` valact uses the local
server it started for the workspace; with one, the token is read from ``api_key_env``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from annotation import server
from annotation.client import LabelStudioClient, LabelStudioError
from schemas.annotation import AnnotationConfig

SETTINGS_FILE = "annotation.toml"


def server_dir(workspace: Path) -> Path:
    """The local server's data folder inside the workspace."""
    return workspace / "label-studio"


def report_dir(workspace: Path, project: str) -> Path:
    """Where the report of a project is written."""
    return workspace / "annotation" / project


def load_annotation_config(workspace: Path, overrides: dict[str, Any] | None = None) -> AnnotationConfig:
    """Settings from ``annotation.toml`` (if present) with non-None overrides applied."""
    data: dict[str, Any] = {}
    path = workspace / SETTINGS_FILE
    if path.exists():
        data = dict(tomllib.loads(path.read_text(encoding="utf-8")).get("annotation", {}))
    data.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return AnnotationConfig.model_validate(data)


def connect(cfg: AnnotationConfig, workspace: Path) -> LabelStudioClient:
    """A client for the configured server, or for the workspace's local one."""
    if cfg.url:
        return LabelStudioClient.from_env(cfg.url, cfg.api_key_env)
    state = server.status(server_dir(workspace))
    if not state.healthy or state.url is None:
        raise LabelStudioError(
            "no Label Studio server: run `valact annotate server start` or set `url` in annotation.toml"
        )
    return LabelStudioClient(state.url, server.credentials(server_dir(workspace)).token)
