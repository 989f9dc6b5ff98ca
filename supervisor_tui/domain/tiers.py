"""Service level, ASA and abandon per customer tier (standard / gold / vip), per queue
and for the centre, each against its own target (pure).

Where the figures come from: a source that knows each contact's tier reports the queue's
counters split by tier (``Snapshot.tier_stats``; the simulator does). Gold and VIP are
taken as reported and **standard is whatever they leave of the queue's own counters**, so
the three always add up to the queue's figures in every window (the counting rule of
docs/metrics.md: a contact counts once, in the window in which it left the queue). A
split that does not fit inside the queue's counters is not shown at all, and a queue
whose source reports no split is said to be so ("tiers: not reported by pbx") rather
than shown as if every contact were standard.

Windows: the interval and the day come with the snapshot; rolling windows ("15m") are
today's tier counters now less those of m minutes ago (``TierBook``: the same
``RollingWindows`` the queue figures use), so a tier's window is the queue's window.

Thresholds: sources count every tier at the queue's own threshold (it must be one wait
for standard to be the remainder), so a tier's SL is a share answered within the queue's
threshold. A configured tier threshold that differs from it is reported
(``TierFigures.threshold_differs``), never silently applied to counts made at another
wait.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import compress
from operator import is_not
from typing import Any

from supervisor_tui.domain import metrics
from supervisor_tui.domain.board import (
    DAY,
    INTERVAL,
    Board,
    QueueRow,
    SLStatus,
    WindowMetrics,
    sl_status,
)
from supervisor_tui.domain.model import (
    STATS_COUNTERS,
    STATS_INTS,
    QueueStats,
    SLFormula,
    Snapshot,
    Tier,
    TierStats,
    implausible,
)
from supervisor_tui.domain.rolling import RollingView, RollingWindows

#: the order tiers are shown in: the most valuable customers first
TIER_ORDER = (Tier.VIP, Tier.GOLD, Tier.STANDARD)
#: tiers the sources report; standard is the remainder of the queue's counters
REPORTED = (Tier.GOLD, Tier.VIP)
_COUNTERS = STATS_COUNTERS
_INTS = STATS_INTS


@dataclass(frozen=True)
class TierTarget:
    """A tier's goal: ``sl_target`` within ``threshold_s``; None takes the queue's own."""

    sl_target: float | None = None
    threshold_s: float | None = None


#: documented defaults (docs/vendors.md "Tier service levels"): VIP 90% and gold 85%
#: within the queue's own threshold; standard keeps the queue's target
DEFAULT_TARGETS: Mapping[Tier, TierTarget] = {
    Tier.VIP: TierTarget(0.9, None),
    Tier.GOLD: TierTarget(0.85, None),
    Tier.STANDARD: TierTarget(None, None),
}


def remainder(total: QueueStats, parts: Iterable[QueueStats]) -> QueueStats | None:
    """``total`` less ``parts`` (the standard tier: what gold and VIP leave of the
    queue); None when the parts do not fit inside the total."""
    values: dict[str, float] = {n: getattr(total, n) for n in _COUNTERS}
    for part in parts:
        for n in _COUNTERS:
            values[n] -= getattr(part, n)
    for n, v in values.items():
        if v < 0:
            if n not in _INTS and v > -1e-6:  # float rounding of summed seconds
                values[n] = 0.0
            else:
                return None
    for n in _INTS:
        values[n] = round(values[n])
    # (a name-keyed mix of int counts and float seconds can only be passed as Any)
    counters: dict[str, Any] = values
    stats = QueueStats.trusted(queue_id=total.queue_id, window_start=total.window_start,
                               **counters)
    return None if implausible(stats) else stats


def split(total: QueueStats, reported: Mapping[Tier, QueueStats]) -> dict[Tier, QueueStats] | None:
    """The queue's counters by tier: gold and VIP as reported (a missing one: none),
    standard the rest. None when the reported tiers do not fit inside the queue's
    counters, or are themselves implausible (more answered than offered...)."""
    parts: dict[Tier, QueueStats] = {}
    for tier in REPORTED:
        stats = reported.get(tier)
        if stats is None:
            stats = QueueStats.trusted(queue_id=total.queue_id,
                                       window_start=total.window_start)
        elif implausible(stats):
            return None
        parts[tier] = stats
    rest = remainder(total, parts.values())
    if rest is None:
        return None
    parts[Tier.STANDARD] = rest
    return parts


@dataclass(frozen=True)
class TierFigures:
    """One tier of one queue (or the centre) over one window."""

    tier: Tier
    figures: WindowMetrics
    target: float  # the SL target this tier is judged against
    threshold_s: float | None  # the wait its SL was counted at (None: queues differ)
    wanted_threshold_s: float | None  # the configured tier threshold, if any

    @property
    def offered(self) -> int:
        return self.figures.stats.offered

    @property
    def service_level(self) -> float | None:
        return self.figures.service_level

    @property
    def n(self) -> int:
        """Contacts the SL is a share of."""
        return self.figures.sl_n

    @property
    def status(self) -> SLStatus:
        return sl_status(self.figures.service_level, self.target)

    @property
    def threshold_differs(self) -> bool:
        """A tier threshold is configured that the source did not count at."""
        wanted = self.wanted_threshold_s
        return wanted is not None and (self.threshold_s is None
                                       or abs(wanted - self.threshold_s) > 1e-9)


@dataclass(frozen=True)
class TierBlock:
    """Per-tier figures of one queue (or of the centre) in one window. ``reported``
    False: the source gives no split (``not_reported_by`` names it); ``problem``: the
    split given does not add up and is not shown."""

    tiers: tuple[TierFigures, ...]  # in TIER_ORDER; empty when not reported or broken
    reported: bool
    not_reported_by: tuple[str, ...] = ()
    problem: str | None = None

    def get(self, tier: Tier) -> TierFigures | None:
        return next((t for t in self.tiers if t.tier is tier), None)


class TierBook:
    """Rolling windows of the tier counters, kept beside the queue's own (one per
    console, fed every poll like ``RollingWindows``)."""

    def __init__(self, minutes: tuple[int, ...], every_s: float = 15.0) -> None:
        self.rolling = RollingWindows(minutes, every_s)
        self._last: Snapshot | None = None
        self._views: dict[str, RollingView] = {}
        self._keys: dict[str, tuple[str, str]] = {}  # queue id -> its gold and VIP keys
        self._seen: dict[str, TierStats] = {}  # the last snapshot's splits

    @staticmethod
    def _key(queue_id: str, tier: Tier) -> str:
        return f"{queue_id}\x1f{tier.value}"

    def observe(self, snapshot: Snapshot) -> None:
        keys = self._keys
        seen, now = self._seen, snapshot.tier_stats
        if self._last is not None and seen.keys() == now.keys():
            # The same queues: only those whose split is a new object are read (most
            # stay the same object from poll to poll); a copy, as the rolling windows'
            # samples keep the dict they were given.
            day = dict(self._last.day_stats)
            for qid in compress(now, map(is_not, now.values(), map(seen.__getitem__, now))):
                ts, pair = now[qid], keys[qid]
                for tier, k in ((Tier.GOLD, pair[0]), (Tier.VIP, pair[1])):
                    if (stats := ts.day.get(tier)) is not None:
                        day[k] = stats
                    else:
                        day.pop(k, None)
        else:
            day = self._keyed(now)
        self._seen = dict(now)
        keyed = Snapshot.model_construct(taken_at=snapshot.taken_at,
                                         interval_start=snapshot.interval_start,
                                         day_start=snapshot.day_start, day_stats=day)
        self.rolling.observe(keyed)
        self._last = keyed
        self._views = {}

    def settle(self) -> None:
        """Take a rolling sample noted at the last poll (after the paint)."""
        self.rolling.settle()

    def _keyed(self, tier_stats: Mapping[str, TierStats]) -> dict[str, QueueStats]:
        """Every queue's gold and VIP day counters, keyed by queue and tier."""
        keys = self._keys
        day: dict[str, QueueStats] = {}
        for qid, ts in tier_stats.items():
            pair = keys.get(qid)
            if pair is None:
                pair = keys[qid] = (self._key(qid, Tier.GOLD), self._key(qid, Tier.VIP))
            by_tier = ts.day
            if (gold := by_tier.get(Tier.GOLD)) is not None:
                day[pair[0]] = gold
            if (vip := by_tier.get(Tier.VIP)) is not None:
                day[pair[1]] = vip
        return day

    def window(self, key: str, queue_id: str) -> dict[Tier, QueueStats] | None:
        """Gold and VIP counters of ``queue_id`` over the rolling window ``key`` ("15m");
        None for an unknown window or counters that went backwards."""
        if self._last is None or not key.endswith("m") or not key[:-1].isdigit():
            return None
        minutes = int(key[:-1])
        if minutes not in self.rolling.minutes:
            return None
        view = self._views.get(key)
        if view is None:
            view = self._views[key] = self.rolling.view(minutes, self._last)
        out: dict[Tier, QueueStats] = {}
        for tier in REPORTED:
            stats = view.stats(self._key(queue_id, tier))
            if stats is None:
                return None
            out[tier] = stats.model_copy(update={"queue_id": queue_id})
        return out


