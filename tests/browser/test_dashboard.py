"""The governance dashboard in headless Chromium: governance sees its provider's involvement by
month, drills down to a unit and follows a plan's timeline; admin sees log integrity only;
clinicians, clinical apps and regulators see a 403 page; every page read is in the access log."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
from playwright.sync_api import BrowserContext, Page, expect

from tests.auth_tokens import bearer
from tests.browser import scenario
from tests.browser.helpers import Services, login, shoot

PERIOD = {"from": "2025-01-01", "to": "2025-03-31"}


def cells(page: Page, table: str, row: str) -> list[str]:
    """The texts of one row (found by its header cell) of a table."""
    line = page.locator(f"#{table} tbody tr").filter(has=page.get_by_role("rowheader", name=row))
    return [t.strip() for t in line.locator("th, td").all_inner_texts()]


def test_governance_sees_its_provider_by_month_drills_down_and_follows_a_plan(
    services: Services, new_context: Callable[[], BrowserContext]
) -> None:
    page = login(new_context(), services.audit, "governance", subject="gov-1", provider="RXX")
    assert page.url.startswith(f"{services.audit}/dashboard")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Provider RXX")

    # the chooser is a GET form: labelled fields, reached and submitted with the keyboard
    page.get_by_label("From (first day, UTC)").fill(PERIOD["from"])
    page.get_by_label("To (last day, included)").fill(PERIOD["to"])
    page.get_by_label("To (last day, included)").press("Enter")
    page.wait_for_url("**/dashboard?provider=RXX&from=2025-01-01&to=2025-03-31")

    api = httpx.get(
        f"{services.audit}/audit/reports/involvement",
        params={"provider": "RXX", "from": "2025-02-01", "to": "2025-02-28"},
        headers=bearer("governance", subject="gov-api", provider="RXX"),
    ).json()["total"]
    feb = cells(page, "by-month", "Feb 2025")
    assert feb[1] == str(api["versions"])  # the page shows what the API answers
    assert feb[2:5] == [str(api["classifications"][k]) for k in ("with", "partial", "without")]
    assert api["versions"] == 5
    assert api["classifications"]["with"] == 2
    assert feb[10] == "1"  # the review due on 10 February was never done
    charts = page.locator("figure.chart svg[role=img]")
    expect(charts).to_have_count(3)
    expect(
        page.get_by_role("img", name=re.compile(r"^Involvement rates Per month"))
    ).to_be_visible()
    expect(page.locator("#integrity-status")).to_contain_text("Intact")
    assert "Test Person" not in page.content()  # the audit holds no names
    shoot(page, "dashboard-overview")

    # keyboard: the first Tab reaches the skip link, focus is visible, and Enter follows a link
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    unit_link = page.locator("#by-unit").get_by_role("link", name="Oak Unit")
    unit_link.focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/dashboard/units/Oak%20Unit?**")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Oak Unit")
    plans = scenario.plans()
    rows = page.locator("#plans tbody tr")
    expect(rows.filter(has_text=str(plans["oak"].plan_id))).to_have_count(1)
    expect(rows.filter(has_text=str(plans["without"].plan_id))).to_contain_text(
        "made without the person"
    )
    expect(rows.filter(has_text=str(plans["elm"].plan_id))).to_have_count(0)  # another unit
    shoot(page, "dashboard-unit")
    page.go_back()
    page.locator("#by-unit").get_by_role("link", name="Elm / PICU").click()  # "/" in a name
    expect(page.get_by_role("heading", level=1)).to_contain_text("Elm / PICU")
    elm_rows = page.locator("#plans tbody tr").filter(has_text=str(plans["elm"].plan_id))
    expect(elm_rows).to_have_count(1)
    page.go_back()
    page.locator("#by-unit").get_by_role("link", name="Oak Unit").click()

    page.get_by_role("link", name=str(plans["oak"].plan_id)).click()
    page.wait_for_url(f"**/dashboard/plans/{plans['oak'].plan_id}?as_of=2025-03-31")
    v1, v2 = page.locator("#version-1"), page.locator("#version-2")
    expect(v1.get_by_role("heading")).to_contain_text("made with the person")
    expect(v2.get_by_role("heading")).to_contain_text("partly with the person")
    person = v1.locator("table.actions tr").filter(has_text="service user")
    expect(person).to_contain_text("agreed (in person)")
    carer = v1.locator("table.actions tr").filter(has_text="carer or family")
    assert carer.locator("td").nth(4).inner_text() == "1"  # dissented once (answered)
    assert carer.locator("td").nth(5).inner_text() == "0"
    expect(v2).to_contain_text("dissented: yes (still open)")
    v2.get_by_text("Contributions (1) and dissents (1)").click()
    expect(v2.locator("table").nth(2)).to_contain_text("open")
    expect(page.locator("#plan-integrity")).to_contain_text("intact")
    expect(page.locator("#reviews")).to_contain_text("on time")
    shoot(page, "dashboard-plan-timeline")

    page.get_by_role("link", name="Log integrity").click()
    root = httpx.get(
        f"{services.audit}/integrity/merkle-root", headers=bearer("admin", subject="ops-api")
    ).json()
    expect(page.locator("#merkle-root")).to_have_text(root["root"])
    assert root["size"] == services.events
    shoot(page, "dashboard-integrity")

    # another provider's figures are not this token's to see
    page.goto(f"{services.audit}/dashboard?provider=RYY&from=2025-01-01&to=2025-03-31")
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")

    log = httpx.get(
        f"{services.audit}/access-log",
        params={"subject": "gov-1"},
        headers=bearer("governance", subject="gov-api", provider="RXX"),
    ).json()
    routes = {(r["route"], r["resource_id"], r["purpose"]) for r in log}
    assert ("/dashboard/plans/{plan_id}", str(plans["oak"].plan_id), "clinical_governance") in (
        routes
    )
    assert ("/dashboard/units/{unit:path}", "Oak Unit", "clinical_governance") in routes
    assert ("/dashboard/units/{unit:path}", "Elm / PICU", "clinical_governance") in routes


def test_admin_sees_integrity_only_and_other_roles_see_neither_page(
    services: Services, new_context: Callable[[], BrowserContext]
) -> None:
    admin = login(new_context(), services.audit, "admin", subject="ops-1")
    admin.wait_for_url("**/dashboard/integrity")
    expect(admin.locator("#integrity-status")).to_contain_text("Intact")
    expect(admin.get_by_role("navigation").get_by_role("link")).to_have_text(["Log integrity"])
    admin.goto(f"{services.audit}/dashboard")
    expect(admin.get_by_role("heading", level=1)).to_have_text("Not allowed")

    for roles, claims, name in [
        (("clinician",), {"units": ["Oak Unit"]}, "clinician"),
        (("clinical_app",), {"system": "ward_app", "actor_role": "nurse"}, "clinical-app"),
        (("regulator",), {}, "regulator"),
    ]:
        page = login(new_context(), services.audit, *roles, subject=f"{name}-1", **claims)
        paths = ("/dashboard", "/dashboard/integrity") if name == "clinician" else ("/dashboard",)
        for path in paths:
            response = page.goto(f"{services.audit}{path}")
            assert response is not None
            assert response.status == 403, (name, path)
            expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
        if name == "clinician":
            shoot(page, "dashboard-403")
