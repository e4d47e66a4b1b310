"""Release figures as PNG bytes: value distribution by answer position, and the validation
confusion matrix. Drawn on a bare matplotlib ``Figure`` (no pyplot global state, safe in
threads) and without the PNG metadata that would carry a version string, so the same data
gives the same bytes."""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from matplotlib.figure import Figure

from schemas.records import LETTERS
from schemas.values import ALL_VALUES

VALUE_FIGURE = "figures/value_distribution.png"
CONFUSION_FIGURE = "figures/confusion_matrix.png"


def _png(fig: Any) -> bytes:
    sink = io.BytesIO()
    fig.savefig(sink, format="png", dpi=100, metadata={"Software": None})
    return sink.getvalue()


def value_distribution_png(positions: Mapping[tuple[str, str], int]) -> bytes:
    """Stacked bars: how often each value sits at answer position A..D (``(value, letter)`` counts)."""
    names = [v.value for v in ALL_VALUES]
    fig = Figure(figsize=(8, 4))
    ax = fig.subplots()
    bottom = [0] * len(ALL_VALUES)
    for letter in LETTERS:
        heights = [positions.get((v.value, letter), 0) for v in ALL_VALUES]
        ax.bar(names, heights, bottom=bottom, label=letter)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    ax.set_ylabel("options")
    ax.set_title("Value by answer position")
    ax.legend(title="position", ncols=4, fontsize="small")
    ax.tick_params(axis="x", labelrotation=45)
    fig.tight_layout()
    return _png(fig)


def confusion_png(rows: Iterable[Mapping[str, Any]]) -> bytes:
    """Intended value (rows) against the value experts chose (columns), for a release."""
    names = [v.value for v in ALL_VALUES]
    index = {name: i for i, name in enumerate(names)}
    grid = [[0] * len(names) for _ in names]
    judged = 0
    for row in rows:
        intended, expert = row.get("value"), row.get("expert_value")
        if intended in index and expert in index:
            grid[index[str(intended)]][index[str(expert)]] += 1
            judged += 1
    return confusion_grid_png(grid, names, names, f"Validation confusion matrix ({judged} judgements)")


def confusion_grid_png(grid: Sequence[Sequence[int]], rows: Sequence[str], cols: Sequence[str],
                       title: str) -> bytes:
    """A count grid as a heat map: intended value per row, the experts' label per column.

    The one drawing of a confusion matrix, for the release's figure and the annotation
    report's alike (the report's columns may add labels that are not values).
    """
    fig = Figure(figsize=(6.5, 6))
    ax = fig.subplots()
    ax.imshow(grid, cmap="Blues")
    ax.set_xticks(range(len(cols)), cols, rotation=60, ha="right")
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlabel("expert label")
    ax.set_ylabel("intended value")
    ax.set_title(title)
    for i, line in enumerate(grid):
        for j, n in enumerate(line):
            if n:
                ax.text(j, i, str(n), ha="center", va="center", fontsize=7)
    fig.tight_layout()
    return _png(fig)
