"""Per-poll aggregates, derived once from a Snapshot (pure).

Every widget renders from the same ``Board`` so numbers never disagree, and the
expensive loops over agents and contacts happen once per poll instead of once per
widget. Ages (longest wait, time in state) are *not* frozen here: rows keep the
timestamps and widgets compute durations against "now" at render time.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import cached_property

from supervisor_tui import erlang, metrics
from supervisor_tui.index import index_of
from supervisor_tui.model import (
    Agent,
    AgentStateKind,
    Contact,
    Queue,
    QueueStats,
    SLFormula,
    Snapshot,
)

# SL within this many points under target reads as "at risk" rather than "missed".
AT_RISK_POINTS = 0.05


class SLStatus(StrEnum):
    OK = "ok"
    AT_RISK = "at_risk"
    MISSED = "missed"
    NO_DATA = "no_data"


def sl_status(value: float | None, target: float) -> SLStatus:
    if value is None:
        return SLStatus.NO_DATA
    if value >= target:
        return SLStatus.OK
    if value >= target - AT_RISK_POINTS:
        return SLStatus.AT_RISK
    return SLStatus.MISSED


@dataclass(frozen=True)
class WindowMetrics:
    """Ratios over one window (the interval or the day)."""

    stats: QueueStats
    service_level: float | None
    asa_s: float | None
    aht_s: float | None
    abandon_rate: float | None

    @classmethod
    def of(cls, stats: QueueStats, formula: SLFormula) -> WindowMetrics:
        return cls(
            stats=stats,
            service_level=metrics.service_level(stats, formula),
            asa_s=metrics.asa(stats),
            aht_s=metrics.aht(stats),
            abandon_rate=metrics.abandon_rate(stats),
        )


@dataclass(frozen=True)
class Staffing:
    """Erlang C: agents needed now for the queue's target vs agents actually staffed."""

    arrival_per_hour: float
    aht_s: float
    needed: int
    predicted_sl_with_staffed: float | None
    result: erlang.StaffingResult


@dataclass(frozen=True)
class QueueRow:
    """One queue in one poll. Ratios, agent counts and Erlang staffing are computed on
    first use: a wall of 1,000 queues only pays for the rows on screen (or once for all
    of them when sorting by such a column), not for every row on every poll."""

    queue: Queue
    waiting: int
    oldest_waiting_since: datetime | None
    over_threshold: int
    interval_stats: QueueStats
    day_stats: QueueStats
    serving: tuple[Agent, ...]
    taken_at: datetime
    formula: SLFormula
    max_occupancy: float | None

    @cached_property
    def interval(self) -> WindowMetrics:
        return WindowMetrics.of(self.interval_stats, self.formula)

    @cached_property
    def day(self) -> WindowMetrics:
        return WindowMetrics.of(self.day_stats, self.formula)

    @cached_property
    def agents(self) -> metrics.AgentTally:
        return metrics.agent_counts(self.serving)

    @cached_property
    def staffing(self) -> Staffing | None:
        working = self.agents.staffed - self.agents.away
        return _staffing(self.queue, self.interval_stats, self.day_stats, self.taken_at,
                         working, self.max_occupancy)

    @cached_property
    def status(self) -> SLStatus:
        return sl_status(self.interval.service_level, self.queue.sl_target)


@dataclass(frozen=True)
class EscalatedContact:
    contact: Contact
    queue: Queue
    wait_s: float  # as of the snapshot; widgets re-age it


@dataclass(frozen=True)
class Board:
    snapshot: Snapshot
    rows: tuple[QueueRow, ...]
    rows_by_id: dict[str, QueueRow]
    totals_interval: WindowMetrics
    totals_day: WindowMetrics
    overall_target: float
    overall_status: SLStatus
    waiting: int
    oldest_waiting_since: datetime | None
    agents: metrics.AgentTally
    over_threshold: tuple[EscalatedContact, ...]  # the worst few, worst first
    over_threshold_count: int
    teams: tuple[str, ...]
    waiting_by_queue: Mapping[str, Sequence[Contact]] = field(default_factory=dict)  # oldest 1st
    agents_by_queue: dict[str, tuple[Agent, ...]] = field(default_factory=dict)

    @property
    def taken_at(self) -> datetime:
        return self.snapshot.taken_at


def _staffing(
    queue: Queue,
    interval: QueueStats,
    day: QueueStats,
    now: datetime,
    staffed_now: int,
    max_occupancy: float | None,
) -> Staffing | None:
    rate = metrics.arrival_rate(interval, now)
    if rate is None:  # interval just started: the day so far is the better estimate
        rate = metrics.arrival_rate(day, now)
    aht = metrics.aht(interval) or metrics.aht(day)
    if rate is None or not aht:
        return None
    result = erlang.agents_for_target(
        rate, aht, queue.sl_target, queue.threshold_s, max_occupancy=max_occupancy
    )
    traffic = rate * aht
    predicted = (
        erlang.service_level(traffic, staffed_now, aht, queue.threshold_s)
        if staffed_now
        else None
    )
    return Staffing(
        arrival_per_hour=rate * 3600,
        aht_s=aht,
        needed=result.agents,
        predicted_sl_with_staffed=predicted,
        result=result,
    )


