"""What the fault tests share: the service processes started as production starts them, the
conservation reads (event store, Kafka, projections) and a PostgreSQL + Kafka of their own that a
test may kill -9 without touching the stack other tests use.

Every loop here is bounded; everything listens on loopback only.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
from kafka import KafkaConsumer, TopicPartition

from contracts import commands as c
from contracts.commands import CommandEnvelope, encode_command
from contracts.envelope import Actor
from contracts.registry import parse_event
from services.common.kafka_admin import ensure_topics
from services.common.settings import CommonSettings
from services.plan_service.store import open_store

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy" / "local"

DATABASES = ("safetyplan_plan", "safetyplan_audit", "safetyplan_reporting", "safetyplan_keys")
PROCESSES = {
    "plan-api": ["-m", "services.plan_service", "api"],
    "submissions": ["-m", "services.plan_service", "submissions"],
    "relay": ["-m", "services.plan_service", "relay"],
    "read-model": ["-m", "services.plan_service", "read-model"],
    "audit": ["-m", "services.audit_service", "consumer"],
    "reporting": ["-m", "services.reporting_service", "consumer"],
}


class Workers:
    """Service processes, started as production starts them, pointed at the test's data.

    ``restart_dead`` plays the supervisor (systemd, Kubernetes): a process that exited is
    started again, and counted.
    """

    def __init__(
        self,
        settings: CommonSettings,
        extra_env: dict[str, str] | None = None,
        log_dir: Path | None = None,
    ) -> None:
        self.log_dir = log_dir
        self.env = {
            **os.environ,
            "SAFETYPLAN_PG_SCHEMA": settings.pg_schema or "",
            "SAFETYPLAN_TOPIC_PREFIX": settings.topic_prefix,
            "SAFETYPLAN_LOG_LEVEL": "WARNING",
            **(extra_env or {}),
        }
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.kills = Counter[str]()
        self.restarts = Counter[str]()

    def start(self, name: str) -> None:
        log: Any = subprocess.DEVNULL
        if self.log_dir is not None:  # stderr kept for diagnosis (classes and rules, no values)
            self.log_dir.mkdir(parents=True, exist_ok=True)
            log = (self.log_dir / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(
            [sys.executable, *PROCESSES[name]],
            env=self.env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        if log is not subprocess.DEVNULL:
            log.close()

    def kill9(self, name: str) -> None:
        proc = self.procs[name]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        self.kills[name] += 1

    def restart_dead(self) -> None:
        for name, proc in list(self.procs.items()):
            if proc.poll() is not None:
                self.restarts[name] += 1
                self.start(name)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def wait_ready(url: str, timeout_s: float = 60) -> None:
    """Until ``url``/readyz answers 200 (bounded)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"{url} did not become ready"
        time.sleep(0.3)


def command(payload: c.CommandPayload, stream_id: uuid.UUID) -> tuple[uuid.UUID, bytes]:
    """A Kafka submission of ``payload`` for ``stream_id``: (command id, bytes)."""
    command_id = uuid.uuid4()
    envelope = CommandEnvelope[type(payload)](  # type: ignore[misc,operator]
        command_id=command_id,
        command_type=payload.MESSAGE_TYPE,
        schema_version=payload.SCHEMA_VERSION,
        stream_type=payload.STREAM_TYPE,
        stream_id=stream_id,
        actor=Actor(id="staff-0042", role="nurse"),
        submitting_system="ward_app",
        correlation_id=uuid.uuid4(),
        issued_at=datetime.now(UTC),
        payload=payload,
    )
    return command_id, encode_command(envelope)


@dataclass
class StoredEvents:
    """What the event store holds, read back through the notification log."""

    causes: Counter[str]  # events per causation (command) id
    versions: dict[str, int]  # last stream version per stream id
    stream_types: dict[str, str]  # stream id -> stream type
    events: set[tuple[str, int, str]]  # (stream id, stream version, event id)

    @property
    def event_ids(self) -> set[str]:
        return {e for _, _, e in self.events}


