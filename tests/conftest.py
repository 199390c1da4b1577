"""Session fixtures: the real PostgreSQL and Kafka, started through deploy/local.

They fail the run (never skip) when the stack cannot start. Set SAFETYPLAN_TEST_USE_EXISTING=1 to
run against an already running cluster and server named by the SAFETYPLAN_* settings instead.
Each test gets its own PostgreSQL schema and its own topic prefix, so tests never see each
other's data.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from services.common.kafka_admin import delete_scratch_topics, ensure_topics
from services.common.settings import CommonSettings

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy" / "local"
USE_EXISTING = os.environ.get("SAFETYPLAN_TEST_USE_EXISTING") == "1"


def _script(name: str, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DEPLOY / name), *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def _start(script: str) -> bool:
    """Start a component; True when this test session started it (and so must stop it)."""
    was_running = _script(script, "status").returncode == 0
    result = _script(script, "start")
    if result.returncode != 0:
        pytest.fail(
            f"deploy/local/{script} start failed (exit {result.returncode}):\n"
            f"{result.stdout}\n{result.stderr}",
            pytrace=False,
        )
    return not was_running


@pytest.fixture(scope="session")
def stack() -> Iterator[CommonSettings]:
    """The real PostgreSQL and Kafka, up for the whole session."""
    started: list[str] = []
    if not USE_EXISTING:
        for script in ("postgres.sh", "kafka.sh"):
            if _start(script):
                started.append(script)
    yield CommonSettings(service_name="tests")
    if os.environ.get("SAFETYPLAN_TEST_KEEP_STACK") != "1":
        for script in reversed(started):
            _script(script, "stop")


DATABASES = ("safetyplan_plan", "safetyplan_audit", "safetyplan_reporting", "safetyplan_keys")
"""Every database of the platform: the three services' and the key vault's."""


@contextlib.contextmanager
def fresh_schema(stack: CommonSettings) -> Iterator[str]:
    """A schema of its own in every database, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    for db in DATABASES:
        with psycopg.connect(stack.pg_conninfo(db), autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield schema
    finally:
        for db in DATABASES:
            with psycopg.connect(stack.pg_conninfo(db), autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def pg_schema(stack: CommonSettings) -> Iterator[str]:
    """A fresh schema in each of the databases, dropped afterwards."""
    with fresh_schema(stack) as schema:
        yield schema


@pytest.fixture
def topic_prefix(stack: CommonSettings) -> Iterator[str]:
    """A topic prefix of this test's own: its topics are created fresh and deleted after."""
    prefix = f"t{uuid.uuid4().hex[:10]}."
    own = stack.model_copy(update={"topic_prefix": prefix})
    ensure_topics(own)
    yield prefix
    delete_scratch_topics(own)


@pytest.fixture
def settings(stack: CommonSettings, pg_schema: str, topic_prefix: str) -> CommonSettings:
    """Settings pointing at the real stack, isolated to this test's schema and topics."""
    return stack.model_copy(update={"pg_schema": pg_schema, "topic_prefix": topic_prefix})


@pytest.fixture(scope="session")
def mint_token() -> Callable[..., str]:
    """Mint a bearer token: ``mint_token("clinician", units=["Oak Ward"])``."""
    from tests.auth_tokens import token

    return token
