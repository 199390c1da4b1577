"""Printable PDF of a report document: A4, a running header, `Page n of N`, table headings
repeated on every page a table spans, and the same provenance block as JSON and CSV.

The PDF is drawn from the finished document (`reports.Built`) only, so it shows exactly what the
JSON shows to the same reader: a reader without identifiable access gets a document whose names,
NHS numbers and narratives are already null. Regenerating from the same offsets gives the same
bytes: the creation date is pinned (a report has no clock; its provenance names offsets), the
file identifier is a hash of the content, and only the PDF core fonts are used, so no installed
font file can change the output.

The core fonts cover Windows-1252 (Latin-1 with dashes and quotes). Other characters are shown
as their closest letter there where Unicode gives one (accents dropped) or as `?`; the first
page says so, and the JSON stays the authoritative text.

This module must never read the clock or any file.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from fpdf import FPDF
from fpdf.fonts import FontFace

TITLES = {
    "section6": "Section 6 record of the use of force",
    "statistics": "Restrictive intervention statistics",
    "concordance": "Use of force against the plan in force",
    "mhsds": "MHSDS extract: MHS505 and MHS515",
}
ACT = "Mental Health Units (Use of Force) Act 2018"
FONT = "helvetica"
ENCODING = "cp1252"  # the core fonts' WinAnsiEncoding: Latin-1 plus dashes, quotes, euro
# fpdf2 always writes a CreationDate and would take the clock; a report has no clock (its
# provenance names offsets, not times), so the date is pinned to the Unix epoch.
NO_CLOCK = datetime(1970, 1, 1, tzinfo=UTC)
HEADINGS = FontFace(emphasis="BOLD", fill_color=(225, 225, 225))
UNICODE_NOTE = (
    "Characters outside Windows-1252 are printed without accents or as '?'; the JSON of the same "
    "report is the authoritative text."
)


def printable(text: str) -> str:
    """`text` in the core fonts' Windows-1252: accents dropped where that fits, else `?`."""
    try:
        text.encode(ENCODING)
        return text
    except UnicodeEncodeError:
        pass
    out = []
    for char in text:
        if _fits(char):
            out.append(char)
            continue
        base = "".join(
            c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
        )
        out.append(base if base and _fits(base) else "?")
    return "".join(out)


def _fits(text: str) -> bool:
    try:
        text.encode(ENCODING)
    except UnicodeEncodeError:
        return False
    return True


