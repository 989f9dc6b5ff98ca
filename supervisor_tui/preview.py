"""What a move will do, before it is done (pure).

For moved contacts the useful forecast is queue position: a contact joining behind n
others, with N agents working and all busy, is answered after about (n + 1) x AHT / N
(one agent frees up every AHT / N seconds on average); if agents are available it is
answered at once. Erlang C's steady-state SL does not change when a few contacts move
(arrival rates don't), so the preview shows the queues' waiting and oldest instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from supervisor_tui import erlang, fmt
from supervisor_tui.board import Board, QueueRow
from supervisor_tui.model import Agent, Contact


@dataclass(frozen=True)
class QueueState:
    name: str
    waiting: int
    oldest_s: float | None


@dataclass(frozen=True)
class MovePreview:
    source: QueueRow
    target: QueueRow
    count: int
    source_before: QueueState
    source_after: QueueState
    target_before: QueueState
    target_after: QueueState
    expected_wait_s: float | None  # None: cannot be estimated (no agents / no AHT)
    expected_wait_text: str
    warning: str | None


def _age(since: datetime | None, now: datetime) -> float | None:
    return None if since is None else max((now - since).total_seconds(), 0.0)


def expected_wait(target: QueueRow, position: int) -> float | None:
    """Seconds until a contact ``position`` places back (1 = next) is answered."""
    agents = target.agents
    if agents.available >= position:
        return 0.0
    working = agents.on_contact + agents.after_contact_work + agents.available
    aht = target.interval.aht_s or target.day.aht_s
    if working == 0 or not aht:
        return None
    return (position - agents.available) * aht / working


def preview_move(board: Board, from_queue: str, to_queue: str, contacts: Sequence[Contact],
                 now: datetime) -> MovePreview:
    source = board.rows_by_id[from_queue]
    target = board.rows_by_id[to_queue]
    waiting = board.waiting_by_queue.get(from_queue, ())
    moving = {c.id for c in contacts}
    remaining = [c for c in waiting if c.id not in moving]
    count = len(contacts)
    wait = expected_wait(target, target.waiting + count)
    if wait is None:
        wait_text = "unknown — nobody is working this queue" if not target.agents.staffed \
            else "unknown — no handle time measured yet"
    elif wait == 0:
        wait_text = f"answered at once ({target.agents.available} agent(s) available)"
    else:
        wait_text = f"about {fmt.duration(wait)} (behind {target.waiting} waiting)"
    warnings = []
    channels = {c.channel for c in contacts}
    if any(ch != target.queue.channel for ch in channels):
        warnings.append(f"{target.queue.name} is a {target.queue.channel.value} queue; "
                        "the source will refuse contacts of another channel")
    if target.agents.staffed - target.agents.away <= 0:
        warnings.append(f"nobody is working {target.queue.name}")
    oldest_moving = max((_age(c.entered_at, now) or 0.0 for c in contacts), default=0.0)
    if wait is not None and wait > oldest_moving and wait > target.queue.threshold_s:
        warnings.append("they are likely to wait longer there than they already have")
    return MovePreview(
        source=source,
        target=target,
        count=count,
        source_before=QueueState(source.queue.name, source.waiting,
                                 _age(source.oldest_waiting_since, now)),
        source_after=QueueState(source.queue.name, max(source.waiting - count, 0),
                                _age(remaining[0].entered_at, now) if remaining else None),
        target_before=QueueState(target.queue.name, target.waiting,
                                 _age(target.oldest_waiting_since, now)),
        # Moved contacts start a new wait in the target queue (as platforms report it).
        target_after=QueueState(target.queue.name, target.waiting + count,
                                _age(target.oldest_waiting_since, now) or 0.0),
        expected_wait_s=wait,
        expected_wait_text=wait_text,
        warning="; ".join(warnings) or None,
    )


@dataclass(frozen=True)
class QueueEffect:
    queue_id: str
    sl_before: float | None
    sl_after: float | None


@dataclass(frozen=True)
class AgentsPreview:
    working_before: int
    working_after: int
    sl_before: float | None  # Erlang C predicted SL with the agents working the queue now
    sl_after: float | None
    needed: int | None
    others: tuple[QueueEffect, ...]  # the queues the agents come from, worst case


def _predicted(row: QueueRow, working: int) -> float | None:
    staffing = row.staffing
    if staffing is None:
        return None
    if working <= 0:
        return 0.0
    traffic = staffing.result.traffic_erlangs
    return erlang.service_level(traffic, working, staffing.aht_s, row.queue.threshold_s)


def _working(row: QueueRow) -> int:
    return row.agents.staffed - row.agents.away


def preview_agents(board: Board, queue_id: str, agents: Sequence[Agent], add: bool
                   ) -> AgentsPreview:
    """Erlang C SL of the queue with k more (or fewer) agents; and, for the queues the
    agents also serve, the worst case where they are fully taken from them."""
    row = board.rows_by_id[queue_id]
    k = len(agents)
    before = _working(row)
    after = max(before + k if add else before - k, 0)
    donors: dict[str, int] = {}
    if add:
        for agent in agents:
            for skill in agent.skills:
                donors[skill] = donors.get(skill, 0) + 1
    others = []
    for qid, n in donors.items():
        other = board.rows_by_id.get(qid)
        if other is None:
            continue
        others.append(QueueEffect(qid, _predicted(other, _working(other)),
                                  _predicted(other, _working(other) - n)))
    return AgentsPreview(
        working_before=before,
        working_after=after,
        sl_before=_predicted(row, before),
        sl_after=_predicted(row, after),
        needed=row.staffing.needed if row.staffing else None,
        others=tuple(others),
    )
