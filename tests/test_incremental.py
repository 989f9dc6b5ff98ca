"""Per-poll work that follows change (issue 15 item 1) against a full recomputation.

A simulated centre churns for several hundred polls (random advances, supervisors
moving contacts, changing agents' states and skills); at every poll each incremental
path is compared with the same figures worked out from scratch, so a drift fails here
loudly instead of showing a wrong number on a wall.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
from dataclasses import asdict, fields
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from operator import is_

import pytest

from supervisor_tui.domain.agent_day import AgentDayBook
from supervisor_tui.domain.board import DAY, INTERVAL, MetricsMemo, QueueRow, build_board
from supervisor_tui.domain.changes import agents_since, contacts_since
from supervisor_tui.domain.escalation import (
    EscalationRules,
    EscalationTracker,
    long_contact_limit_s,
)
from supervisor_tui.domain.flags import LongLimits, count_flagged, is_flagged
from supervisor_tui.domain.index import IndexBuilder, build_index
from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.domain.model import (
    AgentStateKind,
    Contact,
    ContactState,
    SLFormula,
    Snapshot,
    Tier,
)
from supervisor_tui.domain.surveys import ContactLog
from supervisor_tui.domain.tiers import TierBook
from supervisor_tui.protocol.collector import Collector
from supervisor_tui.protocol.server import serve_in_thread
from supervisor_tui.sim.config import scaled_centre
from supervisor_tui.sources.http.settings import HttpSettings
from supervisor_tui.sources.http.source import HttpSource
from supervisor_tui.sources.simulator import SimulatorSource

from .helpers import centre, index_shape

POLLS = 300
# Short limits so that every kind of flag occurs in a 400-agent centre.
RULES = EscalationRules(acw_limit_s=20, away_limit_s=300, away_limits_s={"lunch": 90},
                        long_contact_aht_multiple=1.5, min_contacts=3)



def _churn(seed: int) -> list[Snapshot]:
    """POLLS snapshots of a 40-queue, 400-agent centre under supervisors' actions."""
    rng = random.Random(seed)
    wall = [datetime(2026, 5, 5, 9, 0, tzinfo=UTC)]
    source = SimulatorSource("sim", IntervalPolicy(15, "UTC"),
                             scaled_centre(40, 400, occupancy=1.05, seed=seed),
                             clock=lambda: wall[0])
    engine = source.engine
    queues = [q.id for q in engine.queues]
    snaps: list[Snapshot] = []
    for _ in range(POLLS):
        wall[0] += timedelta(seconds=rng.choice((1, 2, 5, 20, 60)))
        engine.advance(source.sim_now())
        for _ in range(rng.randint(0, 3)):
            agent = rng.choice(engine.agents).id
            roll = rng.random()
            if roll < 0.4:
                engine.set_agent_state(agent, rng.choice(
                    ("available", "away:lunch", "away:break", "end_acw", "logout")))
            elif roll < 0.6:
                engine.set_agent_skills(agent, rng.sample(queues, rng.randint(1, 3)))
            else:
                waiting = [c for c in engine.live_contacts() if c.agent is None]
                if waiting:
                    engine.move_contact(rng.choice(waiting).id, rng.choice(queues))
        snap = source._builder.build()
        # The simulator rebuilt only what the engine said changed: the result is what a
        # full read of every agent and contact gives (the same objects, in its order).
        assert all(a.model_ver == a.ver for a in engine.agents)
        assert all(c.model_ver == c.ver for c in engine.live_contacts())
        assert all(map(is_, snap.agents, [a.model for a in engine.agents]))
        assert [id(c) for c in snap.contacts] == [id(c.model) for c in engine.live_contacts()]
        snaps.append(snap)
    return snaps


@pytest.fixture(scope="module")
def churn() -> list[Snapshot]:
    return _churn(seed=7)


def test_the_churn_changes_some_objects_each_poll_and_keeps_the_rest(churn: list[Snapshot]) -> None:
    kept = changed = 0
    for before, after in pairwise(churn):
        same = sum(a is b for a, b in zip(before.agents, after.agents, strict=True))
        kept += same
        changed += len(after.agents) - same
    assert kept > changed > POLLS  # mostly unchanged objects, yet hundreds of changes


