"""The report's sections fed by other parts of the product, read from the store: the
day's schedule (adherence), survey responses (CSAT / NPS), forecast (vs actual) and the
configured vendors. Each is worked out in ``domain.report_sections``; a part whose data
is not in the store says so, and a store error in one section is said in that section
(the rest of the report stands).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from supervisor_tui.domain import report_sections
from supervisor_tui.domain.report import Section, Window
from supervisor_tui.domain.text import clean
from supervisor_tui.report.collect import ReportSettings
from supervisor_tui.store import Store, StoreError


def _guarded(key: str, title: str, make: Callable[[], Section]) -> Section:
    try:
        return make()
    except (StoreError, ValueError) as err:
        return Section(key, title, False, f"could not be read from the store: {clean(err)}")


def sections(store: Store, day: date, settings: ReportSettings, window: Window,
             rows: Sequence[Mapping[str, Any]], now: datetime) -> list[Section]:
    return [
        _guarded("vendors", "Vendors / sites",
                 lambda: report_sections.vendors(rows, settings.vendors, window)),
        _guarded("forecast", "Forecast vs actual",
                 lambda: _forecast(store, day, settings, rows, now)),
        _guarded("adherence", "Schedule adherence", lambda: _adherence(store, day)),
        _guarded("surveys", "CSAT / NPS", lambda: _surveys(store, day)),
    ]


def _forecast(store: Store, day: date, settings: ReportSettings,
              rows: Sequence[Mapping[str, Any]], now: datetime) -> Section:
    from supervisor_tui.domain.forecast import outlook
    from supervisor_tui.store.forecasts import read_forecast

    forecast = read_forecast(store, day)
    by_queue: dict[str, list[Any]] = {}
    for f in forecast:
        by_queue.setdefault(f.queue_id, []).append(f)
    closed: dict[str, list[Mapping[str, Any]]] = {}
    for r in rows:
        closed.setdefault(str(r["queue_id"]), []).append(r)
    return report_sections.forecast([
        outlook(q, by_queue[q], closed.get(q, []), now, settings.sl_formula)
        for q in sorted(by_queue)])


def _adherence(store: Store, day: date) -> Section:
    from supervisor_tui.store.agent_days import read_agent_days
    from supervisor_tui.store.schedules import read_adherence, schedule_meta

    meta = schedule_meta(store, day.isoformat())
    if meta is None:
        return report_sections.adherence(None)
    figures = {key: (f.scheduled_s, f.out_s)
               for key, f in read_adherence(store, day.isoformat()).items()}
    who = {f"{r['source']}:{r['agent_id']}": (clean(r["name"] or r["agent_id"], 80),
                                               clean(r["team"] or "", 80))
           for r in read_agent_days(store, day.isoformat())}
    return report_sections.adherence(
        meta.entries, f"imported {meta.imported_at[:16].replace('T', ' ')} UTC by "
        f"{clean(meta.imported_by, 60)} from {clean(meta.origin, 80)}", figures, who)


def _surveys(store: Store, day: date) -> Section:
    from supervisor_tui.store.surveys import read_surveys

    return report_sections.surveys(read_surveys(store, day.isoformat()))
