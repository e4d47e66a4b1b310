"""The validation report: one Markdown file and the confusion-matrix PNG beside it."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from annotation.measures import confusion_png, judgement_rows, summary
from pipeline.store import Store
from schemas.annotation import NONE_LABEL, AnnotationResult, AnnotationTask, Correction
from schemas.values import ALL_VALUES


def _pct(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{100 * x:.1f}%"


def _num(x: float) -> str:
    return "n/a" if isinstance(x, float) and math.isnan(x) else f"{x:.3f}"


def _acc_table(title: str, groups: dict[str, dict[str, Any]]) -> list[str]:
    lines = [f"### {title}", "", "| group | items | correct | accuracy | 95% CI |",
             "|---|---:|---:|---:|---|"]
    for name, g in groups.items():
        lines.append(f"| {name} | {g['n']} | {g['correct']} | {_pct(g['accuracy'])} | "
                     f"{_pct(g['ci_low'])} - {_pct(g['ci_high'])} |")
    return [*lines, ""]


def render(store: Store, project: str, png_name: str = "confusion.png") -> tuple[str, dict[str, Any]]:
    """The report text and the figures it shows."""
    rows = judgement_rows(store, project)
    data = summary(rows)
    tasks = [t for t in store.all(AnnotationTask) if t.project == project]
    results = [r for r in store.all(AnnotationResult) if r.project == project]
    corrections = store.all(Correction)
    overall = data["overall"]
    resolved = data["resolutions"]
    agree = data["agreement"]
    design = tasks[0].design if tasks else "n/a"
    lines = [
        f"# Expert validation report: {project}", "",
        f"Design: **{design}**. Tasks pushed: {len(tasks)} "
        f"({sum(1 for t in tasks if t.annotators_wanted > 1)} for several experts). "
        f"Annotations pulled: {len(results)} "
        f"(skipped {sum(1 for r in results if r.cancelled)}, "
        f"deleted on the server {sum(1 for r in results if r.deleted_on_server)}).", "",
        "## Label accuracy", "",
        f"Overall: **{_pct(overall['accuracy'])}** of {overall['n']} items "
        f"(95% Wilson CI {_pct(overall['ci_low'])} - {_pct(overall['ci_high'])}), from "
        f"{data['judgements']} judgements of {data['candidates']} candidates. Each item counts once: "
        f"{resolved['single']} judged once, {resolved['majority']} by majority, "
        f"{resolved['adjudicated']} adjudicated (an annotation marked ground truth); "
        f"{resolved['tie']} tied and left out until adjudicated. "
        f"Judged '{NONE_LABEL}': {_pct(data['none_unclear_share'])} of judgements.", "",
        *_acc_table("Per value", data["by_value"]),
        *_acc_table("Per generator", data["by_generator"]),
        *_acc_table("Per domain", data["by_domain"]),
        "## Confusion matrix (assigned value x expert value, every judgement)", "",
    ]
    matrix = data["confusion"]
    cols = [v.value for v in ALL_VALUES]
    extra = sorted({c for row in matrix.values() for c in row} - set(cols))
    cols += extra
    short = [c[:5] for c in cols]
    lines += ["| assigned \\ expert | " + " | ".join(short) + " |", "|---" * (len(cols) + 1) + "|"]
    for assigned in [v.value for v in ALL_VALUES]:
        counts = matrix.get(assigned, {})
        lines.append(f"| {assigned} | " + " | ".join(str(counts.get(c, 0)) for c in cols) + " |")
    lines += ["", f"![confusion matrix]({png_name})", "", "## Agreement between experts", "",
              f"Tasks with two or more judgements: {agree['items']}, experts: {agree['annotators']}.", "",
              "| measure | value |", "|---|---:|",
              f"| raw agreement | {_pct(agree['raw_agreement'])} |",
              f"| Cohen's kappa | {_num(agree['cohen_kappa'])} |",
              f"| Fleiss' kappa ({agree['fleiss_items']} tasks) | {_num(agree['fleiss_kappa'])} |",
              f"| Krippendorff's alpha (nominal) | {_num(agree['krippendorff_alpha'])} |", ""]
    if corrections:
        lines += ["## Corrections", "", "| candidate | policy | old | new | outcome |",
                  "|---|---|---|---|---|"]
        for c in corrections:
            lines.append(f"| {c.candidate_id} | {c.policy} | {c.old_value.value} | "
                         f"{c.new_value.value if c.new_value else '-'} | {c.outcome} |")
        lines.append("")
    comments = [r for r in rows if r["comment"]]
    if comments:
        lines += ["## Expert comments", ""]
        lines += [f"- `{r['candidate_id']}` ({r['value']}): {r['comment'].strip()[:300]}"
                  for r in comments[:50]]
        lines.append("")
    return "\n".join(lines), data


def write_report(store: Store, project: str, folder: Path) -> Path:
    """Write ``report.md`` and ``confusion.png`` into ``folder``; returns the report path."""
    folder.mkdir(parents=True, exist_ok=True)
    text, data = render(store, project)
    matrix = data["confusion"]
    cols = [v.value for v in ALL_VALUES]
    cols += sorted({c for row in matrix.values() for c in row} - set(cols))
    confusion_png(matrix, folder / "confusion.png", [v.value for v in ALL_VALUES], cols)
    path = folder / "report.md"
    path.write_text(text, encoding="utf-8")
    return path
