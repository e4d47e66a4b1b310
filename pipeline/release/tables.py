"""Release tables: records -> Arrow tables with fixed schemas, written as deterministic parquet.

Fixed schemas and sorted rows mean the same records always give the same bytes, which is
what lets a warm rebuild prove it changed nothing.
"""

from __future__ import annotations

import io
from collections import Counter
from datetime import UTC, datetime
from typing import Any

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
TABLE_SCHEMAS: dict[str, pa.Schema] = {
    "questions": QUESTIONS_SCHEMA, "scenarios": SCENARIOS_SCHEMA,
    "candidates": CANDIDATES_SCHEMA, "validation": VALIDATION_SCHEMA,
}


def questions_table(
    questions: list[Question], scenarios: dict[str, Scenario], scrubbed: Counter[str] | None = None,
    region: str = DEFAULT_REGION,
) -> pa.Table:
    """One row per question, options in letter order; actions pass the personal-detail scrub."""
    rows = []
    for q in sorted(questions, key=lambda q: (q.scenario_id, q.index)):
        scenario = scenarios[q.scenario_id]
        rows.append({
            "question_id": q.id, "scenario_id": q.scenario_id, "post_id": scenario.post_id,
            "domain": scenario.domain, "subreddit": scenario.subreddit, "question_index": q.index,
            "options": [
                {"letter": o.letter, "value": o.value.value, "generator": o.generator,
                 "action": scrub(o.text, scrubbed, region), "candidate_id": o.candidate_id}
                for o in q.options
            ],
            "values": [o.value.value for o in q.options],
        })
    return pa.Table.from_pylist(rows, schema=QUESTIONS_SCHEMA)


def scenarios_table(scenarios: list[Scenario], text_policy: str, scrubbed: Counter[str],
                    region: str = DEFAULT_REGION) -> pa.Table:
    """One row per scenario; ``text`` is null under the masked policy, scrubbed under full.

    Titles are public under both policies (as in the original release), so they are scrubbed
    too, and the URL is rebuilt from the post id: the post's own URL ends in a slug of the
    unscrubbed title.
    """
    rows = [
        {
            "scenario_id": s.id, "post_id": s.post_id, "domain": s.domain, "subreddit": s.subreddit,
            "title": scrub(s.title, scrubbed, region),
            "date": datetime.fromtimestamp(s.created_utc, UTC).strftime("%Y-%m-%d"),
            "url": post_url(s.post_id),
            "text": scrub(s.text, scrubbed, region) if text_policy == "full" else None,
        }
        for s in sorted(scenarios, key=lambda s: s.id)
    ]
    return pa.Table.from_pylist(rows, schema=SCENARIOS_SCHEMA)


def candidates_table(candidates: list[ActionCandidate], scrubbed: Counter[str] | None = None,
                     region: str = DEFAULT_REGION) -> pa.Table:
    """Every candidate action with its generator, served model and prompt version."""
    rows = [
        {"candidate_id": c.id, "scenario_id": c.scenario_id, "value": c.value.value,
         "generator": c.generator, "served_model": c.served_model, "prompt_hash": c.prompt_hash,
         "action": scrub(c.text, scrubbed, region), "warnings": list(c.warnings)}
        for c in sorted(candidates, key=lambda c: c.id)
    ]
    return pa.Table.from_pylist(rows, schema=CANDIDATES_SCHEMA)


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
    sink = io.BytesIO()
    options: dict[str, Any] = {"compression": "zstd", "compression_level": 9, "write_statistics": True,
                               "use_dictionary": True}
    if table.num_rows == 0:
        with pq.ParquetWriter(sink, table.schema, **options):
            pass
        return sink.getvalue()
    pq.write_table(table, sink, **options)
    return sink.getvalue()
