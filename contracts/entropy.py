"""Random bytes for nonces and ids, cut from larger `os.urandom` reads.

`os.urandom` releases the GIL. In the plan API both the event loop and the command writer are
busy, and a thread that released the GIL may wait a whole switch interval (5 ms) to get it back:
profiled, a seventh of the writer's wall time went there, once per sealed value. One read per 4 KiB
makes that once per few hundred values. A forked child starts a new pool, so two processes never
hand out the same bytes (an AES-GCM nonce must never repeat under one key).
"""

from __future__ import annotations

import os
import threading

POOL_BYTES = 4096

_lock = threading.Lock()
_pool = b""
_used = 0


def fresh_bytes(n: int) -> bytes:
    """`n` bytes from the operating system's CSPRNG, each byte handed out once."""
    global _pool, _used
    with _lock:
        if _used + n > len(_pool):
            _pool, _used = os.urandom(max(POOL_BYTES, n)), 0
        out = _pool[_used : _used + n]
        _used += n
    return out


def _forget_after_fork() -> None:
    global _pool, _used, _lock
    _lock = threading.Lock()
    _pool, _used = b"", 0


os.register_at_fork(after_in_child=_forget_after_fork)
