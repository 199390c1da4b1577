"""Every breakdown group's measures from the packed facts of one report, in numpy.

The report's scan hands over two byte strings (`statistics_codes` layouts): one header per
incident version in scope and one record per restrictive intervention, in the same version
order. PostgreSQL would need a sort or a hash pass per breakdown and per distinct count (~30 of
them); here each is one or two array passes over integers:

* interventions: a `bincount` of the group codes;
* minutes: one sort of all durations; per breakdown a stable (radix) sort of the group codes in
  duration order, so every group's durations lie together and in order: median and maximum by
  position, exact integer sums by `reduceat` (in two 32-bit halves, so they cannot overflow);
* distinct incidents and people: a (group, key) presence table, counted per group; a sort of
  the pairs instead when the table would be too large (free-text groups over many people).

Everything is exact: counts and sums in integers, durations in whole microseconds.

This module must never see a person: person keys are opaque integers, and nothing leaves it but
counts and durations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from services.reporting_service import statistics_codes as codes

HEADER: Final = np.dtype(
    [
        ("person", ">i4"),
        ("gender", ">i4"),
        ("ethnicity", ">i4"),
        ("reason", ">i2"),
        ("age", ">i2"),
        ("count", ">i2"),
    ]
)
INTERVENTION: Final = np.dtype(
    [("micros", ">i8"), ("type", "u1"), ("injury", "u1"), ("band", "u1"), ("spare", "u1")]
)
PRESENCE_TABLE_LIMIT: Final = 1 << 26  # cells of a (group, key) table before sorting pairs instead

Ints = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Group:
    """One breakdown group, unsuppressed (never published as it is)."""

    breakdown: int  # index into `statistics_codes.BREAKDOWNS`
    code: int  # the breakdown's code: type/reason/band/age code, label key, injured 0/1, 0
    people: int
    interventions: int
    incidents: int
    total_micros: int
    middle_micros: tuple[int, int]  # the two middle durations (the same one when n is odd)
    max_micros: int


def tally(headers: bytes, interventions: bytes) -> list[Group]:
    """The groups of every breakdown that has restrictive interventions, by breakdown and code."""
    head = np.frombuffer(headers, HEADER)
    rows = np.frombuffer(interventions, INTERVENTION)
    counts = head["count"].astype(np.int64)
    if int(counts.sum()) != len(rows) or (counts < 0).any():
        raise RuntimeError("statistics facts: interventions do not match their versions")
    if len(rows) == 0:
        return []
    head, counts = head[counts > 0], counts[counts > 0]  # a version without force counts nowhere
    version = np.repeat(np.arange(len(head)), counts)  # the version of each intervention
    person = _dense(head["person"].astype(np.int64))
    micros = rows["micros"].astype(np.int64)
    order = np.argsort(micros)
    in_order = micros[order]
    per_version = {
        0: np.zeros(len(head), np.int64),
        2: head["reason"].astype(np.int64),
        5: head["age"].astype(np.int64),
        6: head["gender"].astype(np.int64),
        7: head["ethnicity"].astype(np.int64),
    }
    per_intervention = {
        1: rows["type"].astype(np.int64),
        3: rows["injury"].astype(np.int64),
        4: rows["band"].astype(np.int64),
    }
    out: list[Group] = []
    for breakdown in range(len(codes.BREAKDOWNS)):
        if breakdown in per_version:
            values, group_of_version = _codes(per_version[breakdown])
            group = group_of_version[version]
            n_groups = len(values)
            incidents = np.bincount(group_of_version, minlength=n_groups)
            people = _distinct(group_of_version, person, n_groups)
        else:
            values, group = _codes(per_intervention[breakdown])
            n_groups = len(values)
            incidents = _distinct(group, version, n_groups)
            people = _distinct(group, person[version], n_groups)
        out += _groups(breakdown, values, group, order, in_order, incidents, people)
    return out


def _groups(
    breakdown: int,
    values: Ints,
    group: Ints,
    order: Ints,
    in_order: Ints,
    incidents: Ints,
    people: Ints,
) -> list[Group]:
    """Counts and durations per group: the groups' durations laid out together, each in order."""
    n = np.bincount(group, minlength=len(values))
    small = _narrow(group, len(values))  # 8 or 16 bits: numpy's stable sort is then a radix sort
    laid_out = in_order[np.argsort(small[order], kind="stable")]
    starts = np.concatenate(([0], np.cumsum(n)[:-1]))
    high = np.add.reduceat(laid_out >> 32, starts)
    low = np.add.reduceat(laid_out & 0xFFFFFFFF, starts)
    lower = laid_out[starts + (n - 1) // 2]
    upper = laid_out[starts + n // 2]
    top = laid_out[starts + n - 1]
    return [
        Group(
            breakdown,
            int(values[i]),
            int(people[i]),
            int(n[i]),
            int(incidents[i]),
            (int(high[i]) << 32) + int(low[i]),
            (int(lower[i]), int(upper[i])),
            int(top[i]),
        )
        for i in range(len(values))
    ]


def _codes(raw: Ints) -> tuple[Ints, Ints]:
    """The distinct values in ascending order, and each element's index among them."""
    if len(raw) and raw.min() >= 0 and raw.max() <= 4 * len(raw) + 1024:
        present = np.bincount(raw) > 0
        values = np.flatnonzero(present).astype(np.int64)
        index = np.cumsum(present) - 1
        return values, index[raw].astype(np.int64)
    values, inverse = np.unique(raw, return_inverse=True)
    return values.astype(np.int64), inverse.astype(np.int64).reshape(-1)


def _narrow(group: Ints, n_groups: int) -> npt.NDArray[np.integer]:
    if n_groups <= 1 << 8:
        return group.astype(np.uint8)
    if n_groups <= 1 << 16:
        return group.astype(np.uint16)
    return group


def _dense(raw: Ints) -> Ints:
    return _codes(raw)[1]


def _distinct(group: Ints, key: Ints, n_groups: int) -> Ints:
    """How many distinct keys each group has."""
    if len(key) == 0:
        return np.zeros(n_groups, np.int64)
    n_keys = int(key.max()) + 1
    if n_groups * n_keys <= PRESENCE_TABLE_LIMIT:
        seen = np.zeros(n_groups * n_keys, bool)
        seen[group * n_keys + key] = True
        return np.count_nonzero(seen.reshape(n_groups, n_keys), axis=1).astype(np.int64)
    pairs = np.unique(group * n_keys + key)
    return np.bincount(pairs // n_keys, minlength=n_groups).astype(np.int64)
