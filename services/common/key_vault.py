"""The key vault: one data key per patient, wrapped by the key-encryption key from settings.

Destroying a patient's data key is the erasure (crypto-shredding): every token sealed with it —
on Kafka, in the event store, in any copy — can no longer be opened. The vault is the single
authority on erasures and legal holds, so an erasure cannot race a hold: both are rows of the same
database, checked and written in one transaction. It lives in its own database
(`keys_pg_dbname`) so that only entitled services are given access to it.

Keys are wrapped with AES key wrap (RFC 3394) under the KEK named by `kek_id`, so the KEK can be
rotated by re-wrapping rows. This module must never log a key, a person id with a reason, or
any personal value; errors name the rule only.
"""

from __future__ import annotations

import base64
import binascii
import os
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap
from psycopg_pool import ConnectionPool

from contracts.sealed_values import KEY_BYTES, DataKey
from services.common.db import apply_schema
from services.common.settings import DEV_KEK, EntitledSettings

LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")
KEY_CACHE_SECONDS = 60.0
"""How long a process keeps an unwrapped key; bounds how long an erased key lingers in memory."""

DDL = [
    """
    CREATE TABLE IF NOT EXISTS kv_person_keys (
        person_id   text PRIMARY KEY,
        key_id      text NOT NULL UNIQUE,
        kek_id      text NOT NULL,
        wrapped_key bytea NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now()
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS kv_erasures (
        person_id    text PRIMARY KEY,
        key_id       text,
        reason       text NOT NULL,
        requested_by text NOT NULL,
        erased_at    timestamptz NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS kv_legal_holds (
        hold_id    text PRIMARY KEY,
        person_id  text NOT NULL,
        reason     text NOT NULL,
        placed_by  text NOT NULL,
        placed_at  timestamptz NOT NULL DEFAULT now()
    )
    """,
    "CREATE INDEX IF NOT EXISTS kv_legal_holds_person ON kv_legal_holds (person_id)",
]


