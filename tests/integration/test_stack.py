"""The foundation works on the real components: Kafka round trip, PostgreSQL round trip,
idempotent deploy scripts."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import psycopg
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from services.common.kafka_admin import delete_scratch_topics, ensure_topics, ping
from services.common.kafka_client import make_producer
from services.common.settings import CommonSettings
from services.common.topics import topic_specs

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "local"


def test_a_message_produced_to_the_broker_comes_back_with_its_key_and_headers(
    settings: CommonSettings,
) -> None:
    topic = settings.topic("safetyplan.events")
    producer: KafkaProducer = make_producer(settings)
    key = str(uuid.uuid4()).encode()
    producer.send(
        topic, key=key, value=b'{"hello": "kafka"}', headers=[("event-type", b"probe")]
    ).get(timeout=30)
    producer.close()

    consumer = KafkaConsumer(**settings.kafka_config(), enable_auto_commit=False)
    partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
    consumer.assign(partitions)
    consumer.seek_to_beginning()
    got = []
    for _ in range(20):
        for records in consumer.poll(timeout_ms=500).values():
            got.extend(records)
        if got:
            break
    consumer.close()

    assert len(got) == 1
    assert got[0].key == key
    assert got[0].value == b'{"hello": "kafka"}'
    assert ("event-type", b"probe") in list(got[0].headers)


def test_topics_are_created_with_their_partition_counts_and_kept_for_ever(
    settings: CommonSettings,
) -> None:
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(**settings.kafka_config())
    try:
        for spec in topic_specs():
            name = settings.topic(spec.name)
            partitions = admin.describe_topics([name])[0]["partitions"]
            assert len(partitions) == spec.partitions, name
    finally:
        admin.close()
    # a second call creates nothing
    assert ensure_topics(settings) == []


def test_scratch_topics_are_deleted_by_prefix_and_only_those(stack: CommonSettings) -> None:
    mine = stack.model_copy(update={"topic_prefix": f"t{uuid.uuid4().hex[:10]}."})
    other = stack.model_copy(update={"topic_prefix": f"t{uuid.uuid4().hex[:10]}."})
    ensure_topics(mine)
    ensure_topics(other)
    deleted = delete_scratch_topics(mine)
    assert deleted == sorted(mine.topic(s.name) for s in topic_specs())
    assert ensure_topics(other) == []  # the other prefix's topics are all still there
    delete_scratch_topics(other)
    with pytest.raises(ValueError, match="prefix"):
        delete_scratch_topics(stack.model_copy(update={"topic_prefix": ""}))


def test_a_table_written_through_psycopg_reads_back_from_the_script_started_server(
    settings: CommonSettings,
) -> None:
    with psycopg.connect(settings.pg_conninfo("safetyplan_plan")) as conn:
        conn.execute("CREATE TABLE probe (id uuid PRIMARY KEY, note text NOT NULL)")
        row_id = uuid.uuid4()
        conn.execute("INSERT INTO probe VALUES (%s, %s)", (row_id, "written"))
        conn.commit()
    with psycopg.connect(settings.pg_conninfo("safetyplan_plan")) as conn:
        row = conn.execute("SELECT note, current_schema() FROM probe WHERE id = %s", (row_id,))
        assert row.fetchone() == ("written", settings.pg_schema)


def test_the_broker_is_a_real_kraft_node_on_loopback(stack: CommonSettings) -> None:
    info = ping(stack, timeout_s=5)
    assert info["controller_id"] == 1
    assert [b["host"] for b in info["brokers"]] == ["127.0.0.1"]


def test_starting_an_already_running_stack_again_changes_nothing(stack: CommonSettings) -> None:
    for script in ("postgres.sh", "kafka.sh"):
        result = subprocess.run(
            [str(DEPLOY / script), "start"],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert "already running" in result.stderr
        assert "starting" not in result.stderr.replace("already running", "")
