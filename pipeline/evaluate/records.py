"""The stage name evaluation calls are recorded under (answers live in ``eval_answers``)."""

from __future__ import annotations

EVAL_STAGE = "evaluate"