class VaultRefusal(Exception):
    """Refused by a rule of the vault; carries the field and rule, never a value.

    Shaped like the services' domain errors (status, field, rule, message) so an API maps it.
    """

    status = 409

    def __init__(self, field: str, rule: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.rule = rule
        self.message = message


class PersonErased(VaultRefusal):
    """The person's key was destroyed: nothing personal can be written or read for them again."""

    status = 410


class LegalHoldActive(VaultRefusal):
    """A legal hold on the person's records blocks their erasure."""


@dataclass(frozen=True)
class Erasure:
    person_id: str
    key_id: str | None
    reason: str
    requested_by: str
    erased_at: datetime
    first_time: bool


@dataclass(frozen=True)
class Kek:
    kek_id: str
    key: bytes

    @classmethod
    def from_settings(cls, settings: EntitledSettings) -> Kek:
        try:
            key = base64.b64decode(settings.personal_data_kek.get_secret_value(), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("SAFETYPLAN_PERSONAL_DATA_KEK is not base64") from None
        if len(key) != KEY_BYTES:
            raise ValueError("SAFETYPLAN_PERSONAL_DATA_KEK must decode to 32 bytes")
        return cls(settings.personal_data_kek_id, key)


def check_kek_configuration(settings: EntitledSettings) -> None:
    """Refuse the public development KEK on a process reachable beyond loopback."""
    built_in = settings.personal_data_kek.get_secret_value() == DEV_KEK
    if built_in and settings.http_host not in LOOPBACK_HOSTS:
        raise RuntimeError(
            "SAFETYPLAN_HTTP_HOST is not loopback but SAFETYPLAN_PERSONAL_DATA_KEK is the public "
            "development key: set a key of your own (see deploy/README.md)"
        )


class KeyVault:
    def __init__(self, pool: ConnectionPool, kek: Kek) -> None:
        self.pool = pool
        self.kek = kek
        self._by_person: dict[str, tuple[float, DataKey]] = {}
        self._by_id: dict[str, tuple[float, bytes]] = {}
        self._lock = threading.Lock()
        with pool.connection() as conn:
            apply_schema(conn, "key_vault", DDL)

    # --- sealing side (plan_service) ---------------------------------------------------------
    def data_key(self, person_id: str) -> DataKey:
        """The person's data key, made on first use; PersonErased once it was destroyed."""
        cached = self._cached(self._by_person, person_id)
        if cached is not None:
            return cached
        select = "SELECT key_id, kek_id, wrapped_key FROM kv_person_keys WHERE person_id = %s"
        with self.pool.connection() as conn:
            row = conn.execute(select, (person_id,)).fetchone()
            if row is None:  # first use: made under the person's lock, so never after an erasure
                with conn.transaction():
                    conn.execute(
                        "SELECT pg_advisory_xact_lock(hashtextextended(%s, 7))", (person_id,)
                    )
                    conn.execute(
                        """
                        INSERT INTO kv_person_keys (person_id, key_id, kek_id, wrapped_key)
                        SELECT %s, %s, %s, %s
                        WHERE NOT EXISTS (SELECT 1 FROM kv_erasures WHERE person_id = %s)
                        ON CONFLICT (person_id) DO NOTHING
                        """,
                        (
                            person_id,
                            uuid.uuid4().hex,
                            self.kek.kek_id,
                            self._wrap(os.urandom(KEY_BYTES)),
                            person_id,
                        ),
                    )
                    row = conn.execute(select, (person_id,)).fetchone()
        if row is None:
            raise PersonErased("person_id", "not_erased", "this person's data was erased")
        found = DataKey(row[0], self._unwrap(row[1], row[2]))
        self._remember(self._by_person, person_id, found)
        self._remember(self._by_id, found.key_id, found.key)
        return found

    # --- opening side (entitled readers) -----------------------------------------------------
    def key(self, key_id: str) -> bytes | None:
        """The data key with this id, or None when it was destroyed (or never existed)."""
        cached = self._cached(self._by_id, key_id)
        if cached is not None:
            return cached
        with self.pool.connection() as conn:
            row = conn.execute(
                "SELECT kek_id, wrapped_key FROM kv_person_keys WHERE key_id = %s", (key_id,)
            ).fetchone()
        if row is None:
            return None
        key = self._unwrap(row[0], row[1])
        self._remember(self._by_id, key_id, key)
        return key

    def forget(self, key_id: str | None = None, person_id: str | None = None) -> None:
        """Drop cached keys (an erasure notice arrived)."""
        with self._lock:
            if key_id is not None:
                self._by_id.pop(key_id, None)
            if person_id is not None:
                self._by_person.pop(person_id, None)

    # --- erasure and legal holds ---------------------------------------------------------
    def erase(self, person_id: str, reason: str, requested_by: str, at: datetime) -> Erasure:
        """Destroy the person's key unless a legal hold stands; idempotent (returns the first)."""
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 7))", (person_id,))
            holds = conn.execute(
                "SELECT count(*) FROM kv_legal_holds WHERE person_id = %s", (person_id,)
            ).fetchone()
            if holds and holds[0]:
                raise LegalHoldActive(
                    "person_id", "no_legal_hold", "records of this person are under a legal hold"
                )
            gone = conn.execute(
                "DELETE FROM kv_person_keys WHERE person_id = %s RETURNING key_id", (person_id,)
            ).fetchone()
            inserted = conn.execute(
                """
                INSERT INTO kv_erasures VALUES (%s, %s, %s, %s, %s)
                ON CONFLICT (person_id) DO NOTHING RETURNING person_id
                """,
                (person_id, gone[0] if gone else None, reason, requested_by, at),
            ).fetchone()
            row = conn.execute(
                "SELECT key_id, reason, requested_by, erased_at FROM kv_erasures "
                "WHERE person_id = %s",
                (person_id,),
            ).fetchone()
        assert row is not None
        self.forget(row[0], person_id)
        return Erasure(person_id, row[0], row[1], row[2], row[3], first_time=inserted is not None)

    def erasure(self, person_id: str) -> Erasure | None:
        with self.pool.connection() as conn:
            row = conn.execute(
                "SELECT key_id, reason, requested_by, erased_at FROM kv_erasures "
                "WHERE person_id = %s",
                (person_id,),
            ).fetchone()
        return Erasure(person_id, row[0], row[1], row[2], row[3], False) if row else None

    def place_hold(self, hold_id: str, person_id: str, reason: str, placed_by: str) -> bool:
        """Place a hold (idempotent by hold id); PersonErased when there is nothing left to hold."""
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 7))", (person_id,))
            if conn.execute(
                "SELECT 1 FROM kv_erasures WHERE person_id = %s", (person_id,)
            ).fetchone():
                raise PersonErased("person_id", "not_erased", "this person's data was erased")
            row = conn.execute(
                "INSERT INTO kv_legal_holds (hold_id, person_id, reason, placed_by) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT (hold_id) DO NOTHING RETURNING hold_id",
                (hold_id, person_id, reason, placed_by),
            ).fetchone()
        return row is not None

    def release_hold(self, hold_id: str) -> bool:
        with self.pool.connection() as conn:
            row = conn.execute(
                "DELETE FROM kv_legal_holds WHERE hold_id = %s RETURNING hold_id", (hold_id,)
            ).fetchone()
        return row is not None

    def holds(self, person_id: str) -> list[dict[str, Any]]:
        with self.pool.connection() as conn:
            rows = conn.execute(
                "SELECT hold_id, reason, placed_by, placed_at FROM kv_legal_holds "
                "WHERE person_id = %s ORDER BY hold_id",
                (person_id,),
            ).fetchall()
        return [
            dict(zip(("hold_id", "reason", "placed_by", "placed_at"), r, strict=True)) for r in rows
        ]

    # --- internals ---------------------------------------------------------------------------
    def _wrap(self, key: bytes) -> bytes:
        return aes_key_wrap(self.kek.key, key)

    def _unwrap(self, kek_id: str, wrapped: bytes) -> bytes:
        if kek_id != self.kek.kek_id:
            raise RuntimeError("a data key is wrapped by another key-encryption key (rotation)")
        try:
            return aes_key_unwrap(self.kek.key, bytes(wrapped))
        except InvalidUnwrap:
            raise RuntimeError("a data key does not unwrap with the configured KEK") from None

    def _cached(self, table: dict[str, tuple[float, Any]], name: str) -> Any:
        with self._lock:
            hit = table.get(name)
        if hit is None or time.monotonic() - hit[0] > KEY_CACHE_SECONDS:
            return None
        return hit[1]

    def _remember(self, table: dict[str, tuple[float, Any]], name: str, value: Any) -> None:
        with self._lock:
            if len(table) > 100_000:
                table.clear()
            table[name] = (time.monotonic(), value)


def open_key_vault(settings: EntitledSettings) -> tuple[KeyVault, ConnectionPool]:
    """The vault of an entitled process and the pool it owns (close it at shutdown)."""
    check_kek_configuration(settings)
    pool = ConnectionPool(
        settings.pg_conninfo(settings.keys_pg_dbname),
        min_size=1,
        max_size=4,
        name=f"{settings.service_name}-key-vault",
        open=False,
        kwargs={"autocommit": False},
    )
    pool.open(wait=True, timeout=30.0)
    return KeyVault(pool, Kek.from_settings(settings)), pool