def test_index_and_flag_count_equal_a_full_pass_every_poll(churn: list[Snapshot]) -> None:
    builder = IndexBuilder()
    counted = 0
    for step, snap in enumerate(churn):
        index = builder.index(snap)
        assert index_shape(index) == index_shape(build_index(snap)), f"poll {step}"
        for kind in (AgentStateKind.AFTER_CONTACT_WORK, AgentStateKind.AWAY,
                     AgentStateKind.ON_CONTACT):
            order = [a.state.since for a in index.by_since(kind)]
            assert order == sorted(order)
            assert len(order) == index.count(kind)
        long = LongLimits(snap, RULES)
        for later_s in (0, 15, 120, 900):  # the screen ticks on between polls
            now = snap.taken_at + timedelta(seconds=later_s)
            brute = sum(is_flagged(a, now, RULES, long) for a in snap.agents)
            assert count_flagged(index, snap, RULES, now) == brute, f"poll {step} +{later_s}s"
            counted += brute
    assert counted > POLLS  # flags of every kind actually occurred


def test_flag_count_at_the_microsecond_of_a_long_contact_limit_equals_the_rule(
        churn: list[Snapshot]) -> None:
    """An agent on a contact exactly as long as their queue's limit is not flagged; a
    microsecond more is (the count decides by time cuts, the rule by durations)."""
    snap = churn[-1]
    index, long = build_index(snap), LongLimits(snap, RULES)
    on = [a for a in snap.agents if a.state.kind == AgentStateKind.ON_CONTACT
          and long.of(a.queue_id) is not None]
    assert on
    for agent in on[:5]:
        at = agent.state.since + timedelta(seconds=long.of(agent.queue_id) or 0)
        for now in (at - timedelta(microseconds=1), at, at + timedelta(microseconds=1),
                    at + timedelta(milliseconds=1)):
            brute = sum(is_flagged(a, now, RULES, long) for a in snap.agents)
            assert count_flagged(index, snap, RULES, now) == brute, (agent.id, now)


def test_agents_by_since_asked_for_now_and_then_equal_a_sort(churn: list[Snapshot]) -> None:
    """The builder moves its lists by since on only when one is asked for (the dashboard
    never does): asked after several polls, or of an index a poll old, each is exactly
    the kind's agents sorted by since."""
    builder = IndexBuilder()
    older = None
    for step, snap in enumerate(churn):
        index = builder.index(snap)
        if step % 7 == 0:
            for kind in (AgentStateKind.AFTER_CONTACT_WORK, AgentStateKind.AWAY,
                         AgentStateKind.ON_CONTACT):
                got = index.by_since(kind)
                assert sorted(map(id, got)) == sorted(map(id, index.agents_by_kind[kind]))
                assert [a.state.since for a in got] == sorted(a.state.since for a in got)
                if older is not None:  # a poll old: its own agents, not the newest
                    old = older.by_since(kind)
                    assert sorted(map(id, old)) == sorted(map(id, older.agents_by_kind[kind]))
        older = index


def test_agents_on_a_contact_by_queue_asked_for_now_and_then_equal_a_grouped_sort(
        churn: list[Snapshot]) -> None:
    """The ⚑ count's lists (one per queue, kept poll to poll, moved on only when asked
    for): asked every few polls, or of an index a poll old, each queue holds exactly its
    agents on a contact, longest on it first, and a map handed out earlier never
    changes."""
    def expected(index) -> dict[str | None, list[int]]:  # type: ignore[no-untyped-def]
        grouped: dict[str | None, list[int]] = {}
        for a in sorted(index.agents_by_kind[AgentStateKind.ON_CONTACT],
                        key=lambda a: (a.state.since, id(a))):
            grouped.setdefault(a.queue_id, []).append(id(a))
        return grouped

    def shape(lists) -> dict[str | None, list[int]]:  # type: ignore[no-untyped-def]
        # (agents that took a contact at the same moment: any order among them)
        return {q: [id(a) for a in sorted(m, key=lambda a: (a.state.since, id(a)))]
                for q, m in lists.items()}

    builder = IndexBuilder()
    handed: list[tuple[object, dict[str | None, list[int]]]] = []
    older = None
    asked = 0
    for step, snap in enumerate(churn):
        index = builder.index(snap)
        if step % 3 == 0:
            on = index.on_contact()
            got = on.by_queue
            assert on.oldest_s.keys() == got.keys()
            for queue_id, members in got.items():
                assert members  # (no empty queue kept)
                order = [a.state.since for a in members]
                assert order == sorted(order), f"poll {step}"
                assert on.oldest_s[queue_id] == order[0].timestamp()
            assert shape(got) == expected(index), f"poll {step}"
            asked += len(got)
            handed.append((got, shape(got)))
            if older is not None:  # a poll old: its own agents, not the newest
                assert shape(older.on_contact().by_queue) == expected(older)
        older = index
    assert asked > POLLS
    for got, then in handed:
        assert shape(got) == then


