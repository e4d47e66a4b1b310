"""The manifest that ships inside every release: what is in it and how it was made."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class FileEntry(BaseModel):
    """One file of a release with its checksum."""

    model_config = ConfigDict(extra="forbid")

    path: str
    sha256: str
    bytes: int
    rows: int | None = None


class Rehydration(BaseModel):
    """Marks a copy of a release whose post texts were refilled from Reddit by ``valact rehydrate``."""

    model_config = ConfigDict(extra="forbid")

    source_manifest_sha256: str = Field(description="sha256 of the released manifest.json it was made from")
    source_text_policy: str
    rehydrated_at: str
    filled: int = Field(description="scenarios whose text was fetched (or kept from an earlier run)")
    missing: int = Field(description="scenarios left without text: deleted, removed or not found")


class ReleaseManifest(BaseModel):
    """Everything needed to check a release and to know how it was built."""

    model_config = ConfigDict(extra="forbid")

    name: str
    version: str
    text_policy: str
    built_at: str
    code_version: str
    config_hash: str
    profile: str
    counts: dict[str, int]
    models: dict[str, str] = Field(description="generator/screener alias -> served model id")
    prompts: dict[str, str] = Field(description="prompt name -> version hash")
    files: list[FileEntry]
    warnings: dict[str, int] = Field(default_factory=dict)
    rehydrated: Rehydration | None = Field(
        default=None, description="set on a rehydrated copy (texts refilled), never on a published release"
    )
