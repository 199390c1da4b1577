"""Shared benchmark plumbing: an isolated schema and topic prefix, a service subprocess, figures.

Benchmarks print figures; they never assert on time (tests do not either).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

from services.common.kafka_admin import delete_scratch_topics, ensure_topics
from services.common.settings import CommonSettings

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    target: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        return self.value / self.baseline if self.baseline else None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio}


def start_stack() -> None:
    for script in ("postgres.sh", "kafka.sh"):
        subprocess.run([str(ROOT / "deploy/local" / script), "start"], check=True)


@contextmanager
def isolated(databases: tuple[str, ...]) -> Iterator[CommonSettings]:
    """Settings with a fresh schema in each database and a fresh topic prefix."""
    base = CommonSettings(service_name="bench")
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    for db in databases:
        with psycopg.connect(base.pg_conninfo(db), autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
    settings = base.model_copy(update={"pg_schema": schema, "topic_prefix": f"{schema}."})
    ensure_topics(settings)
    try:
        yield settings
    finally:
        delete_scratch_topics(settings)
        for db in databases:
            with psycopg.connect(base.pg_conninfo(db), autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@contextmanager
def service(
    module: str, port: int, settings: CommonSettings, workers: int = 1
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `python -m <module> api` as production does, pointed at the isolated schema."""
    env = {
        **os.environ,
        "SAFETYPLAN_PG_SCHEMA": settings.pg_schema or "",
        "SAFETYPLAN_TOPIC_PREFIX": settings.topic_prefix,
        "SAFETYPLAN_HTTP_PORT": str(port),
        "SAFETYPLAN_HTTP_WORKERS": str(workers),
        "SAFETYPLAN_LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen([sys.executable, "-m", module, "api"], env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"{module} did not become ready")
            time.sleep(0.2)
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the process's peak resident set, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, round(p / 100 * (len(sorted_values) - 1)))
    return sorted_values[index]
