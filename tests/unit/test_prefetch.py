"""``Prefetched``: a dump's decompression runs ahead in a thread without changing what the
reader sees: the same items in order, the source's error where it happened, nothing left
running (or open) when the reader stops early, and never more than a few items held."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from pipeline.sources.prefetch import Prefetched


def _prefetch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "valact-prefetch"]


def test_every_item_arrives_in_order() -> None:
    assert list(Prefetched(lambda: iter(range(5_000)), depth=2)) == list(range(5_000))
    assert _prefetch_threads() == []


def test_the_source_error_comes_after_the_items_before_it() -> None:
    def source() -> Iterator[int]:
        yield 1
        yield 2
        raise OSError("disk went away")

    got: list[int] = []
    with pytest.raises(OSError, match="disk went away"):
        for item in Prefetched(source):
            got.append(item)
    assert got == [1, 2]


def test_the_source_runs_in_another_thread() -> None:
    def source() -> Iterator[int]:
        yield threading.get_ident()

    assert list(Prefetched(source)) != [threading.get_ident()]


def test_stopping_early_closes_the_source_and_ends_the_thread() -> None:
    closed = threading.Event()

    def source() -> Iterator[int]:
        try:
            yield from range(1_000_000)
        finally:
            closed.set()

    items = iter(Prefetched(source, depth=3))
    assert next(items) == 0
    items.close()  # what a `break` or an error in the reader's loop does
    assert closed.is_set()
    assert _prefetch_threads() == []


def test_at_most_depth_items_wait_ahead_of_the_reader() -> None:
    produced = 0

    def source() -> Iterator[int]:
        nonlocal produced
        for n in range(1_000):
            produced += 1
            yield n

    items = iter(Prefetched(source, depth=3))
    assert next(items) == 0
    deadline = time.monotonic() + 5
    while produced < 5 and time.monotonic() < deadline:  # let the producer fill the queue
        time.sleep(0.01)
    time.sleep(0.2)  # it would go on producing here if nothing held it back
    # the item taken, the 3 queued, and the one the producer holds while it waits for room
    assert produced == 1 + 3 + 1
    items.close()


def test_the_producer_thread_cpu_time_is_kept() -> None:
    def source() -> Iterator[int]:
        yield sum(range(3_000_000))  # CPU spent in the producer thread only

    ahead = Prefetched(source)
    cpu = time.thread_time()
    assert list(ahead) == [sum(range(3_000_000))]
    assert ahead.cpu_seconds > 0
    assert ahead.cpu_seconds > (time.thread_time() - cpu) / 2  # the consumer's own sum is about the same
