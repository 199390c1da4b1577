"""Reading one event record for the audit: a fast path for canonical bytes, the strict one else.

Why: strict pydantic parsing of every envelope and payload plus re-serialising it for the hash
cost about 160 µs per event, which capped replay at ~2,700 events/s. Every event the relay
publishes is the canonical JSON of its envelope (``contracts.registry.encode_event``), so:

1. decode with ``orjson`` and re-encode with sorted keys; equal bytes prove the record *is* in
   canonical form (no duplicate keys, no whitespace, same escaping as ``contracts.canonical``);
2. the hash input is then those bytes without the top-level ``"hash":"…",`` member, so the own
   hash is one SHA-256 over a slice, with no model and no re-serialisation;
3. check the envelope and only the payload fields the audit stores (``facts.py``); personal
   fields, which will arrive as encrypted tokens, and free text are never looked at.

Anything the fast path is not sure of - bytes not canonical, an unknown or old-looking shape, a
value failing a check, a hash that does not match - goes to the strict path, the reader the
audit always had: ``parse_event`` refuses an off-contract record with its field and rule, and a
hash mismatch is judged on the validated event exactly as before. A tampered event therefore
costs the strict path; an intact one never does.

This module must never log, or raise with, an event's content.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

import orjson
from prometheus_client import Counter

from contracts import topics
from contracts.canonical import canonical_bytes_of_json, is_sealed_canonical, sha256_hash
from contracts.envelope import EventEnvelope, envelope_dict
from contracts.registry import EVENTS, current_version, parse_event
from contracts.versioning import MAX_MESSAGE_BYTES
from services.audit_service import checks as c
from services.audit_service.facts import Facts, facts_of
from services.common.consumer import Record

STRICT_READS = Counter(
    "audit_strict_reads_total",
    "Event records the audit read with the strict contract parser (not canonical, or unsure)",
)

ENVELOPE_KEYS = frozenset(EventEnvelope.model_fields)
ACTOR_KEYS = frozenset({"id", "role", "on_behalf_of"})
MAX_STREAM_VERSION = 2**31 - 1

KNOWN: dict[tuple[str, int], tuple[str, int]] = {
    (event_type, version): (
        EVENTS.model(event_type, version).STREAM_TYPE,
        current_version(event_type),
    )
    for event_type in EVENTS.types()
    for version in EVENTS.versions(event_type)
}
"""(event type, schema version) -> (its stream type, the type's current version)."""


class ProjectionError(ValueError):
    """A record the projection refuses; names the field and rule (dead-letter headers)."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field} violates {rule}")
        self.field = field
        self.rule = rule


class AuditEvent(NamedTuple):
    """What the audit keeps of one event record; ids and datetimes as canonical text."""

    topic: str
    partition: int
    offset: int
    event_id: str
    event_type: str
    schema_version: int
    """The version the facts were read at: the current one (older events are upcast)."""
    stream_type: str
    stream_id: str
    stream_version: int
    occurred_at: str
    recorded_at: str
    actor_role: str
    actor_on_behalf: bool
    hash: str
    previous_hash: str | None
    hash_ok: bool
    facts: Facts
    """Fact rows (facts.py); empty when the own hash does not match: evidence, not facts."""

    @property
    def event_hash(self) -> str:
        """``hash`` under the name the chain walk reads (``integrity.Link``)."""
        return self.hash


def read_event(record: Record, stream_type: str) -> AuditEvent:
    """The audit's view of one record; raises ContractError/ProjectionError to refuse it."""
    event = _fast(record, stream_type)
    if event is None:
        STRICT_READS.inc()
        event = _strict(record, stream_type)
    return event


def _fast(record: Record, stream_type: str) -> AuditEvent | None:
    raw = record.value
    if raw is None or len(raw) > MAX_MESSAGE_BYTES:
        return None
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if type(data) is not dict or data.keys() != ENVELOPE_KEYS:
        return None
    if orjson.dumps(data, option=orjson.OPT_SORT_KEYS) != raw:
        return None
    try:
        return _checked(record, raw, data, stream_type)
    except c.Unsure:
        return None


ENVELOPE_TEXT = re.compile(rf"{c.UUID}\|{c.UUID}\|{c.UTC}\|{c.UTC}\|{c.CODE}").fullmatch
"""stream_id|event_id|occurred_at|recorded_at|actor.role, checked in one call. No part can hold
a ``|``, so each part matched its own pattern. The own hash needs no pattern: it must equal the
SHA-256 hex digest computed over the record (``is_sealed_canonical``)."""


def _checked(record: Record, raw: bytes, data: dict[str, Any], stream_type: str) -> AuditEvent:
    event_type, version = data["event_type"], data["schema_version"]
    if type(event_type) is not str or type(version) is not int:
        raise c.Unsure("event_type")
    known = KNOWN.get((event_type, version))
    if known is None or known[0] != stream_type or data["stream_type"] != stream_type:
        raise c.Unsure("event_type")
    actor = data["actor"]
    if type(actor) is not dict or actor.keys() != ACTOR_KEYS:
        raise c.Unsure("actor")
    stream_id, event_hash = data["stream_id"], data["hash"]
    occurred_at, recorded_at = data["occurred_at"], data["recorded_at"]
    if type(event_hash) is not str:
        raise c.Unsure("hash")
    try:
        text = "|".join((stream_id, data["event_id"], occurred_at, recorded_at, actor["role"]))
    except TypeError:  # not all texts
        raise c.Unsure("envelope") from None
    if not ENVELOPE_TEXT(text) or not c.real_day(occurred_at) or not c.real_day(recorded_at):
        raise c.Unsure("envelope")
    if record.key is not None and record.key != stream_id.encode():
        raise c.Unsure("stream_id")
    stream_version = data["stream_version"]
    if type(stream_version) is not int or not 1 <= stream_version <= MAX_STREAM_VERSION:
        raise c.Unsure("stream_version")
    previous = data["previous_hash"]
    if (stream_version == 1) != (previous is None) or (
        previous is not None and (type(previous) is not str or not c.HASH_TEXT(previous))
    ):
        raise c.Unsure("previous_hash")
    # canonical bytes: the hash input is the record without its top-level hash member, which
    # is the first `"hash":` key (only actor's checked keys come before it)
    if not is_sealed_canonical(raw, event_hash):
        raise c.Unsure("hash")  # the strict path judges a mismatch on the validated event
    payload = data["payload"]
    if version != known[1]:
        try:
            payload = EVENTS.upcast(event_type, version, payload)
        except (KeyError, TypeError, ValueError, AttributeError):
            raise c.Unsure("payload") from None
    return tuple.__new__(  # a NamedTuple without its Python-level __new__: one per event
        AuditEvent,
        (
            record.topic,
            record.partition,
            record.offset,
            data["event_id"],
            event_type,
            known[1],
            stream_type,
            stream_id,
            stream_version,
            occurred_at,
            recorded_at,
            actor["role"],
            actor["on_behalf_of"] is not None,
            event_hash,
            previous,
            True,
            facts_of(event_type, stream_id, stream_version, occurred_at, payload),
        ),
    )


def _strict(record: Record, stream_type: str) -> AuditEvent:
    """The full contract parse: refuses with field and rule; judges the own hash as written."""
    raw = record.value or b""
    written = parse_event(raw, upcast=False, verify=False)  # ContractError: field and rule
    if written.stream_type != stream_type:
        raise ProjectionError("stream_type", "topic_carries_stream_type")
    if record.key is not None and record.key != topics.record_key(written.stream_id):
        raise ProjectionError("stream_id", "key_is_stream_id")
    as_written = envelope_dict(written)
    event_hash = as_written.pop("hash")
    # the JSON-mode dump is already canonical JSON data: the same bytes as compute_hash()
    hash_ok = sha256_hash(canonical_bytes_of_json(as_written)) == event_hash
    event = written
    if written.schema_version != current_version(written.event_type):
        event = parse_event(raw, verify=False)
    data = envelope_dict(event)
    facts: Facts = []
    if hash_ok:  # a tampered event is evidence, not a fact
        try:
            facts = facts_of(
                data["event_type"],
                data["stream_id"],
                data["stream_version"],
                data["occurred_at"],
                data["payload"],
            )
        except c.Unsure as unsure:  # the contract accepts what the audit cannot store
            raise ProjectionError(unsure.field, "audit_readable") from None
    return AuditEvent(
        record.topic,
        record.partition,
        record.offset,
        data["event_id"],
        data["event_type"],
        data["schema_version"],
        data["stream_type"],
        data["stream_id"],
        data["stream_version"],
        data["occurred_at"],
        data["recorded_at"],
        data["actor"]["role"],
        data["actor"]["on_behalf_of"] is not None,
        event_hash,
        data["previous_hash"],
        hash_ok,
        facts,
    )
