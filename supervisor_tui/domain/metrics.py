"""Contact-centre metrics, defined once (pure; see ARCHITECTURE.md "Metrics").

Ratios return ``None`` when their denominator is zero: "no contacts yet" must never
read as 0% or 100%.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter

from supervisor_tui.domain.model import (
    STATS_COUNTERS,
    Agent,
    AgentStateKind,
    Contact,
    ContactState,
    QueueStats,
    SLFormula,
)

# Too early in a window to estimate an arrival rate from it.
MIN_RATE_WINDOW_S = 60.0

_COUNTERS = STATS_COUNTERS
_GET_COUNTERS = attrgetter(*_COUNTERS)
COUNTERS = _COUNTERS


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator > 0 else None


def service_level(
    stats: QueueStats, formula: SLFormula = SLFormula.ANSWERED_AND_ABANDONED_AFTER
) -> float | None:
    """Answered within the threshold over the formula's denominator (None if it is 0)."""
    # Coerce: a formula read from config may be the plain string; comparing it with
    # ``is`` would silently fall through to the default formula. Unknown -> ValueError.
    if not isinstance(formula, SLFormula):
        formula = SLFormula(formula)
    within = stats.answered_within_threshold
    if formula == SLFormula.ANSWERED:
        return _ratio(within, stats.answered)
    if formula == SLFormula.OFFERED:
        return _ratio(within, stats.offered)
    return _ratio(within, stats.answered + stats.abandoned_after_threshold)


def asa(stats: QueueStats) -> float | None:
    """Average speed of answer: total wait of answered contacts / answered."""
    return _ratio(stats.wait_answered_s, stats.answered)


def aht(stats: QueueStats) -> float | None:
    """Average handle time: (talk + hold + ACW) / handled."""
    return _ratio(stats.handle_s, stats.handled)


def abandon_rate(stats: QueueStats) -> float | None:
    """Abandoned / offered with short abandons removed from both sides."""
    short = stats.abandoned_short
    return _ratio(max(stats.abandoned - short, 0), stats.offered - short)


def occupancy(busy_s: float, available_s: float) -> float | None:
    """Busy time / (busy + available time); away and offline time count for neither."""
    return _ratio(busy_s, busy_s + available_s)


@dataclass(frozen=True)
class AgentTally:
    """Head count of agents per state, from one snapshot."""

    available: int = 0
    on_contact: int = 0
    after_contact_work: int = 0
    away: int = 0
    offline: int = 0

    @property
    def staffed(self) -> int:
        """Logged in: everyone but offline."""
        return self.available + self.on_contact + self.after_contact_work + self.away


def agent_counts(agents: Iterable[Agent]) -> AgentTally:
    """Count agents by live state (one pass; works on any iterable)."""
    tally = dict.fromkeys(AgentStateKind, 0)
    for agent in agents:
        tally[agent.state.kind] += 1
    return AgentTally(
        available=tally[AgentStateKind.AVAILABLE],
        on_contact=tally[AgentStateKind.ON_CONTACT],
        after_contact_work=tally[AgentStateKind.AFTER_CONTACT_WORK],
        away=tally[AgentStateKind.AWAY],
        offline=tally[AgentStateKind.OFFLINE],
    )


def occupancy_now(agents: Iterable[Agent]) -> float | None:
    """Share of working agents busy right now: (on contact + ACW) / (those + available)."""
    t = agent_counts(agents)
    busy = t.on_contact + t.after_contact_work
    return _ratio(busy, busy + t.available)


def oldest_waiting(contacts: Iterable[Contact]) -> Contact | None:
    # ``==``, not ``is``: sources using model_construct may hold the plain string.
    waiting = (c for c in contacts if c.state == ContactState.WAITING)
    return min(waiting, key=lambda c: c.entered_at, default=None)


def longest_wait(contacts: Iterable[Contact], now: datetime) -> float:
    """Seconds the oldest waiting contact has waited, measured against ``now``."""
    oldest = oldest_waiting(contacts)
    return 0.0 if oldest is None else max((now - oldest.entered_at).total_seconds(), 0.0)


def combine(
    stats: Iterable[QueueStats], queue_id: str = "*", window_start: datetime | None = None
) -> QueueStats:
    """Sum counters: queues into a total, or intervals into a day.

    Column by column in C (``attrgetter`` reads a row's counters at once, ``sum``
    sums each column): a 5,000-queue total is read each poll (5 ms instead of 15)."""
    stats = stats if isinstance(stats, (list, tuple)) else list(stats)
    start = window_start
    if start is None:
        start = min((s.window_start for s in stats), default=None)
    columns = zip(*map(_GET_COUNTERS, stats), strict=True) if stats else ()
    totals = dict.fromkeys(_COUNTERS, 0)
    totals.update({name: sum(column)
                   for name, column in zip(_COUNTERS, columns, strict=False)})
    if start is None:
        raise ValueError("combine() of no stats needs a window_start")
    return QueueStats(queue_id=queue_id, window_start=start, **totals)


def arrival_rate(stats: QueueStats, now: datetime) -> float | None:
    """Offered contacts per second over the window so far; None if the window is young."""
    elapsed = (now - stats.window_start).total_seconds()
    if elapsed < MIN_RATE_WINDOW_S:
        return None
    return stats.offered / elapsed
