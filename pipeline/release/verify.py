"""Check a release: every file against its manifest checksum, the assembly invariants on the
tables, and the card's Hub metadata. Works on a folder or on ``hf://ORG/NAME[@revision]``
(downloaded first), so a published version can be checked from outside.

A check never stops at the first problem: the report lists every mismatch, and a release
passes only when the list is empty.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq
from huggingface_hub import DatasetCard, DatasetCardData, HfApi
from pydantic import ValidationError

from pipeline.hashing import sha256_hex
from pipeline.release.card import TABLE_FILES
from pipeline.release.folder import MANIFEST
from pipeline.release.invariants import declared, invariant_breaks
from schemas.manifest import ReleaseManifest

REQUIRED_CARD_KEYS = ("license", "language", "task_categories", "size_categories",
                      "annotations_creators", "source_datasets", "pretty_name", "configs")
IGNORED = (".git", ".gitattributes", ".cache", ".huggingface")
HF_SCHEME = "hf://"


@dataclass
class VerifyReport:
    """The outcome of one verification."""

    target: str
    problems: list[str] = field(default_factory=list)
    checked_files: int = 0
    manifest: ReleaseManifest | None = None

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems


def release_files(folder: Path) -> set[str]:
    """Every file a manifest must list: all but the manifest itself and git/Hub bookkeeping."""
    found = set()
    for path in folder.rglob("*"):
        rel = path.relative_to(folder)
        if path.is_file() and rel.parts[0] not in IGNORED and rel.as_posix() != MANIFEST:
            found.add(rel.as_posix())
    return found


def _check_files(folder: Path, manifest: ReleaseManifest, report: VerifyReport) -> None:
    listed = {entry.path for entry in manifest.files}
    for extra in sorted(release_files(folder) - listed):
        report.problems.append(f"{extra}: file not listed in the manifest")
    for entry in manifest.files:
        path = folder / entry.path
        if not path.is_file():
            report.problems.append(f"{entry.path}: missing")
            continue
        data = path.read_bytes()
        report.checked_files += 1
        if len(data) != entry.bytes or sha256_hex(data) != entry.sha256:
            report.problems.append(f"{entry.path}: checksum mismatch (sha256 {sha256_hex(data)[:12]}..., "
                                   f"manifest says {entry.sha256[:12]}...)")
            continue
        if entry.rows is not None and entry.path.endswith(".parquet"):
            rows = pq.ParquetFile(path).metadata.num_rows
            if rows != entry.rows:
                report.problems.append(f"{entry.path}: {rows} rows, manifest says {entry.rows}")


def _check_tables(folder: Path, manifest: ReleaseManifest, report: VerifyReport) -> None:
    paths = {name: folder / rel for name, rel in TABLE_FILES.items()}
    missing = [name for name, path in paths.items() if not path.is_file()]
    if missing:
        report.problems.append(f"tables missing: {', '.join(missing)}")
        return
    try:
        questions = pq.read_table(paths["questions"]).to_pylist()
        scenarios = pq.read_table(paths["scenarios"])
        candidates = pq.read_table(paths["candidates"], columns=["candidate_id"])
    except Exception as exc:  # a corrupted file: report it, keep checking the rest
        report.problems.append(f"tables unreadable: {exc}")
        return
    scenario_ids = {str(s) for s in scenarios.column("scenario_id").to_pylist()}
    candidate_ids = {str(c) for c in candidates.column("candidate_id").to_pylist()}
    found = {k: v for k, v in invariant_breaks(questions, scenario_ids, candidate_ids).items() if v}
    expected = declared(manifest.warnings)
    for rule in sorted(set(found) | set(expected)):
        if found.get(rule, 0) != expected.get(rule, 0):
            report.problems.append(f"invariant {rule}: {found.get(rule, 0)} breaks in the tables, "
                                   f"manifest declares {expected.get(rule, 0)}")
    for name, n in (("questions", len(questions)), ("scenarios", scenarios.num_rows),
                    ("candidates", len(candidate_ids))):
        if manifest.counts.get(name) != n:
            report.problems.append(f"count {name}: {n} rows, manifest says {manifest.counts.get(name)}")
    if manifest.text_policy == "masked" and any(t for t in scenarios.column("text").to_pylist()):
        report.problems.append("text policy is masked but scenarios carry post bodies")


def _check_card(folder: Path, manifest: ReleaseManifest, report: VerifyReport) -> None:
    readme = folder / "README.md"
    if not readme.is_file():
        report.problems.append("README.md: missing dataset card")
        return
    try:
        card = DatasetCard.load(readme, repo_type="dataset")
        data = card.data.to_dict()
        DatasetCardData(**data)
    except Exception as exc:  # the Hub library's own parser decides what a valid card is
        report.problems.append(f"README.md: card metadata invalid: {exc}")
        return
    for key in REQUIRED_CARD_KEYS:
        if not data.get(key):
            report.problems.append(f"README.md: card metadata lacks {key}")
    listed = {entry.path for entry in manifest.files}
    empty = {entry.path for entry in manifest.files if entry.rows == 0}
    configs = {c.get("config_name"): c for c in data.get("configs") or []}
    for name, path in TABLE_FILES.items():
        config = configs.get(name)
        if config is None and name == "validation" and path in empty:
            continue  # an empty validation table is shipped without a config (datasets cannot load it)
        if config is None:
            report.problems.append(f"README.md: no config {name}")
            continue
        paths = [f["path"] if isinstance(f, dict) else f for f in config.get("data_files") or []]
        if path not in paths or path not in listed:
            report.problems.append(f"README.md: config {name} does not point at {path} in the manifest")


def verify_folder(folder: Path, target: str | None = None) -> VerifyReport:
    """Verify a release folder."""
    report = VerifyReport(target=target or str(folder))
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        report.problems.append(f"{MANIFEST}: missing (not a release folder: {folder})")
        return report
    try:
        manifest = ReleaseManifest.model_validate(json.loads(manifest_path.read_text(encoding="utf-8")))
    except (ValueError, ValidationError) as exc:
        report.problems.append(f"{MANIFEST}: unreadable: {exc}")
        return report
    report.manifest = manifest
    _check_files(folder, manifest, report)
    _check_tables(folder, manifest, report)
    _check_card(folder, manifest, report)
    return report


def parse_hf_target(target: str) -> tuple[str, str | None]:
    """``hf://ORG/NAME[@revision]`` -> (repo id, revision)."""
    rest = target.removeprefix(HF_SCHEME)
    repo_id, _, revision = rest.partition("@")
    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise ValueError(f"expected hf://ORG/NAME[@revision], got {target!r}")
    return repo_id, revision or None


@contextmanager
def _downloaded(api: HfApi, repo_id: str, revision: str | None) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="valact-verify-") as tmp:
        api.snapshot_download(repo_id, repo_type="dataset", revision=revision, local_dir=tmp)
        yield Path(tmp)


def verify(target: str, api: HfApi | None = None) -> VerifyReport:
    """Verify a folder path or an ``hf://`` dataset repository (at a tag or branch)."""
    if not target.startswith(HF_SCHEME):
        return verify_folder(Path(target), target)
    repo_id, revision = parse_hf_target(target)
    with _downloaded(api or HfApi(), repo_id, revision) as folder:
        return verify_folder(folder, target)
