"""What a report covers: the organisation (everything, a provider, a unit), the period, and the
log positions (`AsOf`) it is computed from; and the one error type reports raise.

Periods are whole local (Europe/London) dates, inclusive at both ends, applied to the incident's
start, as MHSDS records local dates and times. This module must never do I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


class ReportError(ValueError):
    """A request a report cannot answer; mapped to HTTP once (field and rule, never a value)."""

    def __init__(self, field: str, rule: str, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.field = field
        self.rule = rule
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Scope:
    """Everything (both None), one provider (ODS code), or one unit of a provider."""

    provider: str | None = None
    unit: str | None = None

    def __post_init__(self) -> None:
        if self.unit is not None and self.provider is None:
            raise ReportError("unit", "provider_required", "a unit is named within a provider")

    def describe(self) -> dict[str, str | None]:
        level = "unit" if self.unit else "provider" if self.provider else "all"
        return {"level": level, "provider": self.provider, "unit": self.unit}


@dataclass(frozen=True)
class Period:
    """Local dates, inclusive: incidents that started on or after `start` and by `end`."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ReportError("to_date", "not_before_from_date", "to_date is before from_date")

    @property
    def start_utc(self) -> datetime:
        return datetime.combine(self.start, time(0), LONDON)

    @property
    def end_utc_exclusive(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), time(0), LONDON)

    def describe(self) -> dict[str, str]:
        return {
            "from_date": self.start.isoformat(),
            "to_date": self.end.isoformat(),
            "dates": "local Europe/London dates of the incident start, inclusive",
        }


@dataclass(frozen=True)
class AsOf:
    """End offsets (exclusive) per topic partition: the part of the log a report reads."""

    ends: tuple[tuple[str, int, int], ...]

    @classmethod
    def of(cls, items: dict[tuple[str, int], int]) -> AsOf:
        return cls(tuple(sorted((t, p, o) for (t, p), o in items.items())))

    @classmethod
    def parse(cls, text: str) -> AsOf:
        """`topic:partition:end_offset` items separated by commas."""
        items: dict[tuple[str, int], int] = {}
        for part in filter(None, (s.strip() for s in text.split(","))):
            pieces = part.rsplit(":", 2)
            if len(pieces) != 3 or not pieces[1].isdigit() or not pieces[2].isdigit():
                raise ReportError("as_of", "topic_partition_offset", "use topic:partition:offset")
            key = (pieces[0], int(pieces[1]))
            if key in items:
                raise ReportError("as_of", "unique_partition", "a partition is given twice")
            items[key] = int(pieces[2])
        return cls.of(items)

    def token(self) -> str:
        return ",".join(f"{t}:{p}:{o}" for t, p, o in self.ends)

    def array(self, topic: str) -> list[int]:
        """End offsets of one topic indexed by partition (0 where not listed), for SQL."""
        mine = {p: o for t, p, o in self.ends if t == topic}
        size = max(mine, default=-1) + 1
        return [mine.get(p, 0) for p in range(size)]
