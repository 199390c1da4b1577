"""The browser tests' data: audit plans and use-of-force incidents on one topic prefix, made
with the integration builders (sealed, hash-chained; the people and texts are invented)."""

from __future__ import annotations

from datetime import date
from typing import Any

from contracts.codes import ParticipantRole
from contracts.envelope import EventEnvelope
from tests.integration.audit_service.builders import PlanBuilder, co_produced
from tests.integration.reporting_service.test_reports import INCIDENT_A, PLAN, scenario

__all__ = ["INCIDENT_A", "PLAN", "events", "plans"]


def plans() -> dict[str, PlanBuilder]:
    """Two co-produced plans (Oak Unit; "Elm / PICU", a unit name with a slash) and one made
    without the person whose review due on 10 February 2025 is never done (overdue at February's
    end)."""
    without = PlanBuilder("browser-without", "Oak Unit")
    without.invite("su", ParticipantRole.SERVICE_USER)
    without.invite("nurse", ParticipantRole.NURSE)
    without.propose(1, [without.contribute("nurse", [])])
    without.review(date(2025, 2, 10), done=False, who=[])
    return {
        "oak": co_produced("browser-oak", "Oak Unit"),
        "elm": co_produced("browser-elm", "Elm / PICU"),
        "without": without,
    }


def events() -> list[EventEnvelope[Any]]:
    """Every event of the scenario: the plans above and the reporting_service's incidents."""
    return [e for p in plans().values() for e in p.events] + list(scenario())
