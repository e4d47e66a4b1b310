"""Prefect flows for versioned releases: build from a declaration, publish to the Hub or to
a local Hub-shaped git repository, and import the original VALACT-15K. Logic lives in
``pipeline.release`` and ``pipeline.importers``; these flows only wire it and return summaries.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from annotation import release_validation
from pipeline.importers.valact_original import import_original
from pipeline.release.build import build_release, release_config, releases_root
from pipeline.release.declarations import keep_manifest, load_declaration
from pipeline.release.folder import MANIFEST, read_manifest
from pipeline.release.hub import file_plan, hub_api, publish_to_hub, verified_manifest
from pipeline.release.local_repo import publish_to_local_repo
from pipeline.store import open_store

TASK = {"cache_policy": NO_CACHE, "retries": 0}


def release_folder(releases_dir: Path, version: str) -> Path:
    """Where ``release build`` writes a declared version."""
    return releases_root(release_config(load_declaration(releases_dir, version))) / version


def default_local_repo(releases_dir: Path, version: str) -> Path:
    """``<workspace>/hub/<name>``: the local Hub-shaped repository of a dataset."""
    config = release_config(load_declaration(releases_dir, version))
    return Path(config.workspace).resolve() / "hub" / config.publish.name


@task(name="release-build", **TASK)  # type: ignore[call-overload]
def build_task(releases_dir: str, version: str, overwrite: bool) -> dict[str, Any]:
    """Write the release folder of one declared version."""
    result = build_release(Path(releases_dir), version, overwrite, validation=release_validation)
    diff = result.diff
    return {
        "version": version, "path": str(result.release.path), "changed": result.release.changed,
        "counts": result.release.manifest.counts, "warnings": result.release.manifest.warnings,
        "diff": None if diff is None else {
            "previous": diff.old_version,
            **{name: {"added": len(t.added), "removed": len(t.removed), "changed": len(t.changed)}
               for name, t in diff.tables.items()},
        },
    }


@flow(name="release-build")
def release_build_flow(releases_dir: str, version: str, overwrite: bool = False) -> dict[str, Any]:
    """Build ``releases/<version>.toml`` into its release folder."""
    result: dict[str, Any] = build_task(releases_dir, version, overwrite)
    return result


@task(name="release-publish", **TASK)  # type: ignore[call-overload]
def publish_task(releases_dir: str, version: str, to: str | None, repo: str | None,
                 dry_run: bool) -> dict[str, Any]:
    """Publish one built version and keep its manifest next to its declaration."""
    folder = release_folder(Path(releases_dir), version)
    if not (folder / MANIFEST).is_file():
        raise FileNotFoundError(
            f"release {version} is not built ({folder}); run `valact release build {version}` first"
        )
    if to is not None:
        result = publish_to_hub(folder, to.removeprefix("hf://"), hub_api(), dry_run=dry_run)
        summary: dict[str, Any] = {
            "to": f"hf://{result.repo_id}", "tag": result.tag, "dry_run": dry_run,
            "commit": result.commit_oid, "commit_url": result.commit_url,
            "files": [{"path": p.path, "bytes": p.bytes, "sha256": p.sha256} for p in result.plan],
        }
    else:
        target = Path(repo) if repo else default_local_repo(Path(releases_dir), version)
        if dry_run:
            plan = file_plan(folder, verified_manifest(folder))
            return {"to": str(target), "dry_run": True,
                    "files": [{"path": p.path, "bytes": p.bytes, "sha256": p.sha256} for p in plan]}
        local = publish_to_local_repo(folder, target)
        summary = {"to": str(local.repo), "tag": local.tag, "commit": local.commit, "files": local.files,
                   "dry_run": False}
    if not dry_run:
        manifest = read_manifest(folder)
        if manifest is not None:
            summary["manifest_kept"] = str(keep_manifest(Path(releases_dir), manifest))
    return summary


@flow(name="release-publish")
def release_publish_flow(releases_dir: str, version: str, to: str | None = None, repo: str | None = None,
                         dry_run: bool = False) -> dict[str, Any]:
    """Publish a built version to the Hub (``to``) or to the local Hub-shaped repository."""
    result: dict[str, Any] = publish_task(releases_dir, version, to, repo, dry_run)
    return result


@task(name="import-valact-original", **TASK)  # type: ignore[call-overload]
def import_task(workspace: str, questions: str, index: str | None) -> dict[str, Any]:
    """Read the authors' question lists (and index) into a workspace."""
    store = open_store(Path(workspace))
    try:
        return import_original(store, Path(questions), Path(index) if index else None).as_dict()
    finally:
        store.close()


@flow(name="import-valact-original")
def import_original_flow(workspace: str, questions: str, index: str | None = None) -> dict[str, Any]:
    """Import the original VALACT-15K questions into valact's schema."""
    result: dict[str, Any] = import_task(workspace, questions, index)
    return result
