"""The end-of-day report's model (pure): one local day of stored figures as KPIs, each
with its window, its formula and the sample behind it.

Built from plain rows (the store's closed intervals, escalation occurrences, incidents
and their timelines, converted by ``supervisor_tui.report.collect``); rendered by
``supervisor_tui.report`` as Markdown, HTML, CSV or JSON. Nothing is invented: a figure
with nothing to divide by is None (shown "—"), and a section whose data is not loaded
(schedules, surveys, a forecast, vendors) says so instead of showing zeros.

Counting: the interval rows follow the counting rule (offered = answered + abandoned +
flowed out), so a day's counters are the sums of its intervals and every rate is the
ratio of sums (never an average of ratios), at most 100%. A queue's day SL is measured
against its own threshold in each interval; a group's adds the queues' "within their own
threshold" counts, and its target is the queues' targets weighted by their SL samples
(as the intraday view does), so a 20 s voice target and a 1 h email target are never
read as one threshold.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from supervisor_tui.domain.board import SLStatus, WindowMetrics, sl_status
from supervisor_tui.domain.fmt import utc_stamp
from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.domain.intraday import IntervalFigures, figures, group_of, summed
from supervisor_tui.domain.model import SLFormula

SCHEMA = "supervisor-tui.report/1"  # the JSON form's schema version (docs/report.md)

#: what each KPI is, as written in the report beside it
FORMULAS: dict[str, str] = {
    "offered": "contacts that entered the queue (answered + abandoned + flowed out)",
    "answered": "contacts answered by an agent",
    "abandoned": "contacts that left before an answer (short abandons included)",
    "service_level": "",  # by the configured formula: see sl_formula_text
    "asa_s": "total wait of answered contacts / answered",
    "aht_s": "(talk + hold + after-contact work) / handled",
    "abandon_rate": "(abandoned - short abandons) / (offered - short abandons)",
}
UNITS = {"offered": "count", "answered": "count", "abandoned": "count",
         "service_level": "ratio", "asa_s": "seconds", "aht_s": "seconds",
         "abandon_rate": "ratio"}

_SL_TEXT = {
    SLFormula.ANSWERED_AND_ABANDONED_AFTER:
        "answered within threshold / (answered + abandoned after threshold)",
    SLFormula.ANSWERED: "answered within threshold / answered",
    SLFormula.OFFERED: "answered within threshold / offered",
}


def sl_formula_text(formula: SLFormula) -> str:
    return _SL_TEXT[SLFormula(formula)]


@dataclass(frozen=True)
class Window:
    """What a figure covers: [start, end) UTC and how it is described."""

    start: datetime
    end: datetime
    label: str  # "day" or "interval"

    def __str__(self) -> str:
        return f"{self.label} {self.start:%Y-%m-%dT%H:%M}Z-{self.end:%Y-%m-%dT%H:%M}Z"


@dataclass(frozen=True)
class Kpi:
    metric: str  # a key of FORMULAS
    value: float | None  # None: nothing to divide by (never 0 in its place)
    target: float | None  # SL only (a fraction); None elsewhere
    n: int  # the sample: what the ratio is a share or average of
    formula: str

    @property
    def unit(self) -> str:
        return UNITS[self.metric]


@dataclass(frozen=True)
class ScopeKpis:
    """One queue, group or channel group over the day."""

    scope_type: str  # queue | group | channel_group
    scope: str  # the queue id or group name (source/config text: escape when shown)
    kpis: tuple[Kpi, ...]
    window: Window
    intervals: int  # stored interval rows behind the figures
    incomplete: int  # of which counted only to the last poll (see IntervalRow.complete)
    thresholds: tuple[float, ...]  # the SL thresholds in force (seconds; several: changed)
    queues: tuple[str, ...] = ()  # a group's queues that had rows
    missing: tuple[str, ...] = ()  # a group's queues with no row that day

    def kpi(self, metric: str) -> Kpi:
        return next(k for k in self.kpis if k.metric == metric)

    @property
    def status(self) -> SLStatus:
        sl = self.kpi("service_level")
        return sl_status(sl.value, sl.target or 0.0)


@dataclass(frozen=True)
class IntervalKpis:
    """One queue over one closed interval (the BI rows and the missed list)."""

    queue_id: str
    channel: str
    figures: IntervalFigures

    @property
    def window(self) -> Window:
        f = self.figures
        return Window(f.start, f.start + timedelta(minutes=f.minutes), "interval")


@dataclass(frozen=True)
class MissedInterval:
    queue_id: str
    window: Window
    local_label: str  # "10:00-10:30" in the centre's zone
    service_level: float
    target: float
    n: int
    status: SLStatus  # MISSED (more than 5 points under) or AT_RISK (within 5)
    small_sample: bool  # n under [console] min_sample: read with care


@dataclass(frozen=True)
class SeriesPoint:
    """One interval of a channel group, for the charts."""

    start: datetime
    local_label: str
    offered: int
    answered: int
    abandoned: int
    service_level: float | None
    target: float
    n: int


@dataclass(frozen=True)
class EscalationItem:
    """One occurrence as the report lists it (unowned at the end of the window)."""

    first_seen: datetime
    kind: str
    severity: str
    queue_id: str | None
    label: str


@dataclass(frozen=True)
class Escalations:
    window: Window
    count: int
    by_kind: tuple[tuple[str, int], ...]
    by_severity: tuple[tuple[str, int], ...]
    taken: int
    median_take_min: float | None
    p90_take_min: float | None
    first_sight: int  # began before any console saw them: their minutes are lower bounds
    resolved: int
    unowned_at_end: tuple[EscalationItem, ...]


@dataclass(frozen=True)
class TimelineEntry:
    ts: datetime
    kind: str
    user: str
    text: str


@dataclass(frozen=True)
class IncidentEntry:
    id: int
    title: str
    severity: str
    state: str
    queues: tuple[str, ...]
    declared_at: datetime
    declared_by: str
    resolved_at: datetime | None
    minutes_in_window: float  # how much of the day it was open
    timeline: tuple[TimelineEntry, ...]
    timeline_more: int  # entries beyond the ones kept (delivery retries can be many)


@dataclass(frozen=True)
class Section:
    """A section fed by another part of the product (adherence, CSAT/NPS, forecast,
    vendors): ``rows`` of plain values when loaded, else ``note`` says what is missing."""

    key: str  # adherence | surveys | forecast | vendors
    title: str
    loaded: bool
    note: str
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[Any, ...], ...] = ()
    #: tidy (scope_type, scope, metric, value, unit, target, n) rows for CSV/JSON
    tidy: tuple[tuple[str, str, str, float | None, str, float | None, int], ...] = ()
    numeric: tuple[int, ...] = ()  # columns of figures (aligned right when shown)


@dataclass(frozen=True)
class DayReport:
    day: date
    zone: str
    window: Window  # the local day in UTC (23 or 25 h on DST days)
    generated_at: datetime
    sl_formula: SLFormula
    interval_minutes: int
    min_sample: int
    queues: tuple[ScopeKpis, ...]
    groups: tuple[ScopeKpis, ...]
    channel_groups: tuple[ScopeKpis, ...]
    intervals: tuple[IntervalKpis, ...]
    missed: tuple[MissedInterval, ...]
    series: tuple[tuple[str, tuple[SeriesPoint, ...]], ...]  # per channel group
    escalations: Escalations
    incidents: tuple[IncidentEntry, ...]
    sections: tuple[Section, ...] = field(default_factory=tuple)
    partial: bool = False  # the day is not over yet (generated before its end)
    idle_groups: tuple[str, ...] = ()  # [groups] with no stored row that day

    @property
    def empty(self) -> bool:
        return not self.intervals and not self.escalations.count and not self.incidents

    def kpi_formula(self, metric: str) -> str:
        return sl_formula_text(self.sl_formula) if metric == "service_level" else (
            FORMULAS[metric])

    def formulas(self) -> list[tuple[str, str]]:
        """(name, how it is worked out) for the report's "method" part."""
        return [
            ("Offered, answered, abandoned", "sums of the stored closed intervals of the "
             "day (offered = answered + abandoned + flowed out: each contact counted once)"),
            ("Service level", f"{sl_formula_text(self.sl_formula)}, each queue against its "
             "own threshold; n is the denominator. A group adds its queues' counts; its "
             "target is the queues' targets weighted by their SL samples"),
            ("ASA", f"{FORMULAS['asa_s']}; n = answered"),
            ("AHT", f"{FORMULAS['aht_s']}; n = handled"),
            ("Abandon %", f"{FORMULAS['abandon_rate']}; n = the denominator"),
            ("Status", "on target when the SL shown (whole percent) reaches the target; at "
             "risk within 5 points under it; missed below that"),
            ("Missed intervals", "a queue's closed intervals whose SL was under target "
             f"(flagged when n is under {self.min_sample}, [console] min_sample)"),
            ("Time to take", "from an escalation's first sight by a console to its first "
             "take (or hand-over) on the desk; median and 90th percentile (nearest rank) "
             "over those taken"),
            ("A dash", "nothing to divide by (no contact in the sample): never shown as 0"),
        ]


