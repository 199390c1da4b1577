"""plan_service figures: HTTP ingest, relay and read-model replay, each beside a raw baseline.

- ingest: durable commands/s accepted over HTTP by N concurrent clients (p50/p99 latency), beside
  raw psycopg batch inserts of the same rows (the envelopes the commands produced);
- relay: events/s from the event store to Kafka, beside raw kafka-python produce of the same
  messages;
- read model: events/s replaying `safetyplan.events` from offset 0 through the transactional
  consumer, beside raw kafka-python consume of the same topic.
"""

from __future__ import annotations

import json
import multiprocessing
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any, cast

import httpx
import orjson
import psycopg
from kafka import KafkaConsumer, TopicPartition

from benchmarks.common import ROOT, Figure, isolated, peak_rss_mb, percentile, service
from contracts import examples, topics
from contracts.canonical import canonical_bytes
from services.common import tokens
from services.common.consumer import TransactionalConsumer
from services.common.db import open_pool
from services.common.kafka_client import make_producer
from services.common.settings import CommonSettings
from services.plan_service.read_model import PlanProjection
from services.plan_service.relay import Relay, wait_caught_up
from services.plan_service.store import open_store

PORT = 8191
HEADERS = {
    "Authorization": "Bearer "
    + tokens.mint(
        CommonSettings(),
        roles=["clinical_app"],
        subject="bench-1",
        actor_role="nurse",
        system="bench",
    )
}


