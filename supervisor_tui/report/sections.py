"""The report's sections fed by other parts of the product: schedule adherence, CSAT /
NPS / FCR, forecast vs actual, vendors. Each reads its own stored data when that part
of the product keeps some, and otherwise says plainly what is not loaded: never zeros.

A part that lands adds its reader here (one function returning a ``Section``).
"""

from __future__ import annotations

from datetime import date

from supervisor_tui.domain.report import Section, Window
from supervisor_tui.report.collect import ReportSettings
from supervisor_tui.store import Store


def _absent(key: str, title: str, note: str) -> Section:
    return Section(key=key, title=title, loaded=False, note=note)


def sections(store: Store, day: date, settings: ReportSettings,
             window: Window) -> list[Section]:
    return [
        _absent("adherence", "Schedule adherence",
                "no schedule loaded for this day (supervisor-tui schedule import FILE)"),
        _absent("surveys", "CSAT / NPS / FCR", "no survey results stored for this day"),
        _absent("forecast", "Forecast vs actual", "no forecast loaded for this day"),
        _absent("vendors", "Vendors / sites",
                "no vendor or site recorded for the queues of this day"),
    ]
