"""The database side of an overlapped consumer loop: poll batches applied in order on a thread.

Why: a projection replay alternates between Python work (fetching and reading records) and
PostgreSQL work (applying them). Run one after the other, each waits for the other; with the
database applying batch N on this thread while the polling thread fetches and reads batch N+1,
the two overlap (the GIL is released while psycopg waits for the server).

Exactly-once is unchanged: every batch is still one transaction with its offsets, applied in
poll order by this single thread. After a failed batch, every batch queued behind it is dropped
unapplied: its records come again once the polling thread has seeked to the stored offsets.
Nothing here touches the Kafka consumer, which belongs to the polling thread.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

B = TypeVar("B")


class BatchWriter(Generic[B]):
    """Applies submitted batches one at a time, in order, on its own thread."""

    def __init__(self, apply: Callable[[B], object], name: str, depth: int = 1) -> None:
        self._apply = apply
        self._queue: queue.Queue[B | None] = queue.Queue(maxsize=depth)
        self._done: queue.SimpleQueue[B] = queue.SimpleQueue()
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name=f"{name}-writer", daemon=True)
        self._thread.start()

    def submit(self, batch: B) -> None:
        """Queue a batch (waits while ``depth`` batches are queued); raises a failure first."""
        self.raise_failure()
        self._queue.put(batch)

    def raise_failure(self) -> None:
        """Re-raise, on the calling thread, what a batch failed with (once), after the batches
        queued behind it were dropped."""
        if self._failure is not None:
            self._queue.join()
            failure, self._failure = self._failure, None
            raise failure

    def wait_idle(self) -> None:
        """Return when every submitted batch is committed or dropped (e.g. before a seek)."""
        self._queue.join()
        self.raise_failure()

    def completed(self) -> list[B]:
        """The batches committed since the last call, in order."""
        out = []
        while True:
            try:
                out.append(self._done.get_nowait())
            except queue.Empty:
                return out

    def close(self) -> None:
        """Apply what is queued (unless a batch failed), then end the thread."""
        self._queue.put(None)
        self._thread.join()

    def _loop(self) -> None:
        while True:
            batch = self._queue.get()
            try:
                if batch is None:
                    return
                if self._failure is None:
                    self._apply(batch)
                    self._done.put(batch)
            except BaseException as exc:  # handed to the polling thread, which decides
                self._failure = exc
            finally:
                self._queue.task_done()