# -- building ------------------------------------------------------------------------


def kpis(metrics: WindowMetrics, target: float | None, formula: SLFormula) -> tuple[Kpi, ...]:
    s = metrics.stats
    return (
        Kpi("offered", s.offered, None, s.offered, FORMULAS["offered"]),
        Kpi("answered", s.answered, None, s.offered, FORMULAS["answered"]),
        Kpi("abandoned", s.abandoned, None, s.offered, FORMULAS["abandoned"]),
        Kpi("service_level", metrics.service_level, target, metrics.sl_n,
            sl_formula_text(formula)),
        Kpi("asa_s", metrics.asa_s, None, s.answered, FORMULAS["asa_s"]),
        Kpi("aht_s", metrics.aht_s, None, s.handled, FORMULAS["aht_s"]),
        Kpi("abandon_rate", metrics.abandon_rate, None, metrics.abandon_n,
            FORMULAS["abandon_rate"]),
    )


def scope(scope_type: str, name: str, rows: Sequence[Mapping[str, Any]], window: Window,
          formula: SLFormula, members: Sequence[str] = ()) -> ScopeKpis:
    metrics, target = summed(rows, window.start, formula)
    present = tuple(sorted({str(r["queue_id"]) for r in rows}))
    return ScopeKpis(
        scope_type=scope_type, scope=name, kpis=kpis(metrics, target, formula),
        window=window, intervals=len(rows),
        incomplete=sum(1 for r in rows if not r["complete"]),
        thresholds=tuple(sorted({float(r["threshold_s"]) for r in rows})),
        queues=present if members else (),
        missing=tuple(q for q in members if q not in present))


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile (p in (0, 100]): a value that occurred, no interpolation."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(math.ceil(p / 100 * len(ordered)), 1)
    return ordered[rank - 1]


