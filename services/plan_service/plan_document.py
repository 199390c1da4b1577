"""The plan as a person reads it, folded from its events: one pure step per event.

The same fold serves the current plan (the Kafka-fed read model applies one event at a time to
the stored document) and the plan as it was at a past version or moment (folded from the store).
Documents are plain JSON so the read model can keep them in one jsonb column.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from contracts.envelope import EventEnvelope

Document = dict[str, Any]


def empty() -> Document:
    return {
        "plan_id": None,
        "stream_version": 0,
        "status": "open",
        "person": None,
        "setting": None,
        "participants": {},
        "sections": {},
        "versions": {},
        "dissents": {},
        "reviews": {},
        "shared": [],
        "closed": None,
        "last_event_at": None,
    }


def fold(events: Iterable[EventEnvelope[Any]]) -> Document:
    doc = empty()
    for event in events:
        doc = apply(doc, event)
    return doc


def apply(doc: Document, event: EventEnvelope[Any]) -> Document:
    """Apply one event; an event at or below the document's version changes nothing."""
    if event.stream_version <= doc["stream_version"]:
        return doc
    data = event.model_dump(mode="json")
    p = data["payload"]
    at = data["occurred_at"]
    kind = event.event_type.split(".", 1)[1]
    if kind == "plan_started":
        doc["plan_id"] = data["stream_id"]
        doc["person"] = p["person"]
        doc["setting"] = p["setting"]
    elif kind == "participant_invited":
        doc["participants"][p["participant_id"]] = {**p, "joined": False, "invited_at": at}
    elif kind == "participant_joined":
        who = doc["participants"].get(p["participant_id"], {})
        who.update(
            joined=True,
            joined_at=at,
            information_sharing_consent=p.get("information_sharing_consent"),
        )
    elif kind == "contribution_made":
        doc["sections"][p["section"]] = {**p, "at": at, "in_version": None}
    elif kind == "version_proposed":
        doc["versions"][str(p["version_number"])] = {**p, "proposed_at": at, "agreed_by": {}}
        ids = set(p["contribution_ids"])
        for section in doc["sections"].values():
            if section["contribution_id"] in ids:
                section["in_version"] = p["version_number"]
    elif kind == "agreement_given":
        version = doc["versions"].get(str(p["version_number"]))
        if version is not None:
            version["agreed_by"][p["participant_id"]] = {"at": at, "mode": p["mode"]}
    elif kind == "dissent_recorded":
        doc["dissents"][p["dissent_id"]] = {**p, "at": at, "open": True, "response": None}
    elif kind == "dissent_responded":
        dissent = doc["dissents"].get(p["dissent_id"])
        if dissent is not None:
            dissent.update(open=False, response={**p, "at": at})
    elif kind == "review_scheduled":
        doc["reviews"][p["review_id"]] = {**p, "completed": None}
    elif kind == "review_completed":
        key = p["review_id"] or f"unscheduled-{event.stream_version}"
        review = doc["reviews"].setdefault(key, {**p, "due_on": None})
        review["completed"] = {**p, "at": at}
    elif kind == "plan_shared":
        doc["shared"].append({**p, "at": at})
    elif kind == "plan_closed":
        doc["status"] = "closed"
        doc["closed"] = {**p, "at": at}
    doc["stream_version"] = event.stream_version
    doc["last_event_at"] = at
    return doc


def current_version(doc: Document) -> int | None:
    return max((int(n) for n in doc["versions"]), default=None)


def open_dissents(doc: Document) -> int:
    return sum(1 for d in doc["dissents"].values() if d["open"])


def next_review_due(doc: Document) -> str | None:
    if doc["status"] == "closed":
        return None
    due = [r["due_on"] for r in doc["reviews"].values() if r["due_on"] and not r["completed"]]
    return min(due) if due else None
