"""Where evaluation answers are stored: registering the record type gives it its table."""

from __future__ import annotations

from pipeline.store import register_table
from schemas.evaluate import EvalAnswer

EVAL_STAGE = "evaluate"
ANSWERS_TABLE = "eval_answers"

register_table(EvalAnswer, ANSWERS_TABLE)
