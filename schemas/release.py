"""Release declarations (``releases/<version>.toml``) and the diff between two releases.

A declaration is the reviewed, committed statement of what a version holds: where its data
comes from, which text policy applies, under which license, and how corrections are handled.
The build reads it instead of command-line flags, so a version can be rebuilt from the
repository alone.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?$"
)

TextPolicy = Literal["masked", "full"]


def semver_key(version: str) -> tuple[int, int, int, int, str]:
    """Sort key for semantic versions: a pre-release sorts before its release."""
    match = SEMVER.match(version)
    if match is None:
        raise ValueError(f"not a semantic version (MAJOR.MINOR.PATCH[-pre]): {version!r}")
    major, minor, patch, pre = match.groups()
    return int(major), int(minor), int(patch), 0 if pre else 1, pre or ""


class StrictModel(BaseModel):
    """Unknown keys are errors, so a typo in a declaration never passes silently."""

    model_config = ConfigDict(extra="forbid")


class ReleaseSource(StrictModel):
    """Where the records of a release come from."""

    kind: Literal["workspace", "valact-original"] = Field(
        default="workspace",
        description="'workspace' = built by valact's stages; 'valact-original' = imported from the "
        "authors' files with `valact import valact-original`",
    )
    profile: str | None = Field(default=None, description="packaged profile the data was built with")
    config: str | None = Field(default=None, description="project TOML, relative to the repository root")
    workspace: str | None = Field(default=None, description="workspace folder (default from the config)")


class ReleaseDeclaration(StrictModel):
    """One ``releases/<version>.toml``."""

    version: str
    name: str | None = Field(default=None, description="dataset name (default: [publish].name)")
    pretty_name: str | None = None
    text_policy: TextPolicy = "masked"
    license: str = "cc-by-4.0"
    notes: str = Field(default="", description="what this version is for; goes into the card")
    correction_policy: str = Field(
        default="Errors are fixed in a new version; published versions are never changed.",
        description="how reported errors are handled; goes into the card",
    )
    previous: str | None = Field(
        default=None, description="version to diff against (default: the highest lower version built)"
    )
    source: ReleaseSource = Field(default_factory=ReleaseSource)

    @field_validator("version", "previous")
    @classmethod
    def _semver(cls, value: str | None) -> str | None:
        if value is not None:
            semver_key(value)
        return value

    @property
    def tag(self) -> str:
        """The git / Hub tag of this version."""
        return f"v{self.version}"


class TableDiff(StrictModel):
    """Rows of one table added, removed and changed (with the fields that changed), by stable id."""

    added: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)
    changed: dict[str, list[str]] = Field(default_factory=dict)

    @property
    def empty(self) -> bool:
        """True when both sides hold the same rows."""
        return not (self.added or self.removed or self.changed)


class ReleaseDiff(StrictModel):
    """What changed between two releases, table by table."""

    old_version: str | None
    new_version: str
    tables: dict[str, TableDiff]
