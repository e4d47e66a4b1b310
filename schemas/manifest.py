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
