"""The authors' index CSV: ids from URLs, labels kept, bad rows reported with line numbers."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from pipeline.sources.valact_index import (
    IndexFormatError,
    IndexProblem,
    IndexRow,
    post_id_from_url,
    read_index,
)

REFERENCE = Path(__file__).resolve().parents[3] / "shared/reference/reddit_category_sampled_cleaned.csv"
HEADER = "time,title,url,scenario,Filter Result,subreddit,category\n"


def test_post_id_from_url() -> None:
    assert post_id_from_url("https://www.reddit.com/r/AskHR/comments/169y2yb/ny_when_hr/") == "169y2yb"
    assert post_id_from_url("https://www.reddit.com/r/AskHR/comments/ABC12") == "abc12"
    assert post_id_from_url("https://www.reddit.com/r/AskHR/") is None


def test_bad_rows_are_reported_not_fatal(tmp_path: Path) -> None:
    csv = tmp_path / "index.csv"
    url = "https://www.reddit.com/r/college/comments/{}/x/"
    tail = ",[masked],yes,r/college,Education & academy\n"
    csv.write_text(HEADER + '2021-01-02,"A, title",' + url.format("aa1") + tail
                   + "2021-01-02,No id,https://www.reddit.com/r/college/" + tail
                   + "2021-01-02,Dup," + url.format("aa1") + tail
                   + "2021-01-02,No domain," + url.format("bb2") + ",[masked],yes,r/college,\n")
    items = list(read_index(csv))
    rows = [i for i in items if isinstance(i, IndexRow)]
    problems = [i for i in items if isinstance(i, IndexProblem)]
    assert [(r.post_id, r.title, r.subreddit, r.domain, r.line_no) for r in rows] == [
        ("aa1", "A, title", "college", "Education & academy", 2)]
    assert [p.line_no for p in problems] == [3, 4, 5]
    assert "already listed on line 2" in problems[1].error


def test_not_an_index_names_missing_columns(tmp_path: Path) -> None:
    bad = tmp_path / "x.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(IndexFormatError, match="category"):
        list(read_index(bad))


def test_reference_index_has_3000_posts_600_per_domain() -> None:
    if not REFERENCE.is_file():
        pytest.skip(f"reference CSV not found at {REFERENCE} (lives in ../shared/reference)")
    items = list(read_index(REFERENCE))
    rows = [i for i in items if isinstance(i, IndexRow)]
    assert len(rows) == 3000 and len({r.post_id for r in rows}) == 3000
    assert set(Counter(r.domain for r in rows).values()) == {600}
