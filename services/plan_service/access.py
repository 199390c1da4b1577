"""Which plans and incident records a caller may read: a clinical app what its system submitted,
a clinician what belongs to the units (unit or ward names) in the token. Pure: no I/O.

This module must never widen a scope: anything it cannot place is refused (403).
"""

from __future__ import annotations

from collections.abc import Sequence

from contracts.envelope import EventEnvelope
from services.common.auth import Principal, forbidden


def places(events: Sequence[EventEnvelope]) -> set[str]:
    """The unit and ward of the stream's latest care setting."""
    for event in reversed(events):
        setting = getattr(event.payload, "setting", None)
        if setting is not None:
            return {n for n in (setting.unit_name, setting.ward_name) if n}
    return set()


def ensure_may_read(principal: Principal, events: Sequence[EventEnvelope], field: str) -> None:
    system = principal.system if principal.has("clinical_app") else None
    if system and any(e.submitting_system == system for e in events):
        return
    if principal.has("clinician") and places(events) & set(principal.units):
        return
    raise forbidden(field, "within_token_scope", "this record is outside the token's scope")


def list_scope(principal: Principal) -> tuple[str, ...]:
    """The units a plan list is limited to; 403 for a caller who may not list plans."""
    if not principal.has("clinician"):
        raise forbidden("roles", "clinician_to_list", "only clinicians list plans (their units)")
    return principal.units
