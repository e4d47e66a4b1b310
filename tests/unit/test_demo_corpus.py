"""The bundled demo dump: enough posts, every subreddit, and the junk the screen must drop."""

from __future__ import annotations

from collections import Counter

from pipeline.config import load_config
from pipeline.sources.dump import read_dump, resolve_dump
from pipeline.stages.collect import post_from_submission
from pipeline.stages.prefilter import prefilter


def test_demo_corpus_covers_all_subreddits_and_junk() -> None:
    cfg = load_config("demo")
    lines = list(read_dump(resolve_dump("builtin:demo")))
    assert all(line.data is not None for line in lines)
    posts = [post_from_submission(line.data, "dump:demo", "salt", 0) for line in lines if line.data]
    assert len(posts) >= 150
    configured = {s for subs in cfg.domains.values() for s in subs}
    assert {p.subreddit for p in posts} == configured
    reasons = Counter(reason for reason, _ in prefilter(posts, cfg.screen).values())
    for junk in ("deleted", "removed", "too_short", "not_first_person", "nsfw", "duplicate"):
        assert reasons[junk] >= 3, reasons
    kept_domains = Counter(cfg.domain_of(p.subreddit) for p in posts) - Counter()
    assert len(kept_domains) == 5


def test_no_author_name_survives_collection() -> None:
    line = next(line for line in read_dump(resolve_dump("builtin:demo")) if line.data)
    assert line.data is not None
    post = post_from_submission(line.data, "dump:demo", "salt", 0)
    assert line.data["author"] not in post.model_dump_json()
