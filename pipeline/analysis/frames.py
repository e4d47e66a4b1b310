"""Stored answers as flat tables: one row per choice answer, one row per scored PVQ item.

Every measure in ``measures`` reads these frames, whatever produced the answers (a valact
run or an imported log), so the same numbers come out of the same code.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from schemas.evaluate import EvalAnswer

CHOICE_COLUMNS = ["model", "release", "mode", "variant", "question_id", "domain", "target", "chosen",
                  "invalid"]
PVQ_COLUMNS = ["model", "release", "variant", "trial", "position", "value", "score"]
INVALID_COLUMNS = ["model", "mode", "level", "reason", "count"]


def choice_frame(answers: Iterable[EvalAnswer]) -> pd.DataFrame:
    """Choice answers (default, selection, adoption); invalid ones keep their reason, no choice."""
    rows = [
        {"model": a.model, "release": a.release, "mode": a.mode, "variant": a.variant,
         "question_id": a.question_id, "domain": a.domain or "unknown",
         "target": a.target.value if a.target else None,
         "chosen": a.chosen_value.value if a.chosen_value else None, "invalid": a.invalid}
        for a in answers if a.mode != "pvq40"
    ]
    return pd.DataFrame(rows, columns=CHOICE_COLUMNS)


def pvq_frame(answers: Iterable[EvalAnswer]) -> pd.DataFrame:
    """One row per valid PVQ item score, with the value its item measures."""
    rows = []
    for a in answers:
        if a.mode != "pvq40" or a.invalid:
            continue
        values = {p.position: p.value.value for p in a.positions}
        for position, score in sorted(a.scores.items()):
            rows.append({"model": a.model, "release": a.release, "variant": a.variant, "trial": a.trial,
                         "position": position, "value": values[position], "score": score})
    return pd.DataFrame(rows, columns=PVQ_COLUMNS)


def invalid_frame(answers: Iterable[EvalAnswer]) -> pd.DataFrame:
    """Invalid answers per model, mode and reason; PVQ items left unscored are counted as level 'item'."""
    counts: dict[tuple[str, str, str, str], int] = {}
    for a in answers:
        if a.invalid:
            key = (a.model, a.mode, "answer", a.invalid)
            counts[key] = counts.get(key, 0) + 1
        elif a.mode == "pvq40":
            for reason in a.item_issues.values():
                key = (a.model, a.mode, "item", reason)
                counts[key] = counts.get(key, 0) + 1
    rows = [{"model": m, "mode": mode, "level": level, "reason": r, "count": n}
            for (m, mode, level, r), n in sorted(counts.items())]
    return pd.DataFrame(rows, columns=INVALID_COLUMNS)
