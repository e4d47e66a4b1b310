"""Analysis figures as PNG bytes, drawn on bare matplotlib ``Figure`` objects (no pyplot state,
safe in threads) without version metadata, so the same tables give the same bytes."""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from pipeline.analysis.measures import ALL, VALUE_NAMES, declared_profile, enacted_profile

PROFILE_FIGURE = "value_profiles.png"
HEATMAP_FIGURE = "model_correlations.png"
SELECTION_FIGURE = "selection_vs_adoption.png"


def _png(fig: Any) -> bytes:
    sink = io.BytesIO()
    fig.savefig(sink, format="png", dpi=100, metadata={"Software": None}, bbox_inches="tight")
    return sink.getvalue()


def _grid(n: int) -> tuple[int, int]:
    cols = min(n, 2)
    return math.ceil(n / cols), cols


def _panels(n: int, height: float) -> tuple[Any, Any]:
    """A figure with one 7-inch-wide panel per model, laid out by ``_grid``, axes flattened."""
    rows, cols = _grid(n)
    fig = Figure(figsize=(7 * cols, height * rows))
    return fig, np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()


def _z(profile: pd.Series) -> Any:
    """A profile on a unit scale, so shares (% points) and PVQ scores share one axis; r is unchanged."""
    values = profile.to_numpy(dtype=float)
    spread = float(np.nanstd(values))
    return (values - np.nanmean(values)) / spread if spread > 0 else values - np.nanmean(values)


NO_DATA = "no valid answers to draw"


def value_profiles_png(shares: pd.DataFrame, means: pd.DataFrame, models: list[str]) -> bytes | None:
    """Per model: enacted (centred default shares) beside declared (centred PVQ means), each
    standardised across the ten values so the two fit one axis. ``models``: those asked the
    default or PVQ-40 questions (a model whose answers were all invalid gets a note)."""
    if not models:
        return None
    fig, axes = _panels(len(models), height=3.6)
    x = np.arange(len(VALUE_NAMES))
    for ax, model in zip(axes, models, strict=False):
        enacted, declared = enacted_profile(shares, model), declared_profile(means, model)
        if enacted is not None:
            ax.bar(x - 0.2, _z(enacted), 0.4, label="enacted (default-selection shares)")
        if declared is not None:
            ax.bar(x + 0.2, _z(declared), 0.4, color="tab:orange", label="declared (PVQ-40 means)")
        ax.axhline(0, color="grey", linewidth=0.5)
        ax.set_ylabel("standardised (z) across values")
        ax.set_xticks(x, VALUE_NAMES, rotation=45, ha="right", fontsize=8)
        ax.set_title(model)
        if enacted is None and declared is None:
            ax.text(0.5, 0.5, NO_DATA, ha="center", va="center", transform=ax.transAxes)
        else:
            ax.legend(fontsize=7)
    for ax in axes[len(models):]:
        ax.set_visible(False)
    fig.suptitle("Value profile per model: enacted choices vs declared PVQ-40")
    return _png(fig)


def correlation_heatmap_png(correlations: pd.DataFrame, profile: str = "enacted") -> bytes | None:
    """Pearson r between models' profiles as a heatmap with the numbers written in."""
    part = correlations[correlations["profile"] == profile]
    if part.empty:
        return None
    matrix = part.pivot(index="model_a", columns="model_b", values="r").sort_index().sort_index(axis=1)
    n = len(matrix)
    fig = Figure(figsize=(2 + 1.2 * n, 1.5 + 1.1 * n))
    ax = fig.subplots()
    image = ax.imshow(matrix.to_numpy(dtype=float), vmin=-1, vmax=1, cmap="coolwarm")
    ax.set_xticks(range(n), list(matrix.columns), rotation=45, ha="right")
    ax.set_yticks(range(n), list(matrix.index))
    values = matrix.to_numpy(dtype=float)
    for i in range(n):
        for j in range(n):
            label = "n/a" if math.isnan(values[i, j]) else f"{values[i, j]:.2f}"
            ax.text(j, i, label, ha="center", va="center", fontsize=9)
    fig.colorbar(image, ax=ax, label="Pearson r")
    ax.set_title(f"Between-model correlation of {profile} value profiles")
    return _png(fig)


def selection_adoption_png(accuracy: pd.DataFrame, models: list[str]) -> bytes | None:
    """Per model: selection and adoption accuracy per target value (whole set). ``models``:
    those asked selection or adoption questions."""
    part = accuracy[(accuracy["domain"] == ALL) & (accuracy["value"] != ALL)]
    if not models:
        return None
    fig, axes = _panels(len(models), height=3.4)
    x = np.arange(len(VALUE_NAMES))
    for ax, model in zip(axes, models, strict=False):
        drawn = False
        for offset, mode in ((-0.2, "selection"), (0.2, "adoption")):
            mine = part[(part["model"] == model) & (part["mode"] == mode)].set_index("value")
            if not mine.empty and mine["valid"].sum() > 0:
                ax.bar(x + offset, mine["accuracy"].reindex(VALUE_NAMES).to_numpy(), 0.4, label=mode)
                drawn = True
        if not drawn:
            ax.text(0.5, 0.5, NO_DATA, ha="center", va="center", transform=ax.transAxes)
        ax.set_ylim(0, 100)
        ax.set_ylabel("accuracy (% of valid answers)")
        ax.set_xticks(x, VALUE_NAMES, rotation=45, ha="right", fontsize=8)
        ax.set_title(model)
        if drawn:
            ax.legend(fontsize=7)
    for ax in axes[len(models):]:
        ax.set_visible(False)
    fig.suptitle("Value selection vs value adoption")
    return _png(fig)
