"""The erasure notice: a patient's data key was destroyed; projections drop what they derived.

Published by plan_service on `safetyplan.erasures` (keyed by person id) after the key vault
destroyed the key. It carries no personal data: the provider's pseudonymous person id, the id of
the destroyed key (so a projection can drop exactly the tokens sealed with it), when and why.
Consumers apply it exactly once like any event and must tolerate it arriving again.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from contracts.common import ContractModel, UtcDatetime
from contracts.versioning import RawMessage, decode_message, validate_strict

ErasureReason = Literal["retention_ended", "erasure_request"]
"""`retention_ended`: past the retention date; `erasure_request`: a valid request (UK GDPR a.17)."""

NOTICE_TYPE = "personal_data.person_erased"


class PersonErasedNotice(ContractModel):
    """A patient's personal data was erased by destroying their data key (crypto-shredding)."""

    notice_type: Literal["personal_data.person_erased"] = "personal_data.person_erased"
    schema_version: Literal[1] = 1
    person_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
    key_id: str | None = Field(
        pattern=r"^[0-9a-f]{32}$",
        description="The destroyed data key; null when the person never had one.",
    )
    reason: ErasureReason
    erased_at: UtcDatetime


def parse_notice(raw: RawMessage) -> PersonErasedNotice:
    """Read one erasure notice strictly (ContractError naming field and rule on bad input)."""
    return validate_strict(PersonErasedNotice, decode_message(raw))


def encode_notice(notice: PersonErasedNotice) -> bytes:
    from contracts.canonical import canonical_bytes

    return canonical_bytes(notice.model_dump(mode="json"))
