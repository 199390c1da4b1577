"""Browser tests: headless Chromium (Debian's package, installed by deploy/local/browser.sh)
driven by Playwright against the real services, started here as subprocesses on free loopback
ports — audit_service and reporting_service, each API and projection consumer — over the real
Kafka and PostgreSQL, in a schema and topic prefix of their own.

One stack serves the whole browser session (the tests only read). Screenshots of every page go
to ``.local/artifacts/screenshots/`` (git-ignored).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from playwright.sync_api import Browser, BrowserContext, sync_playwright

from services.common.kafka_admin import ensure_topics
from services.common.settings import CommonSettings
from tests.browser import scenario
from tests.browser.helpers import VIEWPORT, Services
from tests.conftest import DEPLOY, ROOT, fresh_schema
from tests.event_streams import produce_events

DBS = {"audit_service": "safetyplan_audit", "reporting_service": "safetyplan_reporting"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _applied(settings: CommonSettings, db: str) -> int:
    with psycopg.connect(settings.pg_conninfo(db), autocommit=True) as conn:
        try:
            row = conn.execute(
                "SELECT coalesce(sum(next_offset), 0) FROM consumer_offsets"
            ).fetchone()
        except psycopg.errors.UndefinedTable:
            return 0
    return int(row[0]) if row else 0


def _wait(what: str, ready: Callable[[], bool], logs: list[Path], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            tails = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in logs)
            pytest.fail(f"{what} not ready in {timeout:.0f}s\n{tails}", pytrace=False)
        time.sleep(0.2)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="session")
def services(stack: CommonSettings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    """Both services running on the scenario's events, every event applied by both consumers."""
    with fresh_schema(stack) as schema:
        yield from _running(stack, schema, tmp_path_factory)


def _running(
    stack: CommonSettings, schema: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Services]:
    prefix = f"t{uuid.uuid4().hex[:10]}."
    settings = stack.model_copy(update={"pg_schema": schema, "topic_prefix": prefix})
    ensure_topics(settings)
    logs_dir = tmp_path_factory.mktemp("service-logs")
    ports = {name: _free_port() for name in DBS}
    env = {
        **os.environ,
        "SAFETYPLAN_PG_SCHEMA": schema,
        "SAFETYPLAN_TOPIC_PREFIX": prefix,
        "SAFETYPLAN_HTTP_HOST": "127.0.0.1",
        "SAFETYPLAN_AUDIT_SERVICE_HTTP_PORT": str(ports["audit_service"]),
        "SAFETYPLAN_REPORTING_SERVICE_HTTP_PORT": str(ports["reporting_service"]),
    }
    procs: list[subprocess.Popen[bytes]] = []
    logs: list[Path] = []
    try:
        for name in DBS:
            for process in ("api", "consumer"):
                log = logs_dir / f"{name}-{process}.log"
                logs.append(log)
                procs.append(
                    subprocess.Popen(
                        [sys.executable, "-m", f"services.{name}", process],
                        cwd=ROOT,
                        env=env,
                        stdout=log.open("wb"),
                        stderr=subprocess.STDOUT,
                    )
                )
        # the consumers start from offset 0, so the events can go out while the processes start
        sent = produce_events(settings, scenario.events())
        urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        for name, url in urls.items():
            _wait(f"{name} API", lambda u=url: _answers(f"{u}/readyz"), logs)
        for name, db in DBS.items():
            _wait(f"{name} consumer", lambda d=db: _applied(settings, d) >= sent, logs)
        yield Services(urls["audit_service"], urls["reporting_service"], settings, sent)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's Chromium, installed by deploy/local/browser.sh when absent (the run fails if it
    cannot be installed: no skip)."""
    result = subprocess.run(
        [str(DEPLOY / "browser.sh"), "install"], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        pytest.fail(f"deploy/local/browser.sh install failed:\n{result.stderr}", pytrace=False)
    return subprocess.run(
        [str(DEPLOY / "browser.sh"), "path"], capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture(scope="session")
def browser(chromium: str) -> Iterator[Browser]:
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def new_context(browser: Browser) -> Iterator[Callable[[], BrowserContext]]:
    """Fresh browser profiles (no cookies) at a laptop's screen size, closed after the test."""
    made: list[BrowserContext] = []

    def make() -> BrowserContext:
        context = browser.new_context(viewport=VIEWPORT, locale="en-GB", accept_downloads=True)
        context.set_default_timeout(15_000)
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()
