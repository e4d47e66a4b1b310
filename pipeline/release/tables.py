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
    [("letter", pa.string()), ("value", pa.string()), ("generator", pa.string()),
     ("action", pa.string()), ("candidate_id", pa.string())]
)
QUESTIONS_SCHEMA = pa.schema(
    [("question_id", pa.string()), ("scenario_id", pa.string()), ("post_id", pa.string()),
     ("domain", pa.string()), ("subreddit", pa.string()), ("question_index", pa.int8()),
     ("options", pa.list_(OPTION_TYPE)), ("values", pa.list_(pa.string()))]
)
SCENARIOS_SCHEMA = pa.schema(
    [("scenario_id", pa.string()), ("post_id", pa.string()), ("domain", pa.string()),
     ("subreddit", pa.string()), ("title", pa.string()), ("date", pa.string()),
     ("url", pa.string()), ("text", pa.string())]
)
CANDIDATES_SCHEMA = pa.schema(
    [("candidate_id", pa.string()), ("scenario_id", pa.string()), ("value", pa.string()),
     ("generator", pa.string()), ("served_model", pa.string()), ("prompt_hash", pa.string()),
     ("action", pa.string()), ("warnings", pa.list_(pa.string()))]
)
VALIDATION_SCHEMA = pa.schema(
    [("candidate_id", pa.string()), ("scenario_id", pa.string()), ("value", pa.string()),
     ("generator", pa.string()), ("domain", pa.string()), ("expert_value", pa.string()),
     ("verdict", pa.string()), ("correct", pa.bool_()), ("annotator", pa.string()),
     ("design", pa.string())]
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
    "questions": QUESTIONS_SCHEMA, "scenarios": SCENARIOS_SCHEMA,
    "candidates": CANDIDATES_SCHEMA, "validation": VALIDATION_SCHEMA,
}


def question_row(q: Question, scenario: ScenarioKey, region: str = DEFAULT_REGION) -> dict[str, Any]:
    """One ``questions`` row, options in letter order; actions pass the personal-detail scrub."""
    return {
        "question_id": q.id, "scenario_id": q.scenario_id, "post_id": scenario.post_id,
        "domain": scenario.domain, "subreddit": scenario.subreddit, "question_index": q.index,
        "options": [
            {"letter": o.letter, "value": o.value.value, "generator": o.generator,
             "action": scrub(o.text, None, region), "candidate_id": o.candidate_id}
            for o in q.options
        ],
        "values": [o.value.value for o in q.options],
    }


def scenario_row(s: Scenario, text_policy: str, scrubbed: Counter[str], region: str = DEFAULT_REGION,
                 ) -> dict[str, Any]:
    """One ``scenarios`` row; ``text`` is null under the masked policy, scrubbed under full.

    Titles are public under both policies (as in the original release), so they are scrubbed
    too, and the URL is rebuilt from the post id: the post's own URL ends in a slug of the
    unscrubbed title.
    """
    return {
        "scenario_id": s.id, "post_id": s.post_id, "domain": s.domain, "subreddit": s.subreddit,
        "title": scrub(s.title, scrubbed, region),
        "date": datetime.fromtimestamp(s.created_utc, UTC).strftime("%Y-%m-%d"),
        "url": post_url(s.post_id),
        "text": scrub(s.text, scrubbed, region) if text_policy == "full" else None,
    }


def candidate_row(c: ActionCandidate, scrubbed: Counter[str] | None = None, region: str = DEFAULT_REGION,
                  ) -> dict[str, Any]:
    """One ``candidates`` row: the action with its generator, served model and prompt version."""
    return {"candidate_id": c.id, "scenario_id": c.scenario_id, "value": c.value.value,
            "generator": c.generator, "served_model": c.served_model, "prompt_hash": c.prompt_hash,
            "action": scrub(c.text, scrubbed, region), "warnings": list(c.warnings)}


class TableBuilder:
    """Rows in, one Arrow table out, holding at most ``batch_rows`` Python rows at a time.

    A 15,000-question release as Python dicts costs several times its Arrow size; turning
    every batch into columns as it fills keeps the builder's memory near the table's own.
    """

    def __init__(self, schema: pa.Schema, batch_rows: int = 2000) -> None:
        self.schema = schema
        self.batch_rows = batch_rows
        self._rows: list[dict[str, Any]] = []
        self._batches: list[pa.RecordBatch] = []

    def add(self, row: dict[str, Any]) -> None:
        """Append one row (in the order the table will keep)."""
        self._rows.append(row)
        if len(self._rows) >= self.batch_rows:
            self._flush()

    def _flush(self) -> None:
        if self._rows:
            self._batches.append(pa.RecordBatch.from_pylist(self._rows, schema=self.schema))
            self._rows = []

    def table(self) -> pa.Table:
        """Every row added so far, as one table."""
        self._flush()
        return pa.Table.from_batches(self._batches, schema=self.schema)


def build_table(schema: pa.Schema, rows: Iterable[dict[str, Any]]) -> pa.Table:
    """A table of ``schema`` from rows, built batch by batch."""
    builder = TableBuilder(schema)
    for row in rows:
        builder.add(row)
    return builder.table()


def sort_questions(table: pa.Table) -> pa.Table:
    """Questions in release order: by scenario, then question index."""
    return table.sort_by([("scenario_id", "ascending"), ("question_index", "ascending")])


def questions_table(questions: Iterable[Question], scenarios: Mapping[str, Scenario],
                    region: str = DEFAULT_REGION) -> pa.Table:
    """One row per question, in release order."""
    rows = (question_row(q, ScenarioKey.of(scenarios[q.scenario_id]), region) for q in questions)
    return sort_questions(build_table(QUESTIONS_SCHEMA, rows))


def scenarios_table(scenarios: Iterable[Scenario], text_policy: str, scrubbed: Counter[str],
                    region: str = DEFAULT_REGION) -> pa.Table:
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
    """Serialize a table to parquet deterministically (no timestamps, fixed options).

    An empty table is written with no row group at all: a zero-row group makes
    ``datasets.load_dataset`` fail, while a file with only the schema loads as an empty split.
    """
    table = table.combine_chunks()  # one chunk per column: the bytes do not depend on batching
    sink = io.BytesIO()
    options: dict[str, Any] = {"compression": "zstd", "compression_level": 9, "write_statistics": True,
                               "use_dictionary": True}
    if table.num_rows == 0:
        with pq.ParquetWriter(sink, table.schema, **options):
            pass
        return sink.getvalue()
    pq.write_table(table, sink, **options)
    return sink.getvalue()
