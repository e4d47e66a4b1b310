"""Stage 1, collect: posts into the store from dump files, Reddit listings and the authors' index.

The stage's entry points. The work is split by source in ``pipeline.collect``: ``posts``
maps submissions (hashing authors) and stores them with their history, ``dumps`` reads dump
files (in this process or part by part on workers), ``listings`` reads Reddit listings and
searches, ``index`` rehydrates the authors' index. Running any collect again stores nothing new.
"""

from __future__ import annotations

from pipeline.collect.dumps import collect_dumps
from pipeline.collect.index import NOT_FOUND, IndexReport, collect_index
from pipeline.collect.listings import ApiReport, ListingSpec, collect_api
from pipeline.collect.posts import (
    STAGE,
    CollectReport,
    in_scope,
    post_from_submission,
    revision_of,
    store_posts,
)

__all__ = [
    "NOT_FOUND", "STAGE", "ApiReport", "CollectReport", "IndexReport", "ListingSpec", "collect_api",
    "collect_dumps", "collect_index", "in_scope", "post_from_submission", "revision_of", "store_posts",
]
