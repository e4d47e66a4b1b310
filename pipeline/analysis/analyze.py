"""``valact analyze``: stored answers -> parquet tables, figures and ``report.md`` in one folder.

Runs on any mix of models and sources (valact runs, imported logs): it only reads
``eval_answers``. Re-running rewrites the folder from the current answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.analysis import figures, measures
from pipeline.analysis.frames import choice_frame, invalid_frame, pvq_frame
from pipeline.analysis.report import render_report
from pipeline.store import Store
from schemas.evaluate import EvalAnswer

REPORT = "report.md"


@dataclass
class Analysis:
    """The tables and figures of one analysis."""

    tables: dict[str, pd.DataFrame]
    figures: dict[str, bytes] = field(default_factory=dict)


def answer_counts(answers: list[EvalAnswer]) -> pd.DataFrame:
    """Answers per model and mode: stored, valid, invalid, prompt variants, units."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for a in answers:
        row = rows.setdefault((a.model, a.mode), {"model": a.model, "mode": a.mode, "answers": 0, "valid": 0,
                                                   "invalid": 0, "variants": set(), "units": set()})
        row["answers"] += 1
        row["valid" if a.valid else "invalid"] += 1
        row["variants"].add(a.variant)
        row["units"].add(a.unit)
    out = [{**r, "variants": len(r["variants"]), "units": len(r["units"])} for _, r in sorted(rows.items())]
    return pd.DataFrame(out, columns=["model", "mode", "answers", "valid", "invalid", "variants", "units"])


def analyze_answers(answers: list[EvalAnswer]) -> Analysis:
    """Every measure over the given answers."""
    choices, pvq = choice_frame(answers), pvq_frame(answers)
    shares = measures.default_shares(choices)
    accuracy = measures.accuracy(choices)
    means = measures.pvq_means(pvq)
    correlations = measures.model_correlations(shares, means)
    tables = {
        "answers": answer_counts(answers),
        "invalid": invalid_frame(answers),
        "default_shares": shares,
        "accuracy": accuracy,
        "selection_vs_adoption": measures.selection_vs_adoption(choices),
        "pvq_means": means,
        "declared_vs_enacted": measures.declared_vs_enacted(shares, means),
        "model_correlations": correlations,
        "majority": measures.majority_preference(choices),
    }
    asked = {mode: sorted({a.model for a in answers if a.mode in mode}) for mode in
             (("default", "pvq40"), ("selection", "adoption"))}
    drawn = {
        figures.PROFILE_FIGURE: figures.value_profiles_png(shares, means, asked[("default", "pvq40")]),
        figures.HEATMAP_FIGURE: figures.correlation_heatmap_png(correlations),
        figures.SELECTION_FIGURE: figures.selection_adoption_png(accuracy, asked[("selection", "adoption")]),
    }
    return Analysis(tables=tables, figures={k: v for k, v in drawn.items() if v is not None})


def select_answers(store: Store, models: list[str] | None = None) -> list[EvalAnswer]:
    """Stored answers, restricted to the given model labels (all when None)."""
    answers = store.all(EvalAnswer)
    if models:
        unknown = sorted(set(models) - {a.model for a in answers})
        if unknown:
            known = ", ".join(sorted({a.model for a in answers})) or "none"
            raise ValueError(f"no stored answers for {', '.join(unknown)} (models with answers: {known})")
        answers = [a for a in answers if a.model in models]
    if not answers:
        raise ValueError("no evaluation answers stored; run `valact evaluate` or "
                         "`valact import valact-results` first")
    return answers


def write_analysis(analysis: Analysis, folder: Path, title: str) -> dict[str, Any]:
    """Parquet per table, PNG per figure and ``report.md`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, table in analysis.tables.items():
        table.to_parquet(folder / f"{name}.parquet", index=False)
    for name, data in analysis.figures.items():
        (folder / name).write_bytes(data)
    report = render_report(analysis.tables, sorted(analysis.figures), title)
    (folder / REPORT).write_text(report, encoding="utf-8")
    return {"folder": str(folder), "report": str(folder / REPORT), "figures": sorted(analysis.figures),
            "tables": {name: len(t) for name, t in analysis.tables.items()}}
