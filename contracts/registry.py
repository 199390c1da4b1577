"""The event registry and the two doors every event passes: `parse_event` and `encode_event`.

`parse_event` accepts what a Kafka consumer, the event store or a test holds (bytes, text or a
decoded JSON object), refuses anything off-contract with a `ContractError` naming field and rule,
verifies the event hash over the event *as written*, then upcasts older schema versions so that
callers only ever see current payload models. `encode_event` gives the canonical bytes that go
on Kafka (hash included).

This module must never accept an unknown event type, a future schema version or an unverified
hash silently, and never put the input value into an error.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import orjson
from pydantic import ValidationError

from contracts.canonical import canonical_bytes, is_sealed_canonical
from contracts.common import EventPayload, VersionedPayload
from contracts.envelope import EventEnvelope, compute_hash, envelope_dict
from contracts.errors import ContractError, from_validation_error
from contracts.incident_events import INCIDENT_EVENTS
from contracts.personal_data import SEALED_CONTEXT, paths_in_schema, sealed_in_schema
from contracts.plan_events import PLAN_EVENTS
from contracts.sealed_values import (
    KeyLookup,
    Tree,
    map_personal,
    open_tokens,
    seal_payload,
    seal_value,
    tree_of,
)
from contracts.upcasters import contribution_made_v1_to_v2
from contracts.versioning import (
    MAX_MESSAGE_BYTES,
    ContractRegistry,
    RawMessage,
    decode_message,
    validate_strict,
)

EVENTS = ContractRegistry(kind="event", type_field="event_type")
for _model in (*PLAN_EVENTS, *INCIDENT_EVENTS):
    EVENTS.register(_model)
EVENTS.register_upcaster("safety_plan.contribution_made", 1, contribution_made_v1_to_v2)
EVENTS.check_complete()


@cache
def envelope_model(event_type: str, schema_version: int | None = None) -> type[EventEnvelope[Any]]:
    """The concrete `EventEnvelope[Payload]` class for a type (current version by default)."""
    payload = EVENTS.model(event_type, schema_version)
    return EventEnvelope[payload]  # type: ignore[valid-type]


def event_types() -> list[str]:
    """Every known event type string, sorted."""
    return EVENTS.types()


def current_version(event_type: str) -> int:
    return EVENTS.current_version(event_type)


def payload_model(event_type: str, schema_version: int | None = None) -> type[VersionedPayload]:
    return EVENTS.model(event_type, schema_version)


def parse_event(
    raw: RawMessage,
    *,
    upcast: bool = True,
    verify: bool = True,
    max_bytes: int = MAX_MESSAGE_BYTES,
    keys: KeyLookup | None = None,
) -> EventEnvelope[Any]:
    """Read one event strictly; see the module docstring for the steps.

    With `upcast=False` the event is returned as written (its own version's payload model), which
    is what a hash-chain verifier needs. With upcasting, the returned envelope carries the
    current `schema_version` and payload but keeps the `hash`/`previous_hash` of the stored event:
    the hash always refers to the event as written (use `upcast=False` to re-check it).

    Personal values arrive sealed (`contracts.sealed_values`). An entitled consumer passes `keys`
    and gets them opened after the hash was checked; a value whose key was destroyed stays a
    token (see `contracts.sealed_values.is_token`). The hash then no longer matches the returned
    envelope: it is the hash as written.
    """
    data = decode_message(raw, max_bytes=max_bytes)
    event_type, version = EVENTS.identify(data)
    received = bytes(raw) if isinstance(raw, bytes | bytearray) else None
    as_written = validate_strict(
        envelope_model(event_type, version), data, SEALED_CONTEXT, received=received
    )
    if (
        verify
        and not _hash_holds_over_received_bytes(received, data, as_written)
        and compute_hash(as_written) != as_written.hash
    ):
        raise ContractError("hash", "hash_mismatch", "hash does not match the event's content")
    current = EVENTS.current_version(event_type)
    target = current if upcast else version
    if keys is None and target == version:
        return as_written
    out = envelope_dict(as_written)
    if keys is not None:
        out["payload"] = _opened(out["payload"], personal_tree(event_type, version), keys)
    if target != version:
        out["payload"] = EVENTS.upcast(event_type, version, out["payload"])
        out["schema_version"] = current
    return validate_strict(envelope_model(event_type, target), out, SEALED_CONTEXT)


def _hash_holds_over_received_bytes(
    received: bytes | None, data: dict[str, Any], as_written: EventEnvelope[Any]
) -> bool:
    """The own-hash check without re-serialising the model (about three quarters of a parse
    otherwise): the received bytes are the canonical form of what was validated (sorted compact
    JSON of values the model writes back unchanged), and without their hash member they hash to
    the hash. False sends the caller to the reference check, which alone names a mismatch."""
    if received is None or orjson.dumps(data, option=orjson.OPT_SORT_KEYS) != received:
        return False
    if envelope_dict(as_written) != data:
        return False
    return is_sealed_canonical(received, as_written.hash)


def _opened(payload: dict[str, Any], tree: Tree, keys: KeyLookup) -> dict[str, Any]:
    def open_one(value: Any) -> Any:
        return open_tokens(value, keys, keep_unopened=True)

    return map_personal(payload, tree, open_one)


@cache
def personal_tree(event_type: str, schema_version: int | None = None) -> Tree:
    """The personal paths of an event type's payload as a nested dict (see sealed_values)."""
    return tree_of(personal_data_paths(event_type, schema_version))


def seal_personal(payload: VersionedPayload, key_id: str, key: bytes) -> VersionedPayload:
    """A payload model whose personal values are sealed with the patient's key (before hashing).

    A correction's `new_value` is sealed only when it corrects a personal field of the record:
    a corrected time or code must stay readable after an erasure, or statistics rebuilt from
    the log would lose the correction.
    """
    if not isinstance(payload, EventPayload):
        raise TypeError(f"{type(payload).__name__} is not an event payload")
    tree = personal_tree(payload.MESSAGE_TYPE, payload.SCHEMA_VERSION)
    data = payload.model_dump(mode="json")
    if payload.MESSAGE_TYPE == AMENDED:
        tree = {k: v for k, v in tree.items() if k != "changes"}
        for change in data.get("changes") or ():
            if change.get("new_value") is not None and corrects_personal_field(change["path"]):
                change["new_value"] = seal_value(key_id, key, change["new_value"])
    sealed = seal_payload(data, tree, key_id, key)
    try:  # the values come from a validated model's JSON dump: lax mode reads them back as is
        return type(payload).model_validate(sealed, context=SEALED_CONTEXT)
    except ValidationError as exc:
        raise from_validation_error(exc) from None


AMENDED = "use_of_force.incident_amended"
CORRECTED = "use_of_force.incident_recorded"


def corrects_personal_field(path: str) -> bool:
    """True when a correction path (`staff_involved[1].name`) is, or holds, a personal field."""
    plain = re.sub(r"\[[0-9]+\]", "[]", path)
    for personal in personal_data_paths(CORRECTED):
        target = personal.removeprefix("payload.")
        if target == plain or target.startswith((plain + ".", plain + "[")):
            return True
        if plain.startswith((target + ".", target + "[")):
            return True
    return False


def encode_event(envelope: EventEnvelope[Any]) -> bytes:
    """Canonical JSON bytes of the whole envelope, hash included: the Kafka record value."""
    return canonical_bytes(envelope_dict(envelope))


def event_json_schema(event_type: str, schema_version: int | None = None) -> dict[str, Any]:
    """JSON Schema 2020-12 of the full envelope for one event type and version."""
    model = payload_model(event_type, schema_version)
    return _schema_for(model)


@cache
def _schema_cached(model: type[EventPayload]) -> dict[str, Any]:
    schema = EventEnvelope[model].model_json_schema()  # type: ignore[valid-type]
    props = schema["properties"]
    props["event_type"] = {**props["event_type"], "const": model.MESSAGE_TYPE}
    props["schema_version"] = {**props["schema_version"], "const": model.SCHEMA_VERSION}
    props["stream_type"] = {**props["stream_type"], "const": model.STREAM_TYPE}
    schema = sealed_in_schema(schema)
    schema["title"] = f"{model.MESSAGE_TYPE} v{model.SCHEMA_VERSION}"
    schema["description"] = (model.__doc__ or model.__name__).strip()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:safetyplan:contracts:event:{model.MESSAGE_TYPE}:v{model.SCHEMA_VERSION}",
        **schema,
    }


def _schema_for(model: type[VersionedPayload]) -> dict[str, Any]:
    if not issubclass(model, EventPayload):
        raise TypeError(f"{model.__name__} is not an event payload")
    return _schema_cached(model)


def personal_data_paths(event_type: str, schema_version: int | None = None) -> list[str]:
    """Paths of the fields marked personal in this event (e.g. `payload.person.nhs_number`).

    Lists are shown as `[]` (`payload.staff_involved[].name`); the paths come from the published
    JSON Schema, so any consumer can compute the same list.
    """
    return paths_in_schema(event_json_schema(event_type, schema_version))
