"""Synthetic submission dumps for tests and benchmarks (jsonl, jsonl.gz, zst, multi-frame zst).

``submission`` is a small deterministic record for tests; ``realistic_submission`` has the
~80 fields and 50-400-word bodies of a real Pushshift/Arctic-Shift submission, so a
benchmark spends its time where a real monthly dump makes it spend it.
"""

from __future__ import annotations

import gzip
import json
import random
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import zstandard

# 2020-06-01 and a step that keeps 1M posts inside 2020-2024
BASE_TS = 1_590_969_600
SUBREDDITS = ("AskHR", "college", "personalfinance", "Parenting", "askphilosophy", "gaming", "pics", "news")


def submission(
    n: int, subreddit: str | None = None, author: str | None = None, text: str | None = None
) -> dict[str, Any]:
    """A Pushshift-shaped submission, deterministic in ``n``."""
    sub = subreddit or SUBREDDITS[n % len(SUBREDDITS)]
    pid = f"x{n:07x}"
    return {
        "id": pid, "subreddit": sub, "created_utc": BASE_TS + n * 97, "title": f"Question number {n}",
        "selftext": text if text is not None else f"I need advice about situation {n}. " * 8,
        "author": author or f"dump_author_{n % 5000}", "score": n % 50, "num_comments": n % 9,
        "over_18": False, "permalink": f"/r/{sub}/comments/{pid}/question_{n}/",
        "url": f"https://www.reddit.com/r/{sub}/comments/{pid}/question_{n}/",
    }


def lines(records: Iterable[dict[str, Any] | str]) -> Iterator[bytes]:
    """NDJSON lines; strings are written as given (to make malformed lines)."""
    for record in records:
        text = record if isinstance(record, str) else json.dumps(record)
        yield (text + "\n").encode()


def write_dump(path: Path, records: Iterable[dict[str, Any] | str], window_log: int | None = None,
               level: int = 3) -> Path:
    """Write records as .jsonl, .jsonl.gz or .zst (by suffix); ``window_log`` 31 = a 2 GiB window."""
    if path.suffix == ".zst":
        params = zstandard.ZstdCompressionParameters.from_level(
            level, window_log=window_log or 0, enable_ldm=bool(window_log and window_log > 27), threads=0
        )
        cctx = zstandard.ZstdCompressor(compression_params=params)
        with path.open("wb") as raw, cctx.stream_writer(raw) as out:
            for line in lines(records):
                out.write(line)
    elif path.suffix == ".gz":
        with gzip.open(path, "wb") as out:
            out.writelines(lines(records))
    else:
        with path.open("wb") as out:
            out.writelines(lines(records))
    return path


def write_frames(path: Path, records: Iterable[dict[str, Any] | str], frame_bytes: int,
                 window_log: int | None = None) -> Path:
    """A .zst of several frames, each about ``frame_bytes`` of text, cut anywhere (even inside a line)."""
    params = zstandard.ZstdCompressionParameters.from_level(
        3, window_log=window_log or 0, enable_ldm=bool(window_log and window_log > 27), write_checksum=True
    )
    cctx = zstandard.ZstdCompressor(compression_params=params)
    text = b"".join(lines(records))
    with path.open("wb") as out:
        for start in range(0, len(text), frame_bytes):
            out.write(cctx.compress(text[start:start + frame_bytes]))
    return path


VOCABULARY = (
    "i my me we job work boss money rent parents partner school advice should quit stay move "
    "friend family help think feel want need year month time because but and the a to of in "
    "for with about what how would could decision offer salary class professor wedding house "
    "loan debt save invest kids husband wife dating apartment city career degree thesis"
)
WORDS = VOCABULARY.split()
OTHER_SUBREDDITS = ("gaming", "pics", "news", "memes", "funny", "aww", "nba", "soccer", "movies", "music",
                    "worldnews", "todayilearned", "AskReddit", "science", "technology", "books")


def realistic_submission(n: int, rng: random.Random, month_start: int, in_scope: tuple[str, ...],
                         in_scope_share: float = 0.2) -> dict[str, Any]:
    """A submission shaped like a real dump line (~80 fields, 50-400-word body) from one month.

    ``in_scope_share`` of the posts come from ``in_scope`` subreddits, the rest from others.
    """
    sub = rng.choice(in_scope) if rng.random() < in_scope_share else rng.choice(OTHER_SUBREDDITS)
    pid = f"r{n:08x}"
    created = month_start + rng.randrange(28 * 86400)
    body = " ".join(rng.choices(WORDS, k=rng.randint(50, 400)))
    author = f"user_{rng.randrange(1_000_000)}"
    return {
        "all_awardings": [], "allow_live_comments": False, "archived": False, "author": author,
        "author_created_utc": created - rng.randrange(10**8), "author_flair_background_color": None,
        "author_flair_css_class": None, "author_flair_richtext": [], "author_flair_template_id": None,
        "author_flair_text": None, "author_flair_text_color": None, "author_flair_type": "text",
        "author_fullname": f"t2_{rng.randrange(36**6):x}", "author_is_blocked": False,
        "author_patreon_flair": False, "author_premium": False, "awarders": [], "can_gild": True,
        "can_mod_post": False, "category": None, "content_categories": None, "contest_mode": False,
        "created_utc": created, "discussion_type": None, "distinguished": None, "domain": f"self.{sub}",
        "edited": False, "gilded": 0, "gildings": {}, "hidden": False, "hide_score": False, "id": pid,
        "is_created_from_ads_ui": False, "is_crosspostable": True, "is_meta": False,
        "is_original_content": False, "is_reddit_media_domain": False, "is_robot_indexable": True,
        "is_self": True, "is_video": False, "link_flair_background_color": "", "link_flair_css_class": None,
        "link_flair_richtext": [], "link_flair_text": None, "link_flair_text_color": "dark",
        "link_flair_type": "text", "locked": False, "media": None, "media_embed": {}, "media_only": False,
        "name": f"t3_{pid}", "no_follow": True, "num_comments": rng.randrange(200),
        "num_crossposts": 0, "over_18": rng.random() < 0.02, "parent_whitelist_status": "all_ads",
        "permalink": f"/r/{sub}/comments/{pid}/question_{n}/", "pinned": False, "pwls": 6,
        "quarantine": False, "removed_by_category": "moderator" if rng.random() < 0.05 else None,
        "retrieved_on": created + 3600, "score": rng.randrange(1000), "secure_media": None,
        "secure_media_embed": {}, "selftext": body, "send_replies": True, "spoiler": False,
        "stickied": False, "subreddit": sub, "subreddit_id": f"t5_{zlib.crc32(sub.encode()):x}",
        "subreddit_name_prefixed": f"r/{sub}", "subreddit_subscribers": rng.randrange(10**7),
        "subreddit_type": "public", "suggested_sort": None, "thumbnail": "self",
        "title": " ".join(rng.choices(WORDS, k=rng.randint(5, 20))).capitalize() + "?",
        "top_awarded_type": None, "total_awards_received": 0, "treatment_tags": [],
        "upvote_ratio": round(rng.random(), 2), "url": f"https://www.reddit.com/r/{sub}/comments/{pid}/",
        "view_count": None, "whitelist_status": "all_ads", "wls": 6,
    }
