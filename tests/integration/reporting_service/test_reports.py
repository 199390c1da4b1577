"""The reporting_service on the real Kafka and PostgreSQL: sealed events in, reports out."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool

from contracts.merkle import leaf_hash, merkle_root
from services.common.consumer import TransactionalConsumer
from services.common.db import apply_schema, open_pool
from services.common.settings import CommonSettings
from services.reporting_service import provenance, reports
from services.reporting_service.api import create_app
from services.reporting_service.projection import DDL, NAME
from services.reporting_service.scope import AsOf, Period, Scope
from services.reporting_service.settings import ReportingServiceSettings
from services.reporting_service.workers import make_consumer
from tests import pdf_text
from tests.auth_tokens import bearer, governance, regulator
from tests.integration.reporting_service import events as ev

T = ev.T
YEAR = Period(date(2025, 1, 1), date(2025, 12, 31))
PLAN = ev.uid("plan-a")
INCIDENT_A = ev.uid("incident-a")
INCIDENT_B = ev.uid("incident-b")


@pytest.fixture
def own(settings: CommonSettings) -> ReportingServiceSettings:
    return ReportingServiceSettings().model_copy(
        update={"pg_schema": settings.pg_schema, "topic_prefix": settings.topic_prefix}
    )


@pytest.fixture
def pool(own: ReportingServiceSettings) -> Iterator[ConnectionPool]:
    pool = open_pool(own)
    yield pool
    pool.close()


@pytest.fixture
def consumer(
    own: ReportingServiceSettings, pool: ConnectionPool
) -> Iterator[TransactionalConsumer]:
    consumer = make_consumer(own, pool)
    consumer.setup()
    yield consumer
    consumer.close()


def catch_up(consumer: TransactionalConsumer, total: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while sum(consumer.stored_offsets().values()) < total:
        assert time.monotonic() < deadline, "the consumer did not catch up in time"
        consumer.poll_once(timeout_ms=200)


def scenario() -> list[Any]:
    """Plan A (prone: does not want; standing: accepts; notify Sam) and incident A on it,
    reviewed and amended; incident B with gaps; five more standing-only incidents."""
    a = ev.person(1)
    out = ev.plan_stream(PLAN, a, INCIDENT_A)
    out += ev.incident_stream(
        INCIDENT_A, ev.incident_fields(a), PLAN, amend=True, review_on=date(2025, 2, 11)
    )
    b = ev.person(2, nhs=None)
    out += ev.incident_stream(
        INCIDENT_B, ev.incident_fields(b, learning_disability=None, notify=False), None
    )
    for n in range(3, 8):
        fields = ev.incident_fields(ev.person(n), types=(T.PHYSICAL_STANDING,))
        out += ev.incident_stream(ev.uid(f"incident-{n}"), fields, None)
    return out


def test_reports_show_amendments_completeness_concordance_and_mhsds_codes(
    own: ReportingServiceSettings, pool: ConnectionPool, consumer: TransactionalConsumer
) -> None:
    catch_up(consumer, ev.produce(own, scenario()))

    s6 = reports.build(pool, own, "section6", Scope("RXX", "Oak Unit"), YEAR, None).document
    by_id = {i["incident_id"]: i for i in s6["report"]["incidents"]}
    assert len(by_id) == 7
    a = by_id[str(INCIDENT_A)]
    assert a["s6"]["b_place"]["location_detail"] == "Corridor"  # the amendment applied
    assert a["s6"]["a_reason"]["code"] == "17"
    assert a["amended_fields"] == ["location_detail", "reason"]
    change = a["amendments"][0]["changes"][0]
    assert (change["path"], change["old_value"], change["new_value"]) == (
        "location_detail",
        "Lounge",
        "Corridor",
    )
    assert a["s6"]["e_patient_name"] == "Test Person 1"
    assert a["completeness"]["complete"] is True
    b = by_id[str(INCIDENT_B)]
    assert b["completeness"]["missing_items"] == ["g", "l", "p"]
    assert {m["field"] for m in b["completeness"]["missing"]} == {
        "patient.nhs_number",
        "learning_disability",
        "notifications",
    }
    assert [n["item"] for n in b["completeness"]["not_known"]] == ["j"]

    conc = reports.build(pool, own, "concordance", Scope(), YEAR, None).document
    c = {i["incident_id"]: i for i in conc["report"]["incidents"]}[str(INCIDENT_A)]
    prone, standing = c["force_types"]
    assert (prone["code"], prone["person_did_not_want"], prone["in_plan"]) == ("01", True, False)
    assert prone["recorded_matches_plan"] is False  # recorded as planned; the plan says no
    assert (standing["code"], standing["in_plan"], standing["person_did_not_want"]) == (
        "07",
        True,
        False,
    )
    assert c["notification"]["followed"] is True
    assert c["notification"]["methods_as_planned"] is True
    assert c["post_incident_review"]["held_with_patient"] is True
    assert c["post_incident_review"]["days_after"] == 1
    assert c["plan_review_after"] == {
        "reviewed": True,
        "linked_to_incident": True,
        "trigger": "after_incident",
        "completed_at": "2025-02-13T14:00:00.000000Z",
        "days_after": 3,
    }
    no_plan = {i["incident_id"]: i for i in conc["report"]["incidents"]}[str(INCIDENT_B)]
    assert no_plan["plan_in_force"] is False
    assert no_plan["force_types"][0]["in_plan"] is False

    mhsds = reports.build(pool, own, "mhsds", Scope("RXX"), YEAR, None).document["report"]
    inc = {r["RestrictiveIntIncID"]: r for r in mhsds["MHS505RestrictiveInterventInc"]}
    row = inc[str(INCIDENT_A)]
    assert row["RestrictiveIntReason"] == "17"
    assert row["RestrictiveIntPIReviewHeldPat"] == "Y"
    assert row["RestrictiveIntPIReviewHeldCarePers"] == "N"
    assert (row["StartDateRestrictiveIntInc"], row["StartTimeRestrictiveIntInc"]) == (
        "2025-02-10",
        "14:00:00",
    )
    types = [
        (r["RestrictiveIntType"], r["RestraintInjuryPatient"])
        for r in mhsds["MHS515RestrictiveInterventType"]
        if r["RestrictiveIntIncID"] == str(INCIDENT_A)
    ]
    assert types == [("01", "Y"), ("07", "N")]
    assert "Test Person" not in json.dumps(mhsds)

    stats = reports.build(pool, own, "statistics", Scope("RXX"), YEAR, None).document["report"]
    rows = {(r["breakdown"], r["key"]): r for r in stats["rows"]}
    total = rows[("total", "all")]
    assert (total["MHS76_people"], total["MHS77_restrictive_interventions"]) == (5, 10)  # 7, 9
    assert total["MHS136_incidents"] == 5  # 7 incidents
    assert rows[("restrictive_intervention_type", "01")]["MHS77_restrictive_interventions"] == "*"
    assert rows[("reason", "17")]["MHS136_incidents"] == "*"  # the amended reason counts
    assert total["MHS96_restrictive_interventions_per_1000_bed_days"] is None  # no bed days
    assert "Test Person" not in json.dumps(stats)


def test_same_offsets_give_the_same_bytes_and_a_redelivery_changes_nothing(
    own: ReportingServiceSettings, pool: ConnectionPool, consumer: TransactionalConsumer
) -> None:
    first_batch = scenario()
    produced = ev.produce(own, first_batch)
    catch_up(consumer, produced)
    kinds: list[reports.Kind] = ["section6", "statistics", "concordance", "mhsds"]
    before = {k: reports.build(pool, own, k, Scope(), YEAR, None) for k in kinds}
    prov = before["statistics"].document["provenance"]
    assert prov["events"] == len(first_batch)
    assert prov["redeliveries_skipped"] == 0

    # a redelivery of everything, then a new incident that is not in the first report
    produced += ev.produce(own, first_batch)
    extra = ev.incident_stream(ev.uid("late"), ev.incident_fields(ev.person(9)), None)
    produced += ev.produce(own, extra)
    catch_up(consumer, produced)

    for kind, built in before.items():
        again = reports.build(pool, own, kind, Scope(), YEAR, prov["as_of"])
        assert again.body == built.body  # byte-identical from the same offsets
        assert reports.render_pdf(again, kind) == reports.render_pdf(built, kind)

    now = reports.build(pool, own, "section6", Scope(), YEAR, None).document
    assert now["provenance"]["redeliveries_skipped"] == len(first_batch)
    assert now["provenance"]["events"] == len(first_batch) + len(extra)
    assert len(now["report"]["incidents"]) == 8
    # the redelivery changed no record: the first seven entries are as before
    old = before["section6"].document["report"]["incidents"]
    assert [i for i in now["report"]["incidents"] if i["incident_id"] != str(ev.uid("late"))] == old


def test_the_http_api_serves_csv_bed_day_rates_holds_and_named_errors(
    own: ReportingServiceSettings, consumer: TransactionalConsumer
) -> None:
    catch_up(consumer, ev.produce(own, scenario()))
    with TestClient(
        create_app(own), headers=bearer("regulator", "admin", identifiable=True)
    ) as client:
        query = {"from_date": "2025-01-01", "to_date": "2025-12-31", "provider": "RXX"}
        put = client.put(
            "/bed-days",
            json={
                "provider": "RXX",
                "unit": "Oak Unit",
                "period_start": "2025-01-01",
                "period_end": "2025-12-31",
                "bed_days": 1000,
            },
        )
        assert put.status_code == 200
        stats = client.get("/reports/statistics", params=query)
        assert stats.status_code == 200
        total = next(r for r in stats.json()["report"]["rows"] if r["breakdown"] == "total")
        assert total["MHS96_restrictive_interventions_per_1000_bed_days"] == 9  # 9 RIs / 1000
        assert stats.headers["x-report-sha256"] == stats.json()["report_sha256"]

        csv = client.get("/reports/statistics", params=query, headers={"accept": "text/csv"})
        assert csv.headers["content-type"].startswith("text/csv")
        lines = csv.text.splitlines()
        assert lines[0].startswith("# as_of: ")
        assert lines[5].startswith("breakdown,key,label,MHS76_people")
        mhs515 = client.get("/reports/mhsds", params={**query, "format": "csv", "table": "MHS515"})
        assert "RestrictiveIntTypeID" in mhs515.text.splitlines()[5]

        period = {"from_date": "2025-01-01", "to_date": "2025-12-31"}
        bad = client.get("/reports/section6", params={**period, "unit": "Oak"})
        assert bad.status_code == 422
        assert bad.json()["detail"][0]["field"] == "unit"
        assert bad.json()["detail"][0]["rule"] == "provider_required"
        beyond = client.get("/reports/section6", params={**query, "as_of": "nope:0:99"})
        assert beyond.status_code == 409
        assert beyond.json()["detail"][0]["rule"] == "not_yet_applied"

        far = {"on_date": "2040-01-01"}
        due = client.get("/retention/due", params=far).json()["records"]
        assert str(INCIDENT_A) in {r["incident_id"] for r in due}
        hold = client.post(
            "/admin/legal-holds",
            json={"incident_id": str(INCIDENT_A), "reason_code": "coroner", "placed_by": "rp-1"},
        )
        assert hold.status_code == 201
        due = client.get("/retention/due", params=far).json()["records"]
        assert str(INCIDENT_A) not in {r["incident_id"] for r in due}
        assert (
            client.get("/retention/due", params={"on_date": "2030-01-01"}).json()["records"] == []
        )  # 10 years from 2025 not yet reached
        lifted = client.post(
            f"/admin/legal-holds/{hold.json()['hold_id']}/lift", json={"lifted_by": "rp-1"}
        )
        assert lifted.status_code == 200
        due = client.get("/retention/due", params=far).json()["records"]
        assert str(INCIDENT_A) in {r["incident_id"] for r in due}


def test_a_regulator_without_identifiable_access_gets_section6_without_direct_identifiers(
    own: ReportingServiceSettings, consumer: TransactionalConsumer
) -> None:
    catch_up(consumer, ev.produce(own, scenario()))
    query = {"from_date": "2025-01-01", "to_date": "2025-12-31", "provider": "RXX"}
    with TestClient(create_app(own)) as client:
        full = client.get("/reports/section6", params=query, headers=regulator(identifiable=True))
        plain = client.get("/reports/section6", params=query, headers=regulator())
        plain_csv = client.get(
            "/reports/section6", params={**query, "format": "csv"}, headers=regulator()
        )
    assert full.status_code == plain.status_code == plain_csv.status_code == 200
    for personal in ("Test Person", "Jo Staff", "Sam Sample", "Held.", "Calm.", "Talked."):
        assert personal in full.text, personal
        assert personal not in plain.text, personal
        assert personal not in plain_csv.text, personal
    nhs_numbers = [i["s6"]["g_consistent_identifier"] for i in full.json()["report"]["incidents"]]
    assert any(nhs_numbers)
    assert not any(n in plain.text for n in nhs_numbers if n)
    incidents = plain.json()["report"]["incidents"]
    assert len(incidents) == len(full.json()["report"]["incidents"])
    first = incidents[0]
    assert {"e_patient_name", "g_consistent_identifier", "f_description"} <= set(first["withheld"])
    assert first["s6"]["c_force_types"]  # what happened stays: codes, times, completeness
    assert "complete" in first["completeness"]
    # the hash covers what this reader received
    assert plain.headers["x-report-sha256"] == plain.json()["report_sha256"]
    assert plain.json()["report_sha256"] != full.json()["report_sha256"]
    assert plain.json()["provenance"] == full.json()["provenance"]


def test_every_report_is_also_a_printable_pdf_with_the_same_provenance_and_access_rules(
    own: ReportingServiceSettings, consumer: TransactionalConsumer
) -> None:
    catch_up(consumer, ev.produce(own, scenario()))
    query = {"from_date": "2025-01-01", "to_date": "2025-12-31", "provider": "RXX"}
    with TestClient(create_app(own)) as client:
        as_of = client.get("/reports/provenance", headers=regulator()).json()["as_of"]
        # later events: the PDF from the earlier offsets must not change
        catch_up(
            consumer,
            sum(consumer.stored_offsets().values())
            + ev.produce(
                own, ev.incident_stream(ev.uid("later"), ev.incident_fields(ev.person(8)), None)
            ),
        )
        pinned = {**query, "as_of": as_of}
        reader = regulator(identifiable=True)
        for kind in ("section6", "statistics", "concordance", "mhsds"):
            pdf = client.get(f"/reports/{kind}", params={**pinned, "format": "pdf"}, headers=reader)
            assert pdf.status_code == 200, kind
            assert pdf.headers["content-type"] == "application/pdf"
            assert pdf.content.startswith(b"%PDF-1.")
            again = client.get(
                f"/reports/{kind}", params=pinned, headers={**reader, "accept": "application/pdf"}
            )
            assert again.content == pdf.content, kind  # same offsets, same bytes
            document = client.get(f"/reports/{kind}", params=pinned, headers=reader).json()
            text = pdf_text.text(pdf.content)
            for proof in (
                document["report_sha256"],
                document["provenance"]["events_digest"],
                document["provenance"]["merkle_root"],
                document["provenance"]["as_of"].split(",")[0],
            ):
                assert proof in text, (kind, proof)
            pages = pdf_text.page_lines(pdf.content)
            assert len(pages) == pdf_text.page_count(pdf.content)
            assert pages[-1][-2:] == [f"Page {len(pages)} of ", str(len(pages))]

        stats = client.get(
            "/reports/statistics", params={**pinned, "format": "pdf"}, headers=reader
        )
        lines = [line for page in pdf_text.page_lines(stats.content) for line in page]
        prone = lines.index(T("01").label)  # one prone restraint in the scenario
        # people, interventions and incidents under 5: '*'; rates: '-' (bed days not known)
        assert lines[prone - 1 : prone + 5] == ["type", T("01").label, "*", "*", "*", "-"]
        assert "Disclosure control" in lines

        s6_full = client.get(
            "/reports/section6", params={**pinned, "format": "pdf"}, headers=reader
        )
        s6_plain = client.get(
            "/reports/section6", params={**pinned, "format": "pdf"}, headers=regulator()
        )
        full, plain = pdf_text.text(s6_full.content), pdf_text.text(s6_plain.content)
        for personal in ("Test Person 1", "Jo Staff", "Sam Sample", "9990000018"):
            assert personal in full, personal
            assert personal not in plain, personal
        assert "withheld" in plain

        other = client.get(
            "/reports/statistics", params={**query, "format": "pdf"}, headers=governance("RYY")
        )
        assert other.status_code == 403
        assert (
            client.get("/reports/statistics", params={**query, "format": "pdf"}).status_code == 401
        )
        log = client.get(
            "/access-log", params={"subject": "cqc-1"}, headers=bearer("governance", provider="RXX")
        )
        assert any(r["query"].get("format") == "pdf" for r in log.json())


def test_another_event_at_a_taken_place_in_a_stream_is_refused_and_the_batch_goes_on(
    own: ReportingServiceSettings, pool: ConnectionPool, consumer: TransactionalConsumer
) -> None:
    taken = ev.incident_stream(ev.uid("taken"), ev.incident_fields(ev.person(1)), None)
    produced = ev.produce(own, taken)
    catch_up(consumer, produced)
    # in one batch: a different first event of the same stream, a true redelivery, a new one
    impostor = ev.incident_stream(ev.uid("taken"), ev.incident_fields(ev.person(2)), None)[:1]
    fresh = ev.incident_stream(ev.uid("fresh"), ev.incident_fields(ev.person(3)), None)
    assert impostor[0].hash != taken[0].hash
    produced += ev.produce(own, [*impostor, taken[0], *fresh])
    catch_up(consumer, produced)

    with pool.connection() as conn:
        rejected = conn.execute("SELECT field, rule FROM rs_rejected").fetchall()
        stored = conn.execute(
            "SELECT event_hash FROM rs_stream_events WHERE stream_id = %s AND stream_version = 1",
            (ev.uid("taken"),),
        ).fetchone()
        people = conn.execute(
            "SELECT incident_id, person_id FROM rs_incident_versions ORDER BY incident_id"
        ).fetchall()
    assert rejected == [("stream_version", "conflicting_duplicate")]
    assert stored == (taken[0].hash,)  # the first event keeps its place
    assert {i for i, _ in people} == {ev.uid("taken"), ev.uid("fresh")}
    assert len(people) == len(taken) + len(fresh)  # nothing applied twice


def _provenance_by_definition(pool: ConnectionPool, as_of: AsOf) -> tuple[int, int, str, str]:
    """Every stored row in log order, each event once at its first copy: what the stored leaf
    digests and `repeat` marks stand in for."""
    rows: list[tuple[str, str]] = []
    with pool.connection() as conn:
        for topic, partition, end in as_of.ends:
            rows += conn.execute(
                "SELECT event_id::text, event_hash FROM rs_events WHERE topic = %s AND "
                'partition = %s AND "offset" < %s ORDER BY "offset"',
                (topic, partition, end),
            ).fetchall()
    firsts = provenance.first_copies([r[0] for r in rows], [r[1] for r in rows])
    digest = provenance.events_digest(firsts)
    return len(firsts), len(rows) - len(firsts), digest, merkle_root(firsts)


def _provenance(pool: ConnectionPool, as_of: AsOf) -> tuple[int, int, str, str]:
    with pool.connection() as conn, conn.cursor() as cur:
        p = provenance.compute(cur, as_of)
    return p.events, p.redeliveries_skipped, p.events_digest, p.merkle_root


def test_stored_leaves_and_repeat_marks_give_the_provenance_of_the_definition(
    own: ReportingServiceSettings, pool: ConnectionPool, consumer: TransactionalConsumer
) -> None:
    first_batch = scenario()
    produced = ev.produce(own, first_batch)
    catch_up(consumer, produced)
    with pool.connection() as conn:
        applied = provenance.stored_offsets(conn.cursor())
        stored = conn.execute("SELECT event_hash, leaf, repeat FROM rs_events").fetchall()
    assert len(stored) == len(first_batch)
    assert all(leaf == leaf_hash(h) and repeat is False for h, leaf, repeat in stored)
    halves = AsOf.of({(t, p): o // 2 for t, p, o in applied.ends})
    for as_of in (applied, halves):
        assert _provenance(pool, as_of) == _provenance_by_definition(pool, as_of)

    # a redelivery of the first half of the events: marked as repeats, counted once
    produced += ev.produce(own, first_batch[: len(first_batch) // 2])
    catch_up(consumer, produced)
    with pool.connection() as conn:
        after = provenance.stored_offsets(conn.cursor())
        marks = conn.execute(
            'SELECT topic, partition, "offset", repeat FROM rs_events ORDER BY 1, 2, 3'
        ).fetchall()
    assert sum(1 for *_, repeat in marks if repeat) == len(first_batch) // 2
    expected = _provenance_by_definition(pool, after)
    assert expected[1] == len(first_batch) // 2
    assert _provenance(pool, after) == expected
    assert _provenance(pool, applied) == _provenance_by_definition(pool, applied)

    # rows from before the columns existed: the definition applies, and the schema fills them
    with pool.connection() as conn:
        conn.execute("UPDATE rs_events SET leaf = NULL, repeat = NULL")
    assert _provenance(pool, after) == expected
    with pool.connection() as conn:
        apply_schema(conn, f"projection:{NAME}", DDL)
        filled = conn.execute(
            'SELECT topic, partition, "offset", repeat FROM rs_events ORDER BY 1, 2, 3'
        ).fetchall()
        leaves = conn.execute("SELECT event_hash, leaf FROM rs_events").fetchall()
    assert filled == marks
    assert all(leaf == leaf_hash(h) for h, leaf in leaves)
    assert _provenance(pool, after) == expected
