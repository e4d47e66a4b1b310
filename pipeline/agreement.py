"""Agreement between raters: Cohen's kappa, shared by the screening ensemble (screener vs
screener) and expert validation (annotator vs annotator)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Sequence


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    """Cohen's kappa of two raters' paired labels: (observed - expected) / (1 - expected).

    Expected agreement comes from each rater's own label rates. NaN when it is total (both
    raters give one and the same label to everything: kappa is undefined there).
    """
    if len(a) != len(b) or not a:
        raise ValueError("two equally long, non-empty label sequences are needed")
    n = len(a)
    observed = sum(1 for x, y in zip(a, b, strict=True) if x == y) / n
    ca, cb = Counter(a), Counter(b)
    expected = sum(ca[label] * cb[label] for label in ca) / (n * n)
    if expected == 1:
        return math.nan
    return (observed - expected) / (1 - expected)
