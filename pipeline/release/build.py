"""Build a versioned release folder from its declaration.

The declaration decides the data source, text policy, license and prose; the build writes
``<workspace>/releases/<name>/<version>`` with a diff and changelog against the previous
version. A version whose manifest is kept under ``releases/`` (it was published) can only be
rebuilt to exactly the same files; anything else must become a new version.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.config import load_config
from pipeline.release.content import ReleaseOptions, ValidationSource, build_release_files
from pipeline.release.declarations import (
    DeclarationError,
    load_declaration,
    previous_version,
    published_manifest,
)
from pipeline.release.folder import (
    MANIFEST,
    PublishResult,
    ReleaseExistsError,
    file_entries,
    remember_release,
    write_release,
)
from pipeline.store import open_store
from schemas.config import ProjectConfig
from schemas.release import ReleaseDeclaration, ReleaseDiff


@dataclass
class BuildResult:
    """The written release and how it differs from the previous one."""

    release: PublishResult
    declaration: ReleaseDeclaration
    diff: ReleaseDiff | None


def release_config(declaration: ReleaseDeclaration) -> ProjectConfig:
    """The source's config with ``[publish]`` taken from the declaration."""
    src = declaration.source
    config = load_config(src.profile, Path(src.config) if src.config else None, src.workspace)
    publish = config.publish.model_copy(update={
        "name": declaration.name or config.publish.name,
        "version": declaration.version,
        "text_policy": declaration.text_policy,
        "license": declaration.license,
        "pretty_name": declaration.pretty_name or config.publish.pretty_name,
    })
    return config.model_copy(update={"publish": publish})


def releases_root(config: ProjectConfig) -> Path:
    """``<workspace>/releases/<name>``: every built version of one dataset."""
    return Path(config.workspace).resolve() / "releases" / config.publish.name


def built_versions(root: Path) -> list[str]:
    """Versions with a complete release folder under ``root``."""
    if not root.is_dir():
        return []
    return [p.name for p in root.iterdir() if (p / MANIFEST).is_file()]


def build_release(
    releases_dir: Path, version: str, overwrite: bool = False, validation: ValidationSource | None = None
) -> BuildResult:
    """Build (or confirm unchanged) the release a declaration describes (``validation``: see
    ``ReleaseOptions``)."""
    declaration = load_declaration(releases_dir, version)
    config = release_config(declaration)
    workspace = Path(config.workspace).resolve()
    if not (workspace / "valact.sqlite").is_file():
        raise DeclarationError(f"release {version}: no workspace at {workspace}")
    root = releases_root(config)
    before = declaration.previous or previous_version(version, built_versions(root))
    if before is not None and not (root / before / MANIFEST).is_file():
        raise DeclarationError(f"release {version}: previous version {before} is not built under {root}")
    store = open_store(workspace)
    try:
        content = build_release_files(store, config, ReleaseOptions(
            origin=declaration.source.kind, notes=declaration.notes,
            correction_policy=declaration.correction_policy,
            previous=root / before if before else None, previous_version=before, changelog=True,
            validation=validation,
        ))
        kept = published_manifest(releases_dir, version)
        if kept is not None:
            entries = file_entries(content.files, content.rows)
            if kept.files != entries:
                changed = sorted({e.path for e in entries} ^ {e.path for e in kept.files}
                                 | {e.path for e in entries if e not in kept.files})
                raise ReleaseExistsError(
                    f"version {version} is published and its files would change ({', '.join(changed)}); "
                    "declare a new version instead"
                )
            overwrite = True  # same files as published: rewriting only refreshes the folder
        result = write_release(root / version, content, config, overwrite)
        remember_release(store, result.path, config.publish.name, version)
    finally:
        store.close()
    return BuildResult(release=result, declaration=declaration, diff=content.diff)
