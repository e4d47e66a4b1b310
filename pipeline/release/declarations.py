"""Release declarations on disk: ``releases/<version>.toml`` and, once published, the
manifest kept beside it (``releases/<version>.manifest.json``).

The kept manifest is what makes a version impossible to overwrite by accident: a build of a
published version must reproduce exactly the files it lists.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from pydantic import ValidationError

from schemas.manifest import ReleaseManifest
from schemas.release import SEMVER, ReleaseDeclaration, semver_key

DEFAULT_DIR = Path("releases")


class DeclarationError(Exception):
    """A declaration is missing or invalid; the message says which file and what is wrong."""


def declaration_path(releases_dir: Path, version: str) -> Path:
    """``<releases_dir>/<version>.toml``."""
    return releases_dir / f"{version}.toml"


def published_manifest_path(releases_dir: Path, version: str) -> Path:
    """Where the manifest of a published version is kept."""
    return releases_dir / f"{version}.manifest.json"


def load_declaration(releases_dir: Path, version: str) -> ReleaseDeclaration:
    """Read and validate one declaration; its ``version`` must match its file name."""
    path = declaration_path(releases_dir, version)
    if not path.is_file():
        known = ", ".join(declared_versions(releases_dir)) or "none"
        raise DeclarationError(f"no declaration {path} (declared versions: {known})")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise DeclarationError(f"{path}: invalid TOML: {exc}") from exc
    data.setdefault("version", version)
    try:
        declaration = ReleaseDeclaration.model_validate(data)
    except ValidationError as exc:
        raise DeclarationError(f"{path}: invalid declaration:\n{exc}") from exc
    if declaration.version != version:
        raise DeclarationError(f"{path} declares version {declaration.version}, not {version}")
    return declaration


def declared_versions(releases_dir: Path) -> list[str]:
    """Versions with a declaration file, oldest first."""
    if not releases_dir.is_dir():
        return []
    names = [p.stem for p in releases_dir.glob("*.toml") if SEMVER.match(p.stem)]
    return sorted(names, key=semver_key)


def published_manifest(releases_dir: Path, version: str) -> ReleaseManifest | None:
    """The kept manifest of a published version, or None if it was never published."""
    path = published_manifest_path(releases_dir, version)
    if not path.is_file():
        return None
    return ReleaseManifest.model_validate(json.loads(path.read_text(encoding="utf-8")))


def keep_manifest(releases_dir: Path, manifest: ReleaseManifest) -> Path:
    """Record a published version's manifest next to its declaration."""
    path = published_manifest_path(releases_dir, manifest.version)
    releases_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(manifest.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return path


def previous_version(version: str, candidates: list[str]) -> str | None:
    """The highest version in ``candidates`` below ``version``."""
    lower = [v for v in candidates if semver_key(v) < semver_key(version)]
    return max(lower, key=semver_key) if lower else None
