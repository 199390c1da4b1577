"""Erasing a patient: destroy their data key, tell the projections, purge raw submissions.

Order matters. (1) The key vault destroys the key unless a legal hold stands — from then on every
token of theirs, on Kafka and in every table, is unreadable. (2) An erasure notice goes to
`safetyplan.erasures`, so projections drop what they derived (reporting's personal rows and
characteristics, the read model's tokens). (3) Submitted commands are the one place personal data
arrives in clear: records the submissions worker has already handled are deleted from the
submissions topic, and the submissions dead-letter topic is emptied, because a rejected command
cannot be attributed to a person reliably (it may not even parse); its outcome row, which holds
no personal data, stays. Each step is idempotent, so a failed request is simply sent again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from fastapi import APIRouter, Path
from kafka import KafkaAdminClient, TopicPartition
from psycopg_pool import ConnectionPool
from pydantic import BaseModel, Field

from contracts import topics
from contracts.erasure import ErasureReason, PersonErasedNotice, encode_notice
from services.common.auth import CurrentPrincipal
from services.common.http_errors import ERROR_RESPONSES
from services.common.kafka_client import make_producer
from services.common.key_vault import Erasure, KeyVault
from services.common.settings import CommonSettings
from services.plan_service.domain.errors import NotFound, ServiceUnavailable
from services.plan_service.submissions import SubmissionsProjection

PERSON = Path(
    pattern=r"^[A-Za-z0-9._:-]{1,64}$", description="The provider's pseudonymous person id."
)


class ErasureIn(BaseModel):
    reason: ErasureReason = Field(
        description="`retention_ended` or `erasure_request` (a valid request from the person)."
    )


class ErasureOut(BaseModel):
    person_id: str
    key_id: str | None = Field(description="The destroyed data key (null: there was none).")
    reason: str
    requested_by: str
    erased_at: datetime
    first_time: bool = Field(description="False when the person had been erased before.")
    notice_published: bool
    submission_partitions_purged: int


def publish_notice(settings: CommonSettings, erasure: Erasure) -> None:
    """Send the erasure notice and wait for Kafka's acknowledgement."""
    notice = PersonErasedNotice(
        person_id=erasure.person_id,
        key_id=erasure.key_id,
        reason=erasure.reason,
        erased_at=erasure.erased_at,
    )
    producer = make_producer(settings, linger_ms=0)
    try:
        producer.send(
            topics.topic(topics.ERASURES, settings.topic_prefix),
            key=erasure.person_id.encode(),
            value=encode_notice(notice),
        ).get(timeout=30)
    finally:
        producer.close(timeout=5)


def purge_submissions(settings: CommonSettings, pool: ConnectionPool) -> int:
    """Delete handled submissions and every dead-lettered one; the number of partitions purged."""
    submissions = topics.topic(topics.SUBMISSIONS, settings.topic_prefix)
    dlq = topics.topic(topics.SUBMISSIONS_DLQ, settings.topic_prefix)
    with pool.connection() as conn:
        handled = conn.execute(
            "SELECT partition, next_offset FROM consumer_offsets WHERE consumer = %s "
            "AND topic = %s AND next_offset > 0",
            (SubmissionsProjection.name, submissions),
        ).fetchall()
    admin = KafkaAdminClient(**settings.kafka_config())
    try:
        from kafka import KafkaConsumer

        probe = KafkaConsumer(**settings.kafka_config())
        try:
            parts = [TopicPartition(dlq, p) for p in probe.partitions_for_topic(dlq) or ()]
            ends = probe.end_offsets(parts) if parts else {}
        finally:
            probe.close()
        cut = {TopicPartition(submissions, p): int(o) for p, o in handled}
        cut |= {tp: int(end) for tp, end in ends.items() if end > 0}
        if cut:
            admin.delete_records(cut, timeout_ms=30_000)
        return len(cut)
    finally:
        admin.close()


def erasure_router(
    settings: CommonSettings,
    vault: Callable[[], KeyVault],
    pool: Callable[[], ConnectionPool],
) -> APIRouter:
    router = APIRouter(tags=["erasure"], responses=ERROR_RESPONSES)

    @router.post(
        "/persons/{person_id}/erasure",
        response_model=ErasureOut,
        summary="Erase a patient: destroy their data key (crypto-shredding); 409 under legal hold",
    )
    def erase(principal: CurrentPrincipal, body: ErasureIn, person_id: str = PERSON) -> ErasureOut:
        erasure = vault().erase(person_id, body.reason, principal.subject, datetime.now(UTC))
        try:
            publish_notice(settings, erasure)
            purged = purge_submissions(settings, pool())
        except Exception as exc:  # the key is gone; send the request again to finish the rest
            raise ServiceUnavailable(
                "kafka", "reachable", "key destroyed; notice or purge not done: retry"
            ) from exc
        return _out(erasure, published=True, purged=purged)

    @router.get(
        "/persons/{person_id}/erasure",
        response_model=ErasureOut,
        summary="Whether and when a patient was erased (404 when not)",
    )
    def erasure_status(person_id: str = PERSON) -> ErasureOut:
        found = vault().erasure(person_id)
        if found is None:
            raise NotFound("person_id", "erased", "this person has not been erased")
        return _out(found, published=True, purged=0)

    return router


def _out(erasure: Erasure, *, published: bool, purged: int) -> ErasureOut:
    return ErasureOut(
        person_id=erasure.person_id,
        key_id=erasure.key_id,
        reason=erasure.reason,
        requested_by=erasure.requested_by,
        erased_at=erasure.erased_at,
        first_time=erasure.first_time,
        notice_published=published,
        submission_partitions_purged=purged,
    )
