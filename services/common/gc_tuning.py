"""Garbage-collector settings for a process that streams records (a projection worker).

Why: a replay allocates a few dozen short-lived containers per record (decoded JSON, rows,
tuples). With CPython's default first threshold (700 allocations) the collector runs every
few dozen records, and every tenth of those runs walks the older generation too: about a
tenth of a replay's CPU. A higher first threshold makes young collections rarer (each still
frees whatever cycles there are), and freezing what start-up built (modules, settings, the
contract models) keeps those objects out of every later collection.
"""

from __future__ import annotations

import gc

FIRST_THRESHOLD = 20_000


def tune_for_streaming() -> None:
    """Freeze what exists now and raise the first collection threshold (never lowers it)."""
    gc.freeze()
    first, second, third = gc.get_threshold()
    gc.set_threshold(max(first, FIRST_THRESHOLD), second, third)
