"""Upcasters: pure functions turning an old payload (JSON dict) into the next version's payload.

Rule (contracts/README.md): an upcaster is total (accepts every valid version-N payload), adds
nothing that was not known (unknown facts become null, never a guessed value), and is never edited
once released, because stored events are read through it forever.

This module must never do I/O, read the clock, or depend on anything but the payload it is given.
"""

from __future__ import annotations

from typing import Any

_ATTENDANCE_FROM_MODE = {"in_person": "in_person", "remote": "remote", "recorded_on_behalf": None}


def contribution_made_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    """`safety_plan.contribution_made` v1 -> v2.

    V1 listed `present_participant_ids` only. V2 records how each person attended
    (`present: [{participant_id, attendance}]`), because hybrid meetings made one mode per
    contribution misleading. V1 recorded one mode for the contribution; the best statement we can
    make is that people attended the way the author did when that mode was in person or remote,
    and "not recorded" (null) when the contribution was recorded on the person's behalf.
    """
    upcast = {k: v for k, v in payload.items() if k != "present_participant_ids"}
    attendance = _ATTENDANCE_FROM_MODE[payload["mode"]]
    upcast["present"] = [
        {"participant_id": pid, "attendance": attendance}
        for pid in payload["present_participant_ids"]
    ]
    return upcast
