"""Which plans belong to which person (by the provider's pseudonymous person id, never a name).

Needed to find the plan in force when an incident is recorded. Rows are written before the plan
is saved; a row whose plan never got saved is skipped by readers, so no transaction spans both.
"""

from __future__ import annotations

from uuid import UUID

from psycopg_pool import ConnectionPool

from services.common.db import apply_schema

DDL = [
    """
    CREATE TABLE IF NOT EXISTS plan_person_index (
        person_id text NOT NULL,
        plan_id   uuid NOT NULL,
        PRIMARY KEY (person_id, plan_id)
    )
    """
]


class PersonIndex:
    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool
        with pool.connection() as conn:
            apply_schema(conn, "plan_person_index", DDL)

    def add(self, person_id: str, plan_id: UUID) -> None:
        with self.pool.connection() as conn:
            conn.execute(
                "INSERT INTO plan_person_index VALUES (%s, %s) ON CONFLICT DO NOTHING",
                (person_id, plan_id),
            )

    def plans_of(self, person_id: str) -> list[UUID]:
        with self.pool.connection() as conn:
            rows = conn.execute(
                "SELECT plan_id FROM plan_person_index WHERE person_id = %s ORDER BY plan_id",
                (person_id,),
            ).fetchall()
        return [r[0] for r in rows]
