"""Use-of-force events: the s.6(5) record, its corrections, and the post-incident review.

`IncidentFields` carries every item of Mental Health Units (Use of Force) Act 2018 s.6(5), (a) to
(p), as structured data (see the table in contracts/README.md). The event adds what plan_service
decides: the plan and plan version in force when the incident started, which answers s.6(5)(d)
from history rather than from today's plan.

A record is never edited: a correction is an `IncidentAmendedV1` naming the fields and the reason.
This module must never filter out "negligible" force (the guidance is [UNCONFIRMED]): a claim of
negligibility is recorded with its justification, and reports decide.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, ClassVar
from uuid import UUID

from pydantic import Field, StringConstraints, model_validator

from contracts.codes import InjuredPartyKind, RestrictiveInterventionReason
from contracts.common import (
    MAX_LIST,
    CareSetting,
    ContractModel,
    EventPayload,
    Narrative,
    PersonDetails,
    ShortText,
    StreamType,
    UtcDatetime,
    VersionNumber,
)
from contracts.errors import rule_error
from contracts.incident_parts import (
    Diagnosis,
    FieldChange,
    ForceUse,
    Injury,
    NonStaffInvolvement,
    NotificationSent,
    RelevantCharacteristics,
    StaffInvolvement,
)

INCIDENT: StreamType = "use_of_force_incident"


class IncidentFields(ContractModel):
    """The s.6(5) record as the recording clinician submits it. Item letters in descriptions."""

    patient: PersonDetails = Field(description="(e) name and (g) consistent identifier.")
    setting: CareSetting = Field(description="(b) place: provider, site, unit, ward.")
    location_detail: ShortText | None = Field(default=None, description="(b) e.g. 'lounge'.")
    started_at: UtcDatetime = Field(description="(b) date and start (MHS505 start date/time).")
    ended_at: UtcDatetime = Field(description="(b) end (MHS505 end date/time).")
    reason: RestrictiveInterventionReason = Field(description="(a) MHS505 RestrictiveIntReason.")
    reason_detail: Narrative | None = Field(default=None, description="(a) required for 98.")
    force_used: list[ForceUse] = Field(
        min_length=1, max_length=50, description="(b) duration and (c) type, per MHS515 row."
    )
    description: Narrative = Field(description="(f) how force was used.")
    staff_involved: list[StaffInvolvement] = Field(
        min_length=1, max_length=MAX_LIST, description="(h) name and job title."
    )
    non_staff_involved: list[NonStaffInvolvement] = Field(
        default_factory=list, max_length=MAX_LIST, description="(i) who and why."
    )
    mental_disorders: list[Diagnosis] | None = Field(
        default=None, max_length=20, description="(j) null when not known."
    )
    relevant_characteristics: RelevantCharacteristics | None = Field(
        default=None, description="(k) null when not known."
    )
    learning_disability: bool | None = Field(description="(l) null when not known.")
    autism: bool | None = Field(description="(l) autistic spectrum disorder; null: not known.")
    outcome: Narrative = Field(description="(m) outcome of the use of force.")
    patient_died: bool = Field(description="(n)")
    patient_serious_injury: bool = Field(description="(n)")
    injuries: list[Injury] = Field(default_factory=list, max_length=MAX_LIST)
    efforts_to_avoid_force: list[Narrative] = Field(
        max_length=MAX_LIST, description="(o) each effort made to avoid force."
    )
    no_efforts_reason: Narrative | None = Field(
        default=None, description="(o) required when no effort was made."
    )
    notifications: list[NotificationSent] = Field(
        max_length=MAX_LIST, description="(p) who was told, how and when."
    )
    notification_not_sent_reason: Narrative | None = None
    negligible_claimed: bool = Field(
        default=False, description="Recorder believes s.6(2) 'negligible' applies; reports decide."
    )
    negligible_justification: Narrative | None = None

    @model_validator(mode="after")
    def _rules(self) -> IncidentFields:
        if self.ended_at < self.started_at:
            raise rule_error("end_after_start", "ended_at is before started_at")
        for use in self.force_used:
            if use.started_at < self.started_at or use.ended_at > self.ended_at:
                raise rule_error("within_incident", "a force period lies outside the incident")
            if use.force_type.is_legacy:
                raise rule_error(
                    "legacy_code", "legacy force type codes are not used in new records"
                )
        used = {use.force_type for use in self.force_used}
        if any(t not in used for s in self.staff_involved for t in s.force_types):
            raise rule_error("staff_force_type_used", "a staff force type is not in force_used")
        if self.reason is RestrictiveInterventionReason.OTHER and self.reason_detail is None:
            raise rule_error("reason_detail_required", "reason 98 (other) needs reason_detail")
        if not self.efforts_to_avoid_force and self.no_efforts_reason is None:
            raise rule_error("efforts_or_reason", "give efforts to avoid force or why none")
        serious = any(i.serious and i.injured is InjuredPartyKind.PATIENT for i in self.injuries)
        if serious and not self.patient_serious_injury:
            raise rule_error("serious_injury_flag", "a serious patient injury needs the (n) flag")
        if self.negligible_claimed and self.negligible_justification is None:
            raise rule_error("negligible_justification", "a negligible claim needs a reason")
        return self


class IncidentRecordedV1(IncidentFields, EventPayload):
    """A use of force was recorded. Stream id = incident id (MHS505 RestrictiveIntIncID)."""

    MESSAGE_TYPE: ClassVar[str] = "use_of_force.incident_recorded"
    SCHEMA_VERSION: ClassVar[int] = 1
    STREAM_TYPE: ClassVar[StreamType] = INCIDENT

    plan_id: UUID | None = Field(description="The person's live plan at started_at, if any.")
    plan_version_in_force: VersionNumber | None = Field(
        description="Latest agreed plan version at started_at (s.6(5)(d)); set by plan_service."
    )

    @model_validator(mode="after")
    def _plan_link(self) -> IncidentRecordedV1:
        if self.plan_version_in_force is not None and self.plan_id is None:
            raise rule_error("plan_id_required", "a plan version needs its plan_id")
        return self


AMENDABLE_FIELDS = frozenset(IncidentFields.model_fields)
"""Top-level fields a correction may change (never the server-decided plan link)."""


class AmendmentFields(ContractModel):
    changes: list[FieldChange] = Field(min_length=1, max_length=50)
    reason: Narrative = Field(description="Why the record is corrected.")

    @model_validator(mode="after")
    def _rules(self) -> AmendmentFields:
        paths = [c.path for c in self.changes]
        if len(paths) != len(set(paths)):
            raise rule_error("unique_path", "a field is changed twice in one amendment")
        for path in paths:
            if path.split(".")[0].split("[")[0] not in AMENDABLE_FIELDS:
                raise rule_error("amendable_field", "path is not a field of the incident record")
        return self


class IncidentAmendedV1(AmendmentFields, EventPayload):
    """A correction to the record; the original event stays as it was."""

    MESSAGE_TYPE: ClassVar[str] = "use_of_force.incident_amended"
    SCHEMA_VERSION: ClassVar[int] = 1
    STREAM_TYPE: ClassVar[StreamType] = INCIDENT

    amendment_number: int = Field(ge=1, le=10_000, description="1 for the first correction.")


ReasonCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]{1,4}$")]


class PostIncidentReviewFields(ContractModel):
    """MHS505 post-incident review indicators, with the patient and with care personnel.

    National codes for the not-held reason (RestrictiveIntPIReviewNotHeldReasPat) are
    [UNCONFIRMED], so the reason is free text and `not_held_reason_code` is optional and
    unchecked against any list. A later record supersedes an earlier one for the same incident.
    """

    held_with_patient: bool
    patient_review_on: date | None = None
    not_held_reason_patient: Narrative | None = None
    not_held_reason_code: ReasonCode | None = None
    held_with_staff: bool
    staff_review_on: date | None = None
    not_held_reason_staff: Narrative | None = None

    @model_validator(mode="after")
    def _rules(self) -> PostIncidentReviewFields:
        if self.held_with_patient != (self.patient_review_on is not None):
            raise rule_error("patient_review_date", "patient_review_on is set exactly when held")
        if not self.held_with_patient and self.not_held_reason_patient is None:
            raise rule_error("not_held_reason_required", "give the reason it was not held")
        if self.held_with_patient and (
            self.not_held_reason_patient is not None or self.not_held_reason_code is not None
        ):
            raise rule_error("reason_only_if_not_held", "a held review has no not-held reason")
        if self.held_with_staff != (self.staff_review_on is not None):
            raise rule_error("staff_review_date", "staff_review_on is set exactly when held")
        if self.held_with_staff and self.not_held_reason_staff is not None:
            raise rule_error("reason_only_if_not_held", "a held review has no not-held reason")
        return self


class PostIncidentReviewRecordedV1(PostIncidentReviewFields, EventPayload):
    MESSAGE_TYPE: ClassVar[str] = "use_of_force.post_incident_review_recorded"
    SCHEMA_VERSION: ClassVar[int] = 1
    STREAM_TYPE: ClassVar[StreamType] = INCIDENT


INCIDENT_EVENTS: tuple[type[EventPayload], ...] = (
    IncidentRecordedV1,
    IncidentAmendedV1,
    PostIncidentReviewRecordedV1,
)
"""Every use-of-force event model, all versions (the registry reads this)."""
