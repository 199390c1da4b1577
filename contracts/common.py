"""Building blocks shared by every contract: the strict base model, wire types and small models.

The wire types fix how values look on the wire so that the canonical serialisation (and so the
event hash) is identical on every machine: datetimes are timezone-aware and normalised to UTC
with exactly six fractional digits and `Z`; texts have bounded lengths; identifiers are UUIDs.

This module must never accept floats, naive datetimes or unknown fields, and never does I/O.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, ClassVar, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
)

from contracts.personal_data import NhsNumber, PersonalData

StreamType = Literal["safety_plan", "use_of_force_incident"]
"""The two kinds of event stream: one per safety plan, one per use-of-force incident."""

STREAM_TYPES: tuple[StreamType, ...] = ("safety_plan", "use_of_force_incident")


def format_utc(value: datetime) -> str:
    """RFC 3339 in UTC with exactly six fractional digits and `Z`: the only wire form."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetimes have no canonical form")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _to_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+01:00: a ValueError makes it a 422, not a 500
        raise ValueError("the time is outside years 1 to 9999 in UTC") from None


UtcDatetime = Annotated[
    AwareDatetime,
    AfterValidator(_to_utc),
    PlainSerializer(format_utc, return_type=str, when_used="json"),
]
"""Timezone-aware datetime, normalised to UTC; serialised as `YYYY-MM-DDTHH:MM:SS.ffffffZ`."""


class ContractModel(BaseModel):
    """Base of every contract model: frozen, unknown fields refused, strings not stripped.

    Messages are parsed in strict mode at the boundary (see `contracts.registry`), so "1" is not
    an integer and "yes" is not a boolean; Python callers may still pass enums and UUID objects.
    """

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        allow_inf_nan=False,
        use_enum_values=False,
        validate_default=True,
        ser_json_inf_nan="null",
    )


class VersionedPayload(ContractModel):
    """A payload whose class names its wire type and version (habit 14: `ContributionMadeV2`)."""

    MESSAGE_TYPE: ClassVar[str]
    SCHEMA_VERSION: ClassVar[int]
    STREAM_TYPE: ClassVar[StreamType]


class EventPayload(VersionedPayload):
    """Base of event payloads; `MESSAGE_TYPE` is the event type, e.g. `safety_plan.plan_closed`."""


class CommandPayload(VersionedPayload):
    """Base of command payloads; `MESSAGE_TYPE` is the command type."""


# --- texts -------------------------------------------------------------------------------------

Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
"""A lower-case slug, e.g. a staff role or a system name."""

ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200)]
"""A label such as a job title or a ward name: not personal by itself."""

PersonName = Annotated[str, StringConstraints(min_length=1, max_length=200), PersonalData()]
"""A person's name (patient, carer, staff member)."""

PersonalText = Annotated[str, StringConstraints(min_length=1, max_length=200), PersonalData()]
"""A short free text about a person (relationship, a condition, a characteristic)."""

Narrative = Annotated[str, StringConstraints(min_length=1, max_length=20_000), PersonalData()]
"""Free text written by or about a person: always treated as personal data."""

OdsCode = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{3,9}$")]
"""An ODS organisation or site code (upper-case letters and digits)."""

PersonalDate = Annotated[date, PersonalData()]
"""A date that identifies a person (date of birth)."""

Hash = Annotated[str, StringConstraints(pattern=r"^sha256:[0-9a-f]{64}$")]
"""`sha256:` followed by 64 lower-case hex digits."""

VersionNumber = Annotated[int, Field(ge=1, le=1_000_000)]
"""A plan version number: 1 for the first proposed version, then consecutive."""

MAX_LIST = 200
"""Upper bound on list lengths, so one message cannot grow without limit."""


# --- small shared models -----------------------------------------------------------------------


class PersonDetails(ContractModel):
    """The person the plan or the incident is about. Everything but `person_id` is personal."""

    person_id: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description="Provider-local pseudonymous identifier; stable across plans and incidents.",
    )
    name: PersonName = Field(description="Full name as recorded (Act s.6(5)(e)).")
    nhs_number: NhsNumber | None = Field(
        default=None, description="Consistent identifier (Act s.6(5)(g)); null when not known."
    )
    date_of_birth: PersonalDate | None = None


class CareSetting(ContractModel):
    """Where care happens: provider, site and unit/ward (the place of Act s.6(5)(b))."""

    provider_ods_code: OdsCode
    site_ods_code: OdsCode | None = None
    unit_name: ShortText
    ward_name: ShortText | None = None
