"""A release folder on disk: its manifest, and writing it whole or not at all.

The folder is written beside its final place and renamed in, so a crash never leaves half
a release; rebuilding identical content leaves the existing folder untouched (same bytes,
same ``built_at``), which is what lets a warm rebuild prove it changed nothing.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from pipeline.config import config_hash
from pipeline.hashing import sha256_hex
from pipeline.store import Store
from schemas.config import ProjectConfig
from schemas.manifest import FileEntry, ReleaseManifest
from schemas.release import ReleaseDiff

MANIFEST = "manifest.json"


class ReleaseExistsError(Exception):
    """A release with this version exists and holds different content."""


@dataclass
class ReleaseContent:
    """Every file of a release as bytes, plus what the manifest says about them."""

    files: dict[str, bytes]
    rows: dict[str, int]
    counts: dict[str, int]
    models: dict[str, str]
    prompts: dict[str, str]
    warnings: dict[str, int]
    diff: ReleaseDiff | None = None


@dataclass
class PublishResult:
    """Where the release is and whether this run changed it."""

    path: Path
    changed: bool
    manifest: ReleaseManifest


def code_version() -> str:
    """The installed valact version."""
    try:
        return version("valact")
    except PackageNotFoundError:
        return "unknown"


def file_entries(files: dict[str, bytes], rows: dict[str, int]) -> list[FileEntry]:
    """Manifest entries (path, sha256, size, rows) in path order."""
    return [
        FileEntry(path=path, sha256=sha256_hex(data), bytes=len(data), rows=rows.get(path))
        for path, data in sorted(files.items())
    ]


def read_manifest(folder: Path) -> ReleaseManifest | None:
    """The manifest of a release folder, or None when there is none."""
    path = folder / MANIFEST
    if not path.is_file():
        return None
    return ReleaseManifest.model_validate(json.loads(path.read_text(encoding="utf-8")))


def write_release(
    target: Path, content: ReleaseContent, config: ProjectConfig, overwrite: bool = False
) -> PublishResult:
    """Write the folder atomically, or leave it alone when it already holds the same files."""
    entries = file_entries(content.files, content.rows)
    existing = read_manifest(target)
    pub = config.publish
    if existing is not None and existing.files == entries:
        return PublishResult(target, changed=False, manifest=existing)
    if existing is not None and not overwrite:
        raise ReleaseExistsError(
            f"release {pub.name} {pub.version} already exists at {target} "
            "with different content; bump the version or pass --overwrite"
        )
    manifest = ReleaseManifest(
        name=pub.name, version=pub.version, text_policy=pub.text_policy,
        built_at=datetime.now(UTC).isoformat(timespec="seconds"), code_version=code_version(),
        config_hash=config_hash(config), profile=config.profile,
        counts=content.counts, models=content.models, prompts=content.prompts,
        files=entries, warnings=content.warnings,
    )
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    for path, data in content.files.items():
        out = staging / path
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
    (staging / MANIFEST).write_text(manifest.model_dump_json(indent=2) + "\n", encoding="utf-8")
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)
    return PublishResult(target, changed=True, manifest=manifest)


def remember_release(store: Store, path: Path, name: str, version: str) -> None:
    """Note the latest release in the workspace (``valact status`` and the release commands read it)."""
    store.set_meta("last_release", {"path": str(path), "version": version, "name": name})
