"""Load the demo through plan_service's public API, wait until the read side shows it, and print
a one-screen summary with each service's API-docs URL. Run: `python -m demo.load`.

Idempotent: every request carries a fixed Idempotency-Key, so a second run writes nothing and
reports every step as already loaded.

Authenticates like any client: bearer tokens minted with the local/dev key of the default
settings (``services.common.tokens``) — a clinical_app token per acting staff member (system
``demo_loader``), a clinician token for the demo wards, a governance token for provider RXX.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from demo.scenario import PEOPLE, UNITS, Ref, Step, incident_steps, plan_steps
from services.common import tokens
from services.common.settings import CommonSettings

SERVICES = {
    "plan_service": os.environ.get("SAFETYPLAN_DEMO_PLAN_URL", "http://127.0.0.1:8101"),
    "audit_service": os.environ.get("SAFETYPLAN_DEMO_AUDIT_URL", "http://127.0.0.1:8102"),
    "reporting_service": os.environ.get("SAFETYPLAN_DEMO_REPORTING_URL", "http://127.0.0.1:8103"),
}


_TOKENS: dict[tuple[str, str], str] = {}


def submitter_token(actor: tuple[str, str]) -> dict[str, str]:
    """A clinical_app token acting as ``actor`` (id, role) from the demo loader's system."""
    if actor not in _TOKENS:
        _TOKENS[actor] = tokens.mint(
            CommonSettings(),
            roles=["clinical_app"],
            subject=actor[0],
            actor_role=actor[1],
            system="demo_loader",
        )
    return {"Authorization": f"Bearer {_TOKENS[actor]}"}


def reader_token(role: str, **claims: Any) -> dict[str, str]:
    token = tokens.mint(CommonSettings(), roles=[role], subject=f"demo-{role}", **claims)
    return {"Authorization": f"Bearer {token}"}


def _resolve(value: Any, results: dict[str, dict[str, Any]]) -> Any:
    if isinstance(value, Ref):
        return results[value.step_key]["created"][value.field]
    if isinstance(value, dict):
        return {k: _resolve(v, results) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, results) for v in value]
    return value


def post(client: httpx.Client, step: Step, results: dict[str, dict[str, Any]]) -> bool:
    """Send one step; True when it wrote something new."""
    headers = {
        **submitter_token(step.actor),
        "Idempotency-Key": step.key,
        "Occurred-At": step.at.isoformat(),
    }
    if step.stream_id:
        headers["Stream-Id"] = step.stream_id
    response = client.post(step.path, json=_resolve(step.body, results), headers=headers)
    if response.status_code >= 400:
        raise SystemExit(f"demo step {step.key} failed: {response.status_code} {response.text}")
    results[step.key] = response.json()
    return response.headers.get("Idempotent-Replayed") != "true"


def wait_for_read_model(client: httpx.Client, expected: dict[str, int], timeout: float) -> bool:
    """Until the Kafka-fed read model shows every plan at its stored version."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        listed = {p["plan_id"]: p["stream_version"] for p in client.get("/plans").json()}
        if all(listed.get(pid) == v for pid, v in expected.items()):
            return True
        time.sleep(0.3)
    return False


def wait_for(
    url: str, params: dict[str, str], ready: Any, timeout: float, headers: dict[str, str]
) -> Any:
    """GET until ``ready(body)`` holds (the projections consume Kafka asynchronously)."""
    deadline = time.monotonic() + timeout
    body: Any = None
    while time.monotonic() < deadline:
        try:
            response = httpx.get(url, params=params, headers=headers, timeout=10)
            body = response.json() if response.status_code == 200 else None
            if body is not None and ready(body):
                return body
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    return body


def governance_summary(console: Console) -> bool:
    """What audit_service and reporting_service made of the demo, once they have consumed it."""
    period = {"provider": "RXX", "from": "2026-01-01", "to": "2026-12-31"}
    governance = reader_token("governance", provider="RXX")
    audit = wait_for(
        f"{SERVICES['audit_service']}/audit/reports/involvement",
        period,
        lambda b: b["total"]["plans"] >= len(PEOPLE),
        timeout=60,
        headers=governance,
    )
    report = wait_for(
        f"{SERVICES['reporting_service']}/reports/concordance",
        {"provider": "RXX", "from_date": "2026-01-01", "to_date": "2026-12-31"},
        lambda b: len(b["report"]["incidents"]) >= 4,
        timeout=60,
        headers=governance,
    )
    if audit is None or report is None:
        console.print("[yellow]audit/reporting have not caught up yet; are the consumers up?[/]")
        return False
    c = audit["total"]["classifications"]
    console.print(
        f"Audit (made with the person?): {c['with']} with, {c['partial']} partial, "
        f"{c['without']} without; plans with unresolved dissent: "
        f"{audit['total']['with_unresolved_dissent']['numerator']}."
    )
    unwanted = sum(1 for i in report["report"]["incidents"] if i["any_force_person_did_not_want"])
    no_plan = sum(1 for i in report["report"]["incidents"] if not i["plan_in_force"])
    console.print(
        f"Reporting (Use of Force Act): {len(report['report']['incidents'])} incidents, "
        f"{unwanted} using force the person had said they did not want, {no_plan} with no "
        f"plan in force; Merkle root {report['provenance']['merkle_root'][:16]}... over "
        f"{report['provenance']['events']} events."
    )
    return True


def main() -> int:
    console = Console(width=100)
    results: dict[str, dict[str, Any]] = {}
    written = replayed = 0
    wards = sorted({ward for _unit, ward, _site in UNITS.values()})
    clinician = reader_token("clinician", units=wards)
    with httpx.Client(base_url=SERVICES["plan_service"], timeout=30, headers=clinician) as client:
        scripts = {s.person: s for s in plan_steps()}
        steps = [step for s in scripts.values() for step in s.steps] + incident_steps(scripts)
        for step in steps:
            if post(client, step, results):
                written += 1
            else:
                replayed += 1
        versions = {
            s.plan_id: client.get(f"/plans/{s.plan_id}").json()["stream_version"]
            for s in scripts.values()
        }
        caught_up = wait_for_read_model(client, versions, timeout=60)
        listed = {p["plan_id"]: p for p in client.get("/plans").json()}

    status = "loaded" if written else "already loaded (nothing written)"
    console.print(f"[bold]Demo {status}[/]: {written} commands written, {replayed} already there.")
    table = Table(title="Safety plans (read model, fed from Kafka)")
    for col in ("person", "ward", "story", "events", "version", "open dissents", "review due"):
        table.add_column(col)
    for key, _name, ward, story in PEOPLE:
        plan = listed.get(scripts[key].plan_id, {})
        table.add_row(
            key,
            UNITS[ward][1],
            story.replace("_", " "),
            str(plan.get("stream_version", "-")),
            str(plan.get("current_version", "-")),
            str(plan.get("open_dissents", "-")),
            str(plan.get("next_review_due") or "-"),
        )
    console.print(table)
    console.print(
        "Use-of-force incidents loaded: one before any plan existed, one using prone restraint "
        "the person said they did not want, one with rapid tranquillisation and a correction, "
        "one seclusion."
    )
    if not caught_up:
        console.print("[yellow]The read model has not caught up yet; is the relay running?[/]")
    caught_up = governance_summary(console) and caught_up
    console.print("\n[bold]API docs[/]")
    for name, url in SERVICES.items():
        console.print(f"  {name:<18} {url}/docs")
    return 0 if caught_up else 1


if __name__ == "__main__":
    sys.exit(main())
