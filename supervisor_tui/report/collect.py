"""Reading one local day from the shared store into the report's model
(``domain.report``): the closed intervals (``Store.intervals``, what ``export
intervals`` reads), the escalation occurrences (``store.escalation_log``, what ``export
escalations`` reads) and the incidents with their timelines (``crisis.incidents``).

Sections other parts of the product feed (adherence, CSAT/NPS, forecast, vendors) come
from ``supervisor_tui.report.sections``: each says "not loaded" until its data exists.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from supervisor_tui.crisis.incidents import IncidentStore
from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.domain.intraday import day_bounds
from supervisor_tui.domain.model import SLFormula
from supervisor_tui.domain.report import (
    DayReport,
    IncidentEntry,
    TimelineEntry,
    Window,
    build,
)
from supervisor_tui.domain.text import clean
from supervisor_tui.domain.vendors import VendorRule
from supervisor_tui.store import Store
from supervisor_tui.store.escalation_log import read_escalations

#: timeline entries kept per incident (a long outage's delivery retries run to hundreds:
#: the count of the rest is said)
TIMELINE_KEEP = 60
#: incidents looked through (newest first) for the ones open during the day
INCIDENTS_SCAN = 1000


@dataclass(frozen=True)
class ReportSettings:
    """What the report needs from the configuration (kept apart: the report knows no
    config file, so a test or another entry point can hand these in)."""

    policy: IntervalPolicy
    sl_formula: SLFormula
    min_sample: int
    groups: Mapping[str, Sequence[str]]
    vendors: Sequence[VendorRule] = ()  # [vendors] (config/vendors.py vendor_rules)


def collect(store: Store, day: date, settings: ReportSettings,
            now: datetime | None = None) -> DayReport:
    """The report of the centre's local ``day`` (raises StoreError if the store cannot be
    read)."""
    from supervisor_tui.report.sections import sections

    now = (now or datetime.now(UTC)).astimezone(UTC)
    start, end = day_bounds(day, settings.policy)
    window = Window(start, end, "day")
    rows = store.intervals(start, end)
    occurrences = [{**o.row, "label": clean(o.row["label"]),
                    "queue_id": None if o.row["queue_id"] is None
                    else clean(o.row["queue_id"], 256)}
                   for o in read_escalations(store, start, end)]
    return build(day=day, policy=settings.policy, window=window, generated_at=now,
                 formula=settings.sl_formula, min_sample=settings.min_sample, rows=rows,
                 groups=settings.groups, occurrences=occurrences,
                 incidents=incidents(store, window, now),
                 sections=sections(store, day, settings, window, rows, now))


def incidents(store: Store, window: Window, now: datetime) -> list[IncidentEntry]:
    """Incidents open at any moment of the window, oldest first, with their timelines
    (text cleaned here too: the store may hold rows written by any console)."""
    book = IncidentStore(store.db)
    inside = []
    for inc in book.find(limit=INCIDENTS_SCAN):
        ended = inc.resolved_at or now
        if inc.declared_at < window.end and ended >= window.start:
            inside.append((inc, min(ended, window.end, now) - max(inc.declared_at,
                                                                  window.start)))
    timelines = book.timelines([inc.id for inc, _ in inside], TIMELINE_KEEP)
    out: list[IncidentEntry] = []
    for inc, span in inside:
        kept, total = timelines.get(inc.id, ([], 0))
        out.append(IncidentEntry(
            id=inc.id, title=clean(inc.title), severity=clean(inc.severity, 40),
            state=inc.state, queues=tuple(clean(q, 256) for q in inc.queues),
            declared_at=inc.declared_at, declared_by=clean(inc.declared_by, 80),
            resolved_at=inc.resolved_at,
            minutes_in_window=max(span.total_seconds(), 0.0) / 60,
            timeline=tuple(TimelineEntry(e.ts, clean(e.kind, 40), clean(e.user, 80),
                                         clean(e.text, 500)) for e in kept),
            timeline_more=total - len(kept)))
    out.sort(key=lambda i: (i.declared_at, i.id))
    return out
