"""The packed statistics facts and their tally, against a plain Python count of the same facts."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import timedelta
from typing import Any

import pytest

from services.reporting_service import statistics_codes as codes
from services.reporting_service import statistics_tally as tally_module
from services.reporting_service.statistics_tally import HEADER, INTERVENTION, Group, tally


def test_the_numpy_layouts_are_the_packed_layouts() -> None:
    assert HEADER.itemsize == codes.HEADER.size
    assert INTERVENTION.itemsize == codes.INTERVENTION.size


def test_minutes_from_microseconds_are_the_projections_float_minutes() -> None:
    rng = random.Random(3)
    for _ in range(10_000):
        took = timedelta(microseconds=rng.randrange(-(10**6), 400 * 86_400 * 10**6))
        assert codes.minutes(took // timedelta(microseconds=1)) == took.total_seconds() / 60


def test_every_band_and_age_group_has_a_code_and_codes_are_bytes() -> None:
    assert len(codes.BANDS) < 256
    assert codes.band_code("seclusion", "Missing/Invalid") == codes.BANDS.index(
        ("seclusion", "Missing/Invalid")
    )
    assert [codes.AGES[codes.age_code(a)] for a in codes.AGES] == list(codes.AGES)
    assert all(0 < c < 256 for c in codes.TYPE_OF_CODE)
    assert codes.TYPE_OF_CODE[codes.type_code("07")] == "07"


Version = tuple[int, int, int, int, int, list[tuple[int, int, int, int]]]


def facts(rng: random.Random, versions: int, label_keys: list[int]) -> list[Version]:
    """(person, gender, ethnicity, reason, age, [(micros, type, injury, band)]) per version."""
    out = []
    for _ in range(versions):
        uses = [
            (
                rng.choice((0, 5, 60, 61, 600)) * 60_000_000 + rng.choice((0, 0, 17)),
                rng.choice((1, 4, 5, 7, 17)),
                rng.choice((0, 1)),
                rng.randrange(len(codes.BANDS)),
            )
            for _ in range(rng.choice((1, 1, 2, 5)))
        ]
        person = rng.randrange(1, 40) * rng.choice((1, 1000))
        ages = rng.randrange(len(codes.AGES))
        characteristics = (rng.choice(label_keys), rng.choice(label_keys))
        out.append((person, *characteristics, rng.choice((10, 11, 99)), ages, uses))
    return out


def packed(versions: list[Version]) -> tuple[bytes, bytes]:
    heads = b"".join(codes.HEADER.pack(*v[:5], len(v[5])) for v in versions)
    rows = b"".join(codes.INTERVENTION.pack(*use) for v in versions for use in v[5])
    return heads, rows


def plain(versions: list[Version]) -> list[Group]:
    """The same groups counted the obvious way."""
    cells: dict[tuple[int, int], list[tuple[int, int, int]]] = defaultdict(list)
    for index, (person, gender, ethnicity, reason, age, uses) in enumerate(versions):
        for micros, kind, injury, band in uses:
            keys = (0, kind, reason, injury, band, age, gender, ethnicity)
            for breakdown, key in enumerate(keys):
                cells[(breakdown, key)].append((micros, index, person))
    out = []
    for (breakdown, key), rows in sorted(cells.items()):
        durations = sorted(m for m, _, _ in rows)
        middle = (durations[(len(durations) - 1) // 2], durations[len(durations) // 2])
        out.append(
            Group(
                breakdown,
                key,
                len({p for _, _, p in rows}),
                len(rows),
                len({i for _, i, _ in rows}),
                sum(durations),
                middle,
                durations[-1],
            )
        )
    return out


@pytest.mark.parametrize("labels", [[1, 2, 3], [5, 70_000, 2**31 - 1]])
def test_the_tally_is_the_plain_count(labels: list[int]) -> None:
    versions = facts(random.Random(len(labels) + labels[-1]), 400, labels)
    assert tally(*packed(versions)) == plain(versions)


def test_large_presence_tables_give_way_to_sorted_pairs(monkeypatch: Any) -> None:
    versions = facts(random.Random(9), 300, [1, 2, 3, 4])
    monkeypatch.setattr(tally_module, "PRESENCE_TABLE_LIMIT", 10)
    assert tally(*packed(versions)) == plain(versions)


def test_sums_past_64_bits_and_medians_stay_exact() -> None:
    versions: list[Version] = [(1, 1, 1, 10, 0, [(2**62 + n, 6, 0, 1)]) for n in range(3)]
    total = tally(*packed(versions))[0]
    assert total.total_micros == 3 * 2**62 + 3
    assert total.middle_micros == (2**62 + 1, 2**62 + 1)
    assert total.max_micros == 2**62 + 2


def test_no_facts_no_groups_and_inconsistent_facts_refused() -> None:
    assert tally(b"", b"") == []
    heads, rows = packed(facts(random.Random(1), 3, [1]))
    with pytest.raises(RuntimeError):
        tally(heads, rows[: -codes.INTERVENTION.size])


def test_a_version_without_force_periods_counts_nowhere() -> None:
    versions = facts(random.Random(4), 50, [1, 2])
    empty: Version = (99_999, 77, 78, 12, 3, [])
    assert tally(*packed([*versions[:10], empty, *versions[10:]])) == plain(versions)
