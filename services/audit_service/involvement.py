"""The involvement rules: how each plan version is classified and how period rates are computed.

Pure functions over plain facts (ids, roles, codes, timestamps): no I/O, no SQL, no clock - the
caller passes ``as_of``. The rules are written out in services/audit_service/README.md
("The classification rule"); a change here is a change to that text and to its unit tests.

This module must never read personal data (names, free text): the facts it is given hold none.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal
from uuid import UUID

from contracts.codes import ContributionMode, ParticipantRole, PlanSection

Classification = Literal["with", "partial", "without"]
ReviewStatus = Literal["on_time", "late", "overdue", "pending", "unscheduled"]

DIRECT_MODES = frozenset({ContributionMode.IN_PERSON.value, ContributionMode.REMOTE.value})
ON_BEHALF = ContributionMode.RECORDED_ON_BEHALF.value
SERVICE_USER = ParticipantRole.SERVICE_USER.value
CARER_ROLES = frozenset(
    {ParticipantRole.CARER_OR_FAMILY.value, ParticipantRole.NOMINATED_PERSON.value}
)
OWN_VIEW = PlanSection.PERSONS_VIEW_OF_RISK.value


# --- facts -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Participant:
    participant_id: UUID
    role: str
    invited_at: datetime
    joined_at: datetime | None = None
    information_sharing_consent: bool | None = None


@dataclass(frozen=True)
class Contribution:
    contribution_id: UUID
    section: str
    author_id: UUID
    mode: str
    made_at: datetime
    present: tuple[UUID, ...] = ()
    recorded_by_id: UUID | None = None


@dataclass(frozen=True)
class Agreement:
    participant_id: UUID
    mode: str
    agreed_at: datetime


@dataclass(frozen=True)
class Dissent:
    dissent_id: UUID
    version_number: int
    section: str | None
    participant_id: UUID
    mode: str
    recorded_at: datetime
    responded_at: datetime | None = None
    outcome: str | None = None

    def open_at(self, as_of: datetime) -> bool:
        return self.recorded_at <= as_of and (
            self.responded_at is None or self.responded_at > as_of
        )


@dataclass(frozen=True)
class Share:
    participant_id: UUID
    method: str
    shared_at: datetime


@dataclass(frozen=True)
class VersionFacts:
    """One proposed version: the contributions it put forward and what happened to it."""

    number: int
    proposed_at: datetime
    contributions: tuple[Contribution, ...] = ()
    agreements: tuple[Agreement, ...] = ()
    dissents: tuple[Dissent, ...] = ()
    shares: tuple[Share, ...] = ()
    own_view_recorded: bool = False
    """A persons_view_of_risk contribution by the person is in this version or an earlier one."""


# --- per version -----------------------------------------------------------------------------
@dataclass(frozen=True)
class ParticipantActions:
    participant_id: UUID
    role: str
    contributed: int = 0
    contributed_on_behalf: int = 0
    present_for: int = 0
    agreed: bool = False
    agreement_mode: str | None = None
    dissented: int = 0
    open_dissents: int = 0


@dataclass(frozen=True)
class VersionInvolvement:
    number: int
    classification: Classification
    person_took_part: bool
    person_agreed: bool
    person_agreed_on_behalf: bool
    person_words_recorded_on_behalf: bool
    person_dissented: bool
    person_open_dissent: bool
    person_present: dict[UUID, bool]
    """contribution id -> was the person there (author in person/remote, or listed present)."""
    own_view_recorded: bool
    shared_with_person: bool
    carer_involved: bool
    open_dissents: int
    participants: tuple[ParticipantActions, ...] = field(default=())


def service_user_of(participants: Iterable[Participant]) -> UUID | None:
    """The plan's service-user participant (plan_service allows one), or None."""
    for p in participants:
        if p.role == SERVICE_USER:
            return p.participant_id
    return None


def person_present(contribution: Contribution, person: UUID | None) -> bool:
    if person is None:
        return False
    if contribution.author_id == person and contribution.mode in DIRECT_MODES:
        return True
    return person in contribution.present


def _classify(took_part: bool, agreed: bool, open_dissent: bool, signal: bool) -> Classification:
    if took_part and agreed and not open_dissent:
        return "with"
    return "partial" if signal else "without"


def classify_version(
    version: VersionFacts, participants: Sequence[Participant], as_of: datetime
) -> VersionInvolvement:
    """Apply the README rule to one version, counting only what happened up to ``as_of``."""
    person = service_user_of(participants)
    roles = {p.participant_id: p.role for p in participants}
    agreements = [a for a in version.agreements if a.agreed_at <= as_of]
    dissents = [d for d in version.dissents if d.recorded_at <= as_of]
    present = {c.contribution_id: person_present(c, person) for c in version.contributions}
    took_part = any(present.values())
    mine = [a for a in agreements if a.participant_id == person]
    agreed = any(a.mode in DIRECT_MODES for a in mine)
    agreed_on_behalf = any(a.mode == ON_BEHALF for a in mine)
    on_behalf = any(c.author_id == person and c.mode == ON_BEHALF for c in version.contributions)
    my_dissents = [d for d in dissents if d.participant_id == person]
    open_mine = any(d.open_at(as_of) for d in my_dissents)
    signal = took_part or agreed or agreed_on_behalf or on_behalf or bool(my_dissents)
    carer_ids = {pid for pid, role in roles.items() if role in CARER_ROLES}
    carer = any(
        c.author_id in carer_ids or carer_ids.intersection(c.present) for c in version.contributions
    ) or any(a.participant_id in carer_ids for a in agreements)
    actions = []
    for pid in sorted(roles, key=str):
        authored = [c for c in version.contributions if c.author_id == pid]
        agreement = next((a for a in agreements if a.participant_id == pid), None)
        own = [d for d in dissents if d.participant_id == pid]
        row = ParticipantActions(
            participant_id=pid,
            role=roles[pid],
            contributed=sum(c.mode in DIRECT_MODES for c in authored),
            contributed_on_behalf=sum(c.mode == ON_BEHALF for c in authored),
            present_for=sum(pid in c.present for c in version.contributions),
            agreed=agreement is not None,
            agreement_mode=agreement.mode if agreement else None,
            dissented=len(own),
            open_dissents=sum(d.open_at(as_of) for d in own),
        )
        took_any_part = row.contributed or row.contributed_on_behalf or row.present_for
        if took_any_part or row.dissented or row.agreed:
            actions.append(row)
    return VersionInvolvement(
        number=version.number,
        classification=_classify(took_part, agreed, open_mine, signal),
        person_took_part=took_part,
        person_agreed=agreed,
        person_agreed_on_behalf=agreed_on_behalf,
        person_words_recorded_on_behalf=on_behalf,
        person_dissented=bool(my_dissents),
        person_open_dissent=open_mine,
        person_present=present,
        own_view_recorded=version.own_view_recorded,
        shared_with_person=any(
            s.participant_id == person and s.shared_at <= as_of for s in version.shares
        ),
        carer_involved=carer,
        open_dissents=sum(d.open_at(as_of) for d in dissents),
        participants=tuple(actions),
    )


