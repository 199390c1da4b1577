"""Parts of a use-of-force record: force periods, people involved, injuries, notifications.

Each part answers one or more items of Mental Health Units (Use of Force) Act 2018 s.6(5), as
noted per class, and follows MHSDS v5 MHS505/MHS515 where MHSDS has the item.

This module must never encode [UNCONFIRMED] facts as rules: the definition of "relevant
characteristics" (s.6(7)?) is unconfirmed, so every characteristic is optional free text.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from contracts.codes import (
    InjuredPartyKind,
    NonStaffParty,
    NotificationMethod,
    RestrictiveInterventionType,
)
from contracts.common import (
    ContractModel,
    Narrative,
    PersonalText,
    PersonName,
    ShortText,
    UtcDatetime,
)
from contracts.errors import rule_error
from contracts.personal_data import PersonalData

Icd10Code = Annotated[
    str, StringConstraints(pattern=r"^[A-Z][0-9]{2}(\.?[0-9A-Z]{1,4})?$"), PersonalData()
]
Age = Annotated[int, Field(ge=0, le=130), PersonalData()]


class ForceUse(ContractModel):
    """One type of force and its period (MHS515 row): s.6(5)(b) duration, (c) type, (d)."""

    force_type: RestrictiveInterventionType
    started_at: UtcDatetime
    ended_at: UtcDatetime
    injury_patient: bool = Field(description="MHS515 RestraintInjuryPatient.")
    injury_staff: bool = Field(description="MHS515 RestraintInjuryCarePers.")
    injury_other_person: bool = Field(description="MHS515 RestraintInjuryOtherPers.")
    part_of_care_plan: bool | None = Field(
        description="s.6(5)(d) as stated by the recorder; null when not known. The plan link "
        "on the event lets reports check it against the plan version in force."
    )

    @model_validator(mode="after")
    def _period(self) -> ForceUse:
        if self.ended_at < self.started_at:
            raise rule_error("end_after_start", "ended_at is before started_at")
        return self


class StaffInvolvement(ContractModel):
    """A member of unit staff who used force (s.6(5)(h)): name and job title."""

    staff_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@/-]+$")
    name: PersonName
    job_title: ShortText
    role_in_incident: ShortText | None = Field(
        default=None, description="E.g. 'head and airway'; free text, no national code."
    )
    force_types: list[RestrictiveInterventionType] = Field(min_length=1, max_length=20)


class NonStaffInvolvement(ContractModel):
    """Someone not on the unit's staff took part (s.6(5)(i)), and why."""

    party: NonStaffParty
    party_description: ShortText | None = Field(default=None, description="Required for other.")
    reason: Narrative

    @model_validator(mode="after")
    def _describe_other(self) -> NonStaffInvolvement:
        if self.party is NonStaffParty.OTHER and self.party_description is None:
            raise rule_error("party_description_required", "party `other` needs a description")
        return self


class Diagnosis(ContractModel):
    """A mental disorder (s.6(5)(j)); ICD-10 code optional, description always given."""

    icd10_code: Icd10Code | None = None
    description: PersonalText


class RelevantCharacteristics(ContractModel):
    """The patient's relevant characteristics (s.6(5)(k)), each optional, as recorded.

    The statutory definition is [UNCONFIRMED] (believed: the Equality Act 2010 protected
    characteristics), and no national code list is asserted here, so values are free text as the
    provider's record states them. `age_years` is the age on the incident's start date.
    """

    age_years: Age | None = None
    sex: PersonalText | None = None
    gender: PersonalText | None = None
    gender_reassignment: PersonalText | None = None
    ethnicity: PersonalText | None = None
    religion_or_belief: PersonalText | None = None
    sexual_orientation: PersonalText | None = None
    disability: PersonalText | None = None
    marriage_or_civil_partnership: PersonalText | None = None
    pregnancy_or_maternity: PersonalText | None = None


class Injury(ContractModel):
    """An injury resulting from the use of force (s.6(5)(n) for the patient)."""

    injured: InjuredPartyKind
    serious: bool
    description: Narrative


class NotificationSent(ContractModel):
    """Someone told about the use of force (s.6(5)(p)).

    `plan_contact_id` cites the `NotifyContact.contact_id` in the person's plan when the
    notification was one the care plan asked for; null for other notifications.
    """

    recipient_name: PersonName
    relationship: PersonalText | None = None
    plan_contact_id: UUID | None = None
    method: NotificationMethod
    sent_at: UtcDatetime


def _json_without_floats(value: object) -> object:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float):
            raise rule_error("no_floats", "floats are not allowed in contracts")
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return value


class FieldChange(ContractModel):
    """One corrected field of an incident record.

    `path` addresses the field in the IncidentRecorded payload (`reason`, `force_used[1].ended_at`);
    `new_value` is its corrected JSON value (no floats), validated by plan_service against the
    record with the change applied. Treated as personal data, whatever the field.
    """

    path: str = Field(
        min_length=1,
        max_length=200,
        pattern=r"^[a-z_][a-z0-9_]*(\[[0-9]{1,3}\])?(\.[a-z_][a-z0-9_]*(\[[0-9]{1,3}\])?)*$",
    )
    new_value: Annotated[object, AfterValidator(_json_without_floats), PersonalData()]
