"""The manifest of a rehydrated copy of a release, so ``valact release verify`` can check it.

``valact rehydrate`` writes a copy whose scenarios table holds post texts again and adds
``rehydration.json``: the released manifest's checksums no longer fit. The copy gets its own
manifest: the release's identity and counts, checksums of the files it really holds, its
text policy ``full`` (the texts are scrubbed like a full-text release's), and a
``rehydrated`` block naming the exact release it came from (the sha256 of that release's
manifest). A copy is never mistaken for the published release.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq

from pipeline.hashing import sha256_hex
from pipeline.release.verify import release_files
from pipeline.stages.publish import MANIFEST, file_entries, read_manifest
from schemas.manifest import Rehydration, ReleaseManifest


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
