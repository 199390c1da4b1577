"""Code lists shared by every contract: national MHSDS codes and the product's own vocabularies.

Each member's value is what travels on the wire (the national code where one exists, otherwise a
stable lower-case slug) and `.label` is the human label — for national codes, the official label
verbatim from the cited source. Labels are for display only; never compare or store labels.

This module must never invent a national code or state an unconfirmed label as official: where the
source is unconfirmed the docstring and the label say so.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema as cs


class CodeEnum(StrEnum):
    """A code list whose members are `(code, label)` pairs; the value is the code."""

    _label_: str

    def __new__(cls, code: str, label: str = "") -> CodeEnum:
        member = str.__new__(cls, code)
        member._value_ = code
        member._label_ = label
        return member

    @property
    def label(self) -> str:
        """The label published with the code (official wording for national codes)."""
        return self._label_

    @classmethod
    def labels(cls) -> dict[str, str]:
        """Code -> label, in declaration order; published in the JSON Schemas as `x-labels`."""
        return {member.value: member.label for member in cls}

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: cs.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema: dict[str, Any] = dict(handler(core_schema))
        schema["x-labels"] = cls.labels()
        return schema


class ForceCategory(StrEnum):
    """Act s.1 kinds of force, with isolation split as MHSDS splits it (seclusion/segregation).

    Used to choose NHS England's duration bands (domain.md §2.4): minutes for physical, chemical and
    mechanical restraint; hours/days for seclusion; months for segregation.
    """

    PHYSICAL = "physical"
    CHEMICAL = "chemical"
    MECHANICAL = "mechanical"
    SECLUSION = "seclusion"
    SEGREGATION = "segregation"


class RestrictiveInterventionType(CodeEnum):
    """MHSDS v5 MHS515 RESTRICTIVE INTERVENTION TYPE (`RestrictiveIntType`).

    Source: NHSDigital/mental-health-bulletin,
    `mental-health-bulletin-main/mh_bulletin/mh_bulletin/setup/Reference Data.py`
    (commit 1b54a481a621), table `RestrictiveIntTypeDim`; identical labels in
    NHSDigital/mental-health-monthly-statistics
    `Mental_Health_Monthly_Statistics/menh_analysis/notebooks/01_Prepare/6.LDA_Prep.py`
    (commit 7b4d742).

    02 and 03 are legacy (pre-v5) codes: nhsengland/MHSDS
    `Mental Health Inpatient Dashboard/Acute Inpatient Dashboard 2025.sql` (commit dc7bf10) groups
    02 with physical and 03 with chemical restraint. Their official labels are UNCONFIRMED, so the
    labels below say so; new records must not use them (see `is_legacy`).
    The official labels use U+2013 EN DASH, written `\u2013` here so it cannot be mistyped.
    """

    PHYSICAL_PRONE = ("01", "Physical restraint \u2013 Prone")
    LEGACY_02 = ("02", "Legacy code 02 (pre-MHSDS v5, physical restraint; label unconfirmed)")
    LEGACY_03 = ("03", "Legacy code 03 (pre-MHSDS v5, chemical restraint; label unconfirmed)")
    MECHANICAL = ("04", "Mechanical restraint")
    SECLUSION = ("05", "Seclusion")
    SEGREGATION = ("06", "Segregation")
    PHYSICAL_STANDING = ("07", "Physical restraint \u2013 Standing")
    PHYSICAL_RESTRICTIVE_ESCORT = ("08", "Physical restraint \u2013 Restrictive escort")
    PHYSICAL_SUPINE = ("09", "Physical restraint \u2013 Supine")
    PHYSICAL_SIDE = ("10", "Physical restraint \u2013 Side")
    PHYSICAL_SEATED = ("11", "Physical restraint \u2013 Seated")
    PHYSICAL_KNEELING = ("12", "Physical restraint \u2013 Kneeling")
    PHYSICAL_OTHER = ("13", "Physical restraint \u2013 Other (not listed)")
    CHEMICAL_INJECTION_RT = ("14", "Chemical restraint \u2013 Injection (Rapid Tranquillisation)")
    CHEMICAL_INJECTION_NON_RT = (
        "15",
        "Chemical restraint \u2013 Injection (Non Rapid Tranquillisation)",
    )
    CHEMICAL_ORAL = ("16", "Chemical restraint \u2013 Oral")
    CHEMICAL_OTHER = ("17", "Chemical restraint \u2013 Other (not listed)")

    @property
    def category(self) -> ForceCategory:
        """Kind of force, per the grouping NHS England's own code uses."""
        return _TYPE_CATEGORY[self.value]

    @property
    def is_legacy(self) -> bool:
        """True for pre-v5 codes that may appear in imported history but not in new records."""
        return self.value in {"02", "03"}


