"""Publish a verified release into a local git repository shaped like a Hub dataset repo.

This is the offline stand-in for the Hub: the same files at the repository root, one commit
per version, the same ``v<version>`` tag, refused when the tag exists. ``datasets`` reads
the checked-out tree (``load_dataset(repo_dir, "questions")``), and ``git clone --branch
v<version>`` gives any earlier version back.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from pipeline.release.folder import ReleaseExistsError
from pipeline.release.hub import file_plan, verified_manifest

GIT_IDENTITY = ("-c", "user.name=valact", "-c", "user.email=valact@localhost",
                "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false")


class GitError(Exception):
    """A git command failed; the message holds its output."""


@dataclass
class LocalPublishResult:
    """Where the version was committed and tagged."""

    repo: Path
    tag: str
    commit: str
    files: int


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo``; raises GitError with git's own message on failure."""
    proc = subprocess.run(["git", *GIT_IDENTITY, *args], cwd=repo, capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        raise GitError(f"git {' '.join(args)} failed in {repo}: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout.strip()


def local_tags(repo: Path) -> list[str]:
    """Tags of the repository (none when it does not exist yet)."""
    if not (repo / ".git").is_dir():
        return []
    return git(repo, "tag", "--list").split()


def publish_to_local_repo(folder: Path, repo: Path) -> LocalPublishResult:
    """Replace the repository's tree with the release, commit, and tag ``v<version>``."""
    manifest = verified_manifest(folder)
    tag = f"v{manifest.version}"
    if tag in local_tags(repo):
        raise ReleaseExistsError(f"{repo} already has tag {tag}; publish a new version instead")
    if not (repo / ".git").is_dir():
        repo.mkdir(parents=True, exist_ok=True)
        git(repo, "init", "-q", "-b", "main")
    for child in repo.iterdir():
        if child.name == ".git":
            continue
        if child.is_dir():
            shutil.rmtree(child)
        else:
            child.unlink()
    plan = file_plan(folder, manifest)
    for item in plan:
        out = repo / item.path
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(folder / item.path, out)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", f"Release {manifest.name} {manifest.version}")
    git(repo, "tag", "-a", tag, "-m", f"{manifest.name} {manifest.version}")
    return LocalPublishResult(repo=repo, tag=tag, commit=git(repo, "rev-parse", "HEAD"), files=len(plan))
