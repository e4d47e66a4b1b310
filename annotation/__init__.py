"""Expert validation in Label Studio: labeling configs, server, sampling, push/pull,
agreement measures, reports and corrections.

The functions below are the release builder's read-only view of the validation results.
"""

from __future__ import annotations

import math
from typing import Any

from annotation.measures import judgement_rows, summary
from pipeline.store import Store
from schemas.annotation import AnnotationTask, Correction

VALIDATION_COLUMNS = (
    "candidate_id", "scenario_id", "value", "generator", "domain", "expert_value", "verdict",
    "correct", "annotator", "design",
)


def validation_rows(store: Store) -> list[dict[str, Any]]:
    """One row per expert judgement of an annotated candidate, for a ``validation`` table.

    A candidate judged by two experts gives two rows (told apart by the annotator hash).
    ``correct`` is None when the judgement has no usable answer. Skipped annotations and
    annotations deleted on the server are left out.
    """
    return [{key: row[key] for key in VALIDATION_COLUMNS} for row in judgement_rows(store)]


def validation_summary(store: Store) -> dict[str, Any]:
    """Accuracy with its 95% Wilson interval and expert agreement, for the dataset card.

    Accuracy counts each judged candidate once (``measures.item_rows``); ties awaiting
    adjudication are counted apart. NaN (not computable, e.g. no overlapping tasks) is
    reported as None.
    """
    data = summary(judgement_rows(store))
    overall = data["overall"]
    agree = data["agreement"]
    designs = sorted({t.design for t in store.all(AnnotationTask)})

    def clean(x: float) -> float | None:
        return None if isinstance(x, float) and math.isnan(x) else round(x, 4)

    return {
        "design": designs[0] if len(designs) == 1 else designs,
        "judgements": data["judgements"], "candidates": data["candidates"],
        "items_judged": overall["n"], "items_tied": data["resolutions"]["tie"],
        "items_adjudicated": data["resolutions"]["adjudicated"],
        "accuracy": clean(overall["accuracy"]),
        "ci95": [clean(overall["ci_low"]), clean(overall["ci_high"])],
        "annotators": agree["annotators"], "overlap_items": agree["items"],
        "cohen_kappa": clean(agree["cohen_kappa"]), "fleiss_kappa": clean(agree["fleiss_kappa"]),
        "krippendorff_alpha": clean(agree["krippendorff_alpha"]),
        "corrections": store.count(Correction),
    }


def release_validation(store: Store) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The validation table's rows and the card's summary: what the flows hand the release builder.

    ``pipeline`` never imports this package; the flows pass this function in, so a release
    built where annotation is not used simply has no validation table.
    """
    rows = validation_rows(store)
    return rows, (validation_summary(store) if rows else {})
