"""Release tables: records -> Arrow tables with fixed schemas, written as deterministic parquet.

Fixed schemas and sorted rows mean the same records always give the same bytes, which is
what lets a warm rebuild prove it changed nothing.
"""

from __future__ import annotations

import io
from collections import Counter
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.scrub import scrub
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


def questions_table(questions: list[Question], scenarios: dict[str, Scenario]) -> pa.Table:
    """One row per question, options in letter order."""
    rows = []
    for q in sorted(questions, key=lambda q: (q.scenario_id, q.index)):
        scenario = scenarios[q.scenario_id]
        rows.append({
            "question_id": q.id, "scenario_id": q.scenario_id, "post_id": scenario.post_id,
            "domain": scenario.domain, "subreddit": scenario.subreddit, "question_index": q.index,
            "options": [
                {"letter": o.letter, "value": o.value.value, "generator": o.generator,
                 "action": o.text, "candidate_id": o.candidate_id}
                for o in q.options
            ],
            "values": [o.value.value for o in q.options],
        })
    return pa.Table.from_pylist(rows, schema=QUESTIONS_SCHEMA)


def scenarios_table(scenarios: list[Scenario], text_policy: str, scrubbed: Counter[str]) -> pa.Table:
    """One row per scenario; ``text`` is null under the masked policy, scrubbed under full."""
    rows = [
        {
            "scenario_id": s.id, "post_id": s.post_id, "domain": s.domain, "subreddit": s.subreddit,
            "title": s.title,
            "date": datetime.fromtimestamp(s.created_utc, UTC).strftime("%Y-%m-%d"),
            "url": s.url,
            "text": scrub(s.text, scrubbed) if text_policy == "full" else None,
        }
        for s in sorted(scenarios, key=lambda s: s.id)
    ]
    return pa.Table.from_pylist(rows, schema=SCENARIOS_SCHEMA)


def candidates_table(candidates: list[ActionCandidate]) -> pa.Table:
    """Every candidate action with its generator, served model and prompt version."""
    rows = [
        {"candidate_id": c.id, "scenario_id": c.scenario_id, "value": c.value.value,
         "generator": c.generator, "served_model": c.served_model, "prompt_hash": c.prompt_hash,
         "action": c.text, "warnings": list(c.warnings)}
        for c in sorted(candidates, key=lambda c: c.id)
    ]
    return pa.Table.from_pylist(rows, schema=CANDIDATES_SCHEMA)


def parquet_bytes(table: pa.Table) -> bytes:
    """Serialize a table to parquet deterministically (no timestamps, fixed options)."""
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd", compression_level=9, write_statistics=True,
                   use_dictionary=True)
    return sink.getvalue()
