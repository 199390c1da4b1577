"""PostgreSQL helpers: one connection pool per process and idempotent schema set-up.

Schema statements are ``CREATE ... IF NOT EXISTS`` run under an advisory lock so several replicas
can start at once. Nothing here logs SQL parameters: they can hold personal data.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import psycopg
from psycopg_pool import ConnectionPool

from services.common.settings import CommonSettings


def open_pool(
    settings: CommonSettings, dbname: str | None = None, *, wait: bool = True
) -> ConnectionPool:
    """A psycopg pool for this service's database; ``wait`` blocks until min_size connect."""
    pool = ConnectionPool(
        settings.pg_conninfo(dbname),
        min_size=settings.pg_pool_min_size,
        max_size=settings.pg_pool_max_size,
        name=f"{settings.service_name}-pool",
        open=False,
        kwargs={"autocommit": False},
    )
    pool.open(wait=wait, timeout=30.0)
    return pool


def _lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def apply_schema(conn: psycopg.Connection, name: str, statements: Iterable[str]) -> None:
    """Run idempotent DDL once at a time across processes (advisory lock keyed by ``name``)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_lock_key(name),))
        for stmt in statements:
            conn.execute(stmt)


@contextmanager
def schema_lock(settings: CommonSettings, name: str) -> Iterator[None]:
    """Hold the advisory lock ``apply_schema`` takes for ``name`` while a library (the event
    store) creates its own tables on its own connections: two API processes starting at once
    otherwise both ran its CREATE TABLE IF NOT EXISTS and one failed with "tuple concurrently
    updated"."""
    with psycopg.connect(settings.pg_conninfo()) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_lock_key(name),))
        yield


def ping(pool: ConnectionPool, timeout_s: float = 2.0) -> None:
    """Raise when PostgreSQL does not answer ``SELECT 1`` in time."""
    with pool.connection(timeout=timeout_s) as conn:
        conn.execute("SELECT 1")
