"""Marking of personal data in contracts, and the NHS number type.

Every field that can carry personal data (names, NHS number, date of birth, free text written
about or by a person, equality characteristics, diagnoses, contact details, staff names) is
annotated with `PersonalData()`. The marker shows up in the JSON Schema as `"x-personal-data":
true`, and `paths_in_schema` lists the marked paths so that a later component can encrypt exactly
those fields with the patient's key (`contracts.sealed_values`; crypto-shredding).

This module must never encrypt, log or echo personal data; NHS number errors name the rule only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, GetCoreSchemaHandler, GetJsonSchemaHandler, StringConstraints
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema as cs

from contracts.errors import rule_error
from contracts.sealed_values import TOKEN_PATTERN, is_token

PERSONAL_DATA_KEY = "x-personal-data"


SEALED_CONTEXT = {"sealed_values": True}
"""Validation context of events: a personal field may hold a sealed token (contracts.sealed_values).

Commands never get it, so a clinical app cannot pass a token off as a name or an NHS number."""


@dataclass(frozen=True, slots=True)
class PersonalData:
    """Annotation marker: this field carries personal data and is encrypted per patient.

    On events the value is a sealed token (`contracts.sealed_values`); the field accepts one in
    place of its plain value when validated with `SEALED_CONTEXT`, and only then.
    """

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> cs.CoreSchema:
        # A tagged union picks the branch from the value, so the plain branch keeps its JSON
        # semantics (a strict date still parses from a JSON string) and its own error rules.
        return cs.tagged_union_schema(
            {
                SEALED_TAG: cs.with_info_plain_validator_function(_token_if_sealed_context),
                PLAIN_TAG: handler(source),
            },
            discriminator=_tag,
        )

    def __get_pydantic_json_schema__(
        self, core_schema: cs.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        plain = core_schema["choices"][PLAIN_TAG] if "choices" in core_schema else core_schema
        schema: dict[str, Any] = dict(handler(plain))
        schema[PERSONAL_DATA_KEY] = True
        return schema


SEALED_TAG = "§sealed"
PLAIN_TAG = "§plain"
"""Union tags pydantic puts into error locations; `contracts.errors` strips them."""


def _tag(value: Any) -> str:
    return SEALED_TAG if is_token(value) else PLAIN_TAG


def _token_if_sealed_context(value: Any, info: cs.ValidationInfo) -> Any:
    if info.context and info.context.get("sealed_values"):
        return value
    raise rule_error("plain_value", "personal data is sent in plain text here, not sealed")


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


SEALED_DEF = "SealedPersonalValue"
_OUTER_KEYS = ("title", "description", "default")


def sealed_in_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """An event schema in which every personal field may also be a sealed token, as on the wire."""

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        out = {k: walk(v) for k, v in node.items()}
        if out.get(PERSONAL_DATA_KEY) is not True:
            return out
        inner = {k: v for k, v in out.items() if k not in (PERSONAL_DATA_KEY, *_OUTER_KEYS)}
        wrapped = {k: out[k] for k in _OUTER_KEYS if k in out}
        wrapped["anyOf"] = [inner, {"$ref": f"#/$defs/{SEALED_DEF}"}]
        wrapped[PERSONAL_DATA_KEY] = True
        return wrapped

    result: dict[str, Any] = walk(schema)
    if result == schema:
        return result
    result.setdefault("$defs", {})[SEALED_DEF] = {
        "type": "string",
        "pattern": TOKEN_PATTERN,
        "description": "A personal value sealed with the patient's data key (AES-256-GCM; "
        "see contracts/README.md, 'Personal data on the wire').",
    }
    return result
