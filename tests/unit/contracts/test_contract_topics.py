"""Topics, keys, headers, partitions and retention are data the deploy scripts can read."""

from __future__ import annotations

from uuid import UUID

from contracts import topics


def test_event_topics_keep_events_forever_so_projections_can_rebuild() -> None:
    for name in (topics.PLAN_EVENTS, topics.USE_OF_FORCE_EVENTS):
        assert topics.TOPIC_BY_NAME[name].config["retention.ms"] == "-1"


def test_partition_counts_are_declared_per_topic() -> None:
    assert {s.name: s.partitions for s in topics.TOPICS} == {
        "safetyplan.submissions": 6,
        "safetyplan.submissions.dlq": 1,
        "safetyplan.events": 6,
        "useofforce.events": 6,
        "safetyplan.erasures": 1,
        "safetyplan.events.dlq": 1,
    }


def test_a_prefix_namespaces_every_topic() -> None:
    assert topics.topic(topics.PLAN_EVENTS, "t42.") == "t42.safetyplan.events"
    assert topics.event_topic("use_of_force_incident") == "useofforce.events"


def test_record_key_is_the_lower_case_stream_id() -> None:
    key = topics.record_key(UUID("ABCDEF00-0000-4000-8000-000000000000"))
    assert key == b"abcdef00-0000-4000-8000-000000000000"


def test_dlq_headers_name_field_rule_and_origin() -> None:
    headers = dict(
        topics.dlq_headers(
            "payload.x: required: field is required",
            "payload.x",
            "required",
            "safetyplan.submissions",
            3,
            17,
        )
    )
    assert headers["dlq-rule"] == b"required"
    assert headers["original-offset"] == b"17"
    assert set(headers) == set(topics.DLQ_HEADERS)
