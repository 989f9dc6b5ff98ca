"""What a move will do, before it is done (pure).

For moved contacts the useful forecast is queue position: a contact joining behind n
others, with N agents working and all busy, is answered after about (n + 1) x AHT / N
(one agent frees up every AHT / N seconds on average); if agents are available it is
answered at once. Erlang C's steady-state SL does not change when a few contacts move
(arrival rates don't), so the preview shows the queues' waiting and oldest instead.

Every Erlang figure a preview shows comes from the board's own staffing (``QueueRow
.staffing``) through :func:`predicted_sl` and :func:`working_agents` — the only two
places here that touch Erlang C or count agents — so previews agree with the queue
detail screen, and a change to how the board counts agents reaches both at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from supervisor_tui import erlang, fmt
from supervisor_tui.board import Board, QueueRow
from supervisor_tui.model import Agent, AgentStateKind, Channel, Contact


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


def incompatibility(target: QueueRow, channels: set[Channel], source_name: str) -> str | None:
    """Why contacts of ``channels`` on ``source_name`` cannot move to ``target``, or None.

    A voice call cannot become an email, and no platform moves a contact to a queue
    another platform owns: the source would refuse either at ``y``."""
    other = sorted(ch.value for ch in channels if ch != target.queue.channel)
    if other:
        return f"a {target.queue.channel.value} queue"
    if target.queue.source != source_name:
        return f"on source {target.queue.source}"
    return None


@dataclass(frozen=True)
class Target:
    row: QueueRow
    wait_s: float | None  # predicted wait of the last contact moved there; None: unknown


@dataclass(frozen=True)
class Targets:
    compatible: tuple[Target, ...]  # best first
    hidden: tuple[tuple[QueueRow, str], ...]  # incompatible, with the reason


def rank_targets(board: Board, from_queue: str, channels: set[Channel], count: int
                 ) -> Targets:
    """The queues ``count`` contacts of ``from_queue`` could move to, best first: the
    shortest predicted wait for the last of them (which already counts the agents
    free there), then the most agents available, then by name. An unknown wait (nobody
    working, no handle time yet) ranks last."""
    source = board.rows_by_id.get(from_queue)
    source_name = source.queue.source if source else ""
    ok: list[Target] = []
    hidden: list[tuple[QueueRow, str]] = []
    for row in board.rows:
        if row.queue.id == from_queue:
            continue
        why = incompatibility(row, channels, source_name)
        if why is not None:
            hidden.append((row, why))
            continue
        ok.append(Target(row, expected_wait(row, row.waiting + max(count, 1))))
    ok.sort(key=lambda t: (t.wait_s is None, t.wait_s or 0.0, -t.row.agents.available,
                           t.row.queue.name.lower()))
    return Targets(tuple(ok), tuple(hidden))


def overflow_count(typed: str, waiting: int) -> tuple[int | None, str]:
    """How many of the oldest to move for what was typed, and what to say about it:
    a cap is said aloud ("20 asked, 12 waiting: will move 12"), never applied silently."""
    typed = typed.strip()
    if not typed:
        return None, f"type how many to move (1–{waiting})" if waiting else "nobody waiting"
    try:
        asked = int(typed)
    except ValueError:
        return None, f"{typed!r} is not a number"
    if waiting == 0:
        return None, "nobody is waiting now: nothing to move"
    if asked < 1:
        return None, f"type a number from 1 to {waiting}"
    if asked > waiting:
        return waiting, f"{asked} asked, {waiting} waiting: will move {waiting}"
    return asked, f"will move the oldest {asked} of {waiting} waiting"


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
    waiting: int = 0  # contacts waiting in the queue now
    danger: str | None = None  # the change leaves the queue unable to cope: say it loudly


# -- the one place previews get Erlang numbers and agent counts -----------------------
# (from the board's Staffing, so they agree with the queue detail screen)


def predicted_sl(row: QueueRow, working: int) -> float | None:
    """Erlang C service level of ``row`` with ``working`` agents, from the board's own
    staffing inputs (traffic, AHT); None when the board has none (no AHT yet)."""
    staffing = row.staffing
    if staffing is None:
        return None
    if working <= 0:
        return 0.0
    traffic = staffing.result.traffic_erlangs
    return erlang.service_level(traffic, working, staffing.aht_s, row.queue.threshold_s)


def needed_agents(row: QueueRow) -> int | None:
    """Agents the board says the queue needs now for its target (Erlang C)."""
    return row.staffing.needed if row.staffing else None


def working_agents(row: QueueRow) -> int:
    """Agents working the queue now (logged in and not away)."""
    return row.agents.staffed - row.agents.away


def is_working(agent: Agent) -> bool:
    return agent.state.kind not in (AgentStateKind.AWAY, AgentStateKind.OFFLINE)


def removal_danger(row: QueueRow, working_after: int, needed: int | None) -> str | None:
    """Why taking agents off ``row`` is dangerous: no agent left, or contacts waiting
    with fewer agents than Erlang C needs."""
    name = row.queue.name
    if working_after <= 0:
        if row.waiting:
            return f"leaves {name} with NO AGENT and {row.waiting} waiting"
        return f"leaves {name} with NO AGENT: the next contact waits for nobody"
    if row.waiting and needed is not None and working_after < needed:
        return (f"leaves {name} with {working_after} agent(s) working, under the "
                f"{needed} Erlang C needs, with {row.waiting} waiting")
    return None


def preview_agents(board: Board, queue_id: str, agents: Sequence[Agent], add: bool
                   ) -> AgentsPreview:
    """Erlang C SL of the queue with k more (or fewer) agents; and, for the queues the
    agents also serve, the worst case where they are fully taken from them."""
    row = board.rows_by_id[queue_id]
    k = sum(1 for a in agents if is_working(a))  # away agents change nobody's cover
    before = working_agents(row)
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
        others.append(QueueEffect(qid, predicted_sl(other, working_agents(other)),
                                  predicted_sl(other, working_agents(other) - n)))
    needed = needed_agents(row)
    return AgentsPreview(
        working_before=before,
        working_after=after,
        sl_before=predicted_sl(row, before),
        sl_after=predicted_sl(row, after),
        needed=needed,
        others=tuple(others),
        waiting=row.waiting,
        danger=None if add else removal_danger(row, after, needed),
    )
