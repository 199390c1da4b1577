"""What the browser tests share: the running services' addresses, signing in through the login
page, and keeping screenshots."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, Page

from services.common.settings import CommonSettings
from tests.auth_tokens import token
from tests.conftest import ROOT

SCREENSHOTS = ROOT / ".local" / "artifacts" / "screenshots"
VIEWPORT = {"width": 1366, "height": 768}


@dataclass(frozen=True)
class Services:
    audit: str
    reporting: str
    settings: CommonSettings
    events: int


def login(context: BrowserContext, base: str, *roles: str, **claims: Any) -> Page:
    """Sign in through the login page with a freshly minted token; returns the landing page."""
    page = context.new_page()
    page.goto(f"{base}/login")
    page.get_by_label("Access token").fill(token(*roles, **claims))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    return page


ACCESSIBILITY_GAPS = """() => {
  const gaps = [];
  if (!document.documentElement.lang) gaps.push("html without lang");
  if (document.querySelectorAll("h1").length !== 1) gaps.push("not exactly one h1");
  for (const el of document.querySelectorAll("input:not([type=hidden]), select, textarea"))
    if (!el.labels || el.labels.length === 0) gaps.push("unlabelled " + el.name);
  for (const t of document.querySelectorAll("table"))
    if (!t.querySelector("caption")) gaps.push("table without caption " + t.id);
  for (const svg of document.querySelectorAll("svg[role=img]"))
    for (const id of (svg.getAttribute("aria-labelledby") || "").split(" "))
      if (!document.getElementById(id)) gaps.push("chart label missing " + id);
  for (const a of document.querySelectorAll("a, button"))
    if (!a.textContent.trim()) gaps.push("control without text");
  return gaps;
}"""


def shoot(page: Page, name: str) -> Path:
    """Check the page's accessibility basics (a language, one h1, a label for every field, a
    caption for every table, a name for every chart and control), then keep a full-page
    screenshot as a test artifact."""
    assert page.evaluate(ACCESSIBILITY_GAPS) == [], name
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
