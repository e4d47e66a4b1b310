"""Rule prefilter: cheap keep/drop decisions, each drop with a named reason.

Each rule is a small function answering "why drop?" (a reason string) or None to keep,
datatrove-style. Duplicates need the whole set, so they are found after the per-post rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from pipeline.hashing import sha256_hex
from schemas.config import ScreenConfig
from schemas.records import Post

WORD = re.compile(r"[A-Za-z']+")
FIRST_PERSON = re.compile(r"\b(i|i'm|i've|i'd|i'll|me|my|mine|myself|we|our|us)\b", re.IGNORECASE)
COMMON_ENGLISH = frozenset(
    [
        "the", "a", "an", "and", "or", "but", "of", "to", "in", "on", "for", "with", "is", "are", "was",
        "were", "be", "been", "it", "this", "that", "i", "you", "he", "she", "we", "they", "my", "your",
        "his", "her", "our", "their", "me", "him", "them", "not", "do", "does", "did", "have", "has",
        "had", "at", "as", "by", "from", "so", "if", "what",
    ]
)

Rule = Callable[[Post, ScreenConfig], str | None]


def words(text: str) -> list[str]:
    """The words of a text (letters and apostrophes)."""
    return WORD.findall(text)


def rule_deleted(post: Post, _cfg: ScreenConfig) -> str | None:
    """Bodies Reddit replaced with [deleted] or [removed] carry no scenario."""
    if post.deleted:
        return "deleted"
    if post.removed:
        return "removed"
    if not post.selftext.strip():
        return "empty_body"
    return None


def rule_nsfw(post: Post, _cfg: ScreenConfig) -> str | None:
    """NSFW posts are out of scope for a public benchmark."""
    return "nsfw" if post.over_18 else None


def rule_too_short(post: Post, cfg: ScreenConfig) -> str | None:
    """Under ``min_words`` words there is not enough context for value-laden actions."""
    return "too_short" if len(words(post.selftext)) < cfg.min_words else None


def rule_language(post: Post, cfg: ScreenConfig) -> str | None:
    """Keep English: very common English words must make up a minimum share of the text."""
    tokens = [w.lower() for w in words(post.selftext)]
    if not tokens:
        return "not_english"
    share = sum(1 for t in tokens if t in COMMON_ENGLISH) / len(tokens)
    return "not_english" if share < cfg.min_english_ratio else None


def rule_first_person(post: Post, cfg: ScreenConfig) -> str | None:
    """Scenarios are the poster's own situation, told in the first person."""
    if not cfg.require_first_person:
        return None
    return None if FIRST_PERSON.search(post.selftext) else "not_first_person"


RULES: tuple[Rule, ...] = (rule_deleted, rule_nsfw, rule_too_short, rule_language, rule_first_person)


def normalized_text_hash(post: Post) -> str:
    """Hash of title and body with case and whitespace folded, to catch exact reposts."""
    text = " ".join((post.title + " " + post.selftext).lower().split())
    return sha256_hex(text)


def prefilter(posts: Iterable[Post], cfg: ScreenConfig) -> dict[str, tuple[str, str]]:
    """Map post id -> (reason, detail) for every post the rules drop; the rest pass."""
    drops: dict[str, tuple[str, str]] = {}
    first_seen: dict[str, Post] = {}
    for post in sorted(posts, key=lambda p: (p.created_utc, p.id)):
        reason = next((r for r in (rule(post, cfg) for rule in RULES) if r is not None), None)
        if reason is not None:
            drops[post.id] = (reason, "")
            continue
        digest = normalized_text_hash(post)
        if digest in first_seen:
            drops[post.id] = ("duplicate", f"same text as post {first_seen[digest].id}")
        else:
            first_seen[digest] = post
    return drops