def stored_events(settings: CommonSettings) -> StoredEvents:
    store = open_store(settings)
    try:
        notes = store.recorder.select_notifications(start=1, limit=10_000_000)
        out = StoredEvents(Counter(), {}, {}, set())
        for note in notes:
            env: dict[str, Any] = store.mapper.to_domain_event(note).envelope  # type: ignore[attr-defined]
            sid = str(env["stream_id"])
            out.causes[str(env["causation_id"])] += 1
            out.versions[sid] = max(out.versions.get(sid, 0), env["stream_version"])
            out.stream_types[sid] = env["stream_type"]
            out.events.add((sid, int(env["stream_version"]), str(env["event_id"])))
        return out
    finally:
        store.close()


def kafka_event_ids(settings: CommonSettings, *topic_names: str) -> Counter[str]:
    """How often each event id is on the given event topics (read from offset 0 to the end)."""
    consumer = KafkaConsumer(**settings.kafka_config(), enable_auto_commit=False)
    parts = [
        TopicPartition(t, p) for t in topic_names for p in consumer.partitions_for_topic(t) or ()
    ]
    consumer.assign(parts)
    consumer.seek_to_beginning()
    ends = consumer.end_offsets(parts)
    seen: Counter[str] = Counter()
    deadline = time.monotonic() + 120
    while any(consumer.position(tp) < ends[tp] for tp in parts):
        assert time.monotonic() < deadline, "could not read the event topics to the end"
        for records in consumer.poll(timeout_ms=500, max_records=5000).values():
            for r in records:
                seen[str(parse_event(r.value, verify=False).event_id)] += 1
    consumer.close()
    return seen