_TYPE_CATEGORY: dict[str, ForceCategory] = {
    **dict.fromkeys(("01", "02", "07", "08", "09", "10", "11", "12", "13"), ForceCategory.PHYSICAL),
    **dict.fromkeys(("03", "14", "15", "16", "17"), ForceCategory.CHEMICAL),
    "04": ForceCategory.MECHANICAL,
    "05": ForceCategory.SECLUSION,
    "06": ForceCategory.SEGREGATION,
}


class RestrictiveInterventionReason(CodeEnum):
    """MHSDS MHS505 RESTRICTIVE INTERVENTION REASON (`RestrictiveIntReason`); answers s.6(5)(a).

    Source: NHSDigital/mental-health-monthly-statistics,
    `Mental_Health_Monthly_Statistics/Restraints/Restraints_Prep.py` lines 200-213
    (commit 7b4d742).
    """

    VIOLENCE_TO_OTHERS = ("10", "Prevent a patient being violent to others")
    INTENTIONAL_SELF_HARM = (
        "11",
        "Prevent a patient causing serious intentional harm to themselves",
    )
    ACCIDENTAL_SELF_INJURY = (
        "12",
        "Prevent a patient causing serious physical injury to themselves by accident",
    )
    ADMINISTER_TREATMENT = ("13", "Lawfully administer medicines or other medical treatment")
    PERSONAL_CARE = ("14", "Facilitate personal care")
    NASOGASTRIC_FEEDING = ("15", "Facilitate nasogastric (NG) feeding")
    OVER_ACTIVITY = ("16", "Prevent the patient exhibiting extreme and prolonged over-activity")
    DANGEROUS_BEHAVIOUR = ("17", "Prevent the patient exhibiting otherwise dangerous behaviour")
    SEARCH = (
        "18",
        "Undertake a search of the patient's clothing or property to ensure the safety of others",
    )
    ABSCONDING = ("19", "Prevent the patient absconding from lawful custody")
    OTHER = ("98", "Other (not listed)")
    NOT_KNOWN = ("99", "Not Known (Not Recorded)")


class ParticipantRole(CodeEnum):
    """Who takes part in co-producing a safety plan. No national code list: values are slugs.

    Source: product vocabulary from domain.md §4.3 (involvement audit parties), §3.4 (Mental
    Health Act 2025 "nominated person") and the issue text; `advocate` covers IMHAs.
    """

    SERVICE_USER = ("service_user", "Service user")
    CARER_OR_FAMILY = ("carer_or_family", "Carer or family member")
    NOMINATED_PERSON = ("nominated_person", "Nominated person")
    ADVOCATE = ("advocate", "Advocate (including IMHA)")
    CARE_COORDINATOR = ("care_coordinator", "Care coordinator")
    PSYCHIATRIST = ("psychiatrist", "Psychiatrist")
    NURSE = ("nurse", "Nurse")
    PSYCHOLOGIST = ("psychologist", "Psychologist")
    OCCUPATIONAL_THERAPIST = ("occupational_therapist", "Occupational therapist")
    SOCIAL_WORKER = ("social_worker", "Social worker")
    PEER_SUPPORT_WORKER = ("peer_support_worker", "Peer support worker")
    OTHER = ("other", "Other")


class PlanSection(CodeEnum):
    """Sections of a co-produced safety plan.

    Sources: Stanley & Brown, Cogn Behav Pract 2012;19:256-264 (the six ordered steps, domain.md
    §3.1); ImROC Briefing 9 and NHS England "Staying safe from suicide" (2025) for the person's
    own view, strengths/protective factors and triggers (§3.2-3.3); Use of Force Act s.6(5)(d),
    (o), (p) and Dorset HealthCare's use-of-force guidance for restrictive-practice preferences,
    de-escalation and who must be told (§1.5, §3.4). Section titles are the product's wording.
    """

    WARNING_SIGNS = ("warning_signs", "Step 1: Warning signs")
    INTERNAL_COPING = ("internal_coping", "Step 2: Internal coping strategies")
    SOCIAL_DISTRACTION = (
        "social_distraction",
        "Step 3: People and social settings that provide distraction",
    )
    FAMILY_FRIENDS_HELP = ("family_friends_help", "Step 4: Family or friends who may help")
    PROFESSIONAL_CONTACTS = (
        "professional_contacts",
        "Step 5: Professionals or agencies to contact in a crisis",
    )
    MEANS_SAFETY = ("means_safety", "Step 6: Making the environment safe")
    PERSONS_VIEW_OF_RISK = ("persons_view_of_risk", "My own view of risk and safety")
    STRENGTHS_PROTECTIVE_FACTORS = (
        "strengths_protective_factors",
        "Strengths and protective factors",
    )
    TRIGGERS = ("triggers", "Triggers")
    RESTRICTIVE_PRACTICE_PREFERENCES = (
        "restrictive_practice_preferences",
        "Restrictive practice preferences",
    )
    DEESCALATION_PREFERENCES = ("deescalation_preferences", "De-escalation preferences")
    NOTIFY_IF_FORCE_USED = ("notify_if_force_used", "Who must be told if force is used")


