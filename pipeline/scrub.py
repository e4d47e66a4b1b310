"""Scrub personal details from post bodies for full-text releases, counting what was removed."""

from __future__ import annotations

import re
from collections import Counter

PATTERNS: dict[str, tuple[re.Pattern[str], str]] = {
    "user_link": (re.compile(r"https?://(?:www\.|old\.|new\.)?reddit\.com/u(?:ser)?/[\w-]+/?", re.I), "[user]"),
    "email": (re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b"), "[email]"),
    "phone": (re.compile(r"(?<!\d)(?:\+?\d{1,3}[\s.-]?)?(?:\(\d{3}\)|\d{3})[\s.-]\d{3}[\s.-]\d{4}(?!\d)"), "[phone]"),
    "user_mention": (re.compile(r"(?<![\w/])/?u/[\w-]{3,20}", re.I), "[user]"),
}


def scrub(text: str, counts: Counter[str] | None = None) -> str:
    """Replace e-mail addresses, phone numbers, u/ mentions and user-page links."""
    for name, (pattern, replacement) in PATTERNS.items():
        text, n = pattern.subn(replacement, text)
        if counts is not None and n:
            counts[name] += n
    return text
