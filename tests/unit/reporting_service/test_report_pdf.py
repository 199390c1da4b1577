"""The printable report: A4 pages numbered `n of N`, table headings on every page, the
provenance block, suppressed cells as `*`, and the same bytes for the same document."""

from __future__ import annotations

import copy
import re
from typing import Any

from services.reporting_service import report_pdf
from tests import pdf_text

A4_PORTRAIT = (595.28, 841.89)


def statistics_document(rows: int) -> dict[str, Any]:
    row = {
        "breakdown": "restrictive_intervention_type",
        "key": "01",
        "label": "Physical restraint - Prone",
        "MHS76_people": "*",
        "MHS77_restrictive_interventions": 15,
        "MHS136_incidents": 10,
        "MHS96_restrictive_interventions_per_1000_bed_days": "*",
        "people_per_1000_bed_days": "*",
        "incidents_per_1000_bed_days": 12,
        "average_minutes": "4.5",
        "median_minutes": "3.0",
        "maximum_minutes": "11.0",
    }
    return {
        "report": {
            "kind": "statistics",
            "scope": {"level": "provider", "provider": "RXX", "unit": None},
            "period": {"from_date": "2025-01-01", "to_date": "2025-12-31", "dates": "local"},
            "bed_days": {"known": True, "total": 800, "inputs": []},
            "rows": [{**row, "label": f"Group {n}"} for n in range(rows)],
            "rules": {"counts": "under 5 shown as '*'; otherwise round(value/5)*5, half up"},
        },
        "provenance": {
            "as_of": "useofforce.events:0:41,safetyplan.events:0:17",
            "ranges": [
                {
                    "topic": "safetyplan.events",
                    "partition": 0,
                    "from_offset": 0,
                    "to_offset_exclusive": 17,
                },
                {
                    "topic": "useofforce.events",
                    "partition": 0,
                    "from_offset": 0,
                    "to_offset_exclusive": 41,
                },
            ],
            "events": 58,
            "redeliveries_skipped": 2,
            "rejected": [],
            "events_digest": "sha256:" + "a" * 64,
            "merkle_root": "sha256:" + "b" * 64,
            "leaf_order": "topic, partition, offset; each event_id once",
        },
        "report_sha256": "sha256:" + "c" * 64,
    }


def test_the_same_document_gives_the_same_bytes_and_a_different_one_does_not() -> None:
    document = statistics_document(3)
    first = report_pdf.render(document, "statistics")
    assert first.startswith(b"%PDF-")
    assert report_pdf.render(copy.deepcopy(document), "statistics") == first
    assert b"/CreationDate (D:19700101000000Z)" in first  # pinned, not the clock
    changed = copy.deepcopy(document)
    changed["report"]["rows"][0]["MHS136_incidents"] = 15
    assert report_pdf.render(changed, "statistics") != first


def test_a_long_table_repeats_its_headings_and_every_page_is_numbered_and_a4() -> None:
    pdf = report_pdf.render(statistics_document(150), "statistics")
    pages = pdf_text.page_lines(pdf)
    count = pdf_text.page_count(pdf)
    assert count >= 3
    assert len(pages) == count
    sizes = {
        tuple(float(v) for v in m) for m in re.findall(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf)
    }
    assert sizes == {A4_PORTRAIT}
    for number, lines in enumerate(pages, start=1):
        footer = " ".join(lines[-3:])
        assert f"Page {number} of" in footer
        assert footer.endswith(str(count))
    for lines in pages[1:]:  # the statistics table spans every later page
        assert lines[1:3] == ["breakdown", "group"]


