"""Personal data is split off by the contracts' markers and merged back; amendments apply by
path; the completeness check names each missing s.6(5) item."""

from __future__ import annotations

from typing import Any

import pytest

from contracts.examples import incident_stream
from contracts.registry import personal_tree
from services.reporting_service import records, section6


def _record() -> dict[str, Any]:
    return incident_stream()[0].model_dump(mode="json")["payload"]


def test_split_keeps_no_personal_value_in_the_public_part_and_merge_restores_the_record() -> None:
    record = _record()
    public, personal = records.split(record, personal_tree("use_of_force.incident_recorded"))
    text = str(public)
    for secret in ("Alex Example", "9990000018", "Jo Placeholder", "Two staff held"):
        assert secret not in text
    assert public["patient"]["person_id"] == "P-000123"
    assert public["force_used"][0]["force_type"] == "07"
    assert records.merge(public, personal) == record


def test_an_amendment_sets_nested_paths_and_refuses_paths_that_do_not_exist() -> None:
    record = _record()
    changed = records.apply_changes(
        record, [{"path": "force_used[1].injury_patient", "new_value": False}]
    )
    assert changed["force_used"][1]["injury_patient"] is False
    assert record["force_used"][1]["injury_patient"] is True  # the original is untouched
    with pytest.raises(records.AmendmentError) as err:
        records.apply_changes(record, [{"path": "force_used[7].injury_patient", "new_value": 1}])
    assert (err.value.field, err.value.rule) == ("changes[0].path", "path_exists")


def test_a_full_record_is_complete_and_each_gap_is_named() -> None:
    record = _record()
    assert section6.completeness(record)["missing_items"] == ["l"]  # the example's autism: null
    record["autism"] = False
    assert section6.completeness(record)["complete"] is True
    record["patient"]["nhs_number"] = None
    record["autism"] = None
    record["reason"] = "99"
    record["force_used"][0]["part_of_care_plan"] = None
    record["notifications"] = []
    record["mental_disorders"] = None
    result = section6.completeness(record)
    assert result["missing_items"] == ["a", "d", "g", "l", "p"]
    assert {(m["item"], m["field"], m["rule"]) for m in result["missing"]} == {
        ("a", "reason", "reason_not_known"),
        ("d", "force_used[0].part_of_care_plan", "stated"),
        ("g", "patient.nhs_number", "consistent_identifier"),
        ("l", "autism", "required"),
        ("p", "notifications", "notification_or_reason"),
    }
    assert result["not_known"] == [{"item": "j", "field": "mental_disorders", "rule": "if_known"}]
