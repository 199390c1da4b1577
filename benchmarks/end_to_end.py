"""End-to-end latency: from a command's HTTP 2xx to its effect visible in the audit and the
reporting APIs, p50/p99, under a steady load; and the peak resident memory of every service.

Every process runs as production runs it (`python -m services.<name> <role>`). Paced clients
offer plan contributions at a steady rate (default 500 commands/s; a client whose answer comes
late sends its next command at once, so the offered rate holds while latency stays below
clients / rate); the achieved rate is reported beside the offered one, since a 2-core machine
may not sustain it. Meanwhile a probe records a use-of-force incident every 200 ms (in a
unit of its own) and polls, each every 5 ms, `GET /integrity/streams/{id}` on audit_service and
`GET /reports/section6?unit=<its unit>` on reporting_service until each shows it.

Baseline (same run): a raw kafka-python produce -> consume round trip of one message, the floor
for any pipeline that goes through Kafka.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
import uuid
from typing import Any

import httpx
from kafka import KafkaConsumer, TopicPartition

from benchmarks.common import Figure, isolated, percentile
from benchmarks.service_processes import library_floor_rss_mb, running, url
from contracts import examples
from services.common import tokens
from services.common.kafka_admin import ensure_topics
from services.common.kafka_client import make_producer
from services.common.settings import CommonSettings
from services.common.topics import TopicSpec

DATABASES = ("safetyplan_plan", "safetyplan_audit", "safetyplan_reporting", "safetyplan_keys")
PROVIDER = examples.SETTING.provider_ods_code


def _token(**claims: Any) -> dict[str, str]:
    return {"Authorization": "Bearer " + tokens.mint(CommonSettings(), **claims)}


def _load(args: tuple[str, float, float, int]) -> tuple[int, int, float]:
    """One load process: ``threads`` paced clients, each on its own plan, for ``seconds``.
    Returns (sent, accepted, busy seconds)."""
    base, rate, seconds, threads = args
    headers = _token(roles=["clinical_app"], subject="bench-1", actor_role="nurse", system="bench")
    counts = [0, 0]
    lock = threading.Lock()

    def client() -> None:
        with httpx.Client(base_url=base, timeout=30, headers=headers) as http:
            start = {
                "person": examples.PERSON.model_dump(mode="json"),
                "setting": examples.SETTING.model_dump(mode="json"),
            }
            plan_id = http.post("/plans", json=start).json()["stream_id"]
            me = str(uuid.uuid4())
            invite = {"participant_id": me, "role": "service_user", "name": "Bench Person"}
            http.post(f"/plans/{plan_id}/participants", json=invite)
            body = {
                "section": "warning_signs",
                "content": {"kind": "items", "items": ["Not sleeping"]},
                "author_participant_id": me,
                "present": [],
                "mode": "in_person",
            }
            interval, began = threads / rate, time.monotonic()
            n = 0
            while time.monotonic() - began < seconds:
                n += 1
                ok = http.post(f"/plans/{plan_id}/contributions", json=body).is_success
                with lock:
                    counts[0] += 1
                    counts[1] += ok
                time.sleep(max(0.0, began + n * interval - time.monotonic()))

    workers = [threading.Thread(target=client) for _ in range(threads)]
    began = time.monotonic()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return counts[0], counts[1], time.monotonic() - began


def _probe(stop: threading.Event, audit: list[float], reporting: list[float]) -> None:
    """Record an incident every 200 ms; time until audit and reporting show it."""
    app = _token(roles=["clinical_app"], subject="bench-2", actor_role="nurse", system="bench")
    gov = _token(roles=["governance"], subject="bench-gov", provider=PROVIDER)
    incident = examples.incident_stream()[0].payload.model_dump(mode="json")
    body = {k: v for k, v in incident.items() if k not in ("plan_id", "plan_version_in_force")}
    day = body["started_at"][:10]
    plan, aud, rep = (
        httpx.Client(base_url=url(n), timeout=30)
        for n in ("plan_service api", "audit_service api", "reporting_service api")
    )
    n = 0
    while not stop.wait(0.2):
        n += 1
        unit = f"Probe {uuid.uuid4().hex[:8]}"
        body["setting"] = {**body["setting"], "unit_name": unit}
        answer = plan.post("/incidents", json=body, headers=app)
        accepted = time.perf_counter()
        if not answer.is_success:
            continue
        stream_id = answer.json()["stream_id"]
        seen = {"audit": 0.0, "reporting": 0.0}
        deadline = accepted + 30
        while not all(seen.values()) and time.perf_counter() < deadline:
            if not seen["audit"]:
                r = aud.get(f"/integrity/streams/{stream_id}", headers=gov)
                if r.status_code == 200 and r.json()["verified_version"] >= 1:
                    seen["audit"] = time.perf_counter() - accepted
            if not seen["reporting"]:
                r = rep.get(
                    "/reports/section6",
                    params={"from_date": day, "to_date": day, "provider": PROVIDER, "unit": unit},
                    headers=gov,
                )
                if r.status_code == 200 and r.json()["report"].get("incidents"):
                    seen["reporting"] = time.perf_counter() - accepted
            time.sleep(0.005)
        if seen["audit"]:
            audit.append(seen["audit"])
        if seen["reporting"]:
            reporting.append(seen["reporting"])
    for c in (plan, aud, rep):
        c.close()


def kafka_round_trip(settings: CommonSettings, samples: int = 200) -> list[float]:
    """Baseline: produce one message and consume it again, one at a time (seconds each)."""
    ensure_topics(settings, [TopicSpec("bench.e2e", 1)])
    topic = settings.topic("bench.e2e")
    producer = make_producer(settings)
    consumer = KafkaConsumer(**settings.kafka_config(), enable_auto_commit=False)
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    consumer.seek_to_end(tp)
    consumer.position(tp)
    out = []
    for i in range(samples):
        started = time.perf_counter()
        producer.send(topic, value=str(i).encode()).get(timeout=30)
        while not any(consumer.poll(timeout_ms=100).values()):
            pass
        out.append(time.perf_counter() - started)
    producer.close()
    consumer.close()
    return sorted(out)


def run(rate: float = 500, seconds: float = 60, processes: int = 2) -> list[Figure]:
    with isolated(DATABASES) as settings:
        peaks: dict[str, float] = {}
        audit: list[float] = []
        reporting: list[float] = []
        with running(settings, peaks):
            stop = threading.Event()
            probe = threading.Thread(target=_probe, args=(stop, audit, reporting))
            probe.start()
            threads = 32
            args = (url("plan_service api"), rate / processes, seconds, threads)
            with multiprocessing.get_context("spawn").Pool(processes) as pool:
                parts = pool.map(_load, [args] * processes)
            stop.set()
            probe.join()
        baseline = kafka_round_trip(settings)
    sent = sum(p[0] for p in parts)
    accepted = sum(p[1] for p in parts)
    achieved = accepted / max(p[2] for p in parts)
    load = {
        "offered_cmd_s": rate,
        "achieved_cmd_s": achieved,
        "sent": sent,
        "refused": sent - accepted,
    }
    figures = []
    for name, values in (("audit", sorted(audit)), ("reporting", sorted(reporting))):
        figures.append(
            Figure(
                f"end-to-end: 2xx -> visible in {name} API, p99",
                percentile(values, 99) * 1000,
                "ms",
                percentile(baseline, 99) * 1000,
                "raw Kafka produce->consume round trip, p99",
                target="p99 < 250 ms at 500 cmd/s",
                extra={
                    "p50_ms": percentile(values, 50) * 1000,
                    "probes": len(values),
                    **load,
                },
            )
        )
    floor = library_floor_rss_mb()
    for name, mb in sorted(peaks.items()):
        figures.append(
            Figure(
                f"peak RSS: {name}",
                mb,
                "MB",
                floor,
                "bare python importing the same libraries",
                target="< 250 MB",
                extra={"during": "the end-to-end run"},
            )
        )
    return figures