def cell_text(value: Any) -> str:
    """One value as table text: nested objects as `name: value` lines, lists one item a line."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return "\n".join(f"{k}: {_inline(v)}" for k, v in value.items() if v not in (None, []))
    if isinstance(value, list):
        return "\n".join(_inline(v) for v in value) if value else "none"
    return printable(str(value))


def _inline(value: Any) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_inline(v)}" for k, v in value.items() if v not in (None, []))
    if isinstance(value, list):
        return ", ".join(_inline(v) for v in value) if value else "none"
    return cell_text(value)


CELL_CHARS = 2_500  # a table row never splits across pages: long text goes on in the next row
CELL_LINES = 40


def _chunks(text: str) -> list[str]:
    """`text` in pieces of at most `CELL_CHARS` characters and `CELL_LINES` lines, cut at a line
    break or a space where there is one (a narrative may hold 20,000 characters)."""
    lines: list[str] = []
    for line in text.split("\n"):
        while len(line) > CELL_CHARS:
            cut = line.rfind(" ", 0, CELL_CHARS)
            cut = cut if cut > CELL_CHARS // 2 else CELL_CHARS
            lines.append(line[:cut])
            line = line[cut:].lstrip(" ")
        lines.append(line)
    out: list[list[str]] = [[]]
    for line in lines:
        size = sum(len(x) + 1 for x in out[-1])
        if out[-1] and (len(out[-1]) >= CELL_LINES or size + len(line) > CELL_CHARS):
            out.append([])
        out[-1].append(line)
    return ["\n".join(chunk) for chunk in out]


class ReportPDF(FPDF):
    """A4 with a one-line running header (report, scope, period) and a page footer."""

    def __init__(self, heading: str, digest: str, landscape: bool) -> None:
        super().__init__(orientation="L" if landscape else "P", unit="mm", format="A4")
        self.heading = printable(heading)
        self.digest = digest
        self.set_creation_date(NO_CLOCK)
        self.core_fonts_encoding = ENCODING
        self.set_auto_page_break(auto=True, margin=15)
        self.set_margins(12, 12, 12)
        self.set_title(self.heading)
        self.set_creator("safetyplan reporting_service")
        self.set_producer("fpdf2")

    def header(self) -> None:
        self.set_font(FONT, "", 7)
        self.set_text_color(90, 90, 90)
        self.cell(0, 4, self.heading, new_x="LMARGIN", new_y="NEXT")
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(2)
        self.set_text_color(0, 0, 0)

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font(FONT, "", 7)
        self.set_text_color(90, 90, 90)
        self.cell(0, 4, f"report {self.digest}", align="L")
        self.set_x(self.l_margin)
        self.cell(0, 4, f"Page {self.page_no()} of {{nb}}", align="R")
        self.set_text_color(0, 0, 0)

    def title_block(self, title: str, lines: Iterable[str]) -> None:
        self.set_font(FONT, "B", 14)
        self.multi_cell(0, 7, printable(title), new_x="LMARGIN", new_y="NEXT")
        self.set_font(FONT, "", 9)
        for line in lines:
            self.multi_cell(0, 5, printable(line), new_x="LMARGIN", new_y="NEXT")
        self.ln(2)

    def subheading(self, text: str) -> None:
        if self.will_page_break(20):
            self.add_page()
        self.set_font(FONT, "B", 10)
        self.multi_cell(0, 6, printable(text), new_x="LMARGIN", new_y="NEXT")
        self.set_font(FONT, "", 8)

    def paragraph(self, text: str, size: float = 8) -> None:
        self.set_font(FONT, "", size)
        self.multi_cell(0, 4, printable(text), new_x="LMARGIN", new_y="NEXT")
        self.ln(1)

    def grid(
        self,
        headings: Sequence[str],
        rows: Iterable[Sequence[Any]],
        widths: Sequence[float],
        size: float = 7,
    ) -> None:
        """A table whose headings are printed again at the top of every page it spans."""
        self.set_font(FONT, "", size)
        with self.table(
            col_widths=tuple(widths),
            headings_style=HEADINGS,
            line_height=size * 0.5,
            text_align="LEFT",
            repeat_headings=1,
        ) as table:
            head = table.row()
            for h in headings:
                head.cell(printable(h))
            for values in rows:
                pieces = [_chunks(cell_text(v)) for v in values]
                for n in range(max(len(p) for p in pieces)):
                    row = table.row()
                    for column, chunks in enumerate(pieces):
                        if column == 0 and n > 0:
                            row.cell(f"{chunks[0]} (continued)")
                        else:
                            row.cell(chunks[n] if n < len(chunks) else "")
        self.ln(3)


def _provenance(pdf: ReportPDF, document: dict[str, Any]) -> None:
    prov = document["provenance"]
    pdf.subheading("Provenance: the events this report was computed from")
    pdf.grid(
        ("item", "value"),
        [
            ("report_sha256", document["report_sha256"]),
            ("events", prov["events"]),
            ("events_digest", prov["events_digest"]),
            ("merkle_root", prov["merkle_root"]),
            ("redeliveries_skipped", prov["redeliveries_skipped"]),
            ("rejected records", len(prov["rejected"])),
            ("leaf order", prov["leaf_order"]),
            ("as_of", prov["as_of"].replace(",", ", ") or "-"),
        ],
        (35, 155),
    )
    pdf.grid(
        ("topic", "partition", "from offset", "to offset (exclusive)"),
        [
            (r["topic"], r["partition"], r["from_offset"], r["to_offset_exclusive"])
            for r in prov["ranges"]
        ],
        (85, 25, 35, 45),
    )
    if prov["rejected"]:
        pdf.grid(
            ("topic", "partition", "offset", "field", "rule"),
            [
                (r["topic"], r["partition"], r["offset"], r["field"], r["rule"])
                for r in prov["rejected"]
            ],
            (60, 20, 25, 45, 40),
        )
    pdf.paragraph(
        "To check: read these offset ranges, recompute the digest and the Merkle root over the "
        "events' hashes in the leaf order, and request the report again with as_of set to the "
        "token above; the same offsets give the same bytes (JSON, CSV and this PDF)."
    )


STATISTICS_COLUMNS = (
    ("breakdown", "breakdown", 22),
    ("label", "group", 34),
    ("MHS76_people", "people (MHS76)", 14),
    ("MHS77_restrictive_interventions", "restrictive interventions (MHS77)", 18),
    ("MHS136_incidents", "incidents (MHS136)", 15),
    ("MHS96_restrictive_interventions_per_1000_bed_days", "MHS96 per 1,000 bed days", 16),
    ("people_per_1000_bed_days", "people per 1,000 bed days", 16),
    ("incidents_per_1000_bed_days", "incidents per 1,000 bed days", 16),
    ("average_minutes", "average minutes", 13),
    ("median_minutes", "median minutes", 13),
    ("maximum_minutes", "maximum minutes", 13),
)


BREAKDOWN_LABELS = {
    "total": "total",
    "restrictive_intervention_type": "type",
    "reason": "reason",
    "patient_injury": "patient injury",
    "length_of_restraint": "length",
    "age_group": "age group",
    "gender": "gender",
    "ethnicity": "ethnicity",
}


def _statistics_cells(row: dict[str, Any]) -> list[Any]:
    cells = [row[c[0]] for c in STATISTICS_COLUMNS]
    cells[0] = BREAKDOWN_LABELS.get(row["breakdown"], row["breakdown"])
    return cells


def _statistics(pdf: ReportPDF, report: dict[str, Any]) -> None:
    beds = report["bed_days"]
    pdf.subheading("Disclosure control")
    for name, rule in report["rules"].items():
        pdf.paragraph(f"{name}: {rule}")
    pdf.paragraph(
        "Bed days: "
        + (
            f"{beds['total']:,} from {len(beds['inputs'])} input(s)"
            if beds["known"]
            else "not known"
        )
    )
    pdf.subheading("Statistics")
    pdf.grid(
        [c[1] for c in STATISTICS_COLUMNS],
        (_statistics_cells(row) for row in report["rows"]),
        [c[2] for c in STATISTICS_COLUMNS],
        size=6.5,
    )
    if beds["inputs"]:
        pdf.subheading("Bed days used")
        pdf.grid(
            ("provider", "unit", "period start", "period end", "bed days"),
            (
                (b["provider"], b["unit"], b["period_start"], b["period_end"], b["bed_days"])
                for b in beds["inputs"]
            ),
            (25, 70, 30, 30, 35),
        )


S6_LABELS = {
    "a_reason": "(a) reason",
    "b_place": "(b) place",
    "b_started_at": "(b) started",
    "b_ended_at": "(b) ended",
    "b_duration_minutes": "(b) duration, minutes",
    "c_force_types": "(c) force used",
    "d_part_of_care_plan": "(d) part of care plan",
    "e_patient_name": "(e) patient's name",
    "f_description": "(f) description",
    "g_consistent_identifier": "(g) NHS number",
    "h_staff": "(h) staff involved",
    "i_non_staff": "(i) others involved",
    "j_mental_disorders": "(j) mental disorders",
    "k_relevant_characteristics": "(k) relevant characteristics",
    "l_learning_disability": "(l) learning disability",
    "l_autism": "(l) autism",
    "m_outcome": "(m) outcome",
    "n_patient_died": "(n) patient died",
    "n_patient_serious_injury": "(n) serious injury",
    "n_injuries": "(n) injuries",
    "o_efforts_to_avoid_force": "(o) efforts to avoid force",
    "o_no_efforts_reason": "(o) why no efforts",
    "p_notifications": "(p) notifications",
    "p_notification_not_sent_reason": "(p) why not notified",
    "negligible_claimed": "negligible force claimed",
}


def _section6(pdf: ReportPDF, report: dict[str, Any]) -> None:
    summary = report["summary"]
    pdf.paragraph(
        f"{summary['incidents']} incident(s), {summary['complete']} complete, "
        f"{summary['amended']} amended. Amendments are applied; each is listed below its record."
    )
    for item in report["incidents"]:
        done = item["completeness"]
        pdf.subheading(f"Incident {item['incident_id']} (record version {item['record_version']})")
        withheld = set(item.get("withheld", ()))
        rows: list[tuple[str, Any]] = [("record made", item["record_made_at"])]
        for key, label in S6_LABELS.items():
            value = item["s6"].get(key)
            rows.append((label, "withheld" if key in withheld else value))
        rows.append(("complete", done["complete"]))
        rows.append(
            ("missing", [f"({m['item']}) {m['field']}: {m['rule']}" for m in done["missing"]])
        )
        rows.append(("not known", [f"({m['item']}) {m['field']}" for m in done["not_known"]]))
        rows.append(("amended fields", item["amended_fields"]))
        for a in item["amendments"]:
            rows.append(
                (
                    f"amendment {a['amendment_number']}",
                    {
                        "recorded_at": a["recorded_at"],
                        "by role": a["actor_role"],
                        "reason": a["reason"],
                        "changes": a["changes"],
                    },
                )
            )
        if withheld:
            rows.append(("withheld", sorted(withheld)))
        pdf.grid(("item", "value"), rows, (45, 145))


CONCORDANCE_HEADINGS = {
    "incident_id": "incident",
    "started_at": "started",
    "plan_id": "plan",
    "plan_version_in_force": "version in force",
    "plan_version_found": "version in log",
    "force_type": "type",
    "force_type_label": "type label",
    "plan_preference": "plan preference",
    "in_plan": "in plan",
    "person_did_not_want": "person did not want",
    "recorded_as_part_of_care_plan": "recorded as in plan",
    "recorded_matches_plan": "recorded matches plan",
    "notification_followed": "notification as planned",
    "pi_review_held_with_patient": "PI review with patient",
    "pi_review_days_after": "PI review days after",
    "plan_reviewed_after": "plan reviewed after",
    "plan_review_linked": "review linked",
    "plan_review_days_after": "plan review days after",
}
CONCORDANCE_WIDTHS = (27, 18, 27, 12, 11, 9, 28, 17, 10, 12, 13, 13, 14, 14, 12, 12, 11, 13)


def _concordance(pdf: ReportPDF, rows: list[dict[str, Any]]) -> None:
    pdf.subheading("Each force type used, against the plan version in force")
    columns = list(CONCORDANCE_HEADINGS)
    pdf.grid(
        [CONCORDANCE_HEADINGS[c] for c in columns],
        ([r.get(c) for c in columns] for r in rows),
        CONCORDANCE_WIDTHS,
        size=5.5,
    )


def _mhsds(pdf: ReportPDF, report: dict[str, Any], tables: Mapping[str, Sequence[str]]) -> None:
    for name, fields in tables.items():
        pdf.subheading(name)
        width = (pdf.w - pdf.l_margin - pdf.r_margin) / len(fields)
        pdf.grid(
            fields,
            ([row.get(f) for f in fields] for row in report[name]),
            [width] * len(fields),
            size=5.5,
        )


def render(
    document: dict[str, Any],
    kind: str,
    concordance_rows: list[dict[str, Any]] | None = None,
    mhsds_tables: Mapping[str, Sequence[str]] | None = None,
) -> bytes:
    """The PDF bytes of one report document; deterministic for the same document."""
    report = document["report"]
    scope, period = report["scope"], report["period"]
    where = {"all": "all providers", "provider": f"provider {scope['provider']}"}.get(
        scope["level"], f"provider {scope['provider']}, unit {scope['unit']}"
    )
    when = f"{period['from_date']} to {period['to_date']} ({period['dates']})"
    pdf = ReportPDF(
        f"{TITLES[kind]} - {where} - {period['from_date']} to {period['to_date']}",
        document["report_sha256"],
        landscape=kind in ("concordance", "mhsds"),
    )
    pdf.add_page()
    pdf.title_block(TITLES[kind], (ACT, f"Scope: {where}", f"Period: {when}", UNICODE_NOTE))
    _provenance(pdf, document)
    if kind == "statistics":
        _statistics(pdf, report)
    elif kind == "section6":
        _section6(pdf, report)
    elif kind == "concordance":
        _concordance(pdf, concordance_rows or [])
    else:
        _mhsds(pdf, report, mhsds_tables or {})
    return bytes(pdf.output())
