"""The report laid out once as plain blocks (headings, paragraphs, lists, tables,
charts) that the Markdown and HTML renderers both walk, so the two forms never say
different things. Every string here is plain text: the renderers escape it for their
format (source names are data).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from supervisor_tui.domain.board import SLStatus
from supervisor_tui.domain.fmt import DASH, duration, pct, threshold
from supervisor_tui.domain.report import DayReport, ScopeKpis, SeriesPoint, Window
from supervisor_tui.domain.text import clean

STATUS_WORD = {SLStatus.OK: "on target", SLStatus.AT_RISK: "at risk (within 5 pts)",
               SLStatus.MISSED: "missed", SLStatus.NO_DATA: "no data"}
CHANNEL_GROUP_NAME = {"live": "Live channels (voice, chat, social)",
                      "deferred": "Deferred channels (email)"}


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    anchor: str = ""


@dataclass(frozen=True)
class Para:
    text: str


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    key: str  # an id for the HTML table (tests and BI scrapers find it by it)
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: frozenset[int] = frozenset()  # columns aligned right


@dataclass(frozen=True)
class Chart:
    """An SVG chart (HTML only; Markdown says where the figures are in tables)."""

    key: str
    kind: str  # "volume" | "sl" | "queues"
    title: str
    series: tuple[SeriesPoint, ...] = ()
    scopes: tuple[ScopeKpis, ...] = ()


Block = Heading | Para | Bullets | Table | Chart


def local(moment: datetime, zone: ZoneInfo, with_date: bool = False) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M" if with_date else "%H:%M")


def utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def window_text(window: Window, zone: ZoneInfo) -> str:
    return (f"{local(window.start, zone, True)} to {local(window.end, zone, True)} "
            f"{zone.key} ({utc(window.start)} to {utc(window.end)})")


def _num(value: float | None) -> str:
    return DASH if value is None else f"{value:,.0f}"


def _minutes(value: float | None) -> str:
    return DASH if value is None else f"{value:.1f} min"


KPI_COLUMNS = ("Scope", "Offered", "Answered", "Abandoned", "SL", "Target", "SL n",
               "Status", "ASA", "AHT", "Abandon %", "Threshold")


def shown(name: str) -> str:
    """A source's name as it can be shown: one that is nothing but control or escape
    characters is said, not left as an empty cell."""
    visible = any(c.isprintable() and not c.isspace() for c in clean(name, 256))
    return name if visible else f"(unprintable name, {len(name)} chars)"


def kpi_row(s: ScopeKpis, name: str) -> tuple[str, ...]:
    sl = s.kpi("service_level")
    return (shown(name), _num(s.kpi("offered").value), _num(s.kpi("answered").value),
            _num(s.kpi("abandoned").value), pct(sl.value, 1), pct(sl.target, 1),
            str(sl.n), STATUS_WORD[s.status], duration(s.kpi("asa_s").value),
            duration(s.kpi("aht_s").value), pct(s.kpi("abandon_rate").value, 1),
            " / ".join(threshold(t) for t in s.thresholds) or DASH)


def _kpi_table(key: str, scopes: tuple[ScopeKpis, ...], names: dict[str, str] | None = None
               ) -> Table:
    return Table(key, KPI_COLUMNS,
                 tuple(kpi_row(s, (names or {}).get(s.scope, s.scope)) for s in scopes),
                 frozenset(range(1, 7)) | {8, 9, 10})


def blocks(report: DayReport) -> list[Block]:
    zone = ZoneInfo(report.zone)
    out: list[Block] = [Heading(1, f"End-of-day report: {report.day.isoformat()}")]
    head = [f"Window: the local day {window_text(report.window, zone)}.",
            f"Generated {utc(report.generated_at)}."
            + (" The day was not over: figures run to the last closed interval."
               if report.partial else ""),
            f"Reporting intervals of {report.interval_minutes} min; service level = "
            f"{report.kpi_formula('service_level')}, each queue against its own threshold."]
    out.append(Bullets(tuple(head)))
    if report.empty:
        out.append(Para("No data stored for this day: no closed interval, escalation or "
                        "incident. (Figures are written by a running console or collector "
                        "on this store.)"))

    out.append(Heading(2, "Service by channel group", "channel-groups"))
    if report.channel_groups:
        out.append(_kpi_table("kpi-channel-groups", report.channel_groups,
                              CHANNEL_GROUP_NAME))
        for name, points in report.series:
            title = CHANNEL_GROUP_NAME.get(name, name)
            out.append(Chart(f"chart-volume-{name}", "volume",
                             f"{title}: offered per interval (answered / abandoned)",
                             series=points))
            out.append(Chart(f"chart-sl-{name}", "sl",
                             f"{title}: service level per interval vs target",
                             series=points))
    else:
        out.append(Para("No closed interval stored for this day."))

    out.append(Heading(2, "Service by group", "groups"))
    if report.groups:
        out.append(_kpi_table("kpi-groups", report.groups))
    gaps = [f"{g.scope}: no figures for {', '.join(g.missing)}"
            for g in report.groups if g.missing]
    gaps += [f"{name}: none of its queues has figures for this day"
             for name in report.idle_groups]
    if gaps:
        out.append(Bullets(tuple(gaps)))
    elif not report.groups:
        out.append(Para("No queue groups configured ([groups] in the config)."))

    out.append(Heading(2, "Service by queue", "queues"))
    if report.queues:
        out.append(_kpi_table("kpi-queues", report.queues))
        out.append(Chart("chart-queues", "queues", "Service level by queue vs target",
                         scopes=report.queues))
        partial = [f"{q.scope}: {q.incomplete} of {q.intervals} intervals counted only to "
                   "their last poll" for q in report.queues if q.incomplete]
        if partial:
            out.append(Bullets(tuple(partial)))
    else:
        out.append(Para("No queue figures stored for this day."))

    out.append(Heading(2, "Intervals that missed service level", "missed"))
    if report.missed:
        out.append(Table("missed-intervals", (
            "Interval (local)", "Queue", "SL", "Target", "n", "Status", "Note"),
            tuple((m.local_label, shown(m.queue_id), pct(m.service_level, 1), pct(m.target, 1),
                   str(m.n), STATUS_WORD[m.status],
                   f"fewer than {report.min_sample} contacts" if m.small_sample else "")
                  for m in report.missed), frozenset({2, 3, 4})))
    elif report.intervals:
        out.append(Para("Every interval with a service-level sample met its target."))
    else:
        out.append(Para("No closed interval stored for this day."))

    out += _escalations(report, zone)
    out += _incidents(report, zone)
    for section in report.sections:
        out.append(Heading(2, section.title, section.key))
        if not section.loaded:
            out.append(Para(section.note[:1].upper() + section.note[1:] + "."))
            continue
        if section.note:
            out.append(Para(section.note))
        out.append(Table(f"section-{section.key}", section.columns,
                         tuple(tuple(str(v) for v in row) for row in section.rows),
                         frozenset(section.numeric)))

    out.append(Heading(2, "How the figures are worked out", "method"))
    out.append(Bullets(tuple(f"{name}: {text}" for name, text in report.formulas())))
    return out


def _escalations(report: DayReport, zone: ZoneInfo) -> list[Block]:
    e = report.escalations
    out: list[Block] = [Heading(2, "Escalations", "escalations")]
    if not e.count:
        return [*out, Para("No escalation was raised this day.")]
    facts = [
        f"Raised: {e.count} ("
        + ", ".join(f"{kind.replace('_', ' ')} {n}" for kind, n in e.by_kind) + "; "
        + ", ".join(f"{sev} {n}" for sev, n in e.by_severity) + ").",
        f"Taken by someone: {e.taken} of {e.count}; resolved on the desk: {e.resolved}.",
        f"Time to take (first seen to taken, n = {e.taken}): median "
        f"{_minutes(e.median_take_min)}, 90th percentile {_minutes(e.p90_take_min)} "
        "(nearest rank).",
        f"Unowned at the end of the day (never taken, not resolved, still active): "
        f"{len(e.unowned_at_end)}.",
    ]
    if e.first_sight:
        facts.append(f"{e.first_sight} began before any console saw them: their time to "
                     "take is counted from the first sight (a lower bound).")
    out.append(Bullets(tuple(facts)))
    if e.unowned_at_end:
        out.append(Table("escalations-unowned", (
            "First seen (local)", "Kind", "Severity", "Queue", "Subject"),
            tuple((local(i.first_seen, zone), i.kind.replace("_", " "), i.severity,
                   i.queue_id or DASH, i.label) for i in e.unowned_at_end)))
    return out


def _incidents(report: DayReport, zone: ZoneInfo) -> list[Block]:
    out: list[Block] = [Heading(2, "Incidents", "incidents")]
    if not report.incidents:
        return [*out, Para("No incident was open this day.")]
    out.append(Table("incidents", (
        "Incident", "Title", "Severity", "Queues", "Declared (local)", "Resolved (local)",
        "Minutes open this day"),
        tuple((f"#{i.id}", i.title, i.severity, ", ".join(i.queues) or DASH,
               local(i.declared_at, zone, True),
               local(i.resolved_at, zone, True) if i.resolved_at else "still open",
               f"{i.minutes_in_window:.0f}") for i in report.incidents),
        frozenset({6})))
    for i in report.incidents:
        out.append(Heading(3, f"Incident #{i.id} timeline: {i.title}", f"incident-{i.id}"))
        out.append(Table(f"timeline-{i.id}", ("Time (local)", "Event", "By", "Details"),
                         tuple((local(t.ts, zone, True), t.kind, t.user, t.text)
                               for t in i.timeline)))
        if i.timeline_more:
            out.append(Para(f"… and {i.timeline_more} later entries (supervisor-tui "
                            f"incident export {i.id} has them all)."))
    return out
