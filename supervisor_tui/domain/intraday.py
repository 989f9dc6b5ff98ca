"""Intraday figures: a day interval by interval, beside the same day last week (pure).

Input rows are the store's closed intervals (``store.rows.IntervalRow``: plain mappings
with its keys), per queue or already summed per (target, threshold) for a channel group.
Every ratio comes from ``metrics`` through ``board.WindowMetrics``, with its sample.

A view is one queue or one channel group, never the whole centre in one SL: a 20 s
voice target and a 1 h email target do not make one meaningful service level (the
dashboard's tiles follow the same rule).

"Same day last week" is aligned by local interval of day in the centre's zone: today's
10:00-10:30 sits beside last week's 10:00-10:30 local even when a DST change lies
between (a UTC alignment would be an hour off). On the day clocks go back the repeated
hour's second intervals have no partner; on the day they go forward the skipped ones
have none: such a slot shows one side only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from supervisor_tui.domain.board import (
    CHANNEL_GROUP,
    SLStatus,
    WindowMetrics,
    sl_status,
)
from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.domain.model import Channel, QueueStats, SLFormula

#: the counters of a stored interval that add (queues into a group)
COUNTERS = ("offered", "answered", "answered_within_threshold", "abandoned",
            "abandoned_short", "abandoned_after_threshold", "flowed_out", "wait_answered_s",
            "handled", "handle_s")

Row = Mapping[str, Any]


def channels_of(group: str) -> tuple[str, ...]:
    """The channels of a channel group (``board.LIVE`` / ``board.DEFERRED``)."""
    return tuple(c.value for c, g in CHANNEL_GROUP.items() if g == group)


def group_of(channel: str) -> str:
    return CHANNEL_GROUP[Channel(channel)]


def day_bounds(day: date, policy: IntervalPolicy) -> tuple[datetime, datetime]:
    """[local midnight, next local midnight) of ``day`` in UTC (23 or 25 h on DST days)."""
    zone = policy.zone
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    end = start.replace(tzinfo=None) + timedelta(days=1)
    return start.astimezone(UTC), end.replace(tzinfo=zone).astimezone(UTC)


def slot_key(start: datetime, policy: IntervalPolicy) -> tuple[int, int, int]:
    """Local interval of day (hour, minute, fold): the same key on any two days."""
    local = start.astimezone(policy.zone)
    return local.hour, local.minute, local.fold


@dataclass(frozen=True)
class IntervalFigures:
    """One interval of one view: counters summed over its queues and what follows."""

    start: datetime  # UTC
    minutes: int
    metrics: WindowMetrics  # SL (sample sl_n), ASA (answered), AHT (handled), abandon
    target: float  # the queues' targets weighted by their SL samples
    queues: int  # stored rows behind it
    complete: bool  # every row counted to the interval's end (see IntervalRow)
    staffed: float | None  # effective agents at its last poll (summed over queues)
    needed: int | None  # Erlang C need at its last poll (summed; None: no estimate)

    @property
    def stats(self) -> QueueStats:
        return self.metrics.stats

    @property
    def status(self) -> SLStatus:
        return sl_status(self.metrics.service_level, self.target)


def sl_denominator(row: Row, formula: SLFormula) -> int:
    """A stored row's SL sample by the formula (``board.sl_denominator`` on its
    counters, without building its stats: the report sums tens of thousands of rows)."""
    if formula == SLFormula.ANSWERED:
        return int(row["answered"] or 0)
    if formula == SLFormula.OFFERED:
        return int(row["offered"] or 0)
    return int(row["answered"] or 0) + int(row["abandoned_after_threshold"] or 0)


def summed(rows: Sequence[Row], start: datetime,
           formula: SLFormula) -> tuple[WindowMetrics, float | None]:
    """The rows' counters summed, their metrics (``domain.metrics`` through
    WindowMetrics) and the SL-sample-weighted target."""
    totals: dict[str, Any] = dict.fromkeys(COUNTERS, 0)
    weighted = weight = 0.0
    for row in rows:
        for name in COUNTERS:
            totals[name] += row[name] or 0
        n = sl_denominator(row, formula)
        weighted += float(row["sl_target"]) * n
        weight += n
    if weight:
        target: float | None = weighted / weight
    elif rows:  # no SL sample at all: the plain mean of the targets in force
        target = sum(float(r["sl_target"]) for r in rows) / len(rows)
    else:
        target = None
    stats = QueueStats.trusted(queue_id="*", window_start=start, **totals)
    return WindowMetrics.of(stats, formula), target


def figures(rows: Iterable[Row], formula: SLFormula) -> list[IntervalFigures]:
    """Rows of one view (one queue, or a group's queues or sums) -> one figure set per
    interval, oldest first (the metrics computed once per interval, not per row: the
    end-of-day report reads tens of thousands of rows)."""
    by_start: dict[str, list[Row]] = {}
    for row in rows:
        by_start.setdefault(str(row["interval_start"]), []).append(row)
    out: list[IntervalFigures] = []
    for iso, group in by_start.items():
        start = datetime.fromisoformat(iso)
        metrics, target = summed(group, start, formula)
        staffed = [float(r["agents_staffed_at_close"]) for r in group
                   if r.get("agents_staffed_at_close") is not None]
        needed = [int(r["agents_needed_at_close"]) for r in group
                  if r.get("agents_needed_at_close") is not None]
        out.append(IntervalFigures(
            start=start, minutes=int(group[0]["interval_minutes"]), metrics=metrics,
            target=target if target is not None else 0.0, queues=len(group),
            complete=all(r["complete"] for r in group),
            staffed=sum(staffed) if staffed else None,
            needed=sum(needed) if needed else None))
    out.sort(key=lambda f: f.start)
    return out


@dataclass(frozen=True)
class Slot:
    """One local interval of day: today's figures beside last week's (either may be
    missing: not stored, or no such interval that day)."""

    label: str  # '10:00-10:30' local; a repeated DST hour's second pass is marked '²'
    today: IntervalFigures | None
    last_week: IntervalFigures | None


def beside(today: Sequence[IntervalFigures], last_week: Sequence[IntervalFigures],
           policy: IntervalPolicy) -> list[Slot]:
    """Today's intervals and last week's, paired by local interval of day, in order."""
    mine = {slot_key(f.start, policy): f for f in today}
    theirs = {slot_key(f.start, policy): f for f in last_week}
    slots = []
    for key in sorted(mine.keys() | theirs.keys()):
        f = mine.get(key) or theirs[key]
        local = f.start.astimezone(policy.zone)
        end = (f.start + timedelta(minutes=f.minutes)).astimezone(policy.zone)
        mark = "²" if key[2] else ""
        slots.append(Slot(f"{local:%H:%M}-{end:%H:%M}{mark}", mine.get(key), theirs.get(key)))
    return slots


def same_day_last_week(day: date) -> date:
    return day - timedelta(days=7)
