"""Publish a verified release folder to the Hugging Face Hub: one commit, then one tag.

One commit holding every file means a reader never sees half a release and concurrent
pushes fail instead of interleaving (the commit names its parent). The tag ``v<version>``
marks the release; a version whose tag exists is refused before anything is uploaded.
The token comes from ``HF_TOKEN`` and is only ever handed to ``HfApi``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import CommitOperationAdd, HfApi

from pipeline.hashing import sha256_hex
from pipeline.release.folder import MANIFEST, ReleaseExistsError
from pipeline.release.verify import verify_folder
from schemas.manifest import ReleaseManifest

REPO_TYPE = "dataset"


class ReleaseInvalidError(Exception):
    """The release folder does not pass verification, so it is not published."""


@dataclass(frozen=True)
class PlannedFile:
    """One file the publish would upload."""

    path: str
    bytes: int
    sha256: str


@dataclass
class HubPublishResult:
    """What was (or, on a dry run, would be) published."""

    repo_id: str
    tag: str
    plan: list[PlannedFile]
    commit_oid: str | None = None
    commit_url: str | None = None
    dry_run: bool = False


def verified_manifest(folder: Path) -> ReleaseManifest:
    """The manifest of a folder that passes ``verify``; raises with every problem otherwise."""
    report = verify_folder(folder)
    if not report.ok or report.manifest is None:
        raise ReleaseInvalidError(f"{folder} fails verification:\n- " + "\n- ".join(report.problems))
    return report.manifest


def file_plan(folder: Path, manifest: ReleaseManifest) -> list[PlannedFile]:
    """Every file of the release, manifest included, in upload order."""
    plan = [PlannedFile(e.path, e.bytes, e.sha256) for e in manifest.files]
    data = (folder / MANIFEST).read_bytes()
    plan.append(PlannedFile(MANIFEST, len(data), sha256_hex(data)))
    return plan


def hub_api(endpoint: str | None = None) -> HfApi:
    """An ``HfApi`` with the token from ``HF_TOKEN`` and the endpoint from ``HF_ENDPOINT``."""
    return HfApi(endpoint=endpoint or os.environ.get("HF_ENDPOINT") or None,
                 token=os.environ.get("HF_TOKEN") or None)


def publish_to_hub(
    folder: Path, repo_id: str, api: HfApi | None = None, dry_run: bool = False, private: bool = False
) -> HubPublishResult:
    """Create the repo if needed, refuse an existing tag, commit every file once, tag it."""
    manifest = verified_manifest(folder)
    tag = f"v{manifest.version}"
    plan = file_plan(folder, manifest)
    result = HubPublishResult(repo_id=repo_id, tag=tag, plan=plan, dry_run=dry_run)
    if dry_run:
        return result
    api = api or hub_api()
    api.create_repo(repo_id, repo_type=REPO_TYPE, exist_ok=True, private=private)
    refs = api.list_repo_refs(repo_id, repo_type=REPO_TYPE)
    if any(t.name == tag for t in refs.tags):
        raise ReleaseExistsError(f"hf://{repo_id} already has tag {tag}; publish a new version instead")
    parent = next((b.target_commit for b in refs.branches if b.name == "main"), None)
    operations = [CommitOperationAdd(path_in_repo=p.path, path_or_fileobj=(folder / p.path).read_bytes())
                  for p in plan]
    commit = api.create_commit(
        repo_id, operations, commit_message=f"Release {manifest.name} {manifest.version}",
        commit_description=f"valact {manifest.code_version}, config {manifest.config_hash}, "
                           f"text policy {manifest.text_policy}",
        repo_type=REPO_TYPE, parent_commit=parent,
    )
    api.create_tag(repo_id, tag=tag, revision=commit.oid, repo_type=REPO_TYPE,
                   tag_message=f"{manifest.name} {manifest.version}")
    result.commit_oid = commit.oid
    result.commit_url = commit.commit_url
    return result
