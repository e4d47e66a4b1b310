"""Scrub personal details from public text (titles, bodies, actions), counting what was removed.

Order matters: user-page links go before bare ``u/`` mentions (a link contains one), and
e-mail addresses before phone numbers (an address may contain digits). Phone numbers are
found as digit runs with the usual separators and kept only when they hold 10 to 15 digits
and do not look like a date, so years, prices and ISO dates survive.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

USER_LINK = re.compile(
    r"(?:https?://)?(?:www\.|old\.|new\.|np\.)?reddit\.com/u(?:ser)?/[\w-]+/?", re.I
)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")
USER_MENTION = re.compile(r"(?<![\w/])/?u/[\w-]{3,20}", re.I)
PHONE_CANDIDATE = re.compile(r"(?<![\w+])\+?\(?\d[\d\s().-]{7,20}\d(?![\w])")
DATE_LIKE = re.compile(r"^\d{4}[-./]\d{1,2}[-./]\d{1,2}$|^\d{1,2}[-./]\d{1,2}[-./]\d{2,4}$")


def _phone(match: re.Match[str]) -> str | None:
    raw = match.group(0)
    digits = sum(ch.isdigit() for ch in raw)
    if not 10 <= digits <= 15 or DATE_LIKE.match(raw.strip()) or "\n" in raw:
        return None
    return "[phone]"


def _fixed(replacement: str) -> Callable[[re.Match[str]], str | None]:
    return lambda _match: replacement


PATTERNS: dict[str, tuple[re.Pattern[str], Callable[[re.Match[str]], str | None]]] = {
    "user_link": (USER_LINK, _fixed("[user]")),
    "email": (EMAIL, _fixed("[email]")),
    "user_mention": (USER_MENTION, _fixed("[user]")),
    "phone": (PHONE_CANDIDATE, _phone),
}


def scrub(text: str, counts: Counter[str] | None = None) -> str:
    """Replace e-mail addresses, phone numbers, ``u/`` mentions and user-page links."""
    for name, (pattern, decide) in PATTERNS.items():
        hits = 0

        def replace(match: re.Match[str], decide: Callable[[re.Match[str]], str | None] = decide) -> str:
            nonlocal hits
            replacement = decide(match)
            if replacement is None:
                return match.group(0)
            hits += 1
            return replacement

        text = pattern.sub(replace, text)
        if counts is not None and hits:
            counts[name] += hits
    return text