def test_statistics_show_suppressed_cells_as_stars_the_rules_and_the_provenance() -> None:
    document = statistics_document(1)
    text = pdf_text.text(report_pdf.render(document, "statistics"))
    lines = pdf_text.page_lines(report_pdf.render(document, "statistics"))[0]
    row = lines[lines.index("Group 0") - 1 :]
    assert row[:12] == [
        "type",
        "Group 0",
        "*",
        "15",
        "10",
        "*",
        "*",
        "12",
        "4.5",
        "3.0",
        "11.0",
        "report " + document["report_sha256"],
    ]
    assert "counts: under 5 shown as '*'; otherwise round(value/5)*5, half up" in text
    for value in ("a" * 64, "b" * 64, "c" * 64, "useofforce.events:0:41, safetyplan.events:0:17"):
        assert value in text
    assert "Bed days: 800 from 0 input(s)" in text


def test_text_outside_latin1_is_printed_without_accents_or_as_a_question_mark() -> None:
    assert report_pdf.printable("Zoë O'Brien") == "Zoë O'Brien"  # Latin-1 already
    assert report_pdf.printable("Łukasz Żółć") == "?ukasz Zó?c"
    assert report_pdf.printable("Ngô Bảo Châu") == "Ngô Bao Châu"
    assert report_pdf.printable("李雷") == "??"
    assert report_pdf.cell_text({"a": None, "b": [1, 2], "c": True}) == "b: 1, 2\nc: yes"
    assert report_pdf.cell_text([]) == "none"
    assert report_pdf.cell_text(None) == "-"


def section6_document(description: str | None, withheld: bool) -> dict[str, Any]:
    entry = {
        "incident_id": "0c8f4c1e-0000-4e43-9a64-7e2d3f0a9b11",
        "record_version": 2,
        "record_made_at": "2025-02-10T14:05:00.000000Z",
        "s6": {
            "a_reason": {"code": "17", "label": "Prevent harm", "detail": None},
            "e_patient_name": None if withheld else "Łukasz Example",
            "f_description": description,
            "h_staff": [{"name": None if withheld else "Jo Staff", "job_title": "Nurse"}],
        },
        "completeness": {
            "complete": False,
            "missing": [{"item": "g", "field": "patient.nhs_number", "rule": "required"}],
            "not_known": [{"item": "j", "field": "mental_disorders", "rule": "if_known"}],
        },
        "amended_fields": ["location_detail"],
        "amendments": [
            {
                "amendment_number": 1,
                "recorded_at": "2025-02-11T09:00:00.000000Z",
                "actor_role": "ward_manager",
                "reason": None,
                "changes": [{"path": "location_detail"}],
            }
        ],
    }
    if withheld:
        entry["withheld"] = ["e_patient_name", "f_description", "h_staff[].name"]
    document = statistics_document(0)
    document["report"] = {
        "kind": "section6",
        "scope": document["report"]["scope"],
        "period": document["report"]["period"],
        "summary": {"incidents": 1, "complete": 0, "amended": 1},
        "incidents": [entry],
    }
    return document


def test_a_narrative_longer_than_a_page_goes_on_in_continued_rows() -> None:
    words = [f"w{n}" for n in range(3_000)]  # about 17,000 characters, as a narrative may be
    pdf = report_pdf.render(section6_document(" ".join(words), withheld=False), "section6")
    lines = [line for page in pdf_text.page_lines(pdf) for line in page]
    printed = " ".join(lines).split()
    assert [w for w in printed if re.fullmatch(r"w\d+", w)] == words  # all of it, in order
    assert "(f) description (continued)" in lines
    assert "?ukasz Example" in lines  # outside Windows-1252: Ł has no base letter there
    assert "(g) patient.nhs_number: required" in lines


def test_withheld_items_say_so_and_carry_no_value() -> None:
    text = pdf_text.text(report_pdf.render(section6_document(None, withheld=True), "section6"))
    assert "Example" not in text
    assert "Jo Staff" not in text
    assert "withheld" in text.split("\n")


def test_wide_reports_are_landscape_a4() -> None:
    document = statistics_document(0)
    document["report"] = {**document["report"], "kind": "mhsds", "MHS505": [{"A": "1"}]}
    pdf = report_pdf.render(document, "mhsds", mhsds_tables={"MHS505": ("A",)})
    boxes = set(re.findall(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf))
    assert boxes == {(b"841.89", b"595.28")}
