"""What a contribution to a safety-plan section contains: a tagged union on `kind`.

Most sections take the person's own words (`text`) or a short list (`items`); support steps take
contacts; the restrictive-practice sections are structured, because reports must later answer per
force type whether the person accepted it, did not want it, or set conditions (Act s.6(5)(d)),
what helps to avoid force (s.6(5)(o)) and whom to tell (s.6(5)(p)).

Everything a person writes here is personal data. This module must never decide what the plan
*is* (that is plan_service's job); it only fixes the shape of one contribution.
"""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field, model_validator

from contracts.codes import (
    NotificationMethod,
    PlanSection,
    RestrictiveInterventionType,
    RestrictivePracticePreference,
)
from contracts.common import MAX_LIST, ContractModel, Narrative, PersonalText, PersonName
from contracts.errors import register_union_tags, rule_error


class TextContent(ContractModel):
    """Free text in the person's own words."""

    kind: Literal["text"] = "text"
    text: Narrative


class ItemsContent(ContractModel):
    """An ordered list (Stanley-Brown steps are prioritised lists), one entry per line."""

    kind: Literal["items"] = "items"
    items: list[Narrative] = Field(min_length=1, max_length=MAX_LIST)


class Contact(ContractModel):
    """Someone to contact for support (steps 4 and 5)."""

    name: PersonName
    relationship: PersonalText | None = None
    telephone: PersonalText | None = None
    when_available: PersonalText | None = None


class ContactsContent(ContractModel):
    kind: Literal["contacts"] = "contacts"
    contacts: list[Contact] = Field(min_length=1, max_length=MAX_LIST)


class ForcePreference(ContractModel):
    """The person's view on one MHSDS force type."""

    force_type: RestrictiveInterventionType
    preference: RestrictivePracticePreference
    conditions: Narrative | None = Field(
        default=None, description="Required when preference is `conditional`."
    )
    reason: Narrative | None = None

    @model_validator(mode="after")
    def _conditions_when_conditional(self) -> ForcePreference:
        conditional = self.preference is RestrictivePracticePreference.CONDITIONAL
        if conditional and self.conditions is None:
            raise rule_error("conditions_required", "conditional preference needs conditions")
        if not conditional and self.conditions is not None:
            raise rule_error("conditions_only_if_conditional", "conditions need `conditional`")
        if self.force_type.is_legacy:
            raise rule_error("legacy_code", "legacy force type codes are not used in new plans")
        return self


class ForcePreferencesContent(ContractModel):
    """Per force type: accepts / does not want / conditional. One entry per type at most."""

    kind: Literal["force_preferences"] = "force_preferences"
    preferences: list[ForcePreference] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _one_per_type(self) -> ForcePreferencesContent:
        types = [p.force_type for p in self.preferences]
        if len(types) != len(set(types)):
            raise rule_error("unique_force_type", "a force type appears more than once")
        return self


class DeescalationContent(ContractModel):
    """What helps the person calm down, and what makes things worse."""

    kind: Literal["deescalation"] = "deescalation"
    helps: list[Narrative] = Field(default_factory=list, max_length=MAX_LIST)
    does_not_help: list[Narrative] = Field(default_factory=list, max_length=MAX_LIST)

    @model_validator(mode="after")
    def _not_empty(self) -> DeescalationContent:
        if not self.helps and not self.does_not_help:
            raise rule_error("min_items", "say at least one thing that helps or does not help")
        return self


class NotifyContact(ContractModel):
    """A person to be told if force is used (s.6(5)(p)); `contact_id` is cited by incidents."""

    contact_id: UUID
    name: PersonName
    relationship: PersonalText | None = None
    method: NotificationMethod
    address: PersonalText | None = Field(
        default=None, description="Telephone number, email or postal address for `method`."
    )


class NotifyContent(ContractModel):
    kind: Literal["notify_contacts"] = "notify_contacts"
    contacts: list[NotifyContact] = Field(max_length=20)
    nobody_to_notify: bool = Field(
        default=False, description="True when the person asks that nobody is told."
    )

    @model_validator(mode="after")
    def _contacts_or_nobody(self) -> NotifyContent:
        if self.nobody_to_notify == bool(self.contacts):
            raise rule_error(
                "contacts_or_nobody", "give contacts, or set nobody_to_notify, not both"
            )
        return self


SectionContent = Annotated[
    TextContent
    | ItemsContent
    | ContactsContent
    | ForcePreferencesContent
    | DeescalationContent
    | NotifyContent,
    Field(discriminator="kind"),
]

CONTENT_KINDS = (
    "text",
    "items",
    "contacts",
    "force_preferences",
    "deescalation",
    "notify_contacts",
)
register_union_tags("content", CONTENT_KINDS)

_FREE = frozenset({"text", "items"})
ALLOWED_KINDS: dict[PlanSection, frozenset[str]] = {
    PlanSection.WARNING_SIGNS: _FREE,
    PlanSection.INTERNAL_COPING: _FREE,
    PlanSection.SOCIAL_DISTRACTION: _FREE | {"contacts"},
    PlanSection.FAMILY_FRIENDS_HELP: _FREE | {"contacts"},
    PlanSection.PROFESSIONAL_CONTACTS: _FREE | {"contacts"},
    PlanSection.MEANS_SAFETY: _FREE,
    PlanSection.PERSONS_VIEW_OF_RISK: _FREE,
    PlanSection.STRENGTHS_PROTECTIVE_FACTORS: _FREE,
    PlanSection.TRIGGERS: _FREE,
    PlanSection.RESTRICTIVE_PRACTICE_PREFERENCES: frozenset({"force_preferences"}),
    PlanSection.DEESCALATION_PREFERENCES: _FREE | {"deescalation"},
    PlanSection.NOTIFY_IF_FORCE_USED: frozenset({"notify_contacts"}),
}
"""Which content kinds each section accepts; structured sections accept only their structure."""


def check_section_content(section: PlanSection, kind: str) -> None:
    """Raise a pydantic-compatible error when `kind` is not allowed in `section`."""
    if kind not in ALLOWED_KINDS[section]:
        raise rule_error("content_kind_for_section", "this content kind is not allowed here")
