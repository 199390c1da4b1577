"""The SafetyPlan aggregate's rules, one story each, without I/O."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from contracts import commands as c
from contracts.envelope import verify_chain
from contracts.registry import parse_event
from services.plan_service.domain.errors import IdempotencyKeyReused, RuleViolation
from services.plan_service.domain.plan import SafetyPlan
from tests.unit.plan_service.builders import contribution, ctx, invite, start

PERSON = uuid.uuid4()
NURSE = uuid.uuid4()
CARER = uuid.uuid4()


def plan_with_people() -> SafetyPlan:
    plan = SafetyPlan.start(uuid.uuid4(), start(), ctx(0))
    plan.invite(invite(PERSON, "service_user"), ctx(1))
    plan.invite(invite(NURSE, "nurse"), ctx(2))
    plan.invite(invite(CARER, "carer_or_family"), ctx(3))
    return plan


def plan_with_version() -> SafetyPlan:
    plan = plan_with_people()
    plan.contribute(contribution(PERSON), ctx(10))
    plan.propose_version(c.ProposeVersionV1(proposed_by_participant_id=NURSE), ctx(11))
    return plan


def test_every_recorded_event_is_a_sealed_link_of_the_plans_hash_chain() -> None:
    plan = plan_with_version()
    envelopes = [parse_event(e.envelope, upcast=False) for e in plan.collect_events()]
    verify_chain(envelopes)
    assert [e.stream_version for e in envelopes] == list(range(1, 7))
    assert envelopes[0].previous_hash is None
    assert plan.last_hash == envelopes[-1].hash


def test_agreement_to_a_version_that_does_not_exist_is_refused() -> None:
    plan = plan_with_version()
    cmd = c.GiveAgreementV1(version_number=2, participant_id=PERSON, mode="in_person")
    with pytest.raises(RuleViolation) as err:
        plan.agree(cmd, ctx(20))
    assert (err.value.field, err.value.rule) == ("payload.version_number", "version_exists")


def test_agreement_to_an_existing_version_is_recorded_once_per_participant() -> None:
    plan = plan_with_version()
    cmd = c.GiveAgreementV1(version_number=1, participant_id=PERSON, mode="in_person")
    plan.agree(cmd, ctx(20))
    assert PERSON in plan.versions[1].agreed_by
    with pytest.raises(RuleViolation, match="already agreed"):
        plan.agree(cmd, ctx(21))


def test_a_closed_plan_cannot_change() -> None:
    plan = plan_with_version()
    plan.close(c.ClosePlanV1(reason="discharged"), ctx(30))
    with pytest.raises(RuleViolation) as err:
        plan.contribute(contribution(PERSON), ctx(31))
    assert err.value.rule == "stream_closed"


def test_a_dissent_names_a_version_and_a_section() -> None:
    plan = plan_with_version()
    no_section = c.RecordDissentV1(
        version_number=1,
        section=None,
        participant_id=PERSON,
        reason="r",
        wants_instead=None,
        mode="in_person",
    )
    with pytest.raises(RuleViolation) as err:
        plan.dissent(no_section, ctx(40))
    assert err.value.rule == "dissent_names_section"
    unknown_version = no_section.model_copy(update={"version_number": 7, "section": "triggers"})
    with pytest.raises(RuleViolation, match="no such version"):
        plan.dissent(unknown_version, ctx(41))
    dissent_id = plan.dissent(no_section.model_copy(update={"section": "triggers"}), ctx(42))
    assert plan.dissents[dissent_id].open


def test_a_dissent_is_answered_once_and_then_no_longer_open() -> None:
    plan = plan_with_version()
    dissent_id = plan.dissent(
        c.RecordDissentV1(
            version_number=1,
            section="triggers",
            participant_id=PERSON,
            reason="r",
            wants_instead="w",
            mode="in_person",
        ),
        ctx(40),
    )
    answer = c.RespondToDissentV1(
        dissent_id=dissent_id,
        outcome="partly_accepted",
        reason="r",
        responded_by_participant_id=NURSE,
    )
    plan.respond_to_dissent(answer, ctx(41))
    assert not plan.dissents[dissent_id].open
    with pytest.raises(RuleViolation, match="already responded"):
        plan.respond_to_dissent(answer, ctx(42))


def test_the_persons_own_view_is_written_by_the_person() -> None:
    plan = plan_with_people()
    with pytest.raises(RuleViolation) as err:
        plan.contribute(contribution(NURSE, "persons_view_of_risk"), ctx(5))
    assert err.value.rule == "own_view_by_the_person"
    plan.contribute(contribution(PERSON, "persons_view_of_risk"), ctx(6))


def test_the_persons_own_view_may_be_recorded_as_their_words_naming_the_recorder() -> None:
    plan = plan_with_people()
    cmd = contribution(
        PERSON, "persons_view_of_risk", mode="recorded_on_behalf", recorded_by_participant_id=NURSE
    )
    plan.contribute(cmd, ctx(5))
    assert len(plan.contributions) == 1


def test_a_contribution_by_someone_not_invited_is_refused() -> None:
    plan = plan_with_people()
    with pytest.raises(RuleViolation) as err:
        plan.contribute(contribution(uuid.uuid4()), ctx(5))
    assert err.value.field == "payload.author_participant_id"


def test_a_review_after_an_incident_refers_to_an_incident_of_this_plan() -> None:
    plan = plan_with_version()
    incident = uuid.uuid4()
    cmd = c.ScheduleReviewV1(
        review_id=uuid.uuid4(),
        due_on=date(2026, 3, 9),
        trigger="after_incident",
        incident_id=incident,
    )
    with pytest.raises(RuleViolation) as err:
        plan.schedule_review(cmd, ctx(50), incident_plan=uuid.uuid4())
    assert err.value.rule == "incident_of_this_plan"
    plan.schedule_review(cmd, ctx(51), incident_plan=plan.id)
    assert plan.reviews[cmd.review_id].incident_id == incident


def test_the_version_in_force_is_the_latest_agreed_at_that_moment() -> None:
    plan = plan_with_version()
    assert plan.version_in_force(ctx(15).now) is None  # proposed, not yet agreed
    plan.agree(c.GiveAgreementV1(version_number=1, participant_id=NURSE, mode="in_person"), ctx(20))
    plan.contribute(contribution(CARER, "triggers"), ctx(30))
    plan.propose_version(c.ProposeVersionV1(proposed_by_participant_id=NURSE), ctx(31))
    plan.agree(
        c.GiveAgreementV1(version_number=2, participant_id=PERSON, mode="in_person"), ctx(40)
    )
    assert plan.version_in_force(ctx(19).now) is None
    assert plan.version_in_force(ctx(35).now) == 1
    assert plan.version_in_force(ctx(40).now) == 2
    plan.close(c.ClosePlanV1(reason="discharged"), ctx(50))
    assert plan.version_in_force(ctx(60).now) is None


def test_a_retried_command_is_recognised_and_a_reused_key_with_another_request_is_refused() -> None:
    plan = plan_with_people()
    first = ctx(5, fingerprint="request-a")
    plan.contribute(contribution(PERSON), first)
    assert plan.already_done(first) == [5]
    assert plan.already_done(ctx(6)) is None
    reused = ctx(6, command_id=first.command_id, fingerprint="request-b")
    with pytest.raises(IdempotencyKeyReused):
        plan.already_done(reused)


def test_nothing_new_means_no_new_version() -> None:
    plan = plan_with_version()
    with pytest.raises(RuleViolation) as err:
        plan.propose_version(c.ProposeVersionV1(proposed_by_participant_id=NURSE), ctx(12))
    assert err.value.rule == "contributions_since_last_version"
