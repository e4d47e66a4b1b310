"""Release tables: records -> Arrow tables with fixed schemas, written as deterministic parquet.

Fixed schemas and sorted rows mean the same records always give the same bytes, which is
what lets a warm rebuild prove it changed nothing.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.scrub import DEFAULT_REGION, post_url, scrub
from schemas.records import ActionCandidate, Question, Scenario

OPTION_TYPE = pa.struct(
    [
        ("letter", pa.string()),
        ("value", pa.string()),
        ("generator", pa.string()),
        ("action", pa.string()),
        ("candidate_id", pa.string()),
    ]
)
QUESTIONS_SCHEMA = pa.schema(
    [
        ("question_id", pa.string()),
        ("scenario_id", pa.string()),
        ("post_id", pa.string()),
        ("domain", pa.string()),
        ("subreddit", pa.string()),
        ("question_index", pa.int8()),
        ("options", pa.list_(OPTION_TYPE)),
        ("values", pa.list_(pa.string())),
    ]
)
SCENARIOS_SCHEMA = pa.schema(
    [
        ("scenario_id", pa.string()),
        ("post_id", pa.string()),
        ("domain", pa.string()),
        ("subreddit", pa.string()),
        ("title", pa.string()),
        ("date", pa.string()),
        ("url", pa.string()),
        ("text", pa.string()),
    ]
)
CANDIDATES_SCHEMA = pa.schema(
    [
        ("candidate_id", pa.string()),
        ("scenario_id", pa.string()),
        ("value", pa.string()),
        ("generator", pa.string()),
        ("served_model", pa.string()),
        ("prompt_hash", pa.string()),
        ("action", pa.string()),
        ("warnings", pa.list_(pa.string())),
    ]
)
VALIDATION_SCHEMA = pa.schema(
    [
        ("candidate_id", pa.string()),
        ("scenario_id", pa.string()),
        ("value", pa.string()),
        ("generator", pa.string()),
        ("domain", pa.string()),
        ("expert_value", pa.string()),
        ("verdict", pa.string()),
        ("correct", pa.bool_()),
        ("annotator", pa.string()),
        ("design", pa.string()),
    ]
)


class ScenarioKey(NamedTuple):
    """A scenario without its text: what the questions table needs, small enough to keep 3,000 of."""

    post_id: str
    domain: str
    subreddit: str

    @classmethod
    def of(cls, scenario: Scenario) -> ScenarioKey:
        """The key of a stored scenario."""
        return cls(scenario.post_id, scenario.domain, scenario.subreddit)


TABLE_SCHEMAS: dict[str, pa.Schema] = {
    "questions": QUESTIONS_SCHEMA,
    "scenarios": SCENARIOS_SCHEMA,
    "candidates": CANDIDATES_SCHEMA,
    "validation": VALIDATION_SCHEMA,
}


def question_row(q: Question, scenario: ScenarioKey, region: str = DEFAULT_REGION) -> dict[str, Any]:
    """One ``questions`` row, options in letter order; actions pass the personal-detail scrub."""
    return {
        "question_id": q.id,
        "scenario_id": q.scenario_id,
        "post_id": scenario.post_id,
        "domain": scenario.domain,
        "subreddit": scenario.subreddit,
        "question_index": q.index,
        "options": [
            {
                "letter": o.letter,
                "value": o.value.value,
                "generator": o.generator,
                "action": scrub(o.text, None, region),
                "candidate_id": o.candidate_id,
            }
            for o in q.options
        ],
        "values": [o.value.value for o in q.options],
    }


def scenario_row(
    s: Scenario,
    text_policy: str,
    scrubbed: Counter[str],
    region: str = DEFAULT_REGION,
) -> dict[str, Any]:
    """One ``scenarios`` row; ``text`` is null under the masked policy, scrubbed under full.

    Titles are public under both policies (as in the original release), so they are scrubbed
    too, and the URL is rebuilt from the post id: the post's own URL ends in a slug of the
    unscrubbed title.
    """
    return {
        "scenario_id": s.id,
        "post_id": s.post_id,
        "domain": s.domain,
        "subreddit": s.subreddit,
        "title": scrub(s.title, scrubbed, region),
        "date": datetime.fromtimestamp(s.created_utc, UTC).strftime("%Y-%m-%d"),
        "url": post_url(s.post_id),
        "text": scrub(s.text, scrubbed, region) if text_policy == "full" else None,
    }


def candidate_row(
    c: ActionCandidate,
    scrubbed: Counter[str] | None = None,
    region: str = DEFAULT_REGION,
) -> dict[str, Any]:
    """One ``candidates`` row: the action with its generator, served model and prompt version."""
    return {
        "candidate_id": c.id,
        "scenario_id": c.scenario_id,
        "value": c.value.value,
        "generator": c.generator,
        "served_model": c.served_model,
        "prompt_hash": c.prompt_hash,
        "action": scrub(c.text, scrubbed, region),
        "warnings": list(c.warnings),
    }


ROW_GROUP_ROWS = 5000  # parquet row group size: fixed, so the bytes never depend on batching
PARQUET_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    "compression_level": 9,
    "write_statistics": True,
    "use_dictionary": True,
}


class ParquetBuilder:
    """Rows in, deterministic parquet bytes out, holding at most one row group as Arrow.

    A 15,000-question release held as Python dicts, or even as whole Arrow tables, grows with
    the release; rows become Arrow batches every ``batch_rows`` and the file gets a row group
    every ``ROW_GROUP_ROWS`` rows, so memory stays at one row group however large the release.
    Row groups always hold exactly ``ROW_GROUP_ROWS`` rows (the last one the rest), so the
    same rows give the same bytes whatever the batch size.
    """

    def __init__(self, schema: pa.Schema, batch_rows: int = 1000) -> None:
        # Arrow's default allocator (mimalloc) keeps the pages a finished table freed, so a
        # build's publishing stacked ~20 MB on what the model stages left; the system one hands
        # them back (the runner trims the C heap after each stage).
        pa.set_memory_pool(pa.system_memory_pool())
        self.schema = schema
        self.batch_rows = batch_rows
        self.num_rows = 0
        self._rows: list[dict[str, Any]] = []
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = 0
        self._sink = io.BytesIO()
        self._writer = pq.ParquetWriter(self._sink, schema, **PARQUET_OPTIONS)

    def add(self, row: dict[str, Any]) -> None:
        """Append one row (in the order the table will keep)."""
        self._rows.append(row)
        if len(self._rows) >= self.batch_rows:
            self._batch()

    def add_table(self, table: pa.Table) -> None:
        """Append every row of a table of this schema."""
        self._batch()
        for batch in table.to_batches():
            self._take(batch)

    def finish(self) -> bytes:
        """The parquet file. An empty table is written with no row group at all: a zero-row
        group makes ``datasets.load_dataset`` fail, while a schema-only file loads as empty."""
        self._batch()
        self._write(final=True)
        self._writer.close()
        return self._sink.getvalue()

    def _batch(self) -> None:
        if self._rows:
            self._take(pa.RecordBatch.from_pylist(self._rows, schema=self.schema))
            self._rows = []

    def _take(self, batch: pa.RecordBatch) -> None:
        self._pending.append(batch)
        self._pending_rows += batch.num_rows
        self.num_rows += batch.num_rows
        self._write(final=False)

    def _write(self, final: bool) -> None:
        """Write every full row group pending (and, at the end, the rest as the last one)."""
        while self._pending_rows >= ROW_GROUP_ROWS or (final and self._pending_rows):
            # one chunk per column: the bytes do not depend on how the rows were batched
            table = pa.Table.from_batches(self._pending, schema=self.schema).combine_chunks()
            size = min(ROW_GROUP_ROWS, table.num_rows)
            self._writer.write_table(table.slice(0, size), row_group_size=size)
            rest = table.slice(size)
            self._pending = rest.to_batches() if rest.num_rows else []
            self._pending_rows = rest.num_rows


def build_table(schema: pa.Schema, rows: Iterable[dict[str, Any]]) -> pa.Table:
    """A table of ``schema`` from rows (for tests and small tables; releases stream)."""
    return pa.Table.from_pylist(list(rows), schema=schema)


def sort_questions(table: pa.Table) -> pa.Table:
    """Questions in release order: by scenario, then question index."""
    return table.sort_by([("scenario_id", "ascending"), ("question_index", "ascending")])


def questions_table(
    questions: Iterable[Question], scenarios: Mapping[str, Scenario], region: str = DEFAULT_REGION
) -> pa.Table:
    """One row per question, in release order."""
    rows = (question_row(q, ScenarioKey.of(scenarios[q.scenario_id]), region) for q in questions)
    return sort_questions(build_table(QUESTIONS_SCHEMA, rows))


def scenarios_table(
    scenarios: Iterable[Scenario], text_policy: str, scrubbed: Counter[str], region: str = DEFAULT_REGION
) -> pa.Table:
    """One row per scenario, in id order (see ``scenario_row``)."""
    ordered = sorted(scenarios, key=lambda s: s.id)
    return build_table(SCENARIOS_SCHEMA, (scenario_row(s, text_policy, scrubbed, region) for s in ordered))


def validation_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Expert judgements of action-value labels, in the fixed schema (empty when none exist).

    Rows come from ``annotation.validation_rows``; only the schema's columns are kept, in a
    stable order, so the same judgements always give the same bytes.
    """
    names = VALIDATION_SCHEMA.names
    clean = [{name: row.get(name) for name in names} for row in rows]
    clean.sort(key=lambda r: tuple("" if r[n] is None else str(r[n]) for n in names))
    return pa.Table.from_pylist(clean, schema=VALIDATION_SCHEMA)


def read_parquet(data: bytes) -> pa.Table:
    """A release table back from its parquet bytes."""
    return pq.read_table(io.BytesIO(data))


def parquet_bytes(table: pa.Table) -> bytes:
    """A whole table as deterministic parquet (the same bytes ``ParquetBuilder`` gives its rows)."""
    builder = ParquetBuilder(table.schema)
    builder.add_table(table)
    return builder.finish()
