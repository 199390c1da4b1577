"""The fast reader's date checks take exactly the texts that name a real instant or day in the
canonical form: the pattern checks the ranges, the calendar only the 29th to the 31st."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from services.audit_service import checks as c


def real(text: str) -> bool:
    try:
        (datetime if "T" in text else date).fromisoformat(text)
    except ValueError:
        return False
    return True


DAYS = [
    f"{y}-{m:02d}-{d:02d}"
    for y in ("0000", "0001", "2023", "2024", "2100", "9999")
    for m in (0, 1, 2, 4, 12, 13)
    for d in (0, 1, 28, 29, 30, 31, 32)
]


@pytest.mark.parametrize("day", DAYS)
def test_a_day_is_taken_exactly_when_the_calendar_has_it(day: str) -> None:
    taken = c.DATE_TEXT(day) is not None and c.real_day(day)
    assert taken == real(day)


@pytest.mark.parametrize(
    "time", ["00:00:00", "23:59:59", "24:00:00", "12:60:00", "12:00:60", "09:5:00"]
)
@pytest.mark.parametrize("day", ["2024-02-29", "2023-02-29", "2025-04-31", "2025-12-31"])
def test_an_instant_is_taken_exactly_when_it_is_real_and_canonical(day: str, time: str) -> None:
    text = f"{day}T{time}.000000Z"
    try:
        taken = c.utc_datetime(text, "at") == text
    except c.Unsure:
        taken = False
    assert taken == real(text)


def test_other_forms_of_an_instant_are_left_to_the_strict_reader() -> None:
    for text in ["2025-01-01T00:00:00Z", "2025-01-01T00:00:00.000000+00:00", "2025-01-01"]:
        with pytest.raises(c.Unsure):
            c.utc_datetime(text, "at")
