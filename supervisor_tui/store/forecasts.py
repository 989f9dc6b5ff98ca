"""Per-interval forecasts in the shared store (``forecast_intervals``), by local day.

``supervisor-tui forecast import`` writes them; every console on the store reads today's
(the intraday screen, "Need"), and the end-of-day report reads any day's. An import
replaces each (day, queue) it brings whole, in one transaction: a re-exported forecast
never leaves yesterday's version of an interval beside today's, and a reader never sees
half an import. Queues the file does not mention keep their forecast. Plain SQL (no
SQLite-only syntax) so it ports to the PostgreSQL backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo

from supervisor_tui.domain.forecast import ForecastDay, ForecastRow
from supervisor_tui.store import Store, StoreError
from supervisor_tui.store.backend import Db, first_line

FORECASTS = "forecast_intervals"
_COLUMNS = ("day", "queue_id", "interval_start", "interval_minutes", "contacts", "aht_s",
            "required", "scheduled", "imported_at", "imported_by", "source_file")
_TYPES: dict[str, type] = {
    "day": str, "queue_id": str, "interval_start": str, "interval_minutes": int,
    "contacts": float, "aht_s": float, "required": float, "scheduled": float,
    "imported_at": str, "imported_by": str, "source_file": str}


@dataclass(frozen=True)
class Replaced:
    """One (day, queue) an import wrote: its new interval count and how many it had."""

    day: str
    queue_id: str
    intervals: int
    before: int


@dataclass(frozen=True)
class DaySummary:
    """One queue's stored forecast for a day (``forecast show``)."""

    queue_id: str
    intervals: int
    contacts: float
    first: datetime
    last: datetime
    imported_at: str
    imported_by: str
    source_file: str


def _ensure(db: Db) -> None:
    # (cheap when the table exists)
    db.create_table(FORECASTS, _TYPES, pk=("day", "queue_id", "interval_start"),
                    not_null=("day", "queue_id", "interval_start", "interval_minutes",
                              "contacts", "aht_s", "imported_at", "imported_by"))


def save_forecast(store: Store, rows: Sequence[ForecastRow], zone: tzinfo, *, user: str,
                  source_file: str, now: datetime) -> list[Replaced]:
    """Replace, per local day and queue, the stored forecast with ``rows`` (atomic)."""
    groups: dict[tuple[str, str], list[ForecastRow]] = {}
    for r in rows:
        groups.setdefault((r.start.astimezone(zone).date().isoformat(), r.queue_id),
                          []).append(r)
    try:
        _ensure(store.db)
    except store.db.Error as err:
        raise StoreError(f"cannot save the forecast: {first_line(err)}") from None
    done: list[Replaced] = []
    stamp = now.astimezone(UTC).isoformat()
    with store._transaction("save the forecast", FORECASTS) as conn:
        for (day, queue), items in sorted(groups.items()):
            before = conn.execute(f"select count(*) from {FORECASTS} where day = ? and"
                                  " queue_id = ?", [day, queue]).fetchone()[0]
            conn.execute(f"delete from {FORECASTS} where day = ? and queue_id = ?",
                         [day, queue])
            conn.executemany(
                f"insert into {FORECASTS} ({', '.join(_COLUMNS)}) values "
                f"({', '.join('?' * len(_COLUMNS))})",
                [[day, r.queue_id, r.start.astimezone(UTC).isoformat(), r.minutes,
                  r.contacts, r.aht_s, r.required, r.scheduled, stamp, user, source_file]
                 for r in items])
            done.append(Replaced(day, queue, len(items), int(before)))
    return done


def read_forecast(store: Store, day: date | str, queue_id: str | None = None
                  ) -> list[ForecastRow]:
    """The day's stored forecast (one queue's, or every queue's), by start and queue."""
    where, args = "day = ?", [str(day)]
    if queue_id is not None:
        where, args = where + " and queue_id = ?", [*args, queue_id]
    db = store.db
    try:
        _ensure(db)
        cursor = db.execute(
            "select queue_id, interval_start, interval_minutes, contacts, aht_s, required,"
            f" scheduled from {FORECASTS} where {where} order by interval_start, queue_id",
            args)
        raw = cursor.fetchall()
    except db.Error as err:
        raise StoreError(f"cannot read the forecast: {first_line(err)}") from None
    return [ForecastRow(q, datetime.fromisoformat(s), int(m), float(c), float(h),
                        None if req is None else float(req),
                        None if sch is None else float(sch))
            for q, s, m, c, h, req, sch in raw]


def forecast_day(store: Store, day: date | str) -> ForecastDay:
    """The day's forecast as the console holds it (empty when none was imported)."""
    return ForecastDay(read_forecast(store, day))


def day_summary(store: Store, day: date | str) -> list[DaySummary]:
    """Per queue: intervals, contacts, span and who imported it, by queue id."""
    db = store.db
    try:
        _ensure(db)
        raw = db.execute(
            "select queue_id, count(*), sum(contacts), min(interval_start),"
            " max(interval_start), max(imported_at), max(imported_by), max(source_file)"
            f" from {FORECASTS} where day = ? group by queue_id order by queue_id",
            [str(day)]).fetchall()
    except db.Error as err:
        raise StoreError(f"cannot read the forecast: {first_line(err)}") from None
    return [DaySummary(q, int(n), float(c), datetime.fromisoformat(a),
                       datetime.fromisoformat(b), at, by, src or "")
            for q, n, c, a, b, at, by, src in raw]
