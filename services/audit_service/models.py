"""Response models of the audit_service HTTP API (they make the OpenAPI document complete).

Plain data: ids, roles, codes, timestamps, booleans, counts and rates. This module must never
gain a field for a name or any free text.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field


class ParticipantOut(BaseModel):
    participant_id: UUID
    role: str
    invited_at: datetime
    joined_at: datetime | None
    information_sharing_consent: bool | None
    reviews_taken_part: int = Field(description="Completed reviews this participant attended.")


class ActionsOut(BaseModel):
    participant_id: UUID
    role: str
    contributed: int = Field(description="Contributions authored in person or remotely.")
    contributed_on_behalf: int = Field(description="Their contributions recorded on behalf.")
    present_for: int = Field(description="Contributions of this version they were present for.")
    agreed: bool
    agreement_mode: str | None
    dissented: int
    open_dissents: int


class ContributionOut(BaseModel):
    contribution_id: UUID
    section: str
    author_role: str | None
    mode: str
    made_at: datetime
    person_present: bool = Field(description="The service user authored it directly or was there.")


class DissentOut(BaseModel):
    dissent_id: UUID
    section: str | None
    participant_role: str | None
    recorded_at: datetime
    open: bool
    age_days: int = Field(description="Days open (until the response, or until as_of).")
    outcome: str | None
    responded_at: datetime | None


class VersionOut(BaseModel):
    version_number: int
    proposed_at: datetime
    classification: Literal["with", "partial", "without"]
    person_took_part: bool
    person_agreed: bool
    person_agreed_on_behalf: bool
    person_words_recorded_on_behalf: bool
    person_dissented: bool
    person_open_dissent: bool
    persons_view_recorded: bool
    shared_with_person: bool
    carer_involved: bool
    open_dissents: int
    participants: list[ActionsOut]
    contributions: list[ContributionOut]
    dissents: list[DissentOut]


class ReviewOut(BaseModel):
    review_id: UUID | None
    trigger: str
    due_on: date | None
    completed_at: datetime | None
    status: Literal["on_time", "late", "overdue", "pending", "unscheduled"]
    person_took_part: bool


class BreakOut(BaseModel):
    stream_version: int
    event_id: UUID | None
    rule: Literal["hash_mismatch", "chain_broken", "conflicting_version", "missing_version"]


class StreamIntegrityOut(BaseModel):
    stream_id: UUID
    stream_type: str
    intact: bool
    verified_version: int = Field(description="Versions 1..N verified: hashes and links.")
    max_version: int
    conflicts: int
    first_break: BreakOut | None = Field(
        description="The first broken or missing link; for missing_version, event_id is the "
        "first stored event after the gap (null when version 1 itself is missing and none is)."
    )


class PlanAuditOut(BaseModel):
    plan_id: UUID
    provider: str
    unit: str
    started_at: datetime
    closed_at: datetime | None
    close_reason: str | None
    as_of: datetime
    integrity: StreamIntegrityOut | None
    participants: list[ParticipantOut]
    versions: list[VersionOut]
    reviews: list[ReviewOut]
    contributions_not_yet_in_a_version: int


class RateOut(BaseModel):
    numerator: int
    denominator: int
    rate: float | None = Field(description="numerator/denominator (4 places); null if 0/0.")


class RatesOut(BaseModel):
    plans: int
    versions: int = Field(description="Plan versions proposed in the period.")
    classifications: dict[str, int]
    with_person: RateOut
    with_carer: RateOut
    with_person_agreement: RateOut
    with_unresolved_dissent: RateOut
    shared_with_person: RateOut
    persons_view_recorded: RateOut
    reviewed_on_time: RateOut = Field(description="Scheduled reviews due in the period.")
    carer_identified: RateOut = Field(description="Triangle of Care 1: carer invited.")
    information_sharing_agreed: RateOut = Field(
        description="Triangle of Care 3: a carer joined with information-sharing consent."
    )
    by_role: dict[str, dict[str, int]] = Field(
        description="role -> invited / contributed / present / agreed / dissented counts."
    )


class UnitReportOut(RatesOut):
    unit: str | None = Field(description="Null on the provider total row.")


class PeriodReportOut(BaseModel):
    provider: str
    unit: str | None
    period_from: datetime
    period_to: datetime
    units: list[UnitReportOut]
    total: UnitReportOut


class IntegritySummaryOut(BaseModel):
    streams: int
    streams_with_problems: int
    problems: list[StreamIntegrityOut]


class CheckpointEntry(BaseModel):
    topic: str
    partition: int
    end_offset: int = Field(description="Exclusive: the log up to, not including, this offset.")


class MerkleRootOut(BaseModel):
    size: int = Field(description="Number of leaves (distinct events) below the checkpoint.")
    root: str = Field(description="Hex RFC 6962 Merkle root over the event hashes.")
    checkpoint: list[CheckpointEntry]
    leaf_order: str


class InclusionProofOut(BaseModel):
    event_id: UUID
    event_hash: str
    index: int
    size: int
    root: str
    proof: list[str] = Field(description="Hex sibling hashes, leaf to root (RFC 9162 2.1.3).")
    checkpoint: list[CheckpointEntry]
