"""Per-poll aggregates, derived once from a Snapshot (pure).

Every widget renders from the same ``Board`` so numbers never disagree, and the
expensive loops over agents and contacts happen once per poll instead of once per
widget. Ages (longest wait, time in state) are *not* frozen here: rows keep the
timestamps and widgets compute durations against "now" at render time.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cached_property
from itertools import compress, islice, repeat
from operator import add, attrgetter, is_not, or_, sub
from typing import Any

from supervisor_tui.domain import erlang, metrics
from supervisor_tui.domain.index import SnapshotIndex, build_index
from supervisor_tui.domain.model import (
    STATS_FLOATS,
    Agent,
    AgentStateKind,
    Channel,
    Contact,
    Queue,
    QueueLive,
    QueueStats,
    SLFormula,
    Snapshot,
)
from supervisor_tui.domain.rolling import RollingView
from supervisor_tui.domain.text import clean

_entered = attrgetter("entered_at")

# SL within this many points under target reads as "at risk" rather than "missed".
AT_RISK_POINTS = 0.05

# Window keys: the reporting interval, the day so far, or a rolling "15m" / "30m" / ...
INTERVAL = "interval"
DAY = "day"

# Channel groups for headline figures: contacts answered live (seconds matter) and
# deferred work (email: hours). One tile never mixes a 20 s target with a 1 h one.
LIVE = "live"
DEFERRED = "deferred"
CHANNEL_GROUP = {Channel.VOICE: LIVE, Channel.CHAT: LIVE, Channel.SOCIAL: LIVE,
                 Channel.EMAIL: DEFERRED}


def sl_denominator(stats: QueueStats, formula: SLFormula) -> int:
    """How many contacts the service level is a share of (its sample size)."""
    if formula == SLFormula.ANSWERED:
        return stats.answered
    if formula == SLFormula.OFFERED:
        return stats.offered
    return stats.answered + stats.abandoned_after_threshold


class SLStatus(StrEnum):
    OK = "ok"
    AT_RISK = "at_risk"
    MISSED = "missed"
    NO_DATA = "no_data"


def sl_status(value: float | None, target: float) -> SLStatus:
    """Decided on the value as shown (a whole percent): "80%" against an 80% target is
    on target even when it is 79.6%, and "75%" is "!" (within 5 points) only when the
    screen says so too."""
    if value is None:
        return SLStatus.NO_DATA
    shown = round(value * 100)
    goal = round(target * 100)
    if shown >= goal:
        return SLStatus.OK
    if shown >= goal - round(AT_RISK_POINTS * 100):
        return SLStatus.AT_RISK
    return SLStatus.MISSED


@dataclass(frozen=True)
class WindowMetrics:
    """Ratios over one window, with the sample size behind each of them."""

    stats: QueueStats
    service_level: float | None
    asa_s: float | None
    aht_s: float | None
    abandon_rate: float | None
    sl_n: int = 0  # contacts the SL is a share of
    abandon_n: int = 0  # offered less short abandons

    @classmethod
    def of(cls, stats: QueueStats, formula: SLFormula) -> WindowMetrics:
        return cls(
            stats=stats,
            service_level=metrics.service_level(stats, formula),
            asa_s=metrics.asa(stats),
            aht_s=metrics.aht(stats),
            abandon_rate=metrics.abandon_rate(stats),
            sl_n=sl_denominator(stats, formula),
            abandon_n=max(stats.offered - stats.abandoned_short, 0),
        )


@dataclass(frozen=True)
class Staffing:
    """Erlang C for one queue: agents needed for its target vs agents effectively on it.

    Inputs come from one stated window (``basis``, e.g. "last 30 min") with at least
    the minimum sample; ``effective`` counts the agents on this queue's contacts and the
    available agents who serve it, not those busy on another queue (see
    ``QueueRow.effective_agents``): a multi-skilled agent is not staffed everywhere."""

    arrival_per_hour: float
    aht_s: float
    needed: int
    predicted_sl_with_staffed: float | None
    result: erlang.StaffingResult
    effective: float = 0.0
    basis: str = ""
    sample: int = 0  # contacts offered in the basis window
    aht_basis: str = ""

    def inputs(self) -> str:
        """'44/h × 9:20 AHT = 6.8 Erl, 14.0 effective (last 30 min, 22 contacts)'."""
        mins, secs = divmod(int(self.aht_s), 60)
        aht = f"{mins}:{secs:02d}"
        where = self.basis if self.aht_basis == self.basis else (
            f"{self.basis}; AHT {self.aht_basis}")
        return (f"{self.arrival_per_hour:.0f}/h × {aht} AHT = "
                f"{self.result.traffic_erlangs:.1f} Erl, {self.effective:.1f} effective "
                f"({where}, {self.sample} contacts)")


class MetricsMemo:
    """Window figures of counters that did not change, kept from one board to the next.

    Sources hand out the same immutable ``QueueStats`` object while a queue's counters
    stay put (the simulator does; so does the http delta path), and a 5,000-queue
    dashboard reads every row's figures for its weighted target each poll: worked out
    again, that was ~5,000 ``WindowMetrics`` a poll (~60 ms). Keyed by the object's
    identity and held with it (an id is never reused while its object lives); entries
    not asked for during one board are dropped at the next."""

    def __init__(self) -> None:
        #: the tiles' sums per (window, channel group), kept from board to board
        self.sums: dict[tuple[str, str | None], GroupSums] = {}
        self._now: dict[int, tuple[QueueStats, SLFormula, WindowMetrics]] = {}
        self._before: dict[int, tuple[QueueStats, SLFormula, WindowMetrics]] = {}
        #: figures worked out (not found) since the memo was made (tests, benchmarks)
        self.computed = 0
        #: the rows of the last board, kept while their queues do not change
        self.rows = RowBook()

    def next_board(self) -> None:
        self._before, self._now = self._now, {}

    def of(self, stats: QueueStats, formula: SLFormula) -> WindowMetrics:
        key = id(stats)
        hit = self._now.get(key) or self._before.get(key)
        if hit is not None and hit[0] is stats and hit[1] == formula:
            self._now[key] = hit
            return hit[2]
        self.computed += 1
        result = WindowMetrics.of(stats, formula)
        self._now[key] = (stats, formula, result)
        return result


# Counts are summed by difference (exact); seconds (floats) never are.
_FLOAT_COUNTERS = tuple(n for n in metrics.COUNTERS if n in STATS_FLOATS)
_INT_COUNTERS = tuple(n for n in metrics.COUNTERS if n not in _FLOAT_COUNTERS)
_get_ints = attrgetter(*_INT_COUNTERS)


_INTERVAL_STATS, _DAY_STATS = attrgetter("interval_stats"), attrgetter("day_stats")
_QUEUE = attrgetter("queue")
_OLDEST = attrgetter("oldest_waiting_since")
_ID = attrgetter("id")


def _weight(row: QueueRow, stats: QueueStats, formula: SLFormula) -> tuple[int, float]:
    n = sl_denominator(stats, formula)
    return n, row.queue.sl_target * n


class GroupSums:
    """The counters of a set of rows summed in one window (the interval or the day),
    with the SL target weighted by each queue's sample, kept from board to board: only
    the rows that are new objects are looked at (the console keeps the row of an
    unchanged queue), and of those only the ones whose counters or queue are new are
    read (a 5,000-queue dashboard asked for these of every queue each poll, ~10 ms; a
    pass reading each row's counters still cost ~3 ms a group). Whole counts are kept
    by difference (exact); seconds as each row's own value, summed exactly
    (``math.fsum``) each time, which is what ``sum_rows`` does afresh, so both give the
    same float to the bit."""

    def __init__(self) -> None:
        self._rows: Sequence[QueueRow] = ()
        self._queues: list[Queue | None] = []
        self._ids: list[str] = []
        self._stats: list[QueueStats | None] = []
        self._ints: list[int] = [0] * len(_INT_COUNTERS)
        self._floats: dict[str, list[float]] = {}
        self._n: list[int] = []
        self._tw: list[float] = []
        self._targets: list[float] = []
        self._formula: SLFormula | None = None
        #: rows read so far (tests: follows change, not the number of queues)
        self.reads = 0

    def _start(self, rows: Sequence[QueueRow], formula: SLFormula) -> None:
        n = len(rows)
        self._formula, self._ids = formula, [r.queue.id for r in rows]
        self._rows, self._queues, self._stats = (), [None] * n, [None] * n
        self._ints = [0] * len(_INT_COUNTERS)
        self._floats = {name: [0.0] * n for name in _FLOAT_COUNTERS}
        self._n, self._tw, self._targets = [0] * n, [0.0] * n, [0.0] * n

    def update(self, rows: Sequence[QueueRow], interval: bool, formula: SLFormula
               ) -> tuple[dict[str, float], int, float, float]:
        """(counter totals, Σ sample, Σ target × sample, Σ target) of ``rows``."""
        if formula != self._formula or len(rows) != len(self._ids):
            self._start(rows, formula)
        changed = list(compress(range(len(rows)), map(is_not, rows, self._rows))) \
            if self._rows else range(len(rows))
        ids = self._ids
        # Another queue at a place (read only where the queue is a new object): afresh.
        if any(rows[i].queue.id != ids[i] for i in compress(changed, map(
                is_not, map(_QUEUE, map(rows.__getitem__, changed)),
                map(self._queues.__getitem__, changed)))):
            self._start(rows, formula)
            changed = range(len(rows))
        pick = _INTERVAL_STATS if interval else _DAY_STATS
        ints, floats, ns, tws = self._ints, self._floats, self._n, self._tw
        held_stats, held_queues, targets = self._stats, self._queues, self._targets
        for i in changed:
            row = rows[i]
            new, queue = pick(row), row.queue
            before = held_stats[i]
            if new is before and queue is held_queues[i]:
                continue  # the row was made again for something else (waiting, agents)
            self.reads += 1
            moved = _get_ints(new) if before is None else map(sub, _get_ints(new),
                                                               _get_ints(before))
            ints[:] = map(add, ints, moved)  # (in C: ~1 us a row, not ~3)
            for name in _FLOAT_COUNTERS:
                floats[name][i] = getattr(new, name)
            ns[i], tws[i] = _weight(row, new, formula)
            targets[i] = queue.sl_target
            held_stats[i], held_queues[i] = new, queue
        self._rows = rows
        totals: dict[str, float] = dict(zip(_INT_COUNTERS, ints, strict=True))
        totals.update({name: math.fsum(v) for name, v in floats.items()})
        return totals, sum(ns), math.fsum(tws), math.fsum(targets)


def sum_rows(rows: Sequence[QueueRow], interval: bool, formula: SLFormula
             ) -> tuple[dict[str, float], int, float, float]:
    """``GroupSums.update`` worked out afresh."""
    return GroupSums().update(rows, interval, formula)


class _Shared:
    """What the rows share for the poll under way: its time, the rolling views and the
    Erlang settings. A console's rows are kept from poll to poll (``RowBook``), so this
    is one object moved on each poll; the figures a row works out from it (rolling
    windows, the Erlang estimate) are forgotten then, for the rows that worked any out
    (``touched``: the rows on screen, not all 5,000)."""

    def __init__(self, taken_at: datetime, windows: Mapping[str, RollingView],
                 erlang_window: str, min_sample: int, memo: MetricsMemo | None = None
                 ) -> None:
        self.taken_at = taken_at
        self.windows = windows
        self.erlang_window = erlang_window
        self.min_sample = min_sample
        self.memo = memo
        self.touched: dict[int, QueueRow] = {}

    def move_on(self, taken_at: datetime, windows: Mapping[str, RollingView],
                erlang_window: str, min_sample: int, memo: MetricsMemo | None) -> None:
        self.taken_at, self.windows, self.erlang_window = taken_at, windows, erlang_window
        self.min_sample, self.memo = min_sample, memo
        touched, self.touched = self.touched, {}
        for row in touched.values():
            d = row.__dict__
            d.pop("estimate", None)
            d.pop("staffing", None)
            d["_windows"] = {}


@dataclass(frozen=True)
class QueueRow:
    """One queue as of a poll. Ratios, agent counts and Erlang staffing are computed on
    first use: a wall of 1,000 queues only pays for the rows on screen (or once for all
    of them when sorting by such a column), not for every row on every poll.

    The console keeps a row from poll to poll while the objects it is made from stay
    the same (``RowBook``); what moves with the clock (``taken_at``, the rolling windows,
    the Erlang estimate) is read through ``shared``, which is the poll under way's, so
    a row of an older board reads as of the newest poll."""

    queue: Queue
    waiting: int
    oldest_waiting_since: datetime | None
    over_threshold: int
    interval_stats: QueueStats
    day_stats: QueueStats
    serving: tuple[Agent, ...]
    formula: SLFormula
    max_occupancy: float | None
    #: the queue's target/threshold are a live override (the console's), not the source's
    live_target: bool = False
    shared: _Shared | None = field(default=None, compare=False, repr=False)
    _windows: dict[str, WindowMetrics | None] = field(default_factory=dict, compare=False,
                                                      repr=False)

    @property
    def taken_at(self) -> datetime:
        """The poll this row is read in (a row is kept while its queue is unchanged)."""
        assert self.shared is not None
        return self.shared.taken_at

    @cached_property
    def interval(self) -> WindowMetrics:
        memo = self.shared.memo if self.shared is not None else None
        if memo is not None:
            return memo.of(self.interval_stats, self.formula)
        return WindowMetrics.of(self.interval_stats, self.formula)

    @cached_property
    def day(self) -> WindowMetrics:
        memo = self.shared.memo if self.shared is not None else None
        if memo is not None:
            return memo.of(self.day_stats, self.formula)
        return WindowMetrics.of(self.day_stats, self.formula)

    def window(self, key: str) -> WindowMetrics | None:
        """Metrics over ``key``: INTERVAL, DAY or a rolling "15m"; None if unknown."""
        if key == INTERVAL:
            return self.interval
        if key == DAY:
            return self.day
        try:
            return self._windows[key]
        except KeyError:
            pass
        view = self.shared.windows.get(key) if self.shared else None
        stats = view.stats(self.queue.id) if view is not None else None
        result = WindowMetrics.of(stats, self.formula) if stats is not None else None
        self._windows[key] = result
        if self.shared is not None:
            self.shared.touched[id(self)] = self
        return result

    def status_in(self, key: str) -> SLStatus:
        m = self.window(key)
        return sl_status(m.service_level if m else None, self.queue.sl_target)

    @cached_property
    def agents(self) -> metrics.AgentTally:
        return metrics.agent_counts(self.serving)

    @cached_property
    def estimate(self) -> tuple[float, float, str, int, str] | None:
        """(arrival rate /s, AHT s, basis, sample, AHT basis) from the first window with
        at least the minimum sample: the rolling Erlang window (a moving average over
        its length), else the day so far. None while too few contacts are known."""
        min_n = self.shared.min_sample if self.shared else 10
        candidates: list[tuple[QueueStats, float, str]] = []
        if self.shared is not None:
            self.shared.touched[id(self)] = self  # (staffing follows from this)
            view = self.shared.windows.get(self.shared.erlang_window)
            stats = view.stats(self.queue.id) if view is not None else None
            if view is not None and stats is not None and view.covered_s >= 300:
                candidates.append((stats, view.covered_s,
                                   f"last {round(view.covered_s / 60)} min"))
        day_s = (self.taken_at - self.day_stats.window_start).total_seconds()
        if day_s >= metrics.MIN_RATE_WINDOW_S:
            candidates.append((self.day_stats, day_s, "today"))
        rate = None
        for stats, seconds, label in candidates:
            if stats.offered >= min_n:
                rate, basis, sample = stats.offered / seconds, label, stats.offered
                break
        if rate is None:
            return None
        for stats, _, label in candidates:
            if stats.handled >= min_n and stats.handle_s > 0:
                return rate, stats.handle_s / stats.handled, basis, sample, label
        return None

    @cached_property
    def effective_agents(self) -> float:
        """Agents effectively on this queue now: each agent handling (or wrapping up) one
        of its contacts, and each available agent who serves it (routing gives them the
        next contact of whichever of their queues has one); agents busy on another queue,
        away or offline count for none. Measured against the live 30-minute SL
        (benchmarks/bench_erlang_agreement.py: simulator, 3 seeds x 3 scenarios), predicted
        and live agree on met / missed for 49 of 73 queue-samples in normal trading and 145
        of 146 in surge and outage; splitting idle agents by load share instead agreed on
        38 of 73. Erlang C ignores abandonment and pooling, so it errs pessimistic."""
        me = self.queue.id
        total = 0
        for agent in self.serving:
            kind = agent.state.kind
            if kind is AgentStateKind.AVAILABLE:
                total += 1
            elif kind in (AgentStateKind.ON_CONTACT, AgentStateKind.AFTER_CONTACT_WORK) and (
                    agent.queue_id is None or agent.queue_id == me):
                total += 1  # busy with this queue's contact (or one we cannot place)
        return float(total)

    @cached_property
    def staffing(self) -> Staffing | None:
        return _staffing(self, self.max_occupancy)

    @cached_property
    def status(self) -> SLStatus:
        return sl_status(self.interval.service_level, self.queue.sl_target)


@dataclass(frozen=True)
class EscalatedContact:
    contact: Contact
    queue: Queue
    wait_s: float  # as of the snapshot; widgets re-age it


def queue_name(board: Board | None, queue_id: str | None, width: int = 40) -> str:
    """A queue's name for screen (cleaned, at most ``width``): its id when no source
    reports the queue now, "—" for no queue at all."""
    if not queue_id:
        return "—"
    row = board.rows_by_id.get(queue_id) if board is not None else None
    return clean(row.queue.name if row is not None else queue_id, width)


@dataclass(frozen=True)
class Board:
    snapshot: Snapshot
    rows: tuple[QueueRow, ...]
    rows_by_id: dict[str, QueueRow]
    waiting: int
    oldest_waiting_since: datetime | None
    agents: metrics.AgentTally
    over_threshold: tuple[EscalatedContact, ...]  # the worst few, worst first
    over_threshold_count: int
    teams: tuple[str, ...]
    waiting_by_queue: Mapping[str, Sequence[Contact]] = field(default_factory=dict)  # oldest 1st
    agents_by_queue: dict[str, tuple[Agent, ...]] = field(default_factory=dict)
    windows: Mapping[str, RollingView] = field(default_factory=dict)
    #: the snapshot's per-poll index (agents by state, waiting by queue...), shared with
    #: the escalation rules and the agents screen so each poll reads every object once
    index: SnapshotIndex | None = field(default=None, compare=False, repr=False)
    min_sample: int = 10
    formula: SLFormula = SLFormula.ANSWERED_AND_ABANDONED_AFTER
    _totals: dict[tuple[str, str | None], WindowMetrics | None] = field(
        default_factory=dict, compare=False, repr=False)
    #: the rows per channel group, split by ``build_board`` in its one pass over them
    by_group: Mapping[str, tuple[QueueRow, ...]] = field(default_factory=dict, compare=False,
                                                         repr=False)
    _targets: dict[tuple[str, str | None], float] = field(default_factory=dict,
                                                          compare=False, repr=False)
    #: the console's memo (sums kept from board to board); None: worked out afresh
    memo: MetricsMemo | None = field(default=None, compare=False, repr=False)
    _sums: dict[tuple[str, str | None], tuple[dict[str, float], int, float, float]] = field(
        default_factory=dict, compare=False, repr=False)
    #: the rows with a contact waiting, in board order (None: look at every row)
    waiting_rows: tuple[QueueRow, ...] | None = field(default=None, compare=False,
                                                      repr=False)

    def _summed(self, key: str, group: str | None
                ) -> tuple[dict[str, float], int, float, float]:
        """Interval or day counters of the group's rows summed, and its SL weights."""
        found = self._sums.get((key, group))
        if found is None:
            rows, interval = self.group_rows(group), key == INTERVAL
            if self.memo is not None:
                sums = self.memo.sums.get((key, group))
                if sums is None:
                    sums = self.memo.sums[(key, group)] = GroupSums()
                found = sums.update(rows, interval, self.formula)
            else:
                found = sum_rows(rows, interval, self.formula)
            self._sums[(key, group)] = found
        return found

    @property
    def taken_at(self) -> datetime:
        return self.snapshot.taken_at

    def groups(self) -> tuple[str, ...]:
        """Channel groups present, live first."""
        return tuple(g for g in (LIVE, DEFERRED) if self.by_group.get(g))

    def group_rows(self, group: str | None) -> tuple[QueueRow, ...]:
        if group is None:
            return self.rows
        return self.by_group.get(group, ())

    def window_start(self, key: str) -> datetime | None:
        if key == INTERVAL:
            return self.snapshot.interval_start
        if key == DAY:
            return self.snapshot.day_start
        view = self.windows.get(key)
        return view.start if view is not None else None

    def totals(self, key: str, group: str | None = None) -> WindowMetrics | None:
        """Counters summed over the queues (of one channel group) in one window."""
        cache_key = (key, group)
        if cache_key in self._totals:
            return self._totals[cache_key]
        start = self.window_start(key)
        result: WindowMetrics | None = None
        view = self.windows.get(key)
        if view is not None:  # one pass over the day's counters, not a window per queue
            total = view.total(r.queue.id for r in self.group_rows(group))
            result = WindowMetrics.of(total, self.formula) if total is not None else None
        elif start is not None and key in (INTERVAL, DAY):
            # (int counts and float seconds by name: given as Any, validated here)
            totals: dict[str, Any] = self._summed(key, group)[0]
            total = QueueStats(queue_id="*", window_start=start, **totals)
            result = WindowMetrics.of(total, self.formula)
        elif start is not None:
            result = WindowMetrics.of(metrics.combine([], window_start=start), self.formula)
        self._totals[cache_key] = result
        return result

    def target(self, key: str, group: str | None = None) -> float:
        """Each queue's target weighted by its contacts in the window (once per board:
        the tiles ask for it several times a poll)."""
        found = self._targets.get((key, group))
        if found is None:
            found = self._targets[(key, group)] = self._target(key, group)
        return found

    def _target(self, key: str, group: str | None) -> float:
        rows = self.group_rows(group)
        if key in (INTERVAL, DAY):  # the counts straight from the counters: no figures
            _, n, weighted, targets = self._summed(key, group)
            if n:
                return weighted / n
            return targets / len(rows) if rows else 0.8
        else:
            weights = [(r.queue.sl_target, m.sl_n if (m := r.window(key)) else 0)
                       for r in rows]
        total = sum(w for _, w in weights)
        if total:
            return sum(t * w for t, w in weights) / total
        return sum(t for t, _ in weights) / len(weights) if weights else 0.8

    def worst_wait(self, group: str | None, now: datetime) -> tuple[QueueRow, float] | None:
        """The queue whose oldest waiting contact is furthest into (or past) its own
        threshold, with that wait in seconds as of ``now``."""
        best: tuple[float, QueueRow, float] | None = None
        # Only the queues where someone waits (a few hundred of 5,000), in board order.
        rows = self.waiting_rows if self.waiting_rows is not None else self.group_rows(None)
        for r in rows:
            if r.oldest_waiting_since is None or (
                    group is not None and CHANNEL_GROUP[r.queue.channel] != group):
                continue
            wait = max((now - r.oldest_waiting_since).total_seconds(), 0.0)
            share = wait / max(r.queue.threshold_s, 1.0)
            if best is None or share > best[0]:
                best = (share, r, wait)
        return None if best is None else (best[1], best[2])


def _staffing(row: QueueRow, max_occupancy: float | None) -> Staffing | None:
    est = row.estimate
    if est is None:
        return None
    rate, aht, basis, sample, aht_basis = est
    queue = row.queue
    try:
        result = erlang.agents_for_target(
            rate, aht, min(queue.sl_target, 0.999), queue.threshold_s,
            max_occupancy=max_occupancy)
        effective = row.effective_agents
        whole = math.floor(effective + 1e-9)
        predicted = (erlang.service_level(rate * aht, whole, aht, queue.threshold_s)
                     if whole else None)
    except (ValueError, OverflowError):  # inputs no centre has: no estimate, not a crash
        return None
    return Staffing(
        arrival_per_hour=rate * 3600,
        aht_s=aht,
        needed=result.agents,
        predicted_sl_with_staffed=predicted,
        result=result,
        effective=effective,
        basis=basis,
        sample=sample,
        aht_basis=aht_basis,
    )


_SLACK = timedelta(milliseconds=1)
_new_row = QueueRow.__new__
_set_dict = object.__setattr__


def _over_threshold(waiting: Sequence[Contact], now: datetime, queue: Queue, limit: float,
                    strip_size: int, escalated: list[EscalatedContact]) -> int:
    """How many of ``waiting`` (oldest first) have waited more than ``limit`` s; the
    first ``strip_size`` of them (and any tied with the last) go to ``escalated``.

    Found by bisection, not by reading each one: a queue with hundreds waiting past its
    threshold costs the same as one. Contacts clearly past (by a millisecond) are
    counted at once; the few around the cut are tested with the exact rule below."""
    if (now - waiting[0].entered_at).total_seconds() <= limit:
        return 0  # the oldest is not past: none is (most queues with contacts waiting)
    sure = bisect_left(waiting, now - timedelta(seconds=limit) - _SLACK, key=_entered)
    over = sure
    for contact in islice(waiting, sure, None):
        if (now - contact.entered_at).total_seconds() <= limit:
            break  # sorted oldest first: the rest are younger
        over += 1
    # Within one queue the worst are the oldest; a tie in age is broken by tier later,
    # so contacts as old as the last one taken come along.
    take = min(over, strip_size)
    if take:
        last = waiting[take - 1].entered_at
        while take < over and waiting[take].entered_at == last:
            take += 1
        escalated.extend(EscalatedContact(c, queue, (now - c.entered_at).total_seconds())
                         for c in islice(waiting, take))
    return over


_NEVER = datetime.max.replace(tzinfo=UTC)  # no contact waiting: after every real time
_GROUP_OF = CHANNEL_GROUP.__getitem__


class RowBook:
    """The board's rows kept from poll to poll, with each queue's inputs (the objects
    its row was made from), by position in the snapshot's queues. A poll of a
    5,000-queue centre changes a few hundred; the rest keep their row, so the board,
    the tiles' sums and the grid read only those (rows made: ``reads``)."""

    def __init__(self) -> None:
        self.shared: _Shared | None = None
        self.settings: tuple[object, ...] | None = None
        self.ids: list[str] = []
        self.queues: Sequence[Queue] = ()
        self.interval: list[QueueStats | None] = []
        self.day: list[QueueStats | None] = []
        self.waiting: list[Sequence[Contact]] = []
        self.serving: list[tuple[Agent, ...]] = []
        self.live: list[QueueLive | None] = []
        self.rows: list[QueueRow] = []
        self.over: list[int] = []
        self.beyond: list[int] = []  # waiting the platform counts beyond the listed ones
        self.oldest: list[datetime] = []
        self.groups: dict[str, list[QueueRow]] = {}
        self.place: list[tuple[str, int]] = []  # each row's channel group and place in it
        # The last board's rows and serving agents by queue id (copied, then updated).
        self.by_id: dict[str, QueueRow] = {}
        self.serving_by_id: dict[str, tuple[Agent, ...]] = {}
        #: rows made so far (tests: follows change, not the number of queues)
        self.reads = 0

    def start(self, ids: list[str], settings: tuple[object, ...]) -> None:
        """Other queues (or settings every row holds): every row is made again."""
        n = len(ids)
        self.ids, self.settings = ids, settings
        self.rows = [None] * n  # type: ignore[list-item]  # (all made before read)
        self.over, self.beyond, self.oldest = [0] * n, [0] * n, [_NEVER] * n

    def regroup(self) -> None:
        groups: dict[str, list[QueueRow]] = {}
        place: list[tuple[str, int]] = []
        for row in self.rows:
            group = _GROUP_OF(row.queue.channel)
            members = groups.setdefault(group, [])
            place.append((group, len(members)))
            members.append(row)
        self.groups, self.place = groups, place


@dataclass(slots=True)
class _RowMaker:
    """What the rows of one board are made from: the poll's inputs by queue position,
    and the settings and figures every row shares."""

    queues: Sequence[Queue]
    interval: list[QueueStats | None]
    day: list[QueueStats | None]
    waiting: list[Sequence[Contact]]
    serving: list[tuple[Agent, ...]]
    live: list[QueueLive | None]
    book: RowBook
    snapshot: Snapshot
    formula: SLFormula
    max_occupancy: float | None
    live_targets: frozenset[str]
    shared: _Shared
    strip_size: int

    def make(self, i: int, factor: float, escalated: list[EscalatedContact],
             over: int | None = None) -> QueueRow:
        """Queue ``i``'s row, its counts noted in the book; ``over``: already counted
        (else counted here past threshold x ``factor``, its worst few in ``escalated``)."""
        queue, interval_stats, day_stats = self.queues[i], self.interval[i], self.day[i]
        waiting, serving, live = self.waiting[i], self.serving[i], self.live[i]
        book, snapshot = self.book, self.snapshot
        now = snapshot.taken_at
        qid = queue.id
        if interval_stats is None:
            interval_stats = QueueStats(queue_id=qid, window_start=snapshot.interval_start)
        if day_stats is None:
            day_stats = QueueStats(queue_id=qid, window_start=snapshot.day_start)
        count, oldest = len(waiting), None
        if waiting:
            if over is None:
                over = _over_threshold(waiting, now, queue, queue.threshold_s * factor,
                                       self.strip_size, escalated)
            oldest = waiting[0].entered_at
        else:
            over = 0
        beyond = 0
        if live is not None:  # counted by the platform: never show fewer than it says
            listed = count
            count = max(count, live.waiting)
            beyond = count - listed
            if live.oldest_waiting_since is not None and (
                    oldest is None or live.oldest_waiting_since < oldest):
                oldest = live.oldest_waiting_since
        book.over[i], book.beyond[i] = over, beyond
        book.oldest[i] = _NEVER if oldest is None else oldest
        # What ``QueueRow(...)`` makes, without the frozen dataclass's __init__ (one
        # object.__setattr__ per field: ~8 us a row); tests/test_incremental.py checks the
        # two are equal.
        row = _new_row(QueueRow)
        values = {
            "queue": queue, "waiting": count, "oldest_waiting_since": oldest,
            "over_threshold": over, "interval_stats": interval_stats,
            "day_stats": day_stats, "serving": serving,
            "formula": self.formula, "max_occupancy": self.max_occupancy,
            "live_target": qid in self.live_targets, "shared": self.shared, "_windows": {}}
        before = book.rows[i]
        if before is not None:  # figures of the inputs that did not change come along
            held = before.__dict__
            for cached, given in _CARRIED:
                if cached in held and held[given] is values[given]:
                    values[cached] = held[cached]
        _set_dict(row, "__dict__", values)
        return row


# The figures a row works out from the agents serving it.
_OF_AGENTS = ("agents", "effective_agents", "staffing")
# (cached figure, the input it follows): kept when a row is made again for another input
_CARRIED = (("interval", "interval_stats"), ("day", "day_stats"), ("agents", "serving"),
            ("effective_agents", "serving"))


def _in_order(by_id: Mapping[str, QueueStats], ids: list[str]) -> list[QueueStats | None]:
    """``by_id``'s counters of ``ids`` (None: none): its values as they are when it
    holds exactly those ids in that order (every source builds it so), without 5,000
    lookups."""
    if len(by_id) == len(ids) and list(by_id) == ids:
        return list(by_id.values())
    return list(map(by_id.get, ids))


def build_board(
    snapshot: Snapshot,
    formula: SLFormula = SLFormula.ANSWERED_AND_ABANDONED_AFTER,
    threshold_factor: float = 1.0,
    strip_size: int = 5,
    threshold_factors: Mapping[str, float] | None = None,
    max_occupancy: float | None = 0.85,
    windows: Mapping[str, RollingView] | None = None,
    erlang_window: str = "30m",
    min_sample: int = 10,
    index: SnapshotIndex | None = None,
    live_targets: frozenset[str] = frozenset(),
    memo: MetricsMemo | None = None,
) -> Board:
    """``index``: from the console's ``IndexBuilder``, which follows the stream of
    snapshots and re-reads only what changed; without it, a full pass. ``memo``: the
    console's, so unchanged counters are not worked out again (same figures) and the
    rows of unchanged queues are kept (``RowBook``). A contact is over threshold past
    its queue's threshold x ``threshold_factors[queue id]`` (the escalation rules'
    per-queue factor), else x ``threshold_factor``."""
    now = snapshot.taken_at
    if memo is not None:
        memo.next_board()
    book = memo.rows if memo is not None else RowBook()
    shared = book.shared
    if shared is None:
        shared = book.shared = _Shared(now, windows or {}, erlang_window, min_sample, memo)
    else:
        shared.move_on(now, windows or {}, erlang_window, min_sample, memo)

    idx = index if index is not None else build_index(snapshot)
    waiting_by_queue, agents_by_queue = idx.waiting_by_queue, idx.agents_by_queue

    # Each queue's inputs, gathered by C-level maps (5,000 queues on a big floor); a
    # row is made again only where one of them is a new object, or contacts wait in
    # it (who is past the threshold moves with the clock). The rest are last poll's.
    queues = snapshot.queues
    n = len(queues)
    same_queues = queues is book.queues  # (a source that kept its tuple: ids as before)
    ids = book.ids if same_queues else list(map(_ID, queues))
    interval, day = _in_order(snapshot.interval_stats, ids), _in_order(snapshot.day_stats, ids)
    waiting: list[Sequence[Contact]] = list(map(waiting_by_queue.get, ids, repeat((), n)))
    serving = list(map(agents_by_queue.get, ids, repeat((), n)))
    queue_live = snapshot.queue_live
    live: list[QueueLive | None] = (list(map(queue_live.get, ids)) if queue_live
                                    else [None] * n)
    settings = (formula, max_occupancy, live_targets, snapshot.interval_start,
                snapshot.day_start)
    full = settings != book.settings or ids != book.ids
    if full:
        book.start(ids, settings)
        remake: Iterable[int] = range(n)
    else:
        moved = map(or_, map(or_, map(is_not, interval, book.interval), map(
            or_, map(is_not, day, book.day), map(is_not, waiting, book.waiting))), map(
            or_, map(is_not, serving, book.serving), map(is_not, live, book.live)))
        remake = compress(range(n), moved if same_queues else map(
            or_, moved, map(is_not, queues, book.queues)))
    rows, overs, beyond, oldest = book.rows, book.over, book.beyond, book.oldest
    escalated: list[EscalatedContact] = []  # each queue's worst few (the strip's candidates)
    # a queue's own factor where the escalation rules give one (the desk's limit too)
    factor_of = threshold_factors.get if threshold_factors else None
    made: set[int] = set()
    regroup = full
    old_queues, place = book.queues, book.place
    old_interval, old_day, old_waiting, old_live = (book.interval, book.day, book.waiting,
                                                    book.live)
    maker = _RowMaker(queues, interval, day, waiting, serving, live, book, snapshot, formula,
                      max_occupancy, live_targets, shared, strip_size)
    for i in remake:
        made.add(i)
        queue = queues[i]
        if not full and queue is old_queues[i] and not waiting[i] and \
                interval[i] is old_interval[i] and day[i] is old_day[i] and \
                live[i] is old_live[i] and not old_waiting[i]:
            # Only the agents serving it changed (~60% of the rows made at 50,000
            # agents: each state change renews the lists of all the agent's queues):
            # the row's own values, less the figures worked out from its agents.
            values = dict(rows[i].__dict__)
            values["serving"], values["_windows"] = serving[i], {}
            for name in _OF_AGENTS:
                values.pop(name, None)
            row = _new_row(QueueRow)
            _set_dict(row, "__dict__", values)
            rows[i] = row
            continue
        if not regroup and queue is not old_queues[i]:  # (a channel moved: rare)
            regroup = _GROUP_OF(queue.channel) != place[i][0]
        rows[i] = maker.make(i, threshold_factor if factor_of is None else factor_of(
            queue.id, threshold_factor), escalated)
    # Queues where contacts wait but nothing else moved: who is past the threshold is
    # worked out again (by bisection); the row is kept while that count stands.
    for i in compress(range(n), waiting):
        if i in made:
            continue
        queue = queues[i]
        factor = threshold_factor if factor_of is None else factor_of(queue.id,
                                                                      threshold_factor)
        over = _over_threshold(waiting[i], now, queue, queue.threshold_s * factor,
                               strip_size, escalated)
        if over != overs[i]:
            rows[i] = maker.make(i, factor, [], over=over)
            made.add(i)
    book.reads += len(made)
    book.queues, book.interval, book.day = queues, interval, day
    book.waiting, book.serving, book.live = waiting, serving, live
    if regroup:
        book.regroup()
    else:
        groups = book.groups
        for i in made:
            group, at = place[i]
            groups[group][at] = rows[i]
    over_count, beyond_index = sum(overs), sum(beyond)
    # Only the queues where someone waits (a few hundred of 5,000: comparing aware
    # datetimes is slow, ~2 ms for all of them).
    waiting_rows = tuple(compress(rows, map(is_not, oldest, repeat(_NEVER))))
    oldest_all = min(map(_OLDEST, waiting_rows), default=None)
    # Looked up by queue id: last poll's maps with the rows made since (copying a
    # 5,000-entry dict is ~30 us; making it again from the lists ~1 ms).
    if full:
        by_id, serving_by_id = dict(zip(ids, rows, strict=True)), dict(
            zip(ids, serving, strict=True))
    else:
        by_id, serving_by_id = book.by_id.copy(), book.serving_by_id.copy()
        for i in made:
            by_id[ids[i]], serving_by_id[ids[i]] = rows[i], serving[i]
    book.by_id, book.serving_by_id = by_id, serving_by_id

    # Worst first: how far past their own queue's threshold, VIPs breaking ties.
    tier_rank = {"vip": 0, "gold": 1, "standard": 2}
    worst = heapq.nsmallest(
        strip_size,
        escalated,
        key=lambda e: (-e.wait_s / max(e.queue.threshold_s, 1.0), tier_rank[e.contact.tier]),
    )

    return Board(
        snapshot=snapshot,
        rows=tuple(rows),
        rows_by_id=by_id,
        waiting=idx.waiting + beyond_index,
        oldest_waiting_since=oldest_all,
        agents=metrics.AgentTally(
            available=idx.count(AgentStateKind.AVAILABLE),
            on_contact=idx.count(AgentStateKind.ON_CONTACT),
            after_contact_work=idx.count(AgentStateKind.AFTER_CONTACT_WORK),
            away=idx.count(AgentStateKind.AWAY),
            offline=idx.count(AgentStateKind.OFFLINE)),
        over_threshold=tuple(worst),
        over_threshold_count=over_count,
        teams=idx.teams,
        waiting_by_queue=waiting_by_queue,
        agents_by_queue=serving_by_id,
        windows=shared.windows,
        index=idx,
        min_sample=min_sample,
        formula=formula,
        memo=memo,
        by_group={g: tuple(members) for g, members in book.groups.items()},
        waiting_rows=waiting_rows,
    )
