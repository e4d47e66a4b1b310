"""Small synthetic submission dumps for tests and benchmarks (jsonl, jsonl.gz, zst)."""

from __future__ import annotations

import gzip
import json
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
