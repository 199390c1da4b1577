"""Marking of personal data in contracts, and the NHS number type.

Every field that can carry personal data (names, NHS number, date of birth, free text written
about or by a person, equality characteristics, diagnoses, contact details, staff names) is
annotated with `PersonalData()`. The marker shows up in the JSON Schema as `"x-personal-data":
true`, and `paths_in_schema` lists the marked paths so that a later component can encrypt exactly
those fields with the patient's key (crypto-shredding, see architecture.md).

This module must never encrypt, log or echo personal data; NHS number errors name the rule only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, GetJsonSchemaHandler, StringConstraints
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema as cs

from contracts.errors import rule_error

PERSONAL_DATA_KEY = "x-personal-data"


@dataclass(frozen=True, slots=True)
class PersonalData:
    """Annotation marker: this field carries personal data and is encrypted per patient."""

    def __get_pydantic_json_schema__(
        self, core_schema: cs.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema: dict[str, Any] = dict(handler(core_schema))
        schema[PERSONAL_DATA_KEY] = True
        return schema


NHS_NUMBER_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)


def nhs_number_is_valid(value: str) -> bool:
    """True when `value` is ten digits whose last digit is the modulus-11 check digit."""
    if len(value) != 10 or not value.isascii() or not value.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(value[:9], NHS_NUMBER_WEIGHTS, strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(value[9])


def _check_nhs_number(value: str) -> str:
    if len(value) != 10 or not value.isascii() or not value.isdigit():
        raise rule_error("nhs_number_format", "NHS number must be exactly 10 digits, no spaces")
    if not nhs_number_is_valid(value):
        raise rule_error(
            "nhs_number_checksum", "NHS number check digit does not match (modulus 11)"
        )
    return value


NhsNumber = Annotated[
    str,
    StringConstraints(min_length=10, max_length=10),
    AfterValidator(_check_nhs_number),
    PersonalData(),
]
"""NHS number (the patient's "consistent identifier", Act s.6(5)(g); HSCA 2012 s.251A).

Ten digits without spaces; the tenth is the modulus-11 check digit (weights 10..2 on digits 1-9,
check = 11 - sum mod 11, 11 -> 0, 10 -> invalid). Synthetic records use the 999 range.
"""


def paths_in_schema(schema: dict[str, Any]) -> list[str]:
    """Dotted paths (lists as `[]`) of every property marked personal in a JSON Schema."""
    defs: dict[str, Any] = schema.get("$defs", {})
    found: set[str] = set()

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return resolve(defs[ref.removeprefix("#/$defs/")])
        return node

    def walk(node: dict[str, Any], path: str, seen: frozenset[str]) -> None:
        ref = node.get("$ref")
        if isinstance(ref, str):
            if ref in seen:
                return
            seen = seen | {ref}
        node = resolve(node)
        if node.get(PERSONAL_DATA_KEY) is True:
            found.add(path)
        for branch_key in ("anyOf", "oneOf", "allOf"):
            for branch in node.get(branch_key, []):
                walk(branch, path, seen)
        for name, prop in node.get("properties", {}).items():
            walk(prop, f"{path}.{name}" if path else name, seen)
        if isinstance(node.get("items"), dict):
            walk(node["items"], f"{path}[]", seen)

    walk(schema, "", frozenset())
    return sorted(found)
