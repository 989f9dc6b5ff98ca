"""Reporting intervals: which interval and which day a moment belongs to.

Pure. Boundaries are computed in the centre's time zone, so a 30-minute interval
starts at :00 and :30 local time and "today" starts at local midnight (DST included:
a day may be 23 or 25 hours long).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class IntervalPolicy:
    minutes: int = 30
    tz: str = "UTC"

    def __post_init__(self) -> None:
        if self.minutes <= 0 or (24 * 60) % self.minutes:
            raise ValueError(f"interval minutes must divide a day evenly, got {self.minutes}")
        ZoneInfo(self.tz)  # raises for an unknown zone

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    def day_start(self, now: datetime) -> datetime:
        local = now.astimezone(self.zone)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        # replace() keeps the offset of `local`; re-resolve it for days that change DST.
        return midnight.replace(tzinfo=None).replace(tzinfo=self.zone)

    def interval_start(self, now: datetime) -> datetime:
        local = now.astimezone(self.zone)
        minute_of_day = local.hour * 60 + local.minute
        start_minute = minute_of_day - minute_of_day % self.minutes
        naive = local.replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0)
        # fold: in the hour a DST change repeats, the second 01:00-01:30 is its own
        # interval (its own 30 minutes), not merged with the first.
        start = (naive + timedelta(minutes=start_minute)).replace(tzinfo=self.zone,
                                                                  fold=local.fold)
        return start if start <= now else self.day_start(now)

    def label(self, now: datetime) -> str:
        """Human label such as ``14:30-15:00`` in local time."""
        start = self.interval_start(now).astimezone(self.zone)
        end = start + timedelta(minutes=self.minutes)
        return f"{start:%H:%M}-{end:%H:%M}"