def build_board(
    snapshot: Snapshot,
    formula: SLFormula = SLFormula.ANSWERED_AND_ABANDONED_AFTER,
    threshold_factor: float = 1.0,
    strip_size: int = 5,
    max_occupancy: float | None = 0.85,
) -> Board:
    now = snapshot.taken_at
    queues = {q.id: q for q in snapshot.queues}

    idx = index_of(snapshot)
    waiting_by_queue, agents_by_queue = idx.waiting_by_queue, idx.agents_by_queue

    rows: list[QueueRow] = []
    escalated: list[EscalatedContact] = []
    live_of = snapshot.queue_live.get
    for queue in snapshot.queues:
        waiting = waiting_by_queue.get(queue.id, [])
        interval_stats = snapshot.interval_stats.get(queue.id) or QueueStats(
            queue_id=queue.id, window_start=snapshot.interval_start
        )
        day_stats = snapshot.day_stats.get(queue.id) or QueueStats(
            queue_id=queue.id, window_start=snapshot.day_start
        )
        limit = queue.threshold_s * threshold_factor
        over = 0
        for contact in waiting:
            wait = (now - contact.entered_at).total_seconds()
            if wait <= limit:
                break  # sorted oldest first: the rest are younger
            over += 1
            escalated.append(EscalatedContact(contact, queue, wait))
        count = len(waiting)
        oldest = waiting[0].entered_at if waiting else None
        live = live_of(queue.id)
        if live is not None:  # counted by the platform: never show fewer than it says
            count = max(count, live.waiting)
            if live.oldest_waiting_since is not None and (
                    oldest is None or live.oldest_waiting_since < oldest):
                oldest = live.oldest_waiting_since
        rows.append(
            QueueRow(
                queue=queue,
                waiting=count,
                oldest_waiting_since=oldest,
                over_threshold=over,
                interval_stats=interval_stats,
                day_stats=day_stats,
                serving=tuple(agents_by_queue.get(queue.id, ())),
                taken_at=now,
                formula=formula,
                max_occupancy=max_occupancy,
            )
        )

    # Worst first: how far past their own queue's threshold, VIPs breaking ties.
    tier_rank = {"vip": 0, "gold": 1, "standard": 2}
    worst = heapq.nsmallest(
        strip_size,
        escalated,
        key=lambda e: (-e.wait_s / max(e.queue.threshold_s, 1.0), tier_rank[e.contact.tier]),
    )

    totals_interval = metrics.combine(
        (snapshot.interval_stats[q] for q in queues if q in snapshot.interval_stats),
        window_start=snapshot.interval_start,
    )
    totals_day = metrics.combine(
        (snapshot.day_stats[q] for q in queues if q in snapshot.day_stats),
        window_start=snapshot.day_start,
    )
    # Overall target: each queue's target weighted by its contacts this interval.
    weights = [(r.queue.sl_target, r.interval_stats.offered) for r in rows]
    total_weight = sum(w for _, w in weights)
    if total_weight:
        overall_target = sum(t * w for t, w in weights) / total_weight
    elif rows:
        overall_target = sum(t for t, _ in weights) / len(rows)
    else:
        overall_target = 0.8
    totals = WindowMetrics.of(totals_interval, formula)
    return Board(
        snapshot=snapshot,
        rows=tuple(rows),
        rows_by_id={r.queue.id: r for r in rows},
        totals_interval=totals,
        totals_day=WindowMetrics.of(totals_day, formula),
        overall_target=overall_target,
        overall_status=sl_status(totals.service_level, overall_target),
        waiting=idx.waiting + sum(r.waiting - len(waiting_by_queue.get(r.queue.id, ()))
                                  for r in rows),
        oldest_waiting_since=min((r.oldest_waiting_since for r in rows
                                  if r.oldest_waiting_since is not None), default=None),
        agents=metrics.AgentTally(
            available=idx.count(AgentStateKind.AVAILABLE),
            on_contact=idx.count(AgentStateKind.ON_CONTACT),
            after_contact_work=idx.count(AgentStateKind.AFTER_CONTACT_WORK),
            away=idx.count(AgentStateKind.AWAY),
            offline=idx.count(AgentStateKind.OFFLINE)),
        over_threshold=tuple(worst),
        over_threshold_count=len(escalated),
        teams=idx.teams,
        waiting_by_queue=waiting_by_queue,
        agents_by_queue={r.queue.id: r.serving for r in rows},
    )
