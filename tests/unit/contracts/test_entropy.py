"""Pooled random bytes: never handed out twice, not even across a fork."""

from __future__ import annotations

import os

from contracts import entropy


def test_bytes_are_never_repeated_across_pool_refills() -> None:
    taken = [entropy.fresh_bytes(12) for _ in range(3 * entropy.POOL_BYTES // 12)]
    assert len(set(taken)) == len(taken)
    assert all(len(t) == 12 for t in taken)
    assert len(entropy.fresh_bytes(entropy.POOL_BYTES + 1)) == entropy.POOL_BYTES + 1


def test_a_forked_child_does_not_hand_out_the_parents_next_bytes() -> None:
    entropy.fresh_bytes(12)  # the pool is filled: a careless fork would copy it
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next bytes and leave without cleanup
        os.write(write_end, entropy.fresh_bytes(12))
        os._exit(0)
    os.close(write_end)
    child = os.read(read_end, 12)
    os.waitpid(pid, 0)
    os.close(read_end)
    assert len(child) == 12
    assert child != entropy.fresh_bytes(12)