def reported_split(board: Board, row: QueueRow, key: str,
                   book: TierBook | None) -> Mapping[Tier, QueueStats] | None:
    """The source's gold/VIP counters of ``row`` over window ``key`` (None: no split)."""
    ts: TierStats | None = board.snapshot.tier_stats.get(row.queue.id)
    if ts is None:
        return None
    if key == INTERVAL:
        return ts.interval
    if key == DAY:
        return ts.day
    return book.window(key, row.queue.id) if book is not None else None


def _figures(tier: Tier, stats: QueueStats, formula: SLFormula, queue_target: float,
             counted_at: float | None, targets: Mapping[Tier, TierTarget]) -> TierFigures:
    goal = targets.get(tier, DEFAULT_TARGETS[tier])
    return TierFigures(
        tier=tier, figures=WindowMetrics.of(stats, formula),
        target=goal.sl_target if goal.sl_target is not None else queue_target,
        threshold_s=counted_at, wanted_threshold_s=goal.threshold_s)


def queue_tiers(board: Board, row: QueueRow, key: str, targets: Mapping[Tier, TierTarget],
                book: TierBook | None = None) -> TierBlock:
    """The tier block of one queue over window ``key``."""
    q = row.queue
    reported = reported_split(board, row, key, book)
    if reported is None:
        why = None if q.id not in board.snapshot.tier_stats else "no tier counts for this window"
        return TierBlock((), False, (q.source,), why)
    m = row.window(key)
    if m is None:
        return TierBlock((), True, (), "the window cannot be told (counters went backwards)")
    parts = split(m.stats, reported)
    if parts is None:
        return TierBlock((), True, (), f"{q.source}'s tier counts do not add up to the "
                         "queue's: not shown")
    return TierBlock(tuple(
        _figures(t, parts[t], board.formula, q.sl_target, q.threshold_s, targets)
        for t in TIER_ORDER), True)


