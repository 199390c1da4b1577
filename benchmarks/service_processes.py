"""Every service process (APIs and workers) started as production starts them, pointed at a
benchmark's scratch schema and topic prefix, with each one's peak resident memory read at the end.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from benchmarks.common import ROOT, peak_rss_mb
from services.common.settings import CommonSettings

# name -> (module, role, HTTP port or None)
PROCESSES: dict[str, tuple[str, str, int | None]] = {
    "plan_service api": ("services.plan_service", "api", 8291),
    "plan_service relay": ("services.plan_service", "relay", None),
    "plan_service read-model": ("services.plan_service", "read-model", None),
    "audit_service api": ("services.audit_service", "api", 8292),
    "audit_service consumer": ("services.audit_service", "consumer", None),
    "reporting_service api": ("services.reporting_service", "api", 8293),
    "reporting_service consumer": ("services.reporting_service", "consumer", None),
}


def url(name: str) -> str:
    return f"http://127.0.0.1:{PROCESSES[name][2]}"


@contextmanager
def running(settings: CommonSettings, peaks: dict[str, float]) -> Iterator[None]:
    """All PROCESSES up and ready; on exit ``peaks`` holds each one's peak RSS in MB."""
    procs: dict[str, subprocess.Popen[bytes]] = {}
    base_env = {
        **os.environ,
        "SAFETYPLAN_PG_SCHEMA": settings.pg_schema or "",
        "SAFETYPLAN_TOPIC_PREFIX": settings.topic_prefix,
        "SAFETYPLAN_LOG_LEVEL": "WARNING",
    }
    try:
        for name, (module, role, port) in PROCESSES.items():
            env = {**base_env, **({"SAFETYPLAN_HTTP_PORT": str(port)} if port else {})}
            procs[name] = subprocess.Popen(
                [sys.executable, "-m", module, role], env=env, cwd=ROOT, stdout=subprocess.DEVNULL
            )
        for name, (_, _, port) in PROCESSES.items():
            if port is not None:
                _wait_ready(name, procs[name])
        yield
        for name, proc in procs.items():
            if proc.poll() is None:
                peaks[name] = peak_rss_mb(proc.pid)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def library_floor_rss_mb() -> float:
    """Baseline: peak RSS of a bare interpreter that only imports the libraries the services
    are built on (FastAPI, pydantic, psycopg, kafka-python, cryptography)."""
    code = (
        "import fastapi, pydantic, psycopg, psycopg_pool, kafka, cryptography, uvicorn, pathlib;"
        "print([l for l in pathlib.Path('/proc/self/status').read_text().splitlines()"
        " if l.startswith('VmHWM')][0].split()[1])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout.strip()) / 1024


def _wait_ready(name: str, proc: subprocess.Popen[bytes], timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(f"{url(name)}/readyz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError(f"{name} did not become ready")
        time.sleep(0.3)
