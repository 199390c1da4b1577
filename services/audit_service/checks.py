"""Cheap checks of the wire values the audit reads, for the fast reader (``reader.py``).

Each check takes a value as ``orjson`` decoded it and returns it unchanged (text for ids,
datetimes and dates, so nothing is rebuilt as a Python object), or raises ``Unsure``. ``Unsure``
is not a refusal: the record is then read by the strict reader (``contracts.registry``), which
either accepts it or refuses it naming the field and rule. So a check may be stricter than the
contract (it only accepts the canonical wire form), never laxer.

This module must never put a value into an exception or a log line.
"""

from __future__ import annotations

import re
from datetime import date
from enum import Enum
from typing import Any

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
DAY = r"(?!0000)[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
"""A date with its fields in range; whether the 29th-31st exist in its month is ``real_day``'s."""
UTC = DAY + r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\.[0-9]{6}Z"
HASH = r"sha256:[0-9a-f]{64}"
CODE = r"[a-z][a-z0-9_]{0,63}"
UUID_TEXT = re.compile(UUID).fullmatch
UTC_TEXT = re.compile(UTC).fullmatch
DATE_TEXT = re.compile(DAY).fullmatch
HASH_TEXT = re.compile(HASH).fullmatch
CODE_TEXT = re.compile(CODE).fullmatch
ODS_CODE = re.compile(r"[A-Z0-9]{3,9}").fullmatch


class Unsure(Exception):
    """The fast reader does not take this value as it stands; the strict reader decides."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


def uuid(value: Any, field: str) -> str:
    """A lower-case hyphenated UUID (the canonical form)."""
    if type(value) is str and UUID_TEXT(value):
        return value
    raise Unsure(field)


def optional_uuid(value: Any, field: str) -> str | None:
    return None if value is None else uuid(value, field)


def real_day(value: str) -> bool:
    """Whether a text that matched ``DAY`` (at its start) names a day of the calendar: only
    the 29th to the 31st need the calendar (the pattern has checked every other range)."""
    if value[8:10] <= "28":
        return True
    try:
        date.fromisoformat(value[:10])
    except ValueError:
        return False
    return True


def utc_datetime(value: Any, field: str) -> str:
    """`YYYY-MM-DDTHH:MM:SS.ffffffZ` naming a real instant (PostgreSQL reads the same text)."""
    if type(value) is str and UTC_TEXT(value) and real_day(value):
        return value
    raise Unsure(field)


def day(value: Any, field: str) -> str:
    """`YYYY-MM-DD` naming a real date."""
    if type(value) is str and DATE_TEXT(value) and real_day(value):
        return value
    raise Unsure(field)


def optional_day(value: Any, field: str) -> str | None:
    return None if value is None else day(value, field)


def integer(value: Any, field: str, low: int, high: int) -> int:
    if type(value) is int and low <= value <= high:
        return value
    raise Unsure(field)


def optional_integer(value: Any, field: str, low: int, high: int) -> int | None:
    return None if value is None else integer(value, field, low, high)


def boolean(value: Any, field: str) -> bool:
    if type(value) is bool:
        return value
    raise Unsure(field)


def optional_boolean(value: Any, field: str) -> bool | None:
    return None if value is None else boolean(value, field)


def codes(enum: type[Enum]) -> frozenset[str]:
    """The wire values of a code list (a `contracts.codes` enum)."""
    return frozenset(str(member.value) for member in enum)


def code(value: Any, field: str, allowed: frozenset[str]) -> str:
    if type(value) is str and value in allowed:
        return value
    raise Unsure(field)


def optional_code(value: Any, field: str, allowed: frozenset[str]) -> str | None:
    return None if value is None else code(value, field, allowed)


def slug(value: Any, field: str) -> str:
    """A `Code` (lower-case slug), e.g. a staff role."""
    if type(value) is str and CODE_TEXT(value):
        return value
    raise Unsure(field)


def text(value: Any, field: str, max_length: int) -> str:
    if type(value) is str and 1 <= len(value) <= max_length:
        return value
    raise Unsure(field)


def ods_code(value: Any, field: str) -> str:
    if type(value) is str and ODS_CODE(value):
        return value
    raise Unsure(field)


def items(value: Any, field: str, max_items: int, min_items: int = 0) -> list[Any]:
    if type(value) is list and min_items <= len(value) <= max_items:
        return value
    raise Unsure(field)
