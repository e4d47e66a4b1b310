"""Label accuracy and agreement between experts, computed from the pulled annotations.

Every non-skipped annotation is one judgement of whether the generator's label is right
(blind: the expert picked the assigned value; verify: the expert said "correct"). Accuracy
counts items, not judgements: an action judged by several experts (the agreement overlap)
counts once, with the adjudicated verdict when an annotation of it is marked ground truth
in Label Studio, else the majority of its judgements; a tie stays unresolved and out of the
accuracy until someone adjudicates it. Counting judgements would weigh overlap items
double and make the Wilson interval narrower than the number of items justifies.
Intervals are Wilson score intervals, which behave at small counts and near 0 or 1 where
the normal approximation does not. Agreement uses the overlap: the experts' raw answers
(blind: the value picked; verify: the verdict) on tasks judged by two or more experts:
Cohen's kappa per pair of experts, Fleiss' kappa over tasks with the same number of
judgements, Krippendorff's alpha (nominal) over all of them. The three coefficients are
implemented here from their definitions and cross-checked in the tests against
scikit-learn and the ``krippendorff`` package.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Sequence
from itertools import combinations
from pathlib import Path
from statistics import NormalDist
from typing import Any

from pipeline.agreement import cohen_kappa
from pipeline.release.figures import confusion_grid_png
from pipeline.store import Store
from schemas.annotation import NONE_LABEL, AnnotationResult, AnnotationTask

Row = dict[str, Any]


def wilson(correct: int, n: int, confidence: float = 0.95) -> tuple[float, float, float]:
    """(proportion, lower, upper) of the Wilson score interval; (nan, 0, 1) when n = 0."""
    if n == 0:
        return (math.nan, 0.0, 1.0)
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    p = correct / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (p, max(0.0, centre - half), min(1.0, centre + half))


def judgement_rows(store: Store, project: str | None = None) -> list[Row]:
    """One row per live annotation joined with its task (skipped and deleted ones left out)."""
    tasks = {t.id: t for t in store.all(AnnotationTask)}
    rows = []
    for result in store.all(AnnotationResult):
        task = tasks.get(result.task_id)
        if task is None or result.deleted_on_server or result.cancelled:
            continue
        if project is not None and result.project != project:
            continue
        rows.append(judgement_row(task, result))
    return rows


def judgement_row(task: AnnotationTask, result: AnnotationResult) -> Row:
    """The facts about one judgement that every measure and the release table use."""
    assigned = task.value.value
    if task.design == "blind":
        expert = result.expert_value
        correct = None if expert is None else expert == assigned
        answer = expert
    else:
        correct = None if result.verdict is None else result.verdict == "correct"
        expert = assigned if correct else (result.corrected_value or "unspecified")
        answer = result.verdict
        if correct is None:
            expert = None
    return {
        "annotation_id": result.id, "task_id": task.id, "candidate_id": task.candidate_id,
        "scenario_id": task.scenario_id, "value": assigned, "generator": task.generator,
        "domain": task.domain, "design": task.design, "annotator": result.annotator,
        "expert_value": expert, "verdict": result.verdict, "answer": answer, "correct": correct,
        "comment": result.comment, "ground_truth": result.ground_truth,
    }


def item_rows(rows: Sequence[Row]) -> list[Row]:
    """One row per judged candidate, with its verdict as ``correct`` and how it was reached.

    ``resolution`` is ``adjudicated`` (a ground-truth annotation decides), ``single`` (one
    judgement), ``majority`` or ``tie`` (``correct`` None: left out of accuracy). The item
    keeps the candidate's value, generator and domain for the per-group tables, and the
    rejecting judgements that count (only the ground-truth ones when adjudicated).
    """
    judged: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        if row["correct"] is not None:
            judged[str(row["candidate_id"])].append(row)
    items = []
    for cid, group in sorted(judged.items()):
        adjudicated = [r for r in group if r.get("ground_truth")]
        yes = sum(1 for r in group if r["correct"])
        no = len(group) - yes
        if adjudicated:
            correct: bool | None = bool(adjudicated[-1]["correct"])
            resolution = "adjudicated"
        elif len(group) == 1:
            correct, resolution = bool(group[0]["correct"]), "single"
        elif yes != no:
            correct, resolution = yes > no, "majority"
        else:
            correct, resolution = None, "tie"
        first = group[0]
        items.append({
            "candidate_id": cid, "scenario_id": first["scenario_id"], "value": first["value"],
            "generator": first["generator"], "domain": first["domain"], "correct": correct,
            "resolution": resolution, "judgements": len(group),
            "annotation_ids": sorted(str(r["annotation_id"]) for r in group),
            "rejecting": [r for r in (adjudicated or group) if not r["correct"]],
        })
    return items


def accuracy(rows: Sequence[Row], confidence: float = 0.95) -> dict[str, Any]:
    """Accuracy with its Wilson interval over the rows that have a judgement."""
    judged = [r for r in rows if r["correct"] is not None]
    k = sum(1 for r in judged if r["correct"])
    p, lo, hi = wilson(k, len(judged), confidence)
    return {"n": len(judged), "correct": k, "accuracy": p, "ci_low": lo, "ci_high": hi}


def accuracy_by(rows: Sequence[Row], key: str, confidence: float = 0.95) -> dict[str, dict[str, Any]]:
    """Accuracy per group of ``key`` (value, generator, domain...)."""
    groups: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        groups[str(row[key])].append(row)
    return {group: accuracy(members, confidence) for group, members in sorted(groups.items())}


def confusion(rows: Sequence[Row]) -> dict[str, dict[str, int]]:
    """Counts of (assigned value -> expert value) over judged rows."""
    matrix: dict[str, Counter[str]] = defaultdict(Counter)
    for row in rows:
        if row["expert_value"] is not None:
            matrix[row["value"]][row["expert_value"]] += 1
    return {assigned: dict(counts) for assigned, counts in sorted(matrix.items())}


def confusion_png(matrix: dict[str, dict[str, int]], path: Path, rows_order: Sequence[str],
                  cols_order: Sequence[str]) -> Path:
    """Draw the confusion matrix (drawn like the release's figure) into ``path``."""
    grid = [[matrix.get(r, {}).get(c, 0) for c in cols_order] for r in rows_order]
    judged = sum(map(sum, grid))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(confusion_grid_png(grid, rows_order, cols_order,
                                        f"Expert labels against intended values ({judged} judgements)"))
    return path


def fleiss_kappa(table: Sequence[Sequence[int]]) -> float:
    """Fleiss' kappa from an items x categories count table (same raters count per item)."""
    if not table:
        raise ValueError("no items")
    m = sum(table[0])
    if m < 2 or any(sum(row) != m for row in table):
        raise ValueError("every item needs the same number (>= 2) of ratings")
    n_items = len(table)
    categories = len(table[0])
    p_items = [(sum(c * c for c in row) - m) / (m * (m - 1)) for row in table]
    p_bar = sum(p_items) / n_items
    p_cat = [sum(row[j] for row in table) / (n_items * m) for j in range(categories)]
    p_e = sum(p * p for p in p_cat)
    if p_e == 1:
        return math.nan
    return (p_bar - p_e) / (1 - p_e)


def krippendorff_alpha_nominal(units: Sequence[Sequence[Hashable]]) -> float:
    """Krippendorff's alpha for nominal data; each unit lists the values it received.

    Units with fewer than two values are not pairable and are ignored. Built from the
    coincidence matrix: alpha = 1 - (n - 1) * sum of off-diagonal coincidences /
    sum over c != k of n_c * n_k.
    """
    coincidence: dict[tuple[Hashable, Hashable], float] = defaultdict(float)
    for values in units:
        m = len(values)
        if m < 2:
            continue
        for i, j in ((i, j) for i in range(m) for j in range(m) if i != j):
            coincidence[(values[i], values[j])] += 1 / (m - 1)
    totals: dict[Hashable, float] = defaultdict(float)
    for (c, _), count in coincidence.items():
        totals[c] += count
    n = sum(totals.values())
    if n <= 1:
        return math.nan
    disagree = sum(count for (c, k), count in coincidence.items() if c != k)
    expected = sum(totals[c] * totals[k] for c in totals for k in totals if c != k)
    if expected == 0:
        return math.nan
    return 1 - (n - 1) * disagree / expected


def agreement(rows: Sequence[Row]) -> dict[str, Any]:
    """Agreement between experts on tasks with two or more judgements."""
    answers: dict[str, dict[str, str]] = defaultdict(dict)
    for row in rows:
        if row["answer"] is not None:
            answers[row["task_id"]][row["annotator"]] = str(row["answer"])
    multi = {task: by for task, by in answers.items() if len(by) >= 2}
    annotators = sorted({a for by in multi.values() for a in by})
    pairwise: list[dict[str, Any]] = []
    for x, y in combinations(annotators, 2):
        shared = [by for by in multi.values() if x in by and y in by]
        if len(shared) >= 2:
            pairwise.append({"annotators": [x, y], "items": len(shared),
                             "kappa": cohen_kappa([s[x] for s in shared], [s[y] for s in shared])})
    counts = Counter(len(by) for by in multi.values())
    fleiss = math.nan
    fleiss_items = 0
    if counts:
        m = max(counts, key=lambda k: (counts[k], k))
        same = [by for by in multi.values() if len(by) == m]
        labels = sorted({v for by in same for v in by.values()})
        table = [[list(by.values()).count(label) for label in labels] for by in same]
        fleiss = fleiss_kappa(table) if table else math.nan
        fleiss_items = len(table)
    alpha = krippendorff_alpha_nominal([list(by.values()) for by in multi.values()])
    return {
        "items": len(multi), "annotators": len(annotators),
        "cohen_kappa": pairwise[0]["kappa"] if len(pairwise) == 1 else _mean([p["kappa"] for p in pairwise]),
        "pairwise": pairwise, "fleiss_kappa": fleiss, "fleiss_items": fleiss_items,
        "krippendorff_alpha": alpha,
        "raw_agreement": _mean([1.0 if len(set(by.values())) == 1 else 0.0 for by in multi.values()]),
    }


def _mean(values: Sequence[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return sum(finite) / len(finite) if finite else math.nan


def summary(rows: Sequence[Row], confidence: float = 0.95) -> dict[str, Any]:
    """Every figure of the report as plain data: accuracy over items, agreement over the overlap."""
    items = item_rows(rows)
    by: Callable[[str], dict[str, dict[str, Any]]] = lambda key: accuracy_by(items, key, confidence)  # noqa: E731
    judged = [r for r in rows if r["correct"] is not None]
    none_share = _mean([1.0 if r["expert_value"] == NONE_LABEL else 0.0 for r in judged])
    resolutions = Counter(str(item["resolution"]) for item in items)
    return {
        "judgements": len(rows),
        "candidates": len({r["candidate_id"] for r in rows}),
        "resolutions": {k: resolutions.get(k, 0) for k in ("single", "majority", "adjudicated", "tie")},
        "overall": accuracy(items, confidence),
        "by_value": by("value"), "by_generator": by("generator"), "by_domain": by("domain"),
        "none_unclear_share": none_share,
        "confusion": confusion(rows),
        "agreement": agreement(rows),
    }