def test_agents_on_a_contact_not_asked_for_are_not_kept_in_memory(
        churn: list[Snapshot]) -> None:
    """A console on the dashboard never asks for them: the builder does not hold every
    agent object replaced since (they are made afresh when asked), and what it then
    gives is right."""
    builder = IndexBuilder()
    for snap in churn:
        index = builder.index(snap)
        gone, new = builder._on_moves
        assert len(gone) + len(new) <= max(64, index.count(AgentStateKind.ON_CONTACT) // 8)
    def shape(lists) -> dict[str | None, list[int]]:  # type: ignore[no-untyped-def]
        return {q: [id(a) for a in sorted(m, key=lambda a: (a.state.since, id(a)))]
                for q, m in lists.items()}

    assert shape(index.on_contact().by_queue) == shape(
        build_index(churn[-1]).on_contact().by_queue)


def test_long_contact_limits_kept_from_the_last_poll_equal_the_rule(
        churn: list[Snapshot]) -> None:
    """The limits of queues whose day counters did not move are the last poll's; every
    queue's limit, and the shortest, still equal the escalation rule's own."""
    before: LongLimits | None = None
    for step, snap in enumerate(churn):
        limits = LongLimits(snap, RULES, before)
        for qid in (*snap.day_stats, None, "nowhere"):
            assert limits.of(qid) == long_contact_limit_s(snap, qid, RULES), f"poll {step}"
        rule = [v for q in snap.day_stats if (v := long_contact_limit_s(snap, q, RULES))]
        assert limits.shortest() == min(rule, default=None)
        before = limits
    # A queue whose counters start again (a new day) loses its limit; a queue gone has
    # none; the others keep theirs.
    assert before is not None
    last = churn[-1]
    qid, other = [q for q in last.day_stats if before.of(q) is not None][:2]
    reset = last.model_copy(update={"day_stats": {**last.day_stats, qid: last.day_stats[
        qid].model_copy(update={"handled": 0, "handle_s": 0.0})}})
    again = LongLimits(reset, RULES, before)
    assert again.of(qid) is None and again.of(other) == before.of(other)
    fewer = last.model_copy(update={"day_stats": {
        q: st for q, st in last.day_stats.items() if q != qid}})
    gone = LongLimits(fewer, RULES, before)
    assert gone.of(qid) is None and gone.of(other) == before.of(other)


def test_board_with_the_metrics_memo_equals_one_worked_out_afresh(
        churn: list[Snapshot]) -> None:
    memo, builder = MetricsMemo(), IndexBuilder()
    previous: Snapshot | None = None
    queues = {q.id: q for q in churn[0].queues}
    flagged_strips = sums_read = 0
    for step, snap in enumerate(churn):
        before = memo.computed
        board = build_board(snap, index=builder.index(snap), memo=memo)
        fresh = build_board(snap)
        for key in (INTERVAL, DAY):
            for group in (None, *fresh.groups()):
                assert board.target(key, group) == fresh.target(key, group)
                assert board.totals(key, group) == fresh.totals(key, group)
        for row, ref in zip(board.rows, fresh.rows, strict=True):
            assert row.interval == ref.interval and row.day == ref.day, f"poll {step}"
        # The over-threshold count and strip, found by bisection, against every contact.
        over = [c for c in snap.contacts if c.state == "waiting" and (
            snap.taken_at - c.entered_at).total_seconds() > queues[c.queue_id].threshold_s]
        assert board.over_threshold_count == len(over), f"poll {step}"
        waiting = [c.entered_at for c in snap.contacts if c.state == "waiting"]
        assert (board.waiting, board.oldest_waiting_since) == (len(waiting), min(waiting))
        assert {q: sorted(a.id for a in ags) for q, ags in board.agents_by_queue.items()} \
            == {r.queue.id: sorted(a.id for a in r.serving) for r in fresh.rows}
        # The lookups by queue id (kept from poll to poll): this board's own rows.
        assert list(board.rows_by_id) == list(board.agents_by_queue) == [
            r.queue.id for r in board.rows]
        assert all(board.rows_by_id[r.queue.id] is r
                   and board.agents_by_queue[r.queue.id] is r.serving for r in board.rows)
        rank = {"vip": 0, "gold": 1, "standard": 2}
        order = sorted(range(len(over)), key=lambda i: (  # the board's rule, stable
            (over[i].entered_at - snap.taken_at).total_seconds()
            / max(queues[over[i].queue_id].threshold_s, 1.0), rank[over[i].tier]))
        strip = [over[i].id for i in order[:5]]
        assert [e.contact.id for e in board.over_threshold] == strip, f"poll {step}"
        flagged_strips += bool(strip)
        # Worked out: exactly the counters that are new objects since the last poll.
        new = sum(previous is None or stats is not getattr(previous, table).get(qid)
                  for table in ("interval_stats", "day_stats")
                  for qid, stats in getattr(snap, table).items())
        assert memo.computed - before == new, f"poll {step}"
        # The tiles' sums read only the rows whose interval counters are new objects.
        sums = memo.sums[(INTERVAL, None)]
        changed = sum(previous is None or stats is not previous.interval_stats.get(qid)
                      for qid, stats in snap.interval_stats.items())
        assert sums.reads - sums_read == changed, f"poll {step}"
        sums_read = sums.reads
        previous = snap
    assert memo.computed < len(churn[0].queues) * POLLS  # most figures were reused
    assert memo.sums[(INTERVAL, None)].reads < len(churn[0].queues) * POLLS // 2
    assert flagged_strips > POLLS // 2


def test_each_rows_counters_are_its_own_whatever_order_the_source_gives_them(
        churn: list[Snapshot]) -> None:
    """Counters listed in another order than the queues, or missing for one, still
    land on their own queue's row (the board reads them in order when it can)."""
    snap = churn[-1]
    board = build_board(snap)
    first = snap.queues[0].id
    shuffled = snap.model_copy(update={
        "interval_stats": dict(reversed(snap.interval_stats.items())),
        "day_stats": {q: st for q, st in snap.day_stats.items() if q != first}})
    other = build_board(shuffled)
    for row, ref in zip(other.rows, board.rows, strict=True):
        assert row.interval_stats is ref.interval_stats
        if row.queue.id == first:
            assert row.day_stats.handled == 0  # none given: an empty day
        else:
            assert row.day_stats is ref.day_stats


def _row_shape(row: QueueRow) -> tuple[object, ...]:
    """A row's fields, its agents by id (the console's index keeps an agent's place in
    a queue's list; a fresh index lists them in snapshot order)."""
    return (*(getattr(row, f.name) for f in fields(QueueRow) if f.compare
              and f.name != "serving"), sorted(a.id for a in row.serving))


def test_rows_of_unchanged_queues_are_kept_and_read_as_fresh_ones(
        churn: list[Snapshot]) -> None:
    """The console's board keeps the row of a queue whose inputs did not change; a kept
    row reads as a row made afresh from the same poll (its fields, and the figures that
    move with the clock: the Erlang estimate and staffing, asked of the same rows every
    poll as a screen does); rows are made only for queues that changed."""
    memo, builder = MetricsMemo(), IndexBuilder()
    previous: tuple[QueueRow, ...] = ()
    kept = made = 0
    for step, snap in enumerate(churn):
        board = build_board(snap, index=builder.index(snap), memo=memo)
        fresh = build_board(snap)
        assert list(map(_row_shape, board.rows)) == list(map(_row_shape, fresh.rows)), \
            f"poll {step}"
        for row, ref in zip(board.rows[:12], fresh.rows[:12], strict=True):
            assert (row.estimate, row.staffing) == (ref.estimate, ref.staffing), f"poll {step}"
            assert row.taken_at == snap.taken_at
        for row, ref in zip(board.rows, fresh.rows, strict=True):  # (asked of every row)
            assert (row.agents, row.effective_agents) == (ref.agents, ref.effective_agents), \
                f"poll {step}"
        for group in (None, *fresh.groups()):  # the tile's longest wait, against every row
            waits = [((snap.taken_at - r.oldest_waiting_since).total_seconds()
                      / r.queue.threshold_s, r.queue.id) for r in fresh.group_rows(group)
                     if r.oldest_waiting_since is not None]
            worst = board.worst_wait(group, snap.taken_at)
            assert (worst[0].queue.id if worst else None) == \
                (max(waits)[1] if waits else None), f"poll {step}"
        if previous:
            same = sum(map(is_, board.rows, previous))
            kept, made = kept + same, made + len(board.rows) - same
        previous = board.rows
    assert kept > 10 * len(churn)  # (this churn moves an agent of most queues a poll)
    assert memo.rows.reads == made + len(churn[0].queues)


def test_tile_sums_reread_only_rows_whose_queue_is_a_new_object(
        churn: list[Snapshot]) -> None:
    """A source that sends a queue again makes a new Queue (an equal one, or one with a
    new target): the tiles' sums read that row again, not every row, and still equal
    sums worked out afresh."""
    memo, rng = MetricsMemo(), random.Random(7)
    previous: Snapshot | None = None
    queues = churn[0].queues
    for step, snap in enumerate(churn[:60]):
        renewed = set(rng.sample(range(len(queues)), 3))
        queues = tuple(q.model_copy(update={"sl_target": rng.choice((0.7, 0.8, 0.9))})
                       if i in renewed else q for i, q in enumerate(queues))
        snap = snap.model_copy(update={"queues": queues})
        before = memo.sums[(INTERVAL, None)].reads if previous is not None else 0
        board = build_board(snap, memo=memo)
        fresh = build_board(snap)
        for key in (INTERVAL, DAY):
            assert board.target(key) == fresh.target(key), f"poll {step}"
            assert board.totals(key) == fresh.totals(key), f"poll {step}"
        if previous is not None:
            moved = {q for q, st in snap.interval_stats.items()
                     if st is not previous.interval_stats.get(q)}
            moved |= {queues[i].id for i in renewed}
            assert memo.sums[(INTERVAL, None)].reads - before == len(moved), f"poll {step}"
        previous = snap


def test_agent_days_follow_changes_only_and_equal_a_book_fed_fresh_objects(
        churn: list[Snapshot]) -> None:
    incremental, full, told = AgentDayBook(), AgentDayBook(), AgentDayBook()
    said_polls = 0
    for step, snap in enumerate(churn):
        incremental.observe(snap.agents, snap.taken_at, snap.day_start)
        # The source's own word on which agents it replaced (no identity pass at all).
        said = agents_since(snap, told.held)
        said_polls += said is not None
        told.observe(snap.agents, snap.taken_at, snap.day_start, said)
        # The roster in another order each poll: the general path, every agent looked up.
        full.observe(snap.agents[::-1] if step % 2 else snap.agents, snap.taken_at,
                     snap.day_start)
        if step % 25 == 0 or step == len(churn) - 1:
            assert {k: asdict(d) for k, d in incremental.days.items()} == \
                {k: asdict(d) for k, d in full.days.items()} == \
                {k: asdict(d) for k, d in told.days.items()}, f"poll {step}"
            assert incremental.take_changed() == full.take_changed() == told.take_changed()
    assert sum(d.handled for d in incremental.days.values()) > 100
    assert said_polls > len(churn) // 2


def test_strip_takes_contacts_tied_in_age_so_a_vip_among_them_is_not_lost() -> None:
    """Seven contacts in Sales waited exactly as long; the strip holds five, and the
    VIP and gold ones listed last in the queue must still be in it (tier breaks ties)."""
    snap = centre()
    entered = snap.taken_at - timedelta(seconds=900)  # older than any in centre()
    tiers = ["standard"] * 5 + ["gold", "vip"]
    tied = tuple(Contact(id=f"t{i}", queue_id="sales", channel="voice", tier=t,
                         entered_at=entered, source="pbx") for i, t in enumerate(tiers))
    board = build_board(snap.model_copy(update={"contacts": snap.contacts + tied}),
                        strip_size=5)
    strip = [e.contact.id for e in board.over_threshold]
    assert strip[:2] == ["t6", "t5"] and len(strip) == 5
    assert board.over_threshold_count >= 7


def test_rows_made_without_the_dataclass_init_equal_ones_made_with_it() -> None:
    from dataclasses import FrozenInstanceError, fields

    from supervisor_tui.domain.board import QueueRow

    board = build_board(centre())
    for row in board.rows:
        given = {f.name: getattr(row, f.name) for f in fields(QueueRow) if f.init}
        made = QueueRow(**given)
        assert made == row and made.interval == row.interval
        assert made.__dict__.keys() - {"interval"} == row.__dict__.keys() - {"interval"}
        with pytest.raises(FrozenInstanceError):
            row.waiting = 0  # type: ignore[misc]


def test_agent_escalations_read_from_the_since_prefix_equal_the_rule_on_every_agent(
        churn: list[Snapshot]) -> None:
    tracker, builder = EscalationTracker(SLFormula.ANSWERED_AND_ABANDONED_AFTER), IndexBuilder()
    prefix = {AgentStateKind.AFTER_CONTACT_WORK: "agent-acw", AgentStateKind.AWAY: "agent-away",
              AgentStateKind.ON_CONTACT: "agent-long"}
    seen = 0
    for step, snap in enumerate(churn):
        result = tracker.update(snap, RULES, index=builder.index(snap))
        held = {e.id for e in result.by_id.values()
                if e.id.startswith(("agent-acw:", "agent-away:", "agent-long:"))
                and e.last_seen is None}
        long = LongLimits(snap, RULES)
        expected = {
            f"{prefix[a.state.kind]}:{a.source}:{a.id}"
            + (f":{a.contact_id or ''}" if a.state.kind is AgentStateKind.ON_CONTACT else "")
            for a in snap.agents if is_flagged(a, snap.taken_at, RULES, long)}
        assert held == expected, f"poll {step}"
        seen += len(held)
    assert seen > POLLS


def test_escalations_with_the_kept_index_equal_a_tracker_that_reads_every_contact(
        churn: list[Snapshot]) -> None:
    """How a contact's escalation ended (answered, left, moved) is looked up in the
    index's contacts by id; a tracker without an index scans the snapshot: the two
    give the same escalations and the same endings every poll."""
    kept = EscalationTracker(SLFormula.ANSWERED_AND_ABANDONED_AFTER)
    scans = EscalationTracker(SLFormula.ANSWERED_AND_ABANDONED_AFTER)
    builder = IndexBuilder()
    endings = 0
    for step, snap in enumerate(churn):
        index = builder.index(snap)
        assert index.contacts_by_id() == {c.id: c for c in snap.contacts}, f"poll {step}"
        a = kept.update(snap, RULES, index=index)
        b = scans.update(snap, RULES)
        assert a.by_id == b.by_id and a.departed == b.departed, f"poll {step}"
        endings += len(a.departed)
    assert endings > POLLS // 4  # contacts answered, abandoned and moved did end them


def test_the_index_reads_only_objects_that_changed(churn: list[Snapshot]) -> None:
    """A deterministic measure of per-poll cost: objects whose fields the index read."""
    builder = IndexBuilder()
    builder.index(churn[0])
    first = builder.reads
    assert first == len(churn[0].agents) + len(churn[0].contacts)  # the first: everything
    for before, snap in pairwise(churn):
        reads = builder.reads
        builder.index(snap)
        new_agents = sum(a is not b for a, b in zip(snap.agents, before.agents, strict=True))
        old = set(map(id, before.contacts))
        new_contacts = sum(id(c) not in old for c in snap.contacts)
        gone_contacts = len(before.contacts) - (len(snap.contacts) - new_contacts)
        assert builder.reads - reads == 2 * new_agents + new_contacts + gone_contacts
    builder.index(churn[-1])  # the same snapshot again: nothing read
    assert builder.reads - reads == 2 * new_agents + new_contacts + gone_contacts


def test_the_shortest_long_contact_limit_is_the_least_of_each_queues(
        churn: list[Snapshot]) -> None:
    for snap in churn[::30]:
        long = LongLimits(snap, RULES)
        limits = [lim for q in snap.day_stats if (lim := long.of(q)) is not None]
        assert limits and long.shortest() == min(limits)
    assert LongLimits(churn[-1], RULES.model_copy(
        update={"long_contact_aht_multiple": 0})).shortest() is None


def test_an_agents_day_remembers_the_last_changes_only(churn: list[Snapshot]) -> None:
    from supervisor_tui.domain.agent_day import HISTORY_KEPT

    book = AgentDayBook()
    for snap in churn:
        book.observe(snap.agents, snap.taken_at, snap.day_start)
    longest = max(book.days.values(), key=lambda d: len(d.history))
    assert len(longest.history) == HISTORY_KEPT  # trimmed, newest kept last
    assert [c.since for c in longest.history] == sorted(c.since for c in longest.history)


def test_the_simulators_records_are_slotted(churn: list[Snapshot]) -> None:
    """Agents, their states, contacts and queue counters are slotted records (memory):
    no per-object field-name set or ``__dict__`` at all."""
    snap = churn[-1]
    stats = next(iter(snap.interval_stats.values()))
    tiers = next(iter(snap.tier_stats.values()))
    for record in (snap.agents[0], snap.agents[0].state, snap.contacts[0], stats,
                   *tiers.interval.values()):
        assert not hasattr(record, "__dict__")
        assert sys.getsizeof(record) <= 160


def test_records_read_from_the_wire_are_slotted_and_read_as_given() -> None:
    """A snapshot decoded from protocol JSON: agents, their states and contacts hold
    their fields in the object (memory: no ``__dict__`` of ~270 bytes each), read as the
    input gave them, defaults where it gave none; a copy with a change leaves the
    original alone."""
    from supervisor_tui.protocol.documents import SnapshotDoc

    at = "2026-03-02T10:00:00+00:00"
    agents = [{"id": f"a{i}", "name": f"Agent {i}",
               "state": {"kind": "available", "since": at}} for i in range(3)]
    agents.append({"id": "a9", "name": "Sited", "site": "Lisbon",
                   "state": {"kind": "away", "since": at, "reason": "lunch"}})
    doc = SnapshotDoc.model_validate_json(json.dumps({
        "protocol": 1, "source": "floor", "taken_at": at, "interval_start": at,
        "day_start": "2026-03-02T00:00:00+00:00", "agents": agents,
        "queues": [{"id": "q", "name": "Q", "interval": {"queue_id": "q", "window_start": at},
                    "day": {"queue_id": "q", "window_start": at}}],
        "contacts": [{"id": "c1", "queue_id": "q", "channel": "chat", "entered_at": at}]}))
    plain, sited = doc.agents[:3], doc.agents[3]
    assert (plain[0].team, plain[0].site, plain[0].skills, plain[0].state.reason) == (
        "", None, (), None)
    assert (sited.site, sited.state.kind, sited.state.reason) == (
        "Lisbon", AgentStateKind.AWAY, "lunch")
    contact = doc.contacts[0]
    assert (contact.state, contact.tier, contact.flags) == (
        ContactState.WAITING, Tier.STANDARD, ())
    for record in (*doc.agents, sited.state, contact):
        assert not hasattr(record, "__dict__")
    copied = plain[0].model_copy(update={"team": "Blue"})
    assert (copied.team, plain[0].team, copied.id) == ("Blue", "", "a0")
    with pytest.raises(ValueError, match="mood"):
        plain[0].model_copy(update={"mood": "fine"})


def _without_changes(snap: Snapshot) -> Snapshot:
    """The same snapshot as a source that says nothing about changes hands it out (new
    tuples: what the source said no longer matches them)."""
    fields = {k: getattr(snap, k) for k in Snapshot.model_fields}
    fields.update(agents=tuple(list(snap.agents)), contacts=tuple(list(snap.contacts)))
    return Snapshot.model_construct(**fields)


def test_the_simulator_says_exactly_which_objects_went_and_came(churn: list[Snapshot]) -> None:
    said_polls = 0
    for before, snap in pairwise(churn):
        agents = agents_since(snap, before.agents)
        contacts = contacts_since(snap, before.contacts)
        assert agents is not None and contacts is not None
        said_polls += 1
        old_agents, new_agents = set(map(id, before.agents)), set(map(id, snap.agents))
        assert set(map(id, agents[0])) == old_agents - new_agents
        assert set(map(id, agents[1])) == new_agents - old_agents
        old, new = set(map(id, before.contacts)), set(map(id, snap.contacts))
        assert set(map(id, contacts[0])) == old - new
        assert set(map(id, contacts[1])) == new - old
        # Against any other base (a skipped poll) or other tuples: nothing is said.
        assert agents_since(snap, tuple(list(before.agents))) is None
        assert contacts_since(_without_changes(snap), before.contacts) is None
        narrowed = snap.model_copy(update={"contacts": snap.contacts[1:]})  # e.g. a scope
        assert contacts_since(narrowed, before.contacts) is None
        # The same tuples again (a collector's 304, the snapshot stamped anew): nothing
        # went or came, whatever the changes carried say (no pass over every object).
        again = snap.model_copy(update={"taken_at": snap.taken_at + timedelta(seconds=1)})
        assert agents_since(again, snap.agents) == contacts_since(again, snap.contacts) \
            == ((), ())
        # Never part of what the snapshot is: equal to one without, same wire form.
        assert snap == _without_changes(snap)
    assert said_polls == POLLS - 1
    assert churn[-1].model_dump() == _without_changes(churn[-1]).model_dump()


def test_the_index_and_contact_log_from_what_the_source_said_equal_identity_passes(
        churn: list[Snapshot]) -> None:
    """Fed the simulator's snapshots (changes said), every other one (a skipped poll:
    the changes do not apply) and copies without changes, the results agree."""
    told, compared, skipping = IndexBuilder(), IndexBuilder(), IndexBuilder()
    logs = [ContactLog(), ContactLog()]
    window = timedelta(hours=2)
    for step, snap in enumerate(churn):
        bare = _without_changes(snap)
        shape = index_shape(told.index(snap))
        assert shape == index_shape(compared.index(bare)), f"poll {step}"
        if step % 2:
            assert index_shape(skipping.index(snap)) == shape, f"poll {step}"
        logs[0].observe(snap)
        logs[1].observe(bare)
        assert logs[0].contacts == logs[1].contacts, f"poll {step}"
        assert logs[0].fcr(window, snap.taken_at) == logs[1].fcr(window, snap.taken_at)
    assert told.reads == compared.reads  # the same objects read, found without a pass
    assert logs[0].contacts  # the churn's contacts have customers


def test_a_contact_log_read_now_and_then_gives_the_figures_of_one_read_every_poll(
        churn: list[Snapshot]) -> None:
    """The log records a snapshot's contacts at its next read or catch-up (after the
    paint), not as it is observed: a screen without the FCR tile does not wait for it.
    Read every poll, caught up after each, or read every seventh poll only (it then
    holds at most a few snapshots), the figures are the same."""
    every, caught_up, seldom = ContactLog(), ContactLog(), ContactLog()
    window = timedelta(hours=2)
    for step, snap in enumerate(churn):
        for log in (every, caught_up, seldom):
            log.observe(snap)
        figures = every.fcr(window, snap.taken_at)
        caught_up.catch_up()
        assert len(seldom._pending.items) <= 3
        if step % 7 == 6:
            assert seldom.fcr(window, snap.taken_at) == figures, f"poll {step}"
            assert seldom.contacts == every.contacts
        assert caught_up.fcr(window, snap.taken_at) == figures, f"poll {step}"
    assert every.contacts == caught_up.contacts == seldom.contacts > 0


def test_tier_windows_kept_from_what_changed_equal_a_book_fed_fresh_objects(
        churn: list[Snapshot]) -> None:
    """The tier book reads only the queues whose split is a new object; fed copies
    (every split new each poll) it must keep the same counters and windows."""
    kept, fresh = TierBook((15, 30)), TierBook((15, 30))
    queues = [q.id for q in churn[0].queues]
    compared = 0
    for step, snap in enumerate(churn):
        kept.observe(snap)
        fresh.observe(snap.model_copy(update={"tier_stats": {
            q: ts.model_copy() for q, ts in snap.tier_stats.items()}}))
        assert kept._last is not None and fresh._last is not None
        assert kept._last.day_stats == fresh._last.day_stats, f"poll {step}"
        if step % 20 == 0:
            for qid in queues[:10]:
                for key in ("15m", "30m"):
                    assert kept.window(key, qid) == fresh.window(key, qid), f"poll {step}"
                    compared += kept.window(key, qid) is not None
    assert compared


async def test_over_a_real_server_the_http_source_says_what_its_deltas_replaced() -> None:
    """serve (the simulator) -> the http source: each delta's changes equal the identity
    diff of the two snapshots, and the index and contact log fed them equal full passes;
    the field-name sets of what it read are shared, one per shape (memory)."""
    policy = IntervalPolicy(15, "UTC")
    sim = scaled_centre(20, 200, occupancy=1.05, seed=3).model_copy(update={"speed": 30.0})
    collector = Collector([SimulatorSource("sim", policy, sim)], policy, interval_s=0.05)
    told, compared = IndexBuilder(), IndexBuilder()
    logs = [ContactLog(), ContactLog()]
    said = 0
    with serve_in_thread(collector.app, lifespan="on") as base:
        console = HttpSource("floor", policy, HttpSettings(url=base))
        try:
            before = await console.snapshot()
            told.index(before)
            logs[0].observe(before)
            logs[1].observe(_without_changes(before))
            for _ in range(12):
                version = collector.stats.versions
                while collector.stats.versions == version:
                    await asyncio.sleep(0.02)
                snap = await console.snapshot()
                agents = agents_since(snap, before.agents)
                contacts = contacts_since(snap, before.contacts)
                if agents is not None and contacts is not None:
                    said += 1
                    old, new = set(map(id, before.agents)), set(map(id, snap.agents))
                    assert set(map(id, agents[0])) == old - new
                    assert set(map(id, agents[1])) == new - old
                    old, new = set(map(id, before.contacts)), set(map(id, snap.contacts))
                    assert set(map(id, contacts[0])) == old - new
                    assert set(map(id, contacts[1])) == new - old
                assert (index_shape(told.index(snap))
                        == index_shape(compared.index(_without_changes(snap))))
                logs[0].observe(snap)
                logs[1].observe(_without_changes(snap))
                before = snap
        finally:
            await console.close()
    assert said >= 10  # deltas, each saying what it replaced
    assert logs[0].contacts == logs[1].contacts
    assert not any(hasattr(r, "__dict__") for r in (*before.agents, *before.contacts))
