"""Rule prefilter: cheap keep/drop decisions, each drop with a named reason.

Each rule is a small function answering "why drop?" (a reason string) or None to keep,
datatrove-style. Duplicates need the whole set, so they are found after the per-post rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

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


@dataclass(frozen=True)
class ContextLimit:
    """One screener's context window, and what a screening prompt costs besides the post."""

    alias: str
    context_tokens: int
    chars_per_token: float
    overhead_chars: int
    max_tokens: int

    def tokens(self, post: Post) -> int:
        """The screening prompt's size for this post, by this model's tokenizer estimate."""
        chars = self.overhead_chars + len(post.subreddit) + len(post.title) + len(post.selftext)
        return int(chars / self.chars_per_token)

    def fits(self, post: Post) -> bool:
        """Prompt plus answer fit the window."""
        return self.tokens(post) + self.max_tokens <= self.context_tokens


def rule_too_long(post: Post, limits: Iterable[ContextLimit]) -> tuple[str, str] | None:
    """A post whose prompt would not fit a screener's window is dropped before any call.

    Sending it would only earn a context-length error (or a silently truncated post).
    """
    for limit in limits:
        if not limit.fits(post):
            return "too_long", (
                f"{limit.alias}: about {limit.tokens(post)} prompt tokens + {limit.max_tokens} answer "
                f"> {limit.context_tokens} context"
            )
    return None


def normalized_text_hash(post: Post) -> str:
    """Hash of title and body with case and whitespace folded, to catch exact reposts."""
    text = " ".join((post.title + " " + post.selftext).lower().split())
    return sha256_hex(text)


def prefilter(
    posts: Iterable[Post], cfg: ScreenConfig, limits: Iterable[ContextLimit] = ()
) -> dict[str, tuple[str, str]]:
    """Map post id -> (reason, detail) for every post the rules drop; the rest pass.

    One streaming pass keeps only (date, id, text hash) per passing post, so the store's
    posts are never all in memory; duplicates keep the earliest post.
    """
    limits = list(limits)
    drops: dict[str, tuple[str, str]] = {}
    passing: list[tuple[int, str, str]] = []
    for post in posts:
        reason = next((r for r in (rule(post, cfg) for rule in RULES) if r is not None), None)
        if reason is not None:
            drops[post.id] = (reason, "")
            continue
        too_long = rule_too_long(post, limits)
        if too_long is not None:
            drops[post.id] = too_long
            continue
        passing.append((post.created_utc, post.id, normalized_text_hash(post)))
    first_seen: dict[str, str] = {}
    for _created, post_id, digest in sorted(passing):
        if digest in first_seen:
            drops[post_id] = ("duplicate", f"same text as post {first_seen[digest]}")
        else:
            first_seen[digest] = post_id
    return drops
