"""Provenance of a report: which events it was computed from, and proofs a third party can check.

A report reads the projection *as of* end offsets per topic partition (by default the offsets
the projection has applied, read in the same snapshot). Its provenance lists those ranges, the
number of events, the records refused (dead-lettered) in them, and two fingerprints over the
events' own hashes (`EventEnvelope.hash`, text `sha256:<hex>`) in log order - topic name, then
partition, then offset - each event once (a redelivery with an `event_id` already seen earlier in
that order is skipped, as in `contracts.merkle`):

* `events_digest` = `sha256:` + SHA-256 over the UTF-8 of each hash followed by `\n`;
* `merkle_root`  = `contracts.merkle.merkle_root` over the same list (RFC 6962).

This module must never read the clock: regenerating a report from the same offsets must give the
same bytes.
"""

from __future__ import annotations

import hashlib
from typing import Any

import psycopg
from pydantic import BaseModel

from contracts.merkle import merkle_root, root_of_leaves
from services.reporting_service.projection import NAME
from services.reporting_service.scope import AsOf, ReportError


class OffsetRange(BaseModel):
    topic: str
    partition: int
    from_offset: int
    to_offset_exclusive: int


class RejectedRecord(BaseModel):
    topic: str
    partition: int
    offset: int
    field: str
    rule: str


class Provenance(BaseModel):
    """Exactly which events a report was computed from; pass `as_of` back to regenerate it."""

    as_of: str
    ranges: list[OffsetRange]
    events: int
    redeliveries_skipped: int
    rejected: list[RejectedRecord]
    events_digest: str
    merkle_root: str
    leaf_order: str = "topic, partition, offset; each event_id once"


def stored_offsets(cur: psycopg.Cursor[Any]) -> AsOf:
    rows = cur.execute(
        "SELECT topic, partition, next_offset FROM consumer_offsets WHERE consumer = %s", (NAME,)
    ).fetchall()
    return AsOf.of({(str(t), int(p)): int(o) for t, p, o in rows})


def resolve_as_of(cur: psycopg.Cursor[Any], requested: str | None) -> AsOf:
    """The requested offsets (checked against what has been applied), or the applied ones."""
    applied = stored_offsets(cur)
    if requested is None:
        return applied
    wanted = AsOf.parse(requested)
    have = {(t, p): o for t, p, o in applied.ends}
    for topic, partition, offset in wanted.ends:
        if offset > have.get((topic, partition), 0):
            raise ReportError(
                "as_of", "not_yet_applied", "an offset lies beyond what has been applied", 409
            )
    return wanted


def events_digest(event_hashes: list[str]) -> str:
    text = "\n".join(event_hashes) + "\n" if event_hashes else ""
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def first_copies(event_ids: list[str], event_hashes: list[str]) -> list[str]:
    """The hashes in log order, each event once (a redelivery's later copy skipped)."""
    if len(set(event_ids)) == len(event_ids):  # the usual case: nothing redelivered
        return event_hashes
    seen: set[str] = set()
    leaves = []
    for event_id, event_hash in zip(event_ids, event_hashes, strict=True):
        if event_id not in seen:
            seen.add(event_id)
            leaves.append(event_hash)
    return leaves


# topic names in byte order (as the audit service orders them, and as `AsOf` sorts them): the
# same as the database's order for ASCII names under C.UTF-8, and no locale-aware comparisons
_LOG_ORDER = 'e.topic COLLATE "C", e.partition, e."offset"'

_IN_RANGES = (
    "JOIN unnest(%s::text[], %s::int[], %s::bigint[]) AS a(topic, partition, end_offset) "
    'ON e.topic = a.topic AND e.partition = a.partition AND e."offset" < a.end_offset'
)

# any redelivered copy (or a row from before `repeat` was kept) in the ranges: the partial index
_ANY_REPEAT = f"SELECT EXISTS (SELECT 1 FROM rs_events e {_IN_RANGES} WHERE e.repeat IS NOT false)"  # noqa: S608

# one partition's stored leaf digests and event hashes in offset order: an index-only scan of
# `rs_events_log`, which holds both beside the key (a partition's rows lie spread over the whole
# table, so reading them from the table costs a scan of all of it per partition). Only read when
# no row in the ranges has `repeat` unknown, and `leaf` is written (or filled) together with it.
_PARTITION_LEAVES = """
SELECT leaf, event_hash FROM rs_events WHERE topic = %s AND partition = %s AND "offset" < %s
ORDER BY topic, partition, "offset"
"""

# one partition's events in offset order, each as a row: the definition, for ranges that hold
# redelivered copies (each event counts once, at its first copy in log order)
_PARTITION_EVENTS = """
SELECT event_id::text, event_hash FROM rs_events
WHERE topic = %s AND partition = %s AND "offset" < %s ORDER BY topic, partition, "offset"
"""


def _fingerprints(
    cur: psycopg.Cursor[Any], as_of: AsOf, ranges: tuple[list[Any], ...]
) -> tuple[int, int, str, str]:
    """(events, redeliveries skipped, events digest, Merkle root) over the ranges."""
    if not cur.execute(_ANY_REPEAT, ranges).fetchone()[0]:  # type: ignore[index]
        stored: list[tuple[bytes, str]] = []
        for topic, partition, end in as_of.ends:  # in log order: `AsOf` keeps them sorted
            stored += cur.execute(
                _PARTITION_LEAVES, (topic, partition, end), binary=True
            ).fetchall()
        hashes = [h for _, h in stored]
        return len(stored), 0, events_digest(hashes), root_of_leaves([leaf for leaf, _ in stored])
    rows: list[tuple[str, str]] = []
    for topic, partition, end in as_of.ends:
        rows += cur.execute(_PARTITION_EVENTS, (topic, partition, end)).fetchall()
    firsts = first_copies([r[0] for r in rows], [r[1] for r in rows])
    return len(firsts), len(rows) - len(firsts), events_digest(firsts), merkle_root(firsts)


def compute(cur: psycopg.Cursor[Any], as_of: AsOf) -> Provenance:
    ranges = (
        [t for t, _, _ in as_of.ends],
        [p for _, p, _ in as_of.ends],
        [o for _, _, o in as_of.ends],
    )
    events, skipped, digest, root = _fingerprints(cur, as_of, ranges)
    rejected = cur.execute(
        f'SELECT e.topic, e.partition, e."offset", e.field, e.rule FROM rs_rejected e {_IN_RANGES} '  # noqa: S608
        f"ORDER BY {_LOG_ORDER}",
        ranges,
    ).fetchall()
    return Provenance(
        as_of=as_of.token(),
        ranges=[
            OffsetRange(topic=t, partition=p, from_offset=0, to_offset_exclusive=o)
            for t, p, o in as_of.ends
        ],
        events=events,
        redeliveries_skipped=skipped,
        rejected=[
            RejectedRecord(topic=t, partition=p, offset=o, field=f, rule=r)
            for t, p, o, f, r in rejected
        ],
        events_digest=digest,
        merkle_root=root,
    )
