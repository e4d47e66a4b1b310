"""Load the effective configuration: packaged profile, project TOML, then environment.

Precedence (later wins): the profile's ``extends`` chain, the profile itself, the project
file (``valact.toml`` or ``--config``), then ``VALACT_WORKSPACE``. Secrets never live in
TOML: ``.env`` is loaded into the environment (without overriding what is already set) and
models name the variable that holds their key.
"""

from __future__ import annotations

import os
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from dotenv import load_dotenv

from pipeline.hashing import canonical_json, sha256_hex
from schemas.config import ProjectConfig

PROJECT_FILE = "valact.toml"


class ConfigError(Exception):
    """The configuration cannot be loaded; the message says what to fix."""


def available_profiles() -> list[str]:
    """Names of the profiles packaged with valact."""
    folder = resources.files("pipeline") / "profiles"
    return sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))


def _read_profile(name: str) -> dict[str, Any]:
    path = resources.files("pipeline") / "profiles" / f"{name}.toml"
    if not path.is_file():
        raise ConfigError(f"unknown profile {name!r}; available: {', '.join(available_profiles())}")
    return tomllib.loads(path.read_text(encoding="utf-8"))


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Merge nested tables; lists and scalars in ``override`` replace those in ``base``."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _resolve_profile(name: str, seen: tuple[str, ...] = ()) -> dict[str, Any]:
    if name in seen:
        raise ConfigError(f"profile inheritance loops: {' -> '.join((*seen, name))}")
    data = _read_profile(name)
    parent = data.pop("extends", None)
    if parent:
        data = deep_merge(_resolve_profile(parent, (*seen, name)), data)
    return data


def load_config(
    profile: str | None = None,
    config_path: Path | None = None,
    workspace: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> ProjectConfig:
    """Build the effective config. Raises ConfigError with a readable message on any problem."""
    load_dotenv(Path.cwd() / ".env", override=False)
    project: dict[str, Any] = {}
    path = config_path or (Path.cwd() / PROJECT_FILE)
    if config_path is not None and not config_path.is_file():
        raise ConfigError(f"config file not found: {config_path}")
    if path.is_file():
        try:
            project = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    extends = project.pop("extends", None)  # popped first: --profile may override it
    chosen = profile or os.environ.get("VALACT_PROFILE") or extends or project.get("profile") or "default"
    project.pop("profile", None)
    data = deep_merge(_resolve_profile(chosen), project)
    data = deep_merge(data, overrides or {})
    data["profile"] = chosen
    ws = workspace or os.environ.get("VALACT_WORKSPACE")
    if ws:
        data["workspace"] = ws
    try:
        return ProjectConfig.model_validate(data)
    except ValueError as exc:
        raise ConfigError(f"invalid configuration (profile {chosen!r}):\n{exc}") from exc


def config_hash(config: ProjectConfig) -> str:
    """Hash of everything that shapes the data (the workspace location does not)."""
    data = config.model_dump(mode="json", exclude={"workspace"})
    return sha256_hex(canonical_json(data))[:16]


def as_toml(view: dict[str, Any]) -> str:
    """The view as TOML. TOML has no null, so unset keys are left out (and listed in a comment)."""
    import tomli_w

    unset: list[str] = []

    def drop_none(node: Any, path: str) -> Any:
        if isinstance(node, dict):
            kept = {}
            for key, value in node.items():
                if value is None:
                    unset.append(f"{path}{key}")
                else:
                    kept[key] = drop_none(value, f"{path}{key}.")
            return kept
        if isinstance(node, list):
            return [drop_none(item, path) for item in node if item is not None]
        return node

    body = tomli_w.dumps(drop_none(view, ""))
    header = f"# unset (no value): {', '.join(unset)}\n" if unset else ""
    return header + body


def redacted_view(config: ProjectConfig) -> dict[str, Any]:
    """The config as a dict plus, per model, whether its key is set, never the key itself."""
    data = config.model_dump(mode="json")
    for alias, model in config.models.items():
        env = model.api_key_env
        if env is None:
            state = "(none needed)"
        else:
            state = "set (redacted)" if os.environ.get(env) else f"NOT SET: {env}"
        data["models"][alias]["api_key"] = state
    salt_env = config.collect.author_salt_env
    data["collect"]["author_salt"] = "set (redacted)" if os.environ.get(salt_env) else "default salt"
    return data
