"""Refill a masked release's scenario texts from Reddit, by post id.

A masked release (the default publishing policy, like the original VALACT-15K) carries
only ids, titles and URLs. A user with Reddit API credentials runs ``valact rehydrate
RELEASE_DIR`` to get a copy whose ``data/scenarios.parquet`` holds the post texts again,
scrubbed like a full-text release. The release itself is never modified. Posts Reddit now
shows deleted or removed, or no longer returns, keep a null text and are listed in
``rehydration.json``. Running again only asks for what is still missing.

The copy's scenarios table and ``rehydration.json`` make the released manifest's checksums
wrong, so the copy gets a manifest of its own: the release's identity and counts, checksums
of the files it really holds, text policy ``full`` (the texts are scrubbed like a full-text
release's), and a ``rehydrated`` block naming the exact release it came from (the sha256 of
that release's manifest). ``valact release verify`` checks it, and a copy is never mistaken
for the published release.
"""

from __future__ import annotations

import io
import json
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.collect.posts import removal_flags
from pipeline.hashing import sha256_hex
from pipeline.release.folder import MANIFEST, file_entries, read_manifest
from pipeline.release.tables import SCENARIOS_SCHEMA, parquet_bytes
from pipeline.release.verify import release_files
from pipeline.scrub import scrub
from pipeline.sources.reddit_api import RedditSource
from schemas.manifest import Rehydration, ReleaseManifest

SCENARIOS = Path("data") / "scenarios.parquet"
REPORT = "rehydration.json"


class ReleaseFormatError(Exception):
    """The folder is not a valact release (no scenarios table)."""


@dataclass
class RehydrateReport:
    """What a rehydration filled and what Reddit no longer has."""

    output: str = ""
    scenarios: int = 0
    already_filled: int = 0
    requested: int = 0
    filled: int = 0
    deleted: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)
    scrubbed: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly summary."""
        return asdict(self)


def default_output(release_dir: Path) -> Path:
    """``<release>-rehydrated`` next to the release."""
    return release_dir.parent / f"{release_dir.name}-rehydrated"


def _read_rows(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise ReleaseFormatError(f"{path.parent.parent}: no {SCENARIOS} (is this a valact release folder?)")
    rows: list[dict[str, Any]] = pq.read_table(path).to_pylist()
    return rows


def rehydrate_release(
    release_dir: Path, connect: Callable[[], RedditSource], output: Path | None = None
) -> RehydrateReport:
    """Write a copy of the release with scenario texts fetched by post id (100 per request)."""
    target = output or default_output(release_dir)
    if target.resolve() == release_dir.resolve():
        raise ValueError("rehydrate writes a copy; choose an --output other than the release folder")
    rows = _read_rows(release_dir / SCENARIOS)
    previous: dict[str, str] = {}
    gone: set[str] = set()
    if (target / SCENARIOS).is_file():
        previous = {r["post_id"]: r["text"] for r in _read_rows(target / SCENARIOS) if r.get("text")}
        if (target / REPORT).is_file():
            old = json.loads((target / REPORT).read_text(encoding="utf-8"))
            gone = set(old.get("deleted", [])) | set(old.get("removed", [])) | set(old.get("not_found", []))
    report = RehydrateReport(output=str(target), scenarios=len(rows))
    texts: dict[str, str] = {}
    for row in rows:
        text = row.get("text") or previous.get(row["post_id"])
        if text:
            texts[row["post_id"]] = text
    report.already_filled = len(texts)
    pending = sorted({r["post_id"] for r in rows} - set(texts) - gone)
    report.requested = len(pending)
    scrubbed: Counter[str] = Counter()
    status: dict[str, str] = {}
    if pending:
        source = connect()
        for asked, found in source.info(pending):
            by_id = {str(d["id"]).removeprefix("t3_"): d for d in found}
            for post_id in asked:
                data = by_id.get(post_id)
                if data is None:
                    status[post_id] = "not_found"
                    continue
                body = str(data.get("selftext") or "").strip()
                removed, deleted = removal_flags(data, body)
                if deleted:
                    status[post_id] = "deleted"
                elif removed:
                    status[post_id] = "removed"
                else:
                    texts[post_id] = scrub(body, scrubbed)
                    report.filled += 1
    _carry_gone(report, status, gone, previous_report=target / REPORT)
    report.scrubbed = dict(scrubbed)
    _write(release_dir, target, rows, texts, report)
    return report


def _carry_gone(
    report: RehydrateReport, status: dict[str, str], gone: set[str], previous_report: Path
) -> None:
    """Gone posts from this run plus those a previous run already found gone."""
    old: dict[str, list[str]] = {}
    if gone and previous_report.is_file():
        old = json.loads(previous_report.read_text(encoding="utf-8"))
    for kind in ("deleted", "removed", "not_found"):
        ids = {pid for pid, s in status.items() if s == kind} | set(old.get(kind, []))
        setattr(report, kind, sorted(ids))


def _write(
    release_dir: Path,
    target: Path,
    rows: list[dict[str, Any]],
    texts: dict[str, str],
    report: RehydrateReport,
) -> None:
    if target.resolve() != release_dir.resolve():
        shutil.copytree(
            release_dir,
            target,
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns(str(SCENARIOS.name), REPORT),
        )
    filled = [{**row, "text": texts.get(row["post_id"])} for row in rows]
    table = pa.Table.from_pylist(filled, schema=SCENARIOS_SCHEMA)
    (target / SCENARIOS).parent.mkdir(parents=True, exist_ok=True)
    (target / SCENARIOS).write_bytes(parquet_bytes(table))
    (target / REPORT).write_text(
        json.dumps(report.as_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    with_text = sum(1 for row in filled if row["text"])
    write_rehydrated_manifest(release_dir, target, filled=with_text, missing=len(filled) - with_text)


def write_rehydrated_manifest(source: Path, copy: Path, filled: int, missing: int) -> ReleaseManifest | None:
    """Write ``copy/manifest.json`` derived from ``source``'s; None when the source has none."""
    original = read_manifest(source)
    if original is None:
        return None
    files = {rel: (copy / rel).read_bytes() for rel in sorted(release_files(copy))}
    rows = {rel: pq.ParquetFile(io.BytesIO(data)).metadata.num_rows
            for rel, data in files.items() if rel.endswith(".parquet")}
    manifest = original.model_copy(update={
        "text_policy": "full",
        "files": file_entries(files, rows),
        "rehydrated": Rehydration(
            source_manifest_sha256=sha256_hex((source / MANIFEST).read_bytes()),
            source_text_policy=original.text_policy,
            rehydrated_at=datetime.now(UTC).isoformat(timespec="seconds"),
            filled=filled, missing=missing,
        ),
    })
    (copy / MANIFEST).write_text(manifest.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return manifest
