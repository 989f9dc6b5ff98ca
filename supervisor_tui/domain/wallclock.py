"""Dates and times as WFM exports write them, read as wall-clock times in the centre's
zone (pure): the schedule and the forecast imports read them the same way. A local
time the clocks skip (the DST gap) is refused with the reason, never shifted."""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo

from supervisor_tui.domain.text import clean

_DATE_FORMATS = ("%Y-%m-%d", "%m%d%Y", "%m/%d/%Y", "%Y%m%d", "%d.%m.%Y", "%Y/%m/%d")
_TIME_FORMATS = ("%H:%M", "%H:%M:%S", "%I:%M %p", "%I:%M%p", "%I:%M:%S %p", "%H%M")
# (%Y%m%d and %m%d%Y cannot be confused: a 20xx year puts a "month" 20 in the first)
_DATETIME_FORMATS = ("%Y%m%d %H:%M", "%m%d%Y %H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S",
                     "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M:%S",
                     "%m/%d/%Y %I:%M:%S %p", "%d.%m.%Y %H:%M", "%Y/%m/%d %H:%M")


def _local(naive: datetime, zone: tzinfo) -> datetime:
    """A wall-clock time in ``zone``; a time the clocks skip (DST gap) is refused."""
    aware = naive.replace(tzinfo=zone)
    back = aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    if back != naive:
        raise ValueError(f"{naive:%Y-%m-%d %H:%M} does not exist in {zone} "
                         "(the clocks skip it)")
    return aware


def parse_day(text: str) -> date:
    text = text.strip()
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"unreadable date {clean(text, 40)!r}")


def parse_when(text: str, day: date | None, zone: tzinfo) -> datetime:
    """ISO 8601 (with an offset: as written; without: local), a local date and time, or
    a time of day on ``day``; returned in UTC."""
    text = text.strip()
    if not text:
        raise ValueError("empty time")
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is not None and ("-" in text or "T" in text):  # not a bare "0930"
        return (parsed if parsed.tzinfo else _local(parsed, zone)).astimezone(UTC)
    for fmt in _DATETIME_FORMATS:
        try:
            return _local(datetime.strptime(text.upper(), fmt), zone).astimezone(UTC)
        except ValueError as err:
            if "does not exist" in str(err):
                raise
    for fmt in _TIME_FORMATS:
        try:
            t = datetime.strptime(text.upper(), fmt).time()
        except ValueError:
            continue
        if day is None:
            raise ValueError(f"a time of day ({clean(text, 20)}) with no date: give a date "
                             "column or --date")
        return _local(datetime.combine(day, t), zone).astimezone(UTC)
    raise ValueError(f"unreadable time {clean(text, 40)!r}")
