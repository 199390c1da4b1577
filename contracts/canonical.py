"""Canonical JSON: the one byte form of a message that is hashed and put on Kafka.

Definition (also in contracts/README.md):

* the value is a JSON object whose members are objects, arrays, strings, integers, `true`,
  `false` and `null` only; **floats are refused** (contracts carry integers or strings);
* integers lie within +/-(2**53 - 1), so every JSON reader represents them exactly;
* object keys are strings, sorted by Unicode code point (contract keys are ASCII), no duplicates;
* no insignificant whitespace: separators are exactly `,` and `:`;
* strings are emitted as UTF-8, not `\\u`-escaped, except `"` -> `\\"`, `\\` -> `\\\\`, the
  controls U+0008/0009/000A/000C/000D as `\\b \\t \\n \\f \\r`, other controls below U+0020 as
  `\\u00xx` (lower-case hex); no Unicode normalisation is applied; lone surrogates are refused;
* datetimes are RFC 3339 in UTC with exactly six fractional digits and `Z`
  (`2024-03-01T09:30:00.000000Z`); naive datetimes are refused; dates are `YYYY-MM-DD`;
* UUIDs are lower-case, hyphenated (`8-4-4-4-12`); enum members are written as their value;
* `null` is kept: a field whose value is None appears as `"field":null`, never omitted.

This is the output of Python's `json.dumps(value, sort_keys=True, separators=(",", ":"),
ensure_ascii=False, allow_nan=False)` over the normalised value, encoded as UTF-8.
This module must never depend on dict order, locale, platform or the Python version.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum
from typing import Any
from uuid import UUID

import orjson

from contracts.common import format_utc
from contracts.errors import ROOT, ContractError

MAX_SAFE_INTEGER = 2**53 - 1
HASH_PREFIX = "sha256:"


def _normalise(value: Any, path: str) -> Any:
    # bool before int: bool is an int subclass in Python.
    if value is None or isinstance(value, bool | str):
        return value.value if isinstance(value, Enum) else value
    if isinstance(value, Enum):
        return _normalise(value.value, path)
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise ContractError(path, "integer_range", "integer outside +/-(2**53 - 1)")
        return value
    if isinstance(value, float):
        raise ContractError(path, "no_floats", "floats are not allowed in contracts")
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ContractError(path, "timezone_required", "naive datetimes are refused")
        return format_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ContractError(path, "key_type", "object keys must be strings")
            out[key] = _normalise(item, f"{path}.{key}" if path != ROOT else key)
        return out
    if isinstance(value, list | tuple):
        return [_normalise(item, f"{path}[{i}]") for i, item in enumerate(value)]
    raise ContractError(path, "unsupported_type", f"{type(value).__name__} has no JSON form")


class _Refused(Exception):
    """Raised by `_fast`; the slow walk then finds the path and the rule for the error."""


def _fast(value: Any) -> Any:
    """`_normalise` without building a path per member (the hot path of every hash)."""
    if isinstance(value, str):
        return value.value if isinstance(value, Enum) else value
    if isinstance(value, dict):
        return {key: _fast(item) for key, item in value.items() if isinstance(key, str) or _no()}
    if isinstance(value, list | tuple):
        return [_fast(item) for item in value]
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if abs(value) <= MAX_SAFE_INTEGER and not isinstance(value, Enum) else _no()
    if isinstance(value, datetime) and value.tzinfo is not None and value.utcoffset() is not None:
        return format_utc(value)
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    return _no()


def _no() -> Any:
    raise _Refused


def canonical_bytes(value: Mapping[str, Any]) -> bytes:
    """Canonical JSON bytes of a JSON object (see the module docstring for the exact rules)."""
    try:
        normalised = _fast(value)
    except _Refused:
        normalised = _normalise(value, ROOT)  # raises the ContractError naming path and rule
    try:
        return orjson.dumps(normalised, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        pass  # a lone surrogate, or nesting deeper than orjson's 255 levels: the reference decides
    return reference_canonical_bytes(normalised)


def reference_canonical_bytes(normalised: Any) -> bytes:
    """The definition itself: the standard library's `json.dumps` with the rules' options.

    `canonical_bytes` writes the same bytes with orjson (several times faster; a test compares
    the two for every Unicode code point and for key order), and falls back to this.
    """
    text = json.dumps(
        normalised, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise ContractError(ROOT, "utf8", "text contains a lone surrogate") from None


def canonical_bytes_of_json(value: Mapping[str, Any]) -> bytes:
    """Canonical bytes of a value that is *already* JSON data (str/int/bool/None/list/dict),
    e.g. an envelope read back from the event store: the same bytes as `canonical_bytes`
    without re-normalising every member (the relay's hot path)."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def is_sealed_canonical(raw: bytes, event_hash: str) -> bool:
    """Whether `raw`, a sealed envelope serialised by anything, is byte for byte its canonical
    form: without its top-level `"hash":"…",` member it must hash to `event_hash`, which sealing
    computed over the canonical bytes. A SHA-256 over bytes already at hand, instead of a
    re-serialisation (the relay's and the audit replay's hot path)."""
    member = b'"hash":"' + event_hash.encode() + b'",'
    at = raw.find(member)
    if at < 0:
        return False
    digest = hashlib.sha256(raw[:at])
    digest.update(raw[at + len(member) :])
    return HASH_PREFIX + digest.hexdigest() == event_hash


def sha256_hash(data: bytes) -> str:
    """`sha256:` + lower-case hex digest."""
    return HASH_PREFIX + hashlib.sha256(data).hexdigest()
