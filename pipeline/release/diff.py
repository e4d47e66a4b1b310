"""Diff two releases by stable ids, and write the changelog entry that records it.

Rows are matched by their id columns (``question_id``, ``scenario_id``...; a ``validation``
row, one expert judgement, by candidate, design and annotator hash, shown as
``candidate/design/annotator``). A row present on
both sides with different content is "changed", and the diff names which columns differ;
for the ``options`` list of a question it names the option fields (``options.action``...),
which is what a reader of the changelog wants to know.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from schemas.release import ReleaseDiff, TableDiff

ID_COLUMNS: dict[str, tuple[str, ...]] = {
    "questions": ("question_id",), "scenarios": ("scenario_id",), "candidates": ("candidate_id",),
    "validation": ("candidate_id", "design", "annotator"),
}
CHANGELOG = "CHANGELOG.md"
CHANGELOG_TITLE = "# Changelog\n"


def load_release_tables(folder: Path) -> dict[str, pa.Table]:
    """The diffable tables of a release folder (missing tables are skipped)."""
    tables = {}
    for name in ID_COLUMNS:
        path = folder / "data" / f"{name}.parquet"
        if path.is_file():
            tables[name] = pq.read_table(path)
    return tables


def _changed_fields(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    fields: set[str] = set()
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        if key == "options" and isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            for x, y in zip(a, b, strict=True):
                fields.update(f"options.{k}" for k in sorted(set(x) | set(y)) if x.get(k) != y.get(k))
        else:
            fields.add(key)
    return sorted(fields)


def _row_id(row: Mapping[str, Any], columns: tuple[str, ...]) -> str:
    return "/".join(str(row.get(column)) for column in columns)


def diff_table(old: pa.Table | None, new: pa.Table | None, id_columns: tuple[str, ...]) -> TableDiff:
    """Added, removed and changed rows of one table."""
    before = {_row_id(r, id_columns): r for r in (old.to_pylist() if old is not None else [])}
    after = {_row_id(r, id_columns): r for r in (new.to_pylist() if new is not None else [])}
    changed = {
        key: _changed_fields(before[key], after[key])
        for key in sorted(set(before) & set(after))
        if before[key] != after[key]
    }
    return TableDiff(
        added=sorted(set(after) - set(before)), removed=sorted(set(before) - set(after)), changed=changed
    )


def diff_releases(
    old: Mapping[str, pa.Table], new: Mapping[str, pa.Table], old_version: str | None, new_version: str
) -> ReleaseDiff:
    """Table-by-table diff of two releases' tables."""
    return ReleaseDiff(
        old_version=old_version,
        new_version=new_version,
        tables={name: diff_table(old.get(name), new.get(name), columns)
                for name, columns in ID_COLUMNS.items() if name in old or name in new},
    )


def changelog_entry(diff: ReleaseDiff, notes: str = "") -> str:
    """One ``## <version>`` section: notes, counts per table, and every changed id.

    No date: the entry must be the same bytes whenever the same data is rebuilt (the build
    time is in the manifest).
    """
    lines = [f"## {diff.new_version}", ""]
    if notes.strip():
        lines += [notes.strip(), ""]
    if diff.old_version is None:
        lines.append("First release.")
        return "\n".join(lines) + "\n"
    lines.append(f"Changes since {diff.old_version}:")
    lines.append("")
    for name, table in sorted(diff.tables.items()):
        lines.append(f"- {name}: {len(table.added)} added, {len(table.removed)} removed, "
                     f"{len(table.changed)} changed")
        lines += [f"  - added `{i}`" for i in table.added]
        lines += [f"  - removed `{i}`" for i in table.removed]
        lines += [f"  - changed `{i}`: {', '.join(f)}" for i, f in sorted(table.changed.items())]
    return "\n".join(lines) + "\n"


def updated_changelog(previous: str | None, entry: str) -> str:
    """The previous CHANGELOG.md with ``entry`` on top (newest first)."""
    body = (previous or "").removeprefix(CHANGELOG_TITLE).lstrip("\n")
    return f"{CHANGELOG_TITLE}\n{entry}" + (f"\n{body}" if body else "")
