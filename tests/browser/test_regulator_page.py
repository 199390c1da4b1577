"""The regulator's page in headless Chromium: choose period and unit, read the disclosure-
controlled statistics, s.6 completeness and plan concordance, and download each report as CSV,
JSON and PDF — every download from the offsets the page shows, with the same digest, Merkle
root and report hash, and a root the audit_service computes independently over those offsets."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import httpx
from playwright.sync_api import BrowserContext, Page, expect

from contracts.canonical import canonical_bytes
from tests import pdf_text
from tests.auth_tokens import bearer, token
from tests.browser import scenario
from tests.browser.helpers import Services, login, shoot

CHOICE = {"from_date": "2025-01-01", "to_date": "2025-12-31", "provider": "RXX", "unit": "Oak Unit"}
KINDS = ("statistics", "section6", "concordance")


def choose(page: Page) -> None:
    page.get_by_label("From (local date)").fill(CHOICE["from_date"])
    page.get_by_label("To (included)").fill(CHOICE["to_date"])
    page.get_by_label("Provider ODS code").fill(CHOICE["provider"])
    page.get_by_label("Unit").fill(CHOICE["unit"])
    page.get_by_role("button", name="Show reports").click()
    page.wait_for_url("**/regulator?from_date=2025-01-01&to_date=2025-12-31&provider=RXX&unit=**")


def shown(page: Page, kind: str) -> dict[str, str]:
    box = page.locator(f"#provenance-{kind}")
    return {
        name: box.locator(f"code.{name.replace('_', '-')}").inner_text()
        for name in ("as_of", "events_digest", "merkle_root", "report_sha256")
    }


def download(page: Page, kind: str, fmt: str, folder: Path) -> bytes:
    with page.expect_download() as info:
        page.locator(f"#download-{kind}-{fmt}").click()
    target = folder / info.value.suggested_filename
    info.value.save_as(target)
    return target.read_bytes()


def test_a_regulator_reads_the_reports_and_downloads_each_with_its_provenance(
    services: Services, new_context: Callable[[], BrowserContext], tmp_path: Path
) -> None:
    page = login(new_context(), services.reporting, "regulator", subject="cqc-1")
    page.wait_for_url("**/regulator")
    choose(page)

    api = httpx.get(
        f"{services.reporting}/reports/statistics",
        params=CHOICE,
        headers=bearer("regulator", subject="cqc-api"),
    ).json()
    total = next(r for r in api["report"]["rows"] if r["breakdown"] == "total")
    row = (
        page.locator("#statistics-table tbody tr")
        .filter(has=page.get_by_role("rowheader", name=total["label"], exact=True))
        .first
    )
    texts = row.locator("td").all_inner_texts()
    assert texts[1:4] == [
        str(total[k])
        for k in ("MHS76_people", "MHS77_restrictive_interventions", "MHS136_incidents")
    ]
    assert texts[1] == "5"  # seven people, published to the nearest five
    suppressed = page.locator("#statistics-table td.num", has_text="*")
    assert suppressed.count() > 0  # small counts are shown as '*'
    expect(page.locator("#s6-incidents")).to_have_text("7")
    expect(page.locator("#section6-table tbody tr")).to_have_count(7)
    expect(page.locator("#did-not-want")).to_have_text("1")  # prone restraint, not wanted
    conc = page.locator("#concordance-table tbody tr").filter(has_text=str(scenario.INCIDENT_A))
    expect(conc.first).to_contain_text("v1")
    for personal in ("Test Person", "Jo Staff", "Sam Sample", "9990000018"):
        assert personal not in page.content(), personal
    shoot(page, "regulator-page")

    pages = {kind: shown(page, kind) for kind in KINDS}
    as_of = pages["statistics"]["as_of"]
    assert all(p["as_of"] == as_of for p in pages.values())  # one part of the log for all
    audit_root = httpx.get(
        f"{services.audit}/integrity/merkle-root",
        params={"upto": as_of.split(",")},
        headers=bearer("admin", subject="ops-api"),
    ).json()
    for kind in KINDS:
        expected = pages[kind]
        assert expected["merkle_root"] == audit_root["root"]  # computed independently

        document = json.loads(download(page, kind, "json", tmp_path))
        assert document["report_sha256"] == expected["report_sha256"]
        assert (
            "sha256:" + hashlib.sha256(canonical_bytes(document["report"])).hexdigest()
            == (expected["report_sha256"])
        )
        prov = document["provenance"]
        assert (prov["as_of"], prov["events_digest"], prov["merkle_root"]) == (
            as_of,
            expected["events_digest"],
            expected["merkle_root"],
        )

        csv = download(page, kind, "csv", tmp_path).decode()
        head = dict(line[2:].split(": ", 1) for line in csv.splitlines() if line.startswith("# "))
        assert head == {
            "as_of": as_of,
            "events": str(prov["events"]),
            "events_digest": expected["events_digest"],
            "merkle_root": expected["merkle_root"],
            "report_sha256": expected["report_sha256"],
        }
        assert "Test Person" not in csv

        pdf = download(page, kind, "pdf", tmp_path)
        assert pdf.startswith(b"%PDF-")
        text = pdf_text.text(pdf)
        for proof in ("report_sha256", "events_digest", "merkle_root"):
            assert expected[proof] in text, (kind, proof)
        assert "Test Person" not in text

    log = httpx.get(
        f"{services.reporting}/access-log",
        params={"subject": "cqc-1"},
        headers=bearer("admin", subject="ops-api"),
    ).json()
    reads = {(r["route"], r["resource_id"], r["purpose"]) for r in log}
    assert ("/regulator", None, "regulatory_oversight") in reads
    for kind in KINDS:  # every download is a logged read too
        assert ("/regulator/reports/{kind}", kind, "regulatory_oversight") in reads


def test_an_identifiable_regulator_sees_names_and_other_roles_see_no_report_page(
    services: Services, new_context: Callable[[], BrowserContext], tmp_path: Path
) -> None:
    page = login(new_context(), services.reporting, "regulator", subject="cqc-2", identifiable=True)
    choose(page)
    expect(page.locator("#section6-table")).to_contain_text("Test Person 1")
    assert "Test Person 1" in download(page, "section6", "csv", tmp_path).decode()
    shoot(page, "regulator-page-identifiable")

    for roles, claims in [
        (("governance",), {"provider": "RXX"}),
        (("clinician",), {"units": ["Oak Unit"]}),
        (("clinical_app",), {"system": "ward_app"}),
        (("admin",), {}),
    ]:
        other = login(new_context(), services.reporting, *roles, subject="someone", **claims)
        paths = ["/regulator"]
        if roles == ("governance",):  # the downloads are closed as well
            paths.append("/regulator/reports/statistics?format=csv")
        for path in paths:
            response = other.goto(f"{services.reporting}{path}")
            assert response is not None
            assert response.status == 403, (roles, path)
            expect(other.get_by_role("heading", level=1)).to_have_text("Not allowed")
        if roles == ("governance",):
            shoot(other, "regulator-page-403")


def test_the_session_cookie_opens_pages_only_and_login_needs_the_csrf_token(
    services: Services, new_context: Callable[[], BrowserContext]
) -> None:
    context = new_context()
    login(context, services.reporting, "regulator", subject="cqc-3")
    cookie = next(c for c in context.cookies() if c["name"] == "safetyplan_session")
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Strict"
    assert not cookie["secure"]  # reached on loopback; Secure on any other host
    query = "from_date=2025-01-01&to_date=2025-12-31"
    page_route = context.request.get(f"{services.reporting}/regulator/reports/statistics?{query}")
    assert page_route.status == 200
    api_route = context.request.get(f"{services.reporting}/reports/statistics?{query}")
    assert api_route.status == 401  # the API ignores the cookie: bearer only
    assert api_route.headers["www-authenticate"].startswith("Bearer")

    fresh = new_context()
    page = fresh.new_page()
    page.goto(f"{services.reporting}/login")
    forged = fresh.request.post(
        f"{services.reporting}/login",
        form={"token": "x", "csrf": "not-the-cookie-value-" * 3, "next": ""},
        max_redirects=0,
    )
    assert forged.status == 403
    page.get_by_label("Access token").fill("not.a.token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Not signed in")
    assert not [c for c in fresh.cookies() if c["name"] == "safetyplan_session"]
    shoot(page, "login-refused")

    page.goto(f"{services.reporting}/login?next=%2F%2Fevil.example%2F")  # off-site: ignored
    page.get_by_label("Access token").fill(token("regulator", subject="cqc-4"))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{services.reporting}/regulator")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{services.reporting}/login")
    assert not [c for c in fresh.cookies() if c["name"] == "safetyplan_session"]

    response = page.goto(f"{services.audit}/dashboard")
    assert response is not None
    assert "/login?next=" in page.url  # not signed in: to the login page
    shoot(page, "login")