def centre_tiers(board: Board, key: str, targets: Mapping[Tier, TierTarget],
                 book: TierBook | None = None, rows: Iterable[QueueRow] | None = None,
                 start: datetime | None = None) -> TierBlock:
    """Every queue's tiers summed (of ``rows``: one channel group, say). Only queues
    whose source reports a split are summed; the others are named. The SL target is
    the tier's configured one, else the queues' own weighted by their contacts."""
    chosen = tuple(rows) if rows is not None else board.rows
    sums: dict[Tier, list[QueueStats]] = {t: [] for t in TIER_ORDER}
    missing: dict[str, None] = {}
    counted: dict[Tier, set[float]] = {t: set() for t in TIER_ORDER}
    weights: dict[Tier, list[tuple[float, int]]] = {t: [] for t in TIER_ORDER}
    broken = 0
    for row in chosen:
        block = queue_tiers(board, row, key, targets, book)
        if not block.reported:
            missing[row.queue.source] = None
            continue
        if not block.tiers:
            broken += 1
            continue
        for f in block.tiers:
            sums[f.tier].append(f.figures.stats)
            counted[f.tier].add(f.threshold_s if f.threshold_s is not None else -1.0)
            weights[f.tier].append((row.queue.sl_target, f.n))
    if not any(sums.values()):
        problem = f"{broken} queue(s) with tier counts that do not add up" if broken else None
        return TierBlock((), broken > 0, tuple(missing), problem)
    window_start = start or board.window_start(key) or board.taken_at
    tiers: list[TierFigures] = []
    for tier in TIER_ORDER:
        stats = metrics.combine(sums[tier], queue_id="*", window_start=window_start)
        goal = targets.get(tier, DEFAULT_TARGETS[tier])
        w = weights[tier]
        total_n = sum(n for _, n in w)
        queue_target = (sum(t * n for t, n in w) / total_n if total_n else
                        sum(t for t, _ in w) / len(w) if w else 0.8)
        thresholds = counted[tier]
        at = next(iter(thresholds)) if len(thresholds) == 1 else None
        tiers.append(TierFigures(
            tier=tier, figures=WindowMetrics.of(stats, board.formula),
            target=goal.sl_target if goal.sl_target is not None else queue_target,
            threshold_s=at if at is not None and at >= 0 else None,
            wanted_threshold_s=goal.threshold_s))
    problem = f"{broken} queue(s) left out: tier counts do not add up" if broken else None
    return TierBlock(tuple(tiers), True, tuple(missing), problem)
