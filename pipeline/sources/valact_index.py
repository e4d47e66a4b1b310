"""The authors' scenario index CSV (``time,title,url,scenario,Filter Result,subreddit,category``).

The public VALACT-15K release masks every post text, so the index is a list of posts to
fetch again: the id comes from the URL, the domain label and title are kept as given.
Rows that cannot be used are reported with their line numbers, never fatal.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

POST_ID_IN_URL = re.compile(r"/comments/([a-z0-9]+)(?:/|$)", re.IGNORECASE)
REQUIRED_COLUMNS = ("time", "title", "url", "subreddit", "category")


class IndexFormatError(Exception):
    """The file is not an index CSV (missing columns); the message names them."""


@dataclass(frozen=True)
class IndexRow:
    """One usable row: the post to fetch and the labels the authors gave it."""

    line_no: int
    post_id: str
    url: str
    title: str
    date: str
    subreddit: str
    domain: str


@dataclass(frozen=True)
class IndexProblem:
    """A row that could not be used, and why."""

    line_no: int
    error: str


def post_id_from_url(url: str) -> str | None:
    """The base-36 post id in a Reddit submission URL, lowercased; None if there is none."""
    match = POST_ID_IN_URL.search(url.strip())
    return match.group(1).lower() if match else None


def read_index(path: Path) -> Iterator[IndexRow | IndexProblem]:
    """Rows of the index in file order; bad rows and duplicate ids come back as problems."""
    seen: dict[str, int] = {}
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise IndexFormatError(f"{path}: not a VALACT index CSV, missing columns {missing}")
        for row in reader:
            line_no = reader.line_num
            post_id = post_id_from_url(row.get("url") or "")
            domain = (row.get("category") or "").strip()
            if post_id is None:
                yield IndexProblem(line_no, f"no post id in url {row.get('url')!r}")
                continue
            if not domain:
                yield IndexProblem(line_no, f"post {post_id} has no category")
                continue
            if post_id in seen:
                yield IndexProblem(line_no, f"post {post_id} already listed on line {seen[post_id]}")
                continue
            seen[post_id] = line_no
            yield IndexRow(
                line_no=line_no,
                post_id=post_id,
                url=(row.get("url") or "").strip(),
                title=(row.get("title") or "").strip(),
                date=(row.get("time") or "").strip(),
                subreddit=(row.get("subreddit") or "").strip().removeprefix("r/"),
                domain=domain,
            )
