"""Array literals carry any text as data: quotes, backslashes, braces, commas and NULL-like words
are escaped; NULL, booleans and integers are written bare."""

from __future__ import annotations

from services.audit_service import bulk


def test_texts_are_quoted_and_escaped_and_other_values_are_bare() -> None:
    literal = bulk.array_literal(['Ward "A"', "back\\slash", "{1,2}", "NULL", None, True, False, 7])
    assert literal == '{"Ward \\"A\\"","back\\\\slash","{1,2}","NULL",NULL,t,f,7}'


def test_plain_literals_join_uuids_and_integers() -> None:
    ids = ["5a0c7d2e-3b1f-4f7e-9a51-2c4d6e8f0a13", "00000000-0000-4000-8000-000000000000"]
    assert bulk.plain_array_literal(ids) == "{" + ",".join(ids) + "}"
    assert bulk.plain_array_literal([1, 22]) == "{1,22}"


def test_an_insert_keeps_batch_order_and_skips_stored_keys() -> None:
    table = bulk.Table("au_x", ("a", "b"), ("uuid", "text"))
    sql = bulk.insert_statement(table)
    assert "unnest(%s::uuid[], %s::text[]) WITH ORDINALITY" in sql
    assert sql.endswith("ORDER BY n ON CONFLICT DO NOTHING")
    upsert = bulk.insert_statement(table, update=("b",))
    assert upsert.endswith('ON CONFLICT ("a") DO UPDATE SET "b" = excluded."b"')


def test_a_column_of_ids_or_times_is_joined_and_a_text_column_is_escaped() -> None:
    ids = ["5a0c7d2e-3b1f-4f7e-9a51-2c4d6e8f0a13", None]
    assert bulk.column_literal("uuid", ids) == "{5a0c7d2e-3b1f-4f7e-9a51-2c4d6e8f0a13,NULL}"
    assert bulk.column_literal("int", [3, None]) == "{3,NULL}"
    assert bulk.column_literal("text", ['a"b', None]) == '{"a\\"b",NULL}'
    assert bulk.column_literal("boolean", [True, None]) == "{t,NULL}"
