"""A KPI band for a configured group of queues (pure), from one Board.

Counts add up: a group's offered, answered, waiting and over-threshold are the sums of
its queues' (each queue once). Service level follows the rule every headline figure
keeps (ARCHITECTURE.md, "Counting rule"): it is one figure only over queues that share
a target and a threshold; a group mixing "80% in 20 s" voice with "90% in 1 h" email
gets one SL per target/threshold, each labelled, never their blend. ASA and AHT are
over the group's live queues when it has both live and email queues (seconds and hours
do not average into anything), labelled with the channel group they cover.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from supervisor_tui.domain import metrics
from supervisor_tui.domain.board import (
    CHANNEL_GROUP,
    DAY,
    DEFERRED,
    INTERVAL,
    LIVE,
    Board,
    QueueRow,
    SLStatus,
    WindowMetrics,
    sl_status,
)
from supervisor_tui.domain.model import AgentStateKind

# Worst first, for the status of a band with several service levels.
_STATUS_RANK = {SLStatus.MISSED: 0, SLStatus.AT_RISK: 1, SLStatus.OK: 2, SLStatus.NO_DATA: 3}


def window_total(board: Board, key: str, rows: Sequence[QueueRow]) -> WindowMetrics | None:
    """Counters of ``rows`` summed over window ``key`` (the way ``Board.totals`` sums a
    channel group): None when the window cannot be told (counters went backwards)."""
    view = board.windows.get(key)
    if view is not None:
        total = view.total(r.queue.id for r in rows)
        return WindowMetrics.of(total, board.formula) if total is not None else None
    start = board.window_start(key)
    if start is None:
        return None
    if key == INTERVAL:
        stats = [r.interval_stats for r in rows]
    elif key == DAY:
        stats = [r.day_stats for r in rows]
    else:
        return None
    return WindowMetrics.of(metrics.combine(stats, window_start=start), board.formula)


@dataclass(frozen=True)
class SLPart:
    """Service level over the group's queues that share one target and threshold."""

    target: float
    threshold_s: float
    queue_ids: tuple[str, ...]
    figures: WindowMetrics | None

    @property
    def value(self) -> float | None:
        return self.figures.service_level if self.figures else None

    @property
    def n(self) -> int:
        """Contacts the SL is a share of (its sample)."""
        return self.figures.sl_n if self.figures else 0

    @property
    def status(self) -> SLStatus:
        return sl_status(self.value, self.target)


@dataclass(frozen=True)
class GroupBand:
    """One configured queue group in one window of one poll."""

    name: str
    queue_ids: tuple[str, ...]  # as configured (each once)
    rows: tuple[QueueRow, ...]  # those a source reports now
    missing: tuple[str, ...]  # configured ids no source reports now
    window: str
    totals: WindowMetrics | None  # every queue of the group: offered, answered, abandoned
    sl: tuple[SLPart, ...]  # one per target/threshold, most contacts first
    timing_channel: str  # the channel group ASA/AHT cover (LIVE or DEFERRED)
    timing_mixed: bool  # the group has both: ASA/AHT cover only ``timing_channel``
    timing: WindowMetrics | None  # ASA and AHT come from these (= totals unless mixed)
    waiting: int
    over_threshold: int
    agents: metrics.AgentTally  # distinct agents with a skill in any of its queues

    @property
    def worst_sl(self) -> SLPart | None:
        """The part furthest from its target (missed before at risk before on target)."""
        if not self.sl:
            return None
        return min(self.sl, key=lambda p: (_STATUS_RANK[p.status], -p.n))

    def worst_wait(self, now: datetime) -> tuple[QueueRow, float] | None:
        """The queue whose oldest waiting contact is furthest into its own threshold,
        with that wait as of ``now`` (as ``Board.worst_wait``, over this group)."""
        best: tuple[float, QueueRow, float] | None = None
        for r in self.rows:
            if r.oldest_waiting_since is None:
                continue
            wait = max((now - r.oldest_waiting_since).total_seconds(), 0.0)
            share = wait / max(r.queue.threshold_s, 1.0)
            if best is None or share > best[0]:
                best = (share, r, wait)
        return None if best is None else (best[1], best[2])


def agents_by_state(board: Board) -> dict[AgentStateKind, frozenset[int]]:
    """The identities of the board's agents in each state, once per board: a group's
    agents are then counted with set operations instead of reading each agent (10,000
    scattered objects a poll; see domain/index.py)."""
    if board.index is not None:
        return {AgentStateKind(k): frozenset(map(id, agents))
                for k, agents in board.index.agents_by_kind.items()}
    by_kind: dict[AgentStateKind, set[int]] = {k: set() for k in AgentStateKind}
    for agent in board.snapshot.agents:
        by_kind[agent.state.kind].add(id(agent))
    return {k: frozenset(v) for k, v in by_kind.items()}


def group_band(board: Board, name: str, queue_ids: Sequence[str], window: str,
               by_state: Mapping[AgentStateKind, frozenset[int]] | None = None) -> GroupBand:
    """``by_state``: ``agents_by_state(board)``, shared by every group of one board."""
    ids = tuple(dict.fromkeys(queue_ids))  # a queue listed twice would count twice
    by_id = board.rows_by_id
    rows = tuple(by_id[q] for q in ids if q in by_id)
    missing = tuple(q for q in ids if q not in by_id)

    parts: dict[tuple[float, float], list[QueueRow]] = {}
    for r in rows:
        parts.setdefault((r.queue.sl_target, r.queue.threshold_s), []).append(r)
    sl = tuple(sorted(
        (SLPart(target, threshold, tuple(r.queue.id for r in part),
                window_total(board, window, part))
         for (target, threshold), part in parts.items()),
        key=lambda p: (-p.n, p.threshold_s, p.target)))

    channels = {CHANNEL_GROUP[r.queue.channel] for r in rows}
    timing_channel = LIVE if LIVE in channels or not channels else DEFERRED
    mixed = len(channels) > 1
    timing_rows = [r for r in rows if CHANNEL_GROUP[r.queue.channel] == timing_channel]

    # An agent with two of the group's queues is one agent: the serving lists hold the
    # snapshot's own agent objects, so identity tells them apart (and two sources' agents
    # with the same id are two agents).
    members: set[int] = set()
    for r in rows:
        members.update(map(id, r.serving))
    states = by_state if by_state is not None else agents_by_state(board)

    def count(kind: AgentStateKind) -> int:
        return len(members & states.get(kind, frozenset()))

    totals = window_total(board, window, rows)
    return GroupBand(
        name=name,
        queue_ids=ids,
        rows=rows,
        missing=missing,
        window=window,
        totals=totals,
        sl=sl,
        timing_channel=timing_channel,
        timing_mixed=mixed,
        timing=window_total(board, window, timing_rows) if mixed else totals,
        waiting=sum(r.waiting for r in rows),
        over_threshold=sum(r.over_threshold for r in rows),
        agents=metrics.AgentTally(
            available=count(AgentStateKind.AVAILABLE),
            on_contact=count(AgentStateKind.ON_CONTACT),
            after_contact_work=count(AgentStateKind.AFTER_CONTACT_WORK),
            away=count(AgentStateKind.AWAY),
            offline=count(AgentStateKind.OFFLINE)),
    )


def group_bands(board: Board, groups: Mapping[str, Sequence[str]],
                window: str) -> tuple[GroupBand, ...]:
    """Every configured group, in the configuration's order."""
    by_state = agents_by_state(board) if groups else {}
    return tuple(group_band(board, name, ids, window, by_state)
                 for name, ids in groups.items())