class ContributionMode(CodeEnum):
    """How a contribution, agreement or dissent was given (product vocabulary)."""

    IN_PERSON = ("in_person", "In person")
    REMOTE = ("remote", "Remote (telephone or video)")
    RECORDED_ON_BEHALF = ("recorded_on_behalf", "Recorded on the person's behalf")


class AttendanceMode(CodeEnum):
    """How someone was present at a discussion or review (product vocabulary)."""

    IN_PERSON = ("in_person", "In person")
    REMOTE = ("remote", "Remote (telephone or video)")


class DissentResponseOutcome(CodeEnum):
    """The plan team's answer to a recorded dissent (product vocabulary)."""

    ACCEPTED = ("accepted", "Accepted")
    PARTLY_ACCEPTED = ("partly_accepted", "Partly accepted")
    NOT_ACCEPTED = ("not_accepted", "Not accepted")


class ReviewTrigger(CodeEnum):
    """Why a plan review happens (product vocabulary; after-incident reviews link an incident)."""

    ROUTINE = ("routine", "Routine review")
    AFTER_INCIDENT = ("after_incident", "After an incident")
    ON_REQUEST = ("on_request", "On request")
    AT_DISCHARGE = ("at_discharge", "At discharge")


class RestrictivePracticePreference(CodeEnum):
    """The person's stated view on one force type (product vocabulary; see domain.md §1.5, §3.4).

    A preference is not a veto: staff may still use force lawfully; the record must then show it.
    """

    ACCEPTS = ("accepts", "Accepts it may be used")
    DOES_NOT_WANT = ("does_not_want", "Does not want it used")
    CONDITIONAL = ("conditional", "Has stated conditions")


class PlanShareMethod(CodeEnum):
    """How a plan version was given to the person (product vocabulary)."""

    PRINTED_COPY = ("printed_copy", "Printed copy")
    ELECTRONIC_COPY = ("electronic_copy", "Electronic copy")
    PATIENT_APP = ("patient_app", "Patient app or portal")
    ACCESSIBLE_FORMAT = ("accessible_format", "Accessible format (easy read, translation, audio)")


class PlanCloseReason(CodeEnum):
    """Why a plan stops being the live plan (product vocabulary)."""

    DISCHARGED = ("discharged", "Discharged from the service")
    TRANSFERRED = ("transferred", "Transferred to another provider")
    SUPERSEDED = ("superseded", "Superseded by a new plan")
    DIED = ("died", "Person died")
    ENTERED_IN_ERROR = ("entered_in_error", "Entered in error")
    OTHER = ("other", "Other")


class NonStaffParty(CodeEnum):
    """Who, not being unit staff, took part in a use of force (s.6(5)(i); product vocabulary).

    MHSDS MHS516 records police assistance requests; no national list of other parties was found.
    """

    POLICE = ("police", "Police")
    AMBULANCE_SERVICE = ("ambulance_service", "Ambulance service")
    SECURITY_CONTRACTOR = ("security_contractor", "Security contractor")
    OTHER_HEALTH_STAFF = ("other_health_staff", "Health staff not working in the unit")
    OTHER = ("other", "Other")


class NotificationMethod(CodeEnum):
    """How a person named in the care plan was told that force was used (product vocabulary)."""

    TELEPHONE = ("telephone", "Telephone")
    IN_PERSON = ("in_person", "In person")
    EMAIL = ("email", "Email")
    LETTER = ("letter", "Letter")
    TEXT_MESSAGE = ("text_message", "Text message")


class InjuredPartyKind(CodeEnum):
    """Whose injury is described; mirrors MHS515 RestraintInjuryPatient/CarePers/OtherPers."""

    PATIENT = ("patient", "Patient")
    STAFF = ("staff", "Care personnel")
    OTHER_PERSON = ("other_person", "Other person")
