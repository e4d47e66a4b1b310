"""Run an iterator a few items ahead of its consumer, in a thread.

Why: decompressing a dump (zstd, gzip) and reading a file release the GIL, so a thread can
decompress the next chunks while the reading thread parses the current one. A dump read is
then bounded by the slower of the two, not by their sum: what a plain loop pays for both in
turn. Memory stays bounded: at most ``depth`` items wait in the queue.

The consumer sees exactly what the iterator yields, in order, and then the exception it
raised (if any), at the point it was raised. Closing the consumer early (``break``, an
error, garbage collection) stops the producer thread at its next item and closes the
iterator there, so its files are closed.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Generator, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

DEPTH = 4  # items decompressed ahead: enough to keep the consumer fed, few enough to hold little
_POLL = 0.1  # seconds between the producer's checks for a consumer that has gone away


class _End:
    """The producer's last message: the iterator ended, with ``error`` if it raised."""

    def __init__(self, error: BaseException | None) -> None:
        self.error = error


class Prefetched(Generic[T]):
    """The items of ``make()`` (called in the producer thread), produced up to ``depth`` ahead.

    Iterate it once. Afterwards ``cpu_seconds`` is the CPU time the producer thread spent:
    work the consumer's own thread time does not show.
    """

    def __init__(self, make: Callable[[], Iterator[T]], depth: int = DEPTH) -> None:
        self.make, self.depth = make, depth
        self.cpu_seconds = 0.0

    def __iter__(self) -> Generator[T, None, None]:
        items: queue.Queue[T | _End] = queue.Queue(maxsize=self.depth)
        stop = threading.Event()

        def offer(message: T | _End) -> bool:
            while not stop.is_set():
                try:
                    items.put(message, timeout=_POLL)
                    return True
                except queue.Full:
                    continue
            return False

        def produce() -> None:
            cpu = time.thread_time()
            try:
                source = self.make()
                try:
                    for item in source:
                        if not offer(item):
                            return
                finally:
                    close = getattr(source, "close", None)
                    if close is not None:
                        close()
            except BaseException as exc:  # handed to the consumer, which raises it in its own thread
                offer(_End(exc))
                return
            finally:
                self.cpu_seconds = time.thread_time() - cpu
            offer(_End(None))

        producer = threading.Thread(target=produce, name="valact-prefetch", daemon=True)
        producer.start()
        try:
            while True:
                message = items.get()
                if isinstance(message, _End):
                    if message.error is not None:
                        raise message.error
                    return
                yield message
        finally:
            stop.set()
            producer.join()

