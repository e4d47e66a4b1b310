"""Scrub personal details from public text (titles, bodies, actions), counting what was removed.

Order matters: user-page links go before bare ``u/`` mentions (a link contains one), and
e-mail addresses before phone numbers (an address may contain digits). Phone numbers are
found by Google's libphonenumber (``phonenumbers.PhoneNumberMatcher``) rather than a
home-made digit regex: it knows each region's number lengths, so a local 7-digit number
(``867-5309``) is caught while lists of years (``2019 2020 2021``), prices, dates, zip
codes and version numbers are not. Numbers without a country code are read in a default
region (``publish.phone_region``, "US" unless configured). The matcher runs at its
*possible* leniency (right length for the region, not necessarily an assigned range): a
number a poster typed is personal whether or not its range is assigned today. The few
shapes it accepts that are not phone numbers (an amount after a currency sign, ``#1234567``,
``1 2 3 4 5 6 7``) are left alone.

Release URLs are never copied from the post: a Reddit URL carries the title as a slug, and
the slug would leak whatever the scrub removed from the title. ``post_url`` rebuilds it from
the post id alone.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

import phonenumbers

DEFAULT_REGION = "US"
USER_LINK = re.compile(
    r"(?:https?://)?(?:www\.|old\.|new\.|np\.)?reddit\.com/u(?:ser)?/[\w-]+/?", re.I
)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")
USER_MENTION = re.compile(r"(?<![\w/])/?u/[\w-]{3,20}", re.I)
NOT_A_PHONE_BEFORE = "$€£¥#"
DIGIT_GROUP = re.compile(r"\d+")
# libphonenumber reads no number from fewer than two digits (its minimum national number
# length), so a text without two digits (most actions) skips the matcher, the scrub's cost.
TWO_DIGITS = re.compile(r"\d\D*\d")


def post_url(post_id: str) -> str:
    """The public URL of a Reddit post built from its id alone (no title slug)."""
    return f"https://www.reddit.com/comments/{post_id.removeprefix('t3_')}/"


def _looks_like_phone(text: str, start: int, raw: str) -> bool:
    """False for the few matcher hits that are amounts, item numbers or digit lists."""
    before = text[:start].rstrip()
    if before and before[-1] in NOT_A_PHONE_BEFORE:
        return False
    single_digits = sum(1 for group in DIGIT_GROUP.findall(raw) if len(group) == 1)
    return single_digits < 3


def scrub_phones(text: str, region: str = DEFAULT_REGION, counts: Counter[str] | None = None) -> str:
    """Replace every phone number libphonenumber finds (read in ``region``) by ``[phone]``."""
    if not TWO_DIGITS.search(text):
        return text
    matcher = phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.POSSIBLE)
    spans = [(m.start, m.end) for m in matcher if _looks_like_phone(text, m.start, m.raw_string)]
    for start, end in reversed(spans):
        text = f"{text[:start]}[phone]{text[end:]}"
    if counts is not None and spans:
        counts["phone"] += len(spans)
    return text


PATTERNS: dict[str, tuple[re.Pattern[str], str]] = {
    "user_link": (USER_LINK, "[user]"),
    "email": (EMAIL, "[email]"),
    "user_mention": (USER_MENTION, "[user]"),
}


def scrub(text: str, counts: Counter[str] | None = None, region: str = DEFAULT_REGION) -> str:
    """Replace e-mail addresses, phone numbers, ``u/`` mentions and user-page links."""
    for name, (pattern, replacement) in PATTERNS.items():
        text, hits = pattern.subn(replacement, text)
        if counts is not None and hits:
            counts[name] += hits
    return scrub_phones(text, region, counts)


def scrubber(region: str = DEFAULT_REGION, counts: Counter[str] | None = None) -> Callable[[str], str]:
    """``scrub`` bound to a region and a counter, for code that cleans many texts alike."""
    return lambda text: scrub(text, counts, region)