def dissent_age_days(dissent: Dissent, as_of: datetime) -> int:
    """Whole days a dissent has been (or was) open at ``as_of``."""
    end = dissent.responded_at if dissent.responded_at and dissent.responded_at <= as_of else as_of
    return max(0, (end - dissent.recorded_at).days)


def review_status(
    due_on: date | None, completed_at: datetime | None, as_of: datetime
) -> ReviewStatus:
    """on_time: done on or before the due date; late: done after it; overdue: not done and the
    due date has passed at ``as_of``; pending: not done, not yet due; unscheduled: no due date."""
    if due_on is None:
        return "unscheduled"
    if completed_at is not None and completed_at <= as_of:
        return "on_time" if completed_at.date() <= due_on else "late"
    return "overdue" if as_of.date() > due_on else "pending"


# --- rates -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rate:
    numerator: int
    denominator: int

    @property
    def rate(self) -> float | None:
        """numerator / denominator rounded to 4 places; None when nothing was counted."""
        return round(self.numerator / self.denominator, 4) if self.denominator else None


@dataclass(frozen=True)
class PlanInScope:
    """What a period report needs of one plan: its facts up to the period end."""

    participants: tuple[Participant, ...]
    versions: tuple[VersionInvolvement, ...]
    """The plan's versions proposed in the period, classified as of the period end."""
    reviews_due: tuple[ReviewStatus, ...]
    """Status at the period end of each scheduled review due in the period."""


@dataclass(frozen=True)
class PeriodRates:
    plans: int
    versions: int
    classifications: dict[str, int]
    with_person: Rate
    with_carer: Rate
    with_person_agreement: Rate
    with_unresolved_dissent: Rate
    shared_with_person: Rate
    persons_view_recorded: Rate
    reviewed_on_time: Rate
    carer_identified: Rate
    information_sharing_agreed: Rate
    by_role: dict[str, dict[str, int]]


ROLE_ACTIONS = ("invited", "contributed", "present", "agreed", "dissented")


def period_rates(plans: Sequence[PlanInScope], period_end: datetime) -> PeriodRates:
    """Rates over the versions proposed in a period (see README "Period reports")."""
    versions = [v for p in plans for v in p.versions]
    n = len(versions)
    kinds = Counter(v.classification for v in versions)
    reviews = [s for p in plans for s in p.reviews_due]
    by_role: dict[str, dict[str, int]] = {
        role.value: dict.fromkeys(ROLE_ACTIONS, 0) for role in ParticipantRole
    }
    carers_identified = 0
    sharing_agreed = 0
    for plan in plans:
        invited = [p for p in plan.participants if p.invited_at <= period_end]
        for p in invited:
            by_role.setdefault(p.role, dict.fromkeys(ROLE_ACTIONS, 0))["invited"] += 1
        carers = [p for p in invited if p.role in CARER_ROLES]
        carers_identified += bool(carers)
        sharing_agreed += any(
            p.information_sharing_consent is True
            and p.joined_at is not None
            and p.joined_at <= period_end
            for p in carers
        )
    for v in versions:
        for a in v.participants:
            counts = by_role.setdefault(a.role, dict.fromkeys(ROLE_ACTIONS, 0))
            counts["contributed"] += bool(a.contributed or a.contributed_on_behalf)
            counts["present"] += bool(a.present_for)
            counts["agreed"] += a.agreed
            counts["dissented"] += bool(a.dissented)
    return PeriodRates(
        plans=len(plans),
        versions=n,
        classifications={k: kinds.get(k, 0) for k in ("with", "partial", "without")},
        with_person=Rate(kinds.get("with", 0), n),
        with_carer=Rate(sum(v.carer_involved for v in versions), n),
        with_person_agreement=Rate(sum(v.person_agreed for v in versions), n),
        with_unresolved_dissent=Rate(sum(v.open_dissents > 0 for v in versions), n),
        shared_with_person=Rate(sum(v.shared_with_person for v in versions), n),
        persons_view_recorded=Rate(sum(v.own_view_recorded for v in versions), n),
        reviewed_on_time=Rate(sum(s == "on_time" for s in reviews), len(reviews)),
        carer_identified=Rate(carers_identified, len(plans)),
        information_sharing_agreed=Rate(sharing_agreed, carers_identified),
        by_role=by_role,
    )