def _when(text: str | None) -> datetime | None:
    from datetime import UTC

    if not text:
        return None
    moment = datetime.fromisoformat(text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def escalations(rows: Iterable[Mapping[str, Any]], window: Window,
                now: datetime) -> Escalations:
    """Occurrence rows (``store.escalation_log.OccurrenceRow`` keys) first seen in the
    window. Time to take = taken_at - first_seen (clamped at 0: two consoles' clocks);
    unowned at the end = never taken, not resolved and still active when the window
    ended (or now, for a day not over)."""
    end = min(window.end, now)
    listed = list(rows)
    kinds: dict[str, int] = {}
    severities: dict[str, int] = {}
    takes: list[float] = []
    unowned: list[EscalationItem] = []
    first_sight = resolved = 0
    for row in listed:
        kinds[row["kind"]] = kinds.get(row["kind"], 0) + 1
        severities[row["severity"]] = severities.get(row["severity"], 0) + 1
        first = _when(row["first_seen"])
        assert first is not None
        taken, done = _when(row["taken_at"]), _when(row["resolved_at"])
        cleared = _when(row["cleared_at"])
        if row["began_earlier"]:
            first_sight += 1
        if taken is not None and taken < end:
            takes.append(max((taken - first).total_seconds(), 0.0) / 60)
        if done is not None and done < end:
            resolved += 1
        if ((taken is None or taken >= end) and (done is None or done >= end)
                and (cleared is None or cleared >= end)):
            unowned.append(EscalationItem(first, row["kind"], row["severity"],
                                          row["queue_id"], row["label"]))
    return Escalations(
        window=window, count=len(listed), by_kind=tuple(sorted(kinds.items())),
        by_severity=tuple(sorted(severities.items())), taken=len(takes),
        median_take_min=_median(takes), p90_take_min=percentile(takes, 90),
        first_sight=first_sight, resolved=resolved, unowned_at_end=tuple(unowned))


def _median(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def build(*, day: date, policy: IntervalPolicy, window: Window, generated_at: datetime,
          formula: SLFormula, min_sample: int, rows: Sequence[Mapping[str, Any]],
          groups: Mapping[str, Sequence[str]], occurrences: Iterable[Mapping[str, Any]],
          incidents: Sequence[IncidentEntry], sections: Sequence[Section] = ()
          ) -> DayReport:
    """The day's report from its stored rows (intervals of one local day, any order)."""
    formula = SLFormula(formula)
    by_queue: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        by_queue.setdefault(str(row["queue_id"]), []).append(row)
    queues = tuple(scope("queue", q, by_queue[q], window, formula) for q in sorted(by_queue))
    group_rows = {name: [r for q in members for r in by_queue.get(q, [])]
                  for name, members in groups.items()}
    # A group none of whose queues has a row shows no figures (not zeros): it is named.
    group_kpis = tuple(scope("group", name, group_rows[name], window, formula, members)
                       for name, members in groups.items() if group_rows[name])
    by_channel_group: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        by_channel_group.setdefault(_channel_group(str(row["channel"])), []).append(row)
    channel_groups = tuple(scope("channel_group", g, by_channel_group[g], window, formula)
                           for g in sorted(by_channel_group))
    zone = policy.zone
    interval_kpis: list[IntervalKpis] = []
    missed: list[MissedInterval] = []
    for q in sorted(by_queue):
        for f in figures(by_queue[q], formula):
            item = IntervalKpis(q, str(by_queue[q][0]["channel"]), f)
            interval_kpis.append(item)
            sl = f.metrics.service_level
            if sl is not None and f.status in (SLStatus.MISSED, SLStatus.AT_RISK):
                missed.append(MissedInterval(
                    q, item.window, _local_label(f, zone), sl, f.target, f.metrics.sl_n,
                    f.status, f.metrics.sl_n < min_sample))
    missed.sort(key=lambda m: (m.window.start, m.queue_id))
    series = tuple((g, tuple(SeriesPoint(
        f.start, _local_label(f, zone), f.stats.offered, f.stats.answered, f.stats.abandoned,
        f.metrics.service_level, f.target, f.metrics.sl_n)
        for f in figures(by_channel_group[g], formula)))
        for g in sorted(by_channel_group))
    return DayReport(
        day=day, zone=zone.key, window=window, generated_at=generated_at,
        sl_formula=formula, interval_minutes=policy.minutes, min_sample=min_sample,
        queues=queues, groups=group_kpis, channel_groups=channel_groups,
        idle_groups=tuple(name for name in groups if not group_rows[name]),
        intervals=tuple(interval_kpis), missed=tuple(missed), series=series,
        escalations=escalations(occurrences, window, generated_at),
        incidents=tuple(incidents), sections=tuple(sections),
        partial=generated_at < window.end)


def _channel_group(channel: str) -> str:
    # A channel this version does not know (a row written by a newer console) is its own
    # group rather than a crash or a wrong group.
    try:
        return group_of(channel)
    except ValueError:
        return channel


def _local_label(f: IntervalFigures, zone: Any) -> str:
    start = f.start.astimezone(zone)
    end = (f.start + timedelta(minutes=f.minutes)).astimezone(zone)
    return f"{start:%H:%M}-{end:%H:%M}"


# -- the tidy rows (CSV and JSON, for BI tools) --------------------------------------

#: the columns of the CSV form, in order (a stable contract: add, never rename)
TIDY_COLUMNS: tuple[str, ...] = (
    "date", "zone", "window", "window_start_utc", "window_end_utc", "scope_type", "scope",
    "metric", "value", "unit", "target", "n",
)



def tidy_rows(report: DayReport) -> list[dict[str, Any]]:
    """Every figure of the report as one long row (TIDY_COLUMNS): the day's KPIs per
    channel group, group and queue, each queue's intervals, the escalation and incident
    figures, and what the loaded sections add."""
    out: list[dict[str, Any]] = []
    day = report.day.isoformat()
    stamps: dict[Window, tuple[str, str]] = {}  # (formatting a time is the costly part)

    def add(window: Window, scope_type: str, name: str, metric: str, value: float | None,
            unit: str, target: float | None, n: int) -> None:
        stamp = stamps.get(window)
        if stamp is None:
            stamp = stamps[window] = (utc_stamp(window.start), utc_stamp(window.end))
        out.append({"date": day, "zone": report.zone, "window": window.label,
                    "window_start_utc": stamp[0], "window_end_utc": stamp[1],
                    "scope_type": scope_type, "scope": name, "metric": metric,
                    "value": None if value is None else round(value, 4), "unit": unit,
                    "target": None if target is None else round(target, 4), "n": n})

    for block in (report.channel_groups, report.groups, report.queues):
        for s in block:
            for k in s.kpis:
                add(s.window, s.scope_type, s.scope, k.metric, k.value, k.unit, k.target, k.n)
    for item in report.intervals:
        f = item.figures
        for k in kpis(f.metrics, f.target, report.sl_formula):
            add(item.window, "queue", item.queue_id, k.metric, k.value, k.unit, k.target, k.n)
    e, w = report.escalations, report.window
    add(w, "centre", "", "escalations", e.count, "count", None, e.count)
    add(w, "centre", "", "escalations_taken", e.taken, "count", None, e.count)
    add(w, "centre", "", "escalation_minutes_to_take_median", e.median_take_min, "minutes",
        None, e.taken)
    add(w, "centre", "", "escalation_minutes_to_take_p90", e.p90_take_min, "minutes",
        None, e.taken)
    add(w, "centre", "", "escalations_unowned_at_end", len(e.unowned_at_end), "count",
        None, e.count)
    add(w, "centre", "", "incidents", len(report.incidents), "count", None,
        len(report.incidents))
    add(w, "centre", "", "incident_minutes", sum(i.minutes_in_window for i in report.incidents),
        "minutes", None, len(report.incidents))
    for section in report.sections:
        for scope_type, name, metric, value, unit, target, n in section.tidy:
            add(w, scope_type, name, metric, value, unit, target, n)
    return out
