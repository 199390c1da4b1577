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


def _line(row: tuple[object, ...]) -> str:
    return "\t".join("\\N" if v is None else str(v) for v in row) + "\n"


def test_copy_text_joins_plain_values_and_writes_null_as_backslash_n() -> None:
    rows = [("5a0c7d2e-3b1f-4f7e-9a51-2c4d6e8f0a13", 7, None), ("b", 8, "c")]
    text = bulk.copy_text(rows, _line, lambda r: r, nulls=1)
    assert text == "5a0c7d2e-3b1f-4f7e-9a51-2c4d6e8f0a13\t7\t\\N\nb\t8\tc\n"


def test_copy_text_escapes_every_value_when_one_holds_a_tab_newline_or_backslash() -> None:
    rows = [("Ward\tA", 1, None), ("line\nbreak", 2, "back\\slash"), ("cr\r", 3, True)]
    text = bulk.copy_text(rows, _line, lambda r: r, nulls=1)
    assert text == ("Ward\\tA\t1\t\\N\nline\\nbreak\t2\tback\\\\slash\ncr\\r\t3\tt\n")


def test_copy_text_is_checked_against_the_values_not_the_formatter() -> None:
    # a formatter that forgets a NULL's backslash-N is caught by the count of backslashes
    rows = [("a", None)]
    text = bulk.copy_text(rows, lambda r: "a\t\n", lambda r: r, nulls=1)
    assert text == "a\t\\N\n"


def test_the_first_row_of_each_key_is_kept_in_batch_order() -> None:
    table = bulk.Table("au_x", ("a", "b", "c"), ("uuid", "int", "text"), key=2)
    rows = [("p", 1, "first"), ("p", 2, "other key"), ("p", 1, "second")]
    assert bulk.first_of_each_key(table, rows) == [("p", 1, "first"), ("p", 2, "other key")]


def test_plain_inserts_and_updates_have_no_conflict_clause() -> None:
    table = bulk.Table("au_x", ("a", "b"), ("uuid", "text"), key=1)
    assert "ON CONFLICT" not in bulk.plain_insert_statement(table)
    update = bulk.update_statement(table, ("b",))
    assert update.startswith('UPDATE au_x AS t SET "b" = u.c1 FROM unnest(%s::uuid[], %s::text[])')
    assert update.endswith('WHERE t."a" = u.c0')
