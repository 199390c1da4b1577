"""Registries of versioned message types, upcasters, and the strict decoding of raw messages.

One `ContractRegistry` maps (message type, schema version) to a payload model, knows the current
version of each type, and holds upcasters: pure functions from a version-N payload dict to a
version-N+1 payload dict. Reading a message runs the same steps for events and commands: size
limit, JSON decoding (duplicate keys and NaN refused), type lookup, version check, strict
validation of the message *as written*, optional check (e.g. the hash), then upcasting.

This module must never guess: an unknown type, a future version or a malformed body is refused
with a ContractError; it must never echo the input value in that error.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from contracts.common import VersionedPayload
from contracts.errors import ROOT, ContractError, from_validation_error

MAX_MESSAGE_BYTES = 256 * 1024
"""Largest accepted message body (UTF-8 JSON bytes). Larger bodies are refused unread."""

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
"""Payload dict at version N (JSON form) -> payload dict at version N+1. Pure, total, no I/O."""

M = TypeVar("M", bound=BaseModel)

RawMessage = bytes | bytearray | str | Mapping[str, Any]


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ContractError(ROOT, "duplicate_key", "an object has the same key twice")
        out[key] = value
    return out


def _no_constant(_name: str) -> Any:
    raise ContractError(ROOT, "json_syntax", "NaN and Infinity are not JSON")


def decode_message(raw: RawMessage, *, max_bytes: int = MAX_MESSAGE_BYTES) -> dict[str, Any]:
    """Bytes, text or an already-decoded JSON object -> dict, enforcing size and JSON rules."""
    if isinstance(raw, Mapping):
        try:
            body = json.dumps(raw, allow_nan=False).encode("utf-8")
        except (TypeError, ValueError):
            raise ContractError(ROOT, "json_value", "the mapping is not JSON data") from None
    elif isinstance(raw, str):
        try:
            body = raw.encode("utf-8")
        except UnicodeEncodeError:
            raise ContractError(ROOT, "utf8", "body is not valid UTF-8 text") from None
    elif isinstance(raw, bytes | bytearray):
        body = bytes(raw)
    else:
        raise ContractError(ROOT, "wrong_type", "message must be bytes, str or a mapping")
    if len(body) > max_bytes:
        raise ContractError(ROOT, "max_message_bytes", f"body is larger than {max_bytes} bytes")
    try:
        text = body.decode("utf-8")
        data = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise ContractError(ROOT, "utf8", "body is not valid UTF-8") from None
    except (json.JSONDecodeError, RecursionError):
        raise ContractError(ROOT, "json_syntax", "body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ContractError(ROOT, "not_an_object", "body must be a JSON object")
    return data


class ContractRegistry:
    """Message type and version -> payload model, plus upcasters to the current version."""

    def __init__(self, kind: str, type_field: str) -> None:
        self.kind = kind
        self.type_field = type_field
        self._models: dict[tuple[str, int], type[VersionedPayload]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}

    def register(self, model: type[VersionedPayload]) -> None:
        key = (model.MESSAGE_TYPE, model.SCHEMA_VERSION)
        if key in self._models:
            raise ValueError(f"{self.kind} {key} registered twice")
        self._models[key] = model

    def register_upcaster(self, message_type: str, from_version: int, upcaster: Upcaster) -> None:
        self._upcasters[(message_type, from_version)] = upcaster

    def types(self) -> list[str]:
        return sorted({t for t, _ in self._models})

    def versions(self, message_type: str) -> list[int]:
        return sorted(v for t, v in self._models if t == message_type)

    def current_version(self, message_type: str) -> int:
        versions = self.versions(message_type)
        if not versions:
            raise ContractError(self.type_field, f"unknown_{self.kind}_type", "type not known")
        return versions[-1]

    def model(self, message_type: str, version: int | None = None) -> type[VersionedPayload]:
        version = self.current_version(message_type) if version is None else version
        try:
            return self._models[(message_type, version)]
        except KeyError:
            raise ContractError(
                "schema_version", "unsupported_schema_version", "version not known"
            ) from None

    def current_models(self) -> list[type[VersionedPayload]]:
        return [self.model(t) for t in self.types()]

    def all_models(self) -> list[type[VersionedPayload]]:
        return [self._models[k] for k in sorted(self._models)]

    def check_complete(self) -> None:
        """Every type has versions 1..current and an upcaster from each older version."""
        for message_type in self.types():
            versions = self.versions(message_type)
            if versions != list(range(1, versions[-1] + 1)):
                raise ValueError(f"{message_type}: versions are not 1..N: {versions}")
            for version in versions[:-1]:
                if (message_type, version) not in self._upcasters:
                    raise ValueError(f"{message_type}: no upcaster from v{version}")

    def upcast(self, message_type: str, version: int, payload: dict[str, Any]) -> dict[str, Any]:
        """Apply upcasters from `version` to the current version, one step at a time."""
        current = self.current_version(message_type)
        while version < current:
            payload = self._upcasters[(message_type, version)](payload)
            version += 1
        return payload

    def identify(self, data: Mapping[str, Any]) -> tuple[str, int]:
        """Read and check the type and version fields of a decoded message."""
        message_type = data.get(self.type_field)
        if message_type is None:
            raise ContractError(self.type_field, "required", "field is required")
        if not isinstance(message_type, str):
            raise ContractError(self.type_field, "wrong_type", "must be a string")
        if not self.versions(message_type):
            raise ContractError(
                self.type_field, f"unknown_{self.kind}_type", f"not a known {self.kind} type"
            )
        version = data.get("schema_version")
        if version is None:
            raise ContractError("schema_version", "required", "field is required")
        if isinstance(version, bool) or not isinstance(version, int):
            raise ContractError("schema_version", "wrong_type", "must be an integer")
        current = self.current_version(message_type)
        if version > current:
            raise ContractError(
                "schema_version",
                "future_schema_version",
                f"newer than this reader knows (current is {current}); upgrade contracts",
            )
        if (message_type, version) not in self._models:
            raise ContractError("schema_version", "unsupported_schema_version", "version not known")
        return message_type, version


def validate_strict(
    model: type[M],
    data: Mapping[str, Any],
    context: Mapping[str, Any] | None = None,
    *,
    received: bytes | None = None,
) -> M:
    """Validate JSON data with JSON semantics in strict mode ("1" is not 1, 1.0 is not 1).

    `received`: the bytes `data` was decoded from by `decode_message` (so already checked for
    UTF-8, syntax, duplicate keys and constants); validated as they are, not re-serialised."""
    try:
        body = received if received is not None else json.dumps(data)
        return model.model_validate_json(body, strict=True, context=context)
    except ValidationError as exc:
        raise from_validation_error(exc) from None
