"""store/forecasts.py on both backends: an import replaces each (day, queue) whole."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from supervisor_tui.domain.forecast import ForecastRow
from supervisor_tui.store import Store
from supervisor_tui.store.forecasts import day_summary, forecast_day, read_forecast, save_forecast

NINE = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def rows(queue: str, contacts: list[float], first: datetime = NINE) -> list[ForecastRow]:
    return [ForecastRow(queue, first + timedelta(minutes=30 * i), 30, c, 240.0, 7.5, None)
            for i, c in enumerate(contacts)]


def test_save_replace_and_read_back(store_at: Path | str) -> None:
    store = Store.open(store_at)
    try:
        done = save_forecast(store, rows("sales", [40, 36, 60]) + rows("support", [12]), UTC,
                             user="ana", source_file="a.csv", now=NINE)
        assert [(r.queue_id, r.intervals, r.before) for r in done] == [
            ("sales", 3, 0), ("support", 1, 0)]
        # Sales again, shorter: its three rows go, Support's stays.
        again = save_forecast(store, rows("sales", [10, 20]), UTC, user="bo",
                              source_file="b.csv", now=NINE)
        assert [(r.queue_id, r.intervals, r.before) for r in again] == [("sales", 2, 3)]
        got = read_forecast(store, "2026-11-22")
        assert [(r.queue_id, r.start, r.contacts, r.required) for r in got] == [
            ("sales", NINE, 10, 7.5), ("support", NINE, 12, 7.5),
            ("sales", NINE + timedelta(minutes=30), 20, 7.5)]
        assert read_forecast(store, "2026-11-22", "support")[0].scheduled is None
        summary = {s.queue_id: s for s in day_summary(store, "2026-11-22")}
        assert summary["sales"].imported_by == "bo" and summary["sales"].contacts == 30
        assert summary["support"].source_file == "a.csv"
        assert forecast_day(store, "2026-11-23").by_queue == {}
        # Local days: 23:30 on the 22nd in New York is the 23rd in UTC.
        ny = ZoneInfo("America/New_York")
        late = rows("sales", [5], datetime(2026, 11, 23, 4, 30, tzinfo=UTC))
        assert save_forecast(store, late, ny, user="c", source_file="c.csv",
                             now=NINE)[0].day == "2026-11-22"
    finally:
        store.close()
