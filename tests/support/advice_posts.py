"""Synthetic advice-seeking posts at build scale, and a simulator answer that screens like a model.

The posts pass valact's prefilter (first person, English, 50-400 words, in the default
profile's subreddits and dates), so a test or benchmark exercises screening and generation at
full scale. ``independent_screeners`` answers the screen prompt Yes for about 75% of posts,
decided from the whole request and the model asked (use it with
``SimConfig(responder_sees_model=True)``), so two screeners disagree on some posts and the
tie-breaker is asked, as with real models.
"""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any

from tests.support.provider_sim import default_answer

OPENINGS = (
    "I have been offered a new position and I am not sure whether I should take it.",
    "My partner and I disagree about how to spend our savings and I need advice.",
    "I am in my second year of grad school and I am thinking about leaving my program.",
    "My sister asked me to lend her money again and I do not know what to do.",
    "I found out a coworker is taking credit for my work and I am unsure how to respond.",
)
FILLER = ("the", "and", "my", "we", "it", "to", "a", "of", "in", "that", "I", "is", "for", "was",
          "with", "family", "job", "money", "friend", "school", "week", "plan", "decide", "worried",
          "time", "because", "but", "our", "feel", "think", "should", "would", "about", "year")


def synthetic_posts(n: int, subreddits: list[str], seed: int = 11) -> list[dict[str, Any]]:
    """Advice-seeking, first-person posts of 50-400 words over the profile's subreddits."""
    rng = random.Random(seed)
    start = 1_609_459_200  # 2021-01-01
    posts = []
    for i in range(n):
        sub = subreddits[i % len(subreddits)]
        body = rng.choice(OPENINGS) + " " + " ".join(rng.choices(FILLER, k=rng.randint(50, 400)))
        body += " What would you do in my place?"
        pid = f"fb{i:07x}"
        posts.append({
            "id": pid, "subreddit": sub, "created_utc": start + i * 2_600, "title": f"Need advice ({i})",
            "selftext": body, "author": f"user_{rng.randrange(100_000)}", "score": rng.randrange(500),
            "num_comments": rng.randrange(80), "over_18": False,
            "permalink": f"/r/{sub}/comments/{pid}/need_advice_{i}/",
            "url": f"https://www.reddit.com/r/{sub}/comments/{pid}/need_advice_{i}/",
        })
    return posts


def independent_screeners(messages: list[dict[str, Any]], schema: dict[str, Any] | None) -> str:
    """Screen answers that differ between models (the whole request decides), else the default."""
    text = " ".join(str(m.get("content", "")) for m in messages)
    if "decision" in (schema or {}).get("properties", {}) or '"decision"' in text:
        digest = hashlib.sha256(text.encode()).digest()
        keep = int.from_bytes(digest[:8], "big") / 2**64 < 0.75
        return json.dumps({"decision": "Yes" if keep else "No"})
    return default_answer(messages, schema)
