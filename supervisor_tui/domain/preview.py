"""What a move will do, before it is done (pure).

For moved contacts the useful forecast is queue position: a contact joining behind n
others, with N agents working and all busy, is answered after about (n + 1) x AHT / N
(one agent frees up every AHT / N seconds on average); if agents are available it is
answered at once. Erlang C's steady-state SL does not change when a few contacts move
(arrival rates don't), so the preview shows the queues' waiting and oldest instead.

Every Erlang figure a preview shows is the board's own: a change of agents is previewed
as the board's ``QueueRow`` with other agents serving it (:func:`restaffed`), read
through :func:`working_agents` (effective agents), :func:`predicted_sl` and
:func:`needed_agents` — the only places here that touch staffing — so previews agree
with the queue detail screen, and a change to how the board counts agents or smooths
arrivals reaches both at once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from supervisor_tui.domain import fmt
from supervisor_tui.domain.board import Board, QueueRow
from supervisor_tui.domain.model import Agent, Channel, Contact


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
    # The board's figures: effective agents (an agent shared with busier queues frees up
    # here less often) and the AHT of its stated Erlang window.
    working = working_agents(target)
    staffing = target.staffing
    aht = staffing.aht_s if staffing is not None else (target.interval.aht_s
                                                       or target.day.aht_s)
    if working <= 0 or not aht:
        return None
    return (position - agents.available) * aht / working


def incompatibility(target: QueueRow, channels: set[Channel], source_name: str) -> str | None:
    """Why contacts of ``channels`` on ``source_name`` cannot move to ``target``, or None.

    A voice call cannot become an email, and no platform moves a contact to a queue
    another platform owns: the source would refuse either at ``y``."""
    other = sorted(ch.value for ch in channels if ch != target.queue.channel)
    if other:
        kind = target.queue.channel.value
        return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} queue"
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
        return None, "nobody is waiting now"
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
    danger: str | None = None  # the agents' time now shared leaves it unable to cope


@dataclass(frozen=True)
class AgentsPreview:
    working_before: float  # effective agents on the queue (as the queue detail shows)
    working_after: float
    sl_before: float | None  # Erlang C predicted SL with the agents working the queue now
    sl_after: float | None
    needed: int | None
    others: tuple[QueueEffect, ...]  # the queues the added agents also serve
    waiting: int = 0  # contacts waiting in the queue now
    danger: str | None = None  # the change leaves the queue unable to cope: say it loudly


# -- the one place previews get Erlang numbers and agent counts -----------------------
# Always from the board's own QueueRow (effective agents, Staffing), never computed
# here: a changed staffing is the board's row with other agents serving it.


def restaffed(row: QueueRow, serving: Sequence[Agent]) -> QueueRow:
    """``row`` as the board computes it with ``serving`` instead: its own effective
    agents and Erlang C staffing for the change (arrivals and AHT unchanged)."""
    return dataclasses.replace(row, serving=tuple(serving))


def working_agents(row: QueueRow) -> float:
    """Effective agents on the queue: the figure the queue detail shows."""
    staffing = row.staffing
    return staffing.effective if staffing is not None else row.effective_agents


def predicted_sl(row: QueueRow) -> float | None:
    """The board's Erlang C predicted SL for the row's agents; None without staffing
    inputs (no AHT yet), 0% when not one whole agent works it."""
    staffing = row.staffing
    if staffing is None:
        return None
    sl = staffing.predicted_sl_with_staffed
    return 0.0 if sl is None else sl


def needed_agents(row: QueueRow) -> int | None:
    """Agents the board says the queue needs now for its target (Erlang C)."""
    return row.staffing.needed if row.staffing else None


def agents_text(n: float) -> str:
    """1 decimal, as the queue detail shows effective agents (2.0 reads "2")."""
    return f"{n:.1f}".removesuffix(".0")


def removal_danger(after: QueueRow, needed: int | None) -> str | None:
    """Why ``after`` (the queue once the agents are removed) cannot cope: no agent left
    working it, or contacts waiting with fewer agents than Erlang C needs."""
    name = after.queue.name
    tally = after.agents
    if tally.available + tally.on_contact + tally.after_contact_work == 0:
        if after.waiting:
            return f"leaves {name} with NO AGENT and {after.waiting} waiting"
        return f"leaves {name} with NO AGENT: the next contact waits for nobody"
    effective = working_agents(after)
    if after.waiting and needed is not None and effective < needed:
        return (f"leaves {name} with {agents_text(effective)} effective agent(s), under "
                f"the {needed} Erlang C needs, with {after.waiting} waiting")
    return None


def preview_agents(board: Board, queue_id: str, agents: Sequence[Agent], add: bool
                   ) -> AgentsPreview:
    """The queue's effective agents and Erlang C SL before and after adding (or
    removing) it for ``agents``; and, when adding, the other queues those agents serve,
    whose share of them shrinks. Every figure is the board's own, for the changed row."""
    row = board.rows_by_id[queue_id]
    ids = {a.id for a in agents}
    others: list[QueueEffect] = []
    if add:
        gaining = {a.id: a.model_copy(update={"skills": (*a.skills, queue_id)})
                   for a in agents if queue_id not in a.skills}
        after = restaffed(row, (*row.serving, *gaining.values()))
        donors = dict.fromkeys(q for a in agents for q in a.skills if q != queue_id)
        for qid in donors:
            other = board.rows_by_id.get(qid)
            if other is None:
                continue
            changed = restaffed(other, [gaining.get(a.id, a) for a in other.serving])
            # They keep serving it, with less of their time: loud only when that is what
            # takes it under its need (a queue already short was not left short by this).
            was = removal_danger(other, needed_agents(other))
            now = removal_danger(changed, needed_agents(other))
            others.append(QueueEffect(qid, predicted_sl(other), predicted_sl(changed),
                                      now if now and not was else None))
    else:
        after = restaffed(row, [a for a in row.serving if a.id not in ids])
    needed = needed_agents(row)
    if add:  # the queues the agents also serve get less of their time
        dangers = [o.danger for o in others if o.danger]
        danger = "; ".join(dangers) or None
    else:
        danger = removal_danger(after, needed)
    return AgentsPreview(
        working_before=working_agents(row),
        working_after=working_agents(after),
        sl_before=predicted_sl(row),
        sl_after=predicted_sl(after),
        needed=needed,
        others=tuple(others),
        waiting=row.waiting,
        danger=danger,
    )
