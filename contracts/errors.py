"""The one exception every contract failure raises, and its translation from pydantic errors.

A rejected message must tell its producer *which field* broke *which rule*, because producers are
clinical apps outside this repository. It must never repeat the offending value: the value may be
a name, an NHS number or a clinical narrative, and error texts end up in logs, DLQ headers and
HTTP responses. This module therefore never reads pydantic's `input` and never chains the pydantic
exception (whose own text does include `input_value=`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

ROOT = "$"
"""Field path used when the rule concerns the whole message (size, JSON syntax, top-level type)."""

# Pydantic error types -> our rule names. Anything not listed keeps pydantic's type as the rule.
_RULES: dict[str, str] = {
    "missing": "required",
    "extra_forbidden": "unknown_field",
    "enum": "unknown_code",
    "literal_error": "allowed_values",
    "string_too_long": "max_length",
    "string_too_short": "min_length",
    "too_long": "max_items",
    "too_short": "min_items",
    "string_pattern_mismatch": "pattern",
    "greater_than": "minimum",
    "greater_than_equal": "minimum",
    "less_than": "maximum",
    "less_than_equal": "maximum",
    "timezone_aware": "timezone_required",
    "union_tag_invalid": "unknown_kind",
    "union_tag_not_found": "required",
    "json_invalid": "json_syntax",
}

# Our own wording per rule; never built from the input value.
_MESSAGES: dict[str, str] = {
    "required": "field is required",
    "unknown_field": "field is not part of this schema version",
    "unknown_code": "value is not in the code list",
    "allowed_values": "value is not one of the allowed values",
    "max_length": "text is longer than allowed",
    "min_length": "text is shorter than allowed",
    "max_items": "list has more items than allowed",
    "min_items": "list has fewer items than allowed",
    "pattern": "text does not have the required format",
    "minimum": "number is below the minimum",
    "maximum": "number is above the maximum",
    "timezone_required": "datetime must carry a timezone offset (naive datetimes are refused)",
    "unknown_kind": "discriminator value is not a known kind",
    "json_syntax": "body is not valid JSON",
}

# Context values that describe the rule, not the input, and so may be shown.
_SAFE_CTX = ("expected", "max_length", "min_length", "ge", "gt", "le", "lt", "pattern", "tag")


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule: where (`field`, a dotted path such as `payload.staff[0].name`) and what."""

    field: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.rule}: {self.message}"


class ContractError(ValueError):
    """A message broke its contract. Carries one or more `Violation`s; `str()` lists them all.

    `field`, `rule` and `message` give the first violation, which is what a DLQ header carries.
    """

    def __init__(self, field: str, rule: str, message: str) -> None:
        self.violations: tuple[Violation, ...] = (Violation(field, rule, message),)
        super().__init__(str(self))

    @classmethod
    def of(cls, violations: Sequence[Violation]) -> ContractError:
        """Build an error from several violations (at least one)."""
        if not violations:
            raise ValueError("a ContractError needs at least one violation")
        first = violations[0]
        error = cls(first.field, first.rule, first.message)
        error.violations = tuple(violations)
        error.args = (str(error),)
        return error

    @property
    def field(self) -> str:
        return self.violations[0].field

    @property
    def rule(self) -> str:
        return self.violations[0].rule

    @property
    def message(self) -> str:
        return self.violations[0].message

    def __str__(self) -> str:
        return "; ".join(str(v) for v in self.violations)


def field_path(loc: Iterable[int | str], prefix: str = "") -> str:
    """Render a pydantic location as `a.b[0].c`; discriminator tags (str after a union) are kept.

    Except the personal-data union's tags (`§...`, `contracts.personal_data`): they name no field.
    """
    path = prefix
    for part in loc:
        if isinstance(part, str) and part.startswith("§"):
            continue
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path = f"{path}.{part}" if path else str(part)
    return path or ROOT


def _violation(error: ErrorDetails, prefix: str) -> Violation:
    kind = error["type"]
    rule = _RULES.get(kind, kind)
    if kind.endswith(("_type", "_parsing")) or kind in {"model_type", "dict_type", "list_type"}:
        rule = "wrong_type"
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    if rule in _MESSAGES:
        message = _MESSAGES[rule]
    elif rule == "wrong_type":
        expected = kind.removesuffix("_type").removesuffix("_parsing")
        message = f"value has the wrong type or format (expected {expected})"
    elif kind in _CUSTOM_RULES:
        # Raised by our own validators with fixed wording (PydanticCustomError); safe to show.
        message = error["msg"]
    else:
        message = f"value breaks rule '{rule}'"
    details = [f"{k}={ctx[k]}" for k in _SAFE_CTX if k in ctx and kind not in _CUSTOM_RULES]
    if details:
        message = f"{message} ({', '.join(details)})"
    return Violation(field_path(_strip_tags(error["loc"]), prefix), rule, message)


def _strip_tags(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """Drop the discriminator tag pydantic inserts right after a tagged-union field's name."""
    return tuple(
        part
        for i, part in enumerate(loc)
        if not (
            i > 0
            and isinstance(part, str)
            and isinstance(loc[i - 1], str)
            and part in _UNION_TAGS.get(str(loc[i - 1]), ())
        )
    )


_UNION_TAGS: dict[str, set[str]] = {}
"""Field name -> discriminator tags pydantic puts into locations right after that field."""

_CUSTOM_RULES: set[str] = set()
"""Error types raised by our validators via `rule_error`; their messages are ours and safe."""


def register_union_tags(field_name: str, tags: Iterable[str]) -> None:
    """Let model modules declare a tagged-union field whose tags should not appear in paths."""
    _UNION_TAGS.setdefault(field_name, set()).update(tags)


def rule_error(rule: str, message: str) -> Exception:
    """Return a pydantic error for a validator to raise, with a fixed, value-free message."""
    from pydantic_core import PydanticCustomError

    _CUSTOM_RULES.add(rule)
    return PydanticCustomError(rule, message)


def from_validation_error(exc: ValidationError, prefix: str = "") -> ContractError:
    """Translate a pydantic ValidationError without carrying over any input value."""
    violations = [_violation(e, prefix) for e in exc.errors(include_input=False, include_url=False)]
    return ContractError.of(violations)