def rows(settings: CommonSettings, db: str, sql: str, wait_s: float = 90) -> list[tuple[Any, ...]]:
    """The query's rows; while a worker has not yet created its tables, wait (bounded)."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            with psycopg.connect(settings.pg_conninfo(db)) as conn:
                return conn.execute(sql).fetchall()
        except psycopg.errors.UndefinedTable:
            assert time.monotonic() < deadline, f"no such table after {wait_s}s: {sql}"
            time.sleep(0.5)


@dataclass(frozen=True)
class Projected:
    """What each projection holds: the read model's version per plan, and the (stream id,
    stream version, event id) of every event the audit and reporting applied."""

    read_model: dict[str, int]
    audited: set[tuple[str, int, str]]
    reported: set[tuple[str, int, str]]


def projected(settings: CommonSettings) -> Projected:
    def applied_once(db: str, table: str) -> set[tuple[str, int, str]]:
        sql = f"SELECT stream_id::text, stream_version, event_id::text FROM {table}"  # noqa: S608
        found = rows(settings, db, sql)
        assert len(found) == len(set(found)), f"an event applied twice in {table}"
        return set(found)

    read_model = "SELECT plan_id::text, stream_version FROM plan_read_model"
    return Projected(
        dict(rows(settings, "safetyplan_plan", read_model)),
        applied_once("safetyplan_audit", "au_events"),
        applied_once("safetyplan_reporting", "rs_stream_events"),
    )


class OwnStack:
    """A PostgreSQL cluster and a Kafka broker of this test's own, on other ports and in
    ``.local/fault-stack``, started and stopped through deploy/local (whose settings are
    overridable), so kill -9 hits only them. Kafka's jars are shared with the main stack.

    Its ports lie below Linux's ephemeral range (32768-60999): the broker and the database are
    restarted while thousands of client connections come and go, and a restart failed in CI
    when a client socket happened to hold the listening port ("Address already in use")."""

    def __init__(self, pg_port: int = 25532, kafka_port: int = 29192) -> None:
        self.state = ROOT / ".local" / "fault-stack"
        self.pg_port, self.kafka_port = pg_port, kafka_port
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("SAFETYPLAN_")},
            "SAFETYPLAN_STATE_DIR": str(self.state),
            "SAFETYPLAN_PG_HOST": "127.0.0.1",
            "SAFETYPLAN_PG_PORT": str(pg_port),
            "SAFETYPLAN_KAFKA_HOST": "127.0.0.1",
            "SAFETYPLAN_KAFKA_PORT": str(kafka_port),
            "SAFETYPLAN_KAFKA_CONTROLLER_PORT": str(kafka_port + 1),
            "SAFETYPLAN_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{kafka_port}",
            "SAFETYPLAN_KAFKA_HEAP": "384m",
        }

    def settings_update(self, schema: str | None = None, prefix: str = "") -> dict[str, Any]:
        """``model_copy(update=...)`` that points any service's settings at this stack."""
        return {
            "pg_host": "127.0.0.1",
            "pg_port": self.pg_port,
            "kafka_bootstrap_servers": f"127.0.0.1:{self.kafka_port}",
            "pg_schema": schema,
            "topic_prefix": prefix,
        }

    def isolated(self) -> CommonSettings:
        """Settings for a fresh schema in every database and a fresh topic prefix on this
        stack, so runs never see each other's data while the cluster itself is kept."""
        schema = f"f_{uuid.uuid4().hex[:10]}"
        settings = CommonSettings(service_name="fault-test").model_copy(
            update=self.settings_update(schema, f"{schema}.")
        )
        for db in DATABASES:
            with psycopg.connect(settings.pg_conninfo(db), autocommit=True) as conn:
                conn.execute(f'CREATE SCHEMA "{schema}"')
        ensure_topics(settings)
        return settings

    def service_env(self) -> dict[str, str]:
        """What a service process needs to use this stack instead of the shared one (its
        schema and topic prefix come from the settings given to ``Workers``)."""
        return {
            "SAFETYPLAN_PG_HOST": "127.0.0.1",
            "SAFETYPLAN_PG_PORT": str(self.pg_port),
            "SAFETYPLAN_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{self.kafka_port}",
        }

    def _script(self, name: str, *args: str, timeout: float = 240) -> None:
        result = subprocess.run(
            [str(DEPLOY / name), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert result.returncode == 0, f"{name} {' '.join(args)}: {result.stderr[-2000:]}"

    def drop(self, settings: CommonSettings) -> None:
        for db in DATABASES:
            with psycopg.connect(settings.pg_conninfo(db), autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{settings.pg_schema}" CASCADE')

    def start(self) -> None:
        """Start both (the cluster and broker are created on first use, then kept)."""
        shared_jars = ROOT / ".local" / "kafka" / "lib-4.3.0"
        own_jars = self.state / "kafka" / "lib-4.3.0"
        own_jars.parent.mkdir(parents=True, exist_ok=True)
        if shared_jars.is_dir() and not own_jars.exists():
            own_jars.symlink_to(shared_jars)  # no second download of Kafka
        self.start_postgres()
        self.start_kafka()

    def start_postgres(self) -> None:
        self._script("postgres.sh", "start")

    def start_kafka(self) -> None:
        self._script("kafka.sh", "start")

    def kill9_postgres(self) -> None:
        """SIGKILL the postmaster and every backend: what a power cut does to PostgreSQL."""
        pid_file = self.state / "postgres" / "data" / "postmaster.pid"
        postmaster = int(pid_file.read_text().split()[0])
        children = [
            int(p.name)
            for p in Path("/proc").iterdir()
            if p.name.isdigit() and _parent(p) == postmaster
        ]
        for pid in (postmaster, *children):
            _sigkill(pid)
        _wait_gone([postmaster, *children])

    def kill9_kafka(self) -> None:
        pid = int((self.state / "run" / "kafka.pid").read_text())
        _sigkill(pid)
        _wait_gone([pid])

    def stop(self) -> None:
        for script in ("kafka.sh", "postgres.sh"):
            subprocess.run(
                [str(DEPLOY / script), "stop"],
                env=self.env,
                capture_output=True,
                timeout=120,
                check=False,
            )


def _parent(proc: Path) -> int | None:
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _sigkill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.kill(pid, signal.SIGKILL)


def _wait_gone(pids: list[int], timeout_s: float = 30) -> None:
    """Until the killed processes are reaped: a zombie still answers ``kill -0``, which the
    deploy scripts use to decide whether to start again."""
    deadline = time.monotonic() + timeout_s
    while any(Path(f"/proc/{pid}").exists() for pid in pids):
        assert time.monotonic() < deadline, "a killed process did not go away"
        time.sleep(0.05)
