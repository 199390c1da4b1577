"""The writer thread of the overlapped consumer loop: batches applied one at a time in order;
after a failure the batches behind it are dropped and the failure is raised once, on the
submitting thread."""

from __future__ import annotations

import threading

import pytest

from services.common.batch_writer import BatchWriter


class Boom(Exception):
    pass


def test_batches_are_applied_in_order_and_reported_committed() -> None:
    applied: list[int] = []
    writer: BatchWriter[int] = BatchWriter(applied.append, "t")
    for n in range(5):
        writer.submit(n)
    writer.wait_idle()
    assert applied == [0, 1, 2, 3, 4]
    assert writer.completed() == [0, 1, 2, 3, 4]
    assert writer.completed() == []
    writer.close()


def test_after_a_failure_the_queued_batches_are_dropped_and_it_is_raised_once() -> None:
    release = threading.Event()
    applied: list[int] = []

    def apply(n: int) -> None:
        if n == 1:
            release.wait(5)
            raise Boom
        applied.append(n)

    writer: BatchWriter[int] = BatchWriter(apply, "t", depth=2)
    writer.submit(0)
    writer.submit(1)  # fails once released
    writer.submit(2)  # queued behind the failing batch
    release.set()
    with pytest.raises(Boom):
        writer.wait_idle()
    writer.wait_idle()  # raised once only
    writer.submit(3)
    writer.wait_idle()
    assert applied == [0, 3]
    assert writer.completed() == [0, 3]
    writer.close()


def test_submit_raises_a_failure_instead_of_queueing_more() -> None:
    def apply(n: int) -> None:
        raise Boom

    writer: BatchWriter[int] = BatchWriter(apply, "t")
    writer.submit(0)
    writer._queue.join()  # the batch has failed
    with pytest.raises(Boom):
        writer.submit(1)
    writer.close()


def test_close_applies_what_is_queued_then_ends_the_thread() -> None:
    applied: list[int] = []
    writer: BatchWriter[int] = BatchWriter(applied.append, "t", depth=3)
    for n in range(3):
        writer.submit(n)
    writer.close()
    assert applied == [0, 1, 2]
    assert not writer._thread.is_alive()
