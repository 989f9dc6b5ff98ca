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
from supervisor_tui.domain.vendors import VendorRule
from supervisor_tui.report.collect import ReportSettings
from supervisor_tui.store import Store, StoreError


def _guarded(key: str, title: str, make: Callable[[], Section]) -> Section:
    try:
        return make()
    except (StoreError, ValueError) as err:
        return Section(key, title, False, f"could not be read from the store: {clean(err)}")


def sections(store: Store, day: date, settings: ReportSettings, window: Window,
             rows: Sequence[Mapping[str, Any]], now: datetime) -> list[Section]:
    people = _People(store, day)
    return [
        _guarded("vendors", "Vendors / sites", lambda: report_sections.vendors(
            rows, settings.vendors, window, people.by_vendor(settings.vendors))),
        _guarded("forecast", "Forecast vs actual",
                 lambda: _forecast(store, day, settings, rows, now)),
        _guarded("adherence", "Schedule adherence", lambda: _adherence(store, day, people)),
        _guarded("surveys", "CSAT / NPS", lambda: _surveys(store, day)),
    ]


class _People:
    """The day's stored adherence per agent and the agents' days (names, teams, queues),
    read once for the adherence and vendor sections."""

    def __init__(self, store: Store, day: date) -> None:
        self.store, self.day = store, day.isoformat()
        self._read = False
        self.figures: dict[str, tuple[float, float]] = {}
        self.days: list[Mapping[str, Any]] = []

    def read(self) -> None:
        if self._read:
            return
        from supervisor_tui.store.agent_days import read_agent_days
        from supervisor_tui.store.schedules import read_adherence

        self._read = True
        self.figures = {k: (f.scheduled_s, f.out_s)
                        for k, f in read_adherence(self.store, self.day).items()}
        self.days = list(read_agent_days(self.store, self.day)) if self.figures else []

    def who(self) -> dict[str, tuple[str, str]]:
        self.read()
        return {f"{r['source']}:{r['agent_id']}": (clean(r["name"] or r["agent_id"], 80),
                                                    clean(r["team"] or "", 80))
                for r in self.days}

    def by_vendor(self, rules: Sequence[VendorRule]) -> dict[str, tuple[float, float, int]]:
        """Per vendor key: scheduled and out seconds and agents, over its agents: by its
        teams and agent id patterns (the first vendor that takes them, as on the vendors
        screen), or, for a vendor with no agent rules, the agents serving its queues. (A
        site the source reports is not in the agents' days: such agents are not here.)"""
        if not any(r.queues for r in rules):
            return {}
        self.read()
        out: dict[str, tuple[float, float, int]] = {}
        for row in self.days:
            figure = self.figures.get(f"{row['source']}:{row['agent_id']}")
            if figure is None or figure[0] <= 0:
                continue
            team, agent_id = row["team"] or "", str(row["agent_id"])
            serves = set(str(row["queues"] or "").split(","))
            owner = next((r.key for r in rules if r.takes(team, agent_id)), None)
            keys = [owner] if owner is not None else [
                r.key for r in rules if not r.has_agent_rules() and serves & r.queues]
            for key in keys:
                sched, out_s, n = out.get(key, (0.0, 0.0, 0))
                out[key] = (sched + figure[0], out_s + min(figure[1], figure[0]), n + 1)
        return out


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


def _adherence(store: Store, day: date, people: _People) -> Section:
    from supervisor_tui.store.schedules import schedule_meta

    meta = schedule_meta(store, day.isoformat())
    if meta is None:
        return report_sections.adherence(None)
    who = people.who()
    return report_sections.adherence(
        meta.entries, f"imported {meta.imported_at[:16].replace('T', ' ')} UTC by "
        f"{clean(meta.imported_by, 60)} from {clean(meta.origin, 80)}", people.figures, who)


def _surveys(store: Store, day: date) -> Section:
    from supervisor_tui.store.surveys import read_surveys

    return report_sections.surveys(read_surveys(store, day.isoformat()))
