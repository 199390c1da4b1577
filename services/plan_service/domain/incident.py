"""The UseOfForceIncident aggregate: a Use of Force Act s.6 record, its corrections and reviews.

The record is never edited: a correction is a new event naming the fields it changes and why.
The link to the plan version in force is decided by the application from the plan's history and
arrives here as a fact.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar
from uuid import UUID

from pydantic import ValidationError

from contracts import commands as c
from contracts import incident_events as e
from contracts.common import StreamType
from contracts.envelope import EventEnvelope
from contracts.personal_data import SEALED_CONTEXT
from contracts.sealed_values import open_tokens
from services.plan_service.domain.errors import RuleViolation
from services.plan_service.domain.recording import (
    CommandContext,
    EnvelopeAggregate,
    command_fields,
)


class UseOfForceIncident(EnvelopeAggregate):
    STREAM_TYPE: ClassVar[StreamType] = "use_of_force_incident"

    def __init__(self, envelope: dict[str, Any], fingerprint: str) -> None:
        super().__init__(envelope, fingerprint)
        self.person_id = ""
        self.plan_id: UUID | None = None
        self.plan_version_in_force: int | None = None
        self.amendments = 0
        self.reviews = 0
        self.record_fields: dict[str, Any] = {}

    @classmethod
    def record(
        cls,
        incident_id: UUID,
        cmd: c.RecordIncidentV1,
        ctx: CommandContext,
        plan_id: UUID | None,
        plan_version_in_force: int | None,
    ) -> UseOfForceIncident:
        fields = command_fields(cmd)
        payload = e.IncidentRecordedV1(
            plan_id=plan_id, plan_version_in_force=plan_version_in_force, **fields
        )
        incident = cls._open(incident_id, payload, ctx)
        assert isinstance(incident, UseOfForceIncident)
        return incident

    def amend(self, cmd: c.AmendIncidentV1, ctx: CommandContext) -> int:
        """A correction must leave a record that is still a valid s.6 record.

        The record is held as stored, personal values sealed; it is opened with the patient's key
        (in the context) to check the corrected whole, and nothing opened is kept.
        """
        lookup = ctx.data_key.lookup if ctx.data_key else (lambda _kid: None)
        corrected = open_tokens(self.record_fields, lookup, keep_unopened=True)
        for i, change in enumerate(cmd.changes):
            corrected = _with_change(
                corrected, change.path, change.new_value, f"payload.changes[{i}]"
            )
        try:
            e.IncidentFields.model_validate(corrected, context=SEALED_CONTEXT)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(x) for x in first["loc"]) or "record"
            raise RuleViolation(
                f"payload.changes ({where})",
                "corrected_record_valid",
                f"the corrected record breaks the contract: {first['type']}",
            ) from None
        number = self.amendments + 1
        self._record(
            e.IncidentAmendedV1(amendment_number=number, changes=cmd.changes, reason=cmd.reason),
            ctx,
        )
        return number

    def record_review(self, cmd: c.RecordPostIncidentReviewV1, ctx: CommandContext) -> None:
        fields = command_fields(cmd)
        self._record(e.PostIncidentReviewRecordedV1(**fields), ctx)

    def when(self, event: EventEnvelope[Any]) -> None:
        p = event.payload
        if isinstance(p, e.IncidentRecordedV1):
            data = p.model_dump(mode="json")
            self.record_fields = {k: data[k] for k in e.IncidentFields.model_fields}
            self.person_id = p.patient.person_id
            self.plan_id = p.plan_id
            self.plan_version_in_force = p.plan_version_in_force
        elif isinstance(p, e.IncidentAmendedV1):
            self.amendments = p.amendment_number
            for change in p.changes:
                self.record_fields = _with_change(self.record_fields, change.path, change.new_value)
        elif isinstance(p, e.PostIncidentReviewRecordedV1):
            self.reviews += 1


_STEP = re.compile(r"([a-z_][a-z0-9_]*)(?:\[([0-9]+)\])?")


def _with_change(
    record: dict[str, Any], path: str, value: Any, where: str = "path"
) -> dict[str, Any]:
    """A copy of ``record`` with the value at ``path`` (``a.b[2].c``) replaced."""
    import copy

    result = copy.deepcopy(record)
    node: Any = result
    steps = [_STEP.fullmatch(part) for part in path.split(".")]
    for n, match in enumerate(steps):
        if match is None:
            raise RuleViolation(f"{where}.path", "path_syntax", "not a field path")
        name, index = match.group(1), match.group(2)
        last = n == len(steps) - 1
        if not isinstance(node, dict) or name not in node:
            raise RuleViolation(f"{where}.path", "path_exists", "no such field in the record")
        if index is None:
            if last:
                node[name] = value
            node = node[name]
            continue
        items = node[name]
        if not isinstance(items, list) or int(index) >= len(items):
            raise RuleViolation(f"{where}.path", "path_exists", "no such item in the record")
        if last:
            items[int(index)] = value
        node = items[int(index)]
    return result