def _client(args: tuple[int, int]) -> tuple[list[float], float, float]:
    """One load process: ``threads`` clients, each on its own plan; returns latencies and the
    wall-clock window in which its commands ran (set-up excluded)."""
    threads, commands = args
    latencies: list[float] = []
    window: list[float] = []
    ready = threading.Barrier(threads)
    lock = threading.Lock()

    def one_plan() -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{PORT}", timeout=30) as http:
            start = {
                "person": examples.PERSON.model_dump(mode="json"),
                "setting": examples.SETTING.model_dump(mode="json"),
            }
            plan_id = http.post("/plans", json=start, headers=HEADERS).json()["stream_id"]
            me = str(uuid.uuid4())
            http.post(
                f"/plans/{plan_id}/participants",
                json={"participant_id": me, "role": "service_user", "name": "Bench Person"},
                headers=HEADERS,
            )
            body = _contribution(me)
            mine = []
            ready.wait()
            with lock:
                window.append(time.time())
            for _ in range(commands):
                t = time.perf_counter()
                r = http.post(f"/plans/{plan_id}/contributions", json=body, headers=HEADERS)
                mine.append(time.perf_counter() - t)
                if r.status_code != 200:
                    raise RuntimeError(f"command refused: {r.status_code}")
            with lock:
                latencies.extend(mine)
                window.append(time.time())

    workers = [threading.Thread(target=one_plan) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return latencies, min(window), max(window)


WRK_SCRIPT = """
local plans = {%(plans)s}
local body = '%(body)s'
local headers = {["Content-Type"] = "application/json", ["Authorization"] = "%(auth)s"}
local n = 0
request = function()
  n = n + 1
  local path = "/plans/" .. plans[(n %% #plans) + 1] .. "/contributions"
  return wrk.format("POST", path, headers, body)
end
done = function(summary, latency, requests)
  io.write(string.format(
    '\\nWRK {"requests": %%d, "duration_us": %%d, "status_errors": %%d, "other_errors": %%d, '
    .. '"p50_us": %%d, "p99_us": %%d}\\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def _plans_for_load(count: int) -> tuple[list[str], dict[str, Any]]:
    """`count` plans, each with the person as participant, and one contribution body."""
    me = str(uuid.uuid4())
    start = {
        "person": examples.PERSON.model_dump(mode="json"),
        "setting": examples.SETTING.model_dump(mode="json"),
    }
    plans = []
    with httpx.Client(base_url=f"http://127.0.0.1:{PORT}", timeout=30) as http:
        for _ in range(count):
            plan_id = http.post("/plans", json=start, headers=HEADERS).json()["stream_id"]
            http.post(
                f"/plans/{plan_id}/participants",
                json={"participant_id": me, "role": "service_user", "name": "Bench Person"},
                headers=HEADERS,
            )
            plans.append(plan_id)
    return plans, _contribution(me)


def _contribution(me: str) -> dict[str, Any]:
    """The command body every load sends: the person's own contribution, made in person."""
    return {
        "section": "warning_signs",
        "content": {"kind": "items", "items": ["Not sleeping", "Pacing"]},
        "author_participant_id": me,
        "present": [{"participant_id": me, "attendance": "in_person"}],
        "mode": "in_person",
    }


def _wrk(clients: int, seconds: int, plans: list[str], body: dict[str, Any]) -> dict[str, Any]:
    """Run wrk against the API on PORT; its summary (requests, errors, latency in µs)."""
    wrk = shutil.which("wrk")
    assert wrk is not None
    script = Path(tempfile.mkdtemp()) / "contribute.lua"
    script.write_text(
        WRK_SCRIPT
        % {
            "plans": ", ".join(f'"{p}"' for p in plans),
            "body": json.dumps(body),
            "auth": HEADERS["Authorization"],
        }
    )
    load = ["-t", str(min(2, clients)), "-c", str(clients), "-d", f"{seconds}s", "-s", str(script)]
    out = subprocess.run(
        [wrk, *load, f"http://127.0.0.1:{PORT}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout
    found: dict[str, Any] = json.loads(out.split("WRK ", 1)[1].splitlines()[0])
    found["accepted"] = found["requests"] - found["status_errors"] - found["other_errors"]
    found["rate"] = found["accepted"] / (found["duration_us"] / 1e6)
    return found


def _have_wrk() -> bool:
    if shutil.which("wrk") is None:
        subprocess.run([str(ROOT / "deploy/local/wrk.sh")], check=False)
    return shutil.which("wrk") is not None


def ingest_wrk(
    settings: CommonSettings, clients: int, seconds: int, workers: int = 1
) -> Figure | None:
    """Ingest driven by wrk (C, from Debian's package): the load generator then takes little
    of the machine's two cores, unlike Python clients. None when wrk is not installed.
    `workers`: API processes (SAFETYPLAN_HTTP_WORKERS)."""
    if not _have_wrk():
        return None
    with service("services.plan_service", PORT, settings, workers) as proc:
        plans, body = _plans_for_load(clients * 4)
        found = _wrk(clients, seconds, plans, body)
        rss = sum(peak_rss_mb(pid) for pid in [proc.pid, *_children(proc.pid)])
    return Figure(
        f"ingest (wrk load, {workers} API process{'es' if workers > 1 else ''}): commands/s",
        found["rate"],
        "cmd/s",
        target=">= 2000 cmd/s, p99 < 50 ms",
        extra={
            "clients": clients,
            "refused": found["status_errors"] + found["other_errors"],
            "p50_ms": found["p50_us"] / 1000,
            "p99_ms": found["p99_us"] / 1000,
            "peak_rss_mb": rss,
        },
    )


def ingest_ceiling(clients: int, seconds: int) -> dict[str, Any] | None:
    """The same wrk load against `benchmarks.bare_api` (validation only, nothing stored) in one
    uvicorn process with the service's options: what FastAPI alone allows on this machine."""
    if not _have_wrk():
        return None
    options = ["--port", str(PORT), "--log-level", "warning", "--no-access-log"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "benchmarks.bare_api:app", *options],
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{PORT}/docs")
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("benchmarks.bare_api did not start") from None
                time.sleep(0.2)
        plans = [str(uuid.uuid4()) for _ in range(clients * 4)]
        return _wrk(clients, seconds, plans, _contribution(str(uuid.uuid4())))
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _children(pid: int) -> list[int]:
    found = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(c) for c in found.read_text().split()] if found.exists() else []


def ingest(settings: CommonSettings, clients: int, per_client: int) -> tuple[Figure, float]:
    processes, threads = max(1, clients // 8), min(clients, 8)
    with service("services.plan_service", PORT, settings) as proc:
        with multiprocessing.get_context("spawn").Pool(processes) as pool:
            parts = pool.map(_client, [(threads, per_client)] * processes)
        rss = peak_rss_mb(proc.pid)
    latencies = sorted(x for part in parts for x in part[0])
    elapsed = max(p[2] for p in parts) - min(p[1] for p in parts)
    rate = len(latencies) / elapsed
    return Figure(
        "ingest: commands/s over HTTP",
        rate,
        "cmd/s",
        target=">= 2000 cmd/s, p99 < 50 ms",
        extra={
            "clients": processes * threads,
            "commands": len(latencies),
            "p50_ms": percentile(latencies, 50) * 1000,
            "p99_ms": percentile(latencies, 99) * 1000,
        },
    ), rss


def stored_envelopes(settings: CommonSettings) -> list[bytes]:
    store = open_store(settings)
    notes = store.recorder.select_notifications(start=1, limit=10_000_000)
    out = [canonical_bytes(cast(Any, store.mapper.to_domain_event(n)).envelope) for n in notes]
    store.close()
    return out


def raw_inserts(settings: CommonSettings, rows: list[bytes]) -> float:
    """Baseline: the same rows with psycopg, 100 per transaction (what a hand-written log does)."""
    with psycopg.connect(settings.pg_conninfo("safetyplan_plan")) as conn:
        conn.execute("CREATE TABLE raw_events (id bigserial PRIMARY KEY, body bytea NOT NULL)")
        conn.commit()
        started = time.perf_counter()
        for i in range(0, len(rows), 100):
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO raw_events (body) VALUES (%s)", [(r,) for r in rows[i : i + 100]]
                )
            conn.commit()
        return len(rows) / (time.perf_counter() - started)


def relay(settings: CommonSettings, messages: list[bytes]) -> Figure:
    pool = open_pool(settings.model_copy(update={"pg_dbname": "safetyplan_plan"}))
    store = open_store(settings)
    r = Relay(settings, store, pool)
    started = time.perf_counter()
    wait_caught_up(r, timeout_s=600)
    rate = len(messages) / (time.perf_counter() - started)
    store.close()
    pool.close()
    producer = make_producer(settings)
    topic = settings.topic("bench.raw")
    from services.common.kafka_admin import ensure_topics
    from services.common.topics import TopicSpec

    ensure_topics(settings, [TopicSpec("bench.raw", 6)])
    records = []  # the same records the relay sends: key, value and headers
    for position, message in enumerate(messages, start=1):
        e = orjson.loads(message)
        headers = topics.event_headers(
            e["event_type"], e["schema_version"], position, e["event_id"], e["correlation_id"]
        )
        records.append((topics.record_key(e["stream_id"]), message, headers))
    started = time.perf_counter()
    futures = [producer.send(topic, key=k, value=v, headers=h) for k, v, h in records]
    producer.flush()
    for f in futures:
        f.get(timeout=60)
    raw = len(messages) / (time.perf_counter() - started)
    producer.close()
    return Figure(
        "relay: events/s store -> Kafka",
        rate,
        "events/s",
        raw,
        "raw kafka-python produce of the same records (key, value, headers)",
        target=">= 10000 events/s and >= 0.8 x raw",
    )


def read_model(settings: CommonSettings, count: int) -> Figure:
    own = settings.model_copy(update={"pg_dbname": "safetyplan_plan"})
    pool = open_pool(own)
    consumer = TransactionalConsumer(own, PlanProjection(own), pool)
    consumer.setup()
    started = time.perf_counter()
    while sum(consumer.stored_offsets().values()) < count:
        consumer.poll_once(200)
    rate = count / (time.perf_counter() - started)
    consumer.close()
    pool.close()
    raw_consumer = KafkaConsumer(**own.kafka_config(), enable_auto_commit=False)
    topic = topics.topic(topics.PLAN_EVENTS, own.topic_prefix)
    parts = [TopicPartition(topic, p) for p in raw_consumer.partitions_for_topic(topic)]
    raw_consumer.assign(parts)
    raw_consumer.seek_to_beginning()
    seen, started = 0, time.perf_counter()
    while seen < count:
        seen += sum(len(v) for v in raw_consumer.poll(timeout_ms=200, max_records=2000).values())
    raw = count / (time.perf_counter() - started)
    raw_consumer.close()
    return Figure(
        "read model: events/s replay from offset 0",
        rate,
        "events/s",
        raw,
        "raw kafka-python consume",
        target=">= 20000 events/s and >= 0.3 x raw",
    )


def run(clients: int = 32, per_client: int = 60, wrk_seconds: int = 20) -> list[Figure]:
    with isolated(("safetyplan_plan", "safetyplan_keys")) as base:
        settings = base.model_copy(update={"pg_dbname": "safetyplan_plan"})
        ingest_figure, rss = ingest(settings, clients, per_client)
        wrk_figures = [ingest_wrk(settings, clients, wrk_seconds, n) for n in (1, 2)]
        ceiling = ingest_ceiling(clients, wrk_seconds)
        rows = stored_envelopes(settings)
        ingest_figure.baseline = raw_inserts(settings, rows)
        ingest_figure.baseline_name = "raw psycopg inserts of the same rows (100/txn)"
        ingest_figure.extra["peak_rss_mb"] = rss
        figures: list[Any] = [ingest_figure]
        for wrk_figure in filter(None, wrk_figures):
            wrk_figure.baseline = ingest_figure.baseline
            wrk_figure.baseline_name = ingest_figure.baseline_name
            figures.append(wrk_figure)
        if ceiling is not None:
            figures.append(
                Figure(
                    "ingest ceiling: bare FastAPI endpoint, same body and load, nothing stored",
                    ceiling["rate"],
                    "req/s",
                    target="the most one API process can reach here",
                    extra={"p50_ms": ceiling["p50_us"] / 1000, "p99_ms": ceiling["p99_us"] / 1000},
                )
            )
        figures += [relay(settings, rows), read_model(settings, len(rows))]
        return figures
