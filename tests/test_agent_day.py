"""An agent's day from successive polls: the figures a supervisor reads in the agent
detail (contacts handled, AHT, time per state), checked against hand-worked days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from supervisor_tui.domain.agent_day import AgentDayBook, SavedDay
from supervisor_tui.domain.model import Agent, AgentState, AgentStateKind

K = AgentStateKind
DAY = datetime(2026, 12, 7, 0, 0, tzinfo=UTC)
T0 = DAY + timedelta(hours=9)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def agent(kind: AgentStateKind, since: float, contact: str | None = None,
          reason: str | None = None, aid: str = "a1") -> Agent:
    return Agent(id=aid, name="Ann", state=AgentState(kind=kind, since=at(since),
                                                        reason=reason),
                 contact_id=contact)


def run(book: AgentDayBook, polls: list[tuple[float, list[Agent]]]) -> None:
    for now, agents in polls:
        book.observe(agents, at(now), DAY)


def test_talk_then_acw_then_available_is_one_contact_with_acw_in_its_handle_time() -> None:
    book = AgentDayBook()
    run(book, [
        (0, [agent(K.AVAILABLE, -60)]),
        (30, [agent(K.ON_CONTACT, 20, "c1")]),
        (200, [agent(K.AFTER_CONTACT_WORK, 180, "c1")]),
        (260, [agent(K.AVAILABLE, 240)]),
        (300, [agent(K.AVAILABLE, 240)]),
    ])
    day = book.days["simulator:a1"]
    assert day.handled == 1
    assert day.handle_s == 220  # 20 s -> 240 s: talk 160 + ACW 60
    assert day.aht_s == 220
    t = day.seconds_now(at(300))
    # Available since -60 (the source says so) to 20, then again from 240 to now (300).
    assert t[K.AVAILABLE] == 80 + 60
    assert t[K.ON_CONTACT] == 160
    assert t[K.AFTER_CONTACT_WORK] == 60
    assert day.observed_s(at(300)) == 360  # nothing before the state first seen
    assert day.observed_since == at(-60)
    assert [c.kind for c in day.history] == [K.AVAILABLE, K.ON_CONTACT,
                                             K.AFTER_CONTACT_WORK, K.AVAILABLE]
    assert day.occupancy(at(300)) == 220 / 360


def test_back_to_back_contacts_count_twice_and_acw_missed_between_polls_still_counts() -> None:
    book = AgentDayBook()
    run(book, [
        (0, [agent(K.ON_CONTACT, 0, "c1")]),
        (100, [agent(K.ON_CONTACT, 90, "c2")]),   # c1 ended at 90, no ACW
        (300, [agent(K.AVAILABLE, 250)]),         # c2's ACW began and ended unseen
    ])
    day = book.days["simulator:a1"]
    assert day.handled == 2
    assert day.handle_s == 90 + 160


def test_contact_first_seen_in_acw_is_not_counted_its_talk_time_is_unknown() -> None:
    book = AgentDayBook()
    run(book, [
        (0, [agent(K.AFTER_CONTACT_WORK, -30, "c0")]),
        (50, [agent(K.AVAILABLE, 40)]),
    ])
    day = book.days["simulator:a1"]
    assert day.handled == 0 and day.aht_s is None
    assert day.seconds_now(at(50))[K.AFTER_CONTACT_WORK] == 70  # its ACW is still time


def test_a_source_without_contact_ids_still_counts_each_contact() -> None:
    book = AgentDayBook()
    run(book, [
        (0, [agent(K.ON_CONTACT, 0)]),
        (100, [agent(K.ON_CONTACT, 90)]),
        (200, [agent(K.AFTER_CONTACT_WORK, 150)]),
        (210, [agent(K.AVAILABLE, 205)]),
    ])
    day = book.days["simulator:a1"]
    assert day.handled == 2
    assert day.handle_s == 90 + 115


def test_time_is_clipped_to_the_day_and_a_new_day_starts_from_zero() -> None:
    book = AgentDayBook()
    book.observe([agent(K.AWAY, -3600 * 10, reason="lunch")], at(0), DAY)
    # Away since 23:00 yesterday: today's share begins at midnight.
    assert book.days["simulator:a1"].seconds_now(at(60))[K.AWAY] == 9 * 3600 + 60
    tomorrow = DAY + timedelta(days=1)
    book.observe([agent(K.AWAY, -3600 * 10, reason="lunch")],
                 tomorrow + timedelta(minutes=5), tomorrow)
    day = book.days["simulator:a1"]
    assert day.seconds_now(tomorrow + timedelta(minutes=5)) == {K.AWAY: 300}  # from midnight


def test_an_agent_gone_from_the_feed_is_not_timed_while_gone() -> None:
    book = AgentDayBook()
    run(book, [
        (0, [agent(K.AVAILABLE, 0)]),
        (10, [agent(K.AVAILABLE, 0)]),
        (20, []),
        (500, [agent(K.AVAILABLE, 400)]),
        (510, [agent(K.AVAILABLE, 400)]),
    ])
    # 0..10 seen, gone from 10 (last sight); back available since 400: 400..510.
    assert book.days["simulator:a1"].seconds_now(at(510))[K.AVAILABLE] == 10 + 110


def test_an_agent_missing_from_one_poll_in_the_same_state_loses_no_time() -> None:
    book = AgentDayBook()
    run(book, [(0, [agent(K.AVAILABLE, 0)]), (10, []), (20, [agent(K.AVAILABLE, 0)])])
    # The source's own timestamp says available throughout.
    assert book.days["simulator:a1"].seconds_now(at(20))[K.AVAILABLE] == 20


def test_stored_totals_are_continued_not_counted_twice() -> None:
    saved = SavedDay(handled=5, handle_s=1500.0, seconds_in={K.AVAILABLE: 600.0},
                     observed_since=at(-7200), covered_until=at(-60))
    book = AgentDayBook()
    book.seed({"simulator:a1": saved})
    run(book, [(0, [agent(K.AVAILABLE, -600)]), (40, [agent(K.AVAILABLE, -600)])])
    day = book.days["simulator:a1"]
    assert day.handled == 5 and day.observed_since == at(-7200)
    # 600 stored + from the stored coverage's end (-60) to now (40).
    assert day.seconds_now(at(40))[K.AVAILABLE] == 600 + 100


def test_an_unchanged_agent_is_not_reported_as_changed() -> None:
    book = AgentDayBook()
    same = agent(K.AVAILABLE, 0)
    book.observe([same], at(0), DAY)
    assert book.take_changed() == ["simulator:a1"]
    book.observe([same], at(2), DAY)
    assert book.take_changed() == []
    book.observe([agent(K.AWAY, 3, reason="break")], at(4), DAY)
    assert book.take_changed() == ["simulator:a1"]


def test_a_source_clock_behind_ours_never_counts_backwards() -> None:
    book = AgentDayBook()
    run(book, [
        (0, [agent(K.AVAILABLE, 0)]),
        (100, [agent(K.AWAY, 50, reason="break")]),
        (110, [agent(K.AVAILABLE, 40)]),  # since earlier than the last change
    ])
    t = book.days["simulator:a1"].seconds_now(at(120))
    assert all(v >= 0 for v in t.values())
    assert sum(t.values()) == 120


def test_stored_days_read_back_with_the_current_state_run_to_the_last_poll(
        store_at: Path | str) -> None:
    from supervisor_tui.store import Store
    from supervisor_tui.store.agent_days import (
        read_agent_days,
        rows_of,
        saved_of,
        write_agent_days,
    )

    store = Store.open(store_at)
    book = AgentDayBook()
    run(book, [
        (0, [agent(K.ON_CONTACT, 0, "c1"), agent(K.AVAILABLE, 0, aid="a2")]),
        (100, [agent(K.AVAILABLE, 90), agent(K.AVAILABLE, 0, aid="a2")]),
    ])
    write_agent_days(store, rows_of(book, book.take_changed(), "2026-12-07"),
                     {"simulator": at(100).isoformat()}, "2026-12-07")
    # Nothing changes for a2 for 10 minutes: only the cover time moves.
    book.observe([agent(K.AVAILABLE, 90), agent(K.AVAILABLE, 0, aid="a2")], at(700), DAY)
    assert book.take_changed() == []
    write_agent_days(store, [], {"simulator": at(700).isoformat()}, "2026-12-07")
    rows = {r["agent_id"]: r for r in read_agent_days(store, "2026-12-07")}
    assert rows["a1"]["handled"] == 1 and rows["a1"]["handle_s"] == 90
    assert rows["a1"]["available_s"] == 610 and rows["a1"]["on_contact_s"] == 90
    assert rows["a2"]["available_s"] == 700
    assert rows["a2"]["covered_until"] == at(700).isoformat()
    # A console started later continues from the stored figures.
    later = AgentDayBook()
    later.seed(saved_of(list(rows.values())))
    later.observe([agent(K.AWAY, 800, reason="lunch"), agent(K.AVAILABLE, 0, aid="a2")],
                  at(900), DAY)
    a1 = later.days["simulator:a1"]
    assert a1.handled == 1
    # available 610 stored (to 700); 700..800 is not known (nobody watched), so it is
    # not counted; away from 800 (the source's own timestamp) to 900.
    t = a1.seconds_now(at(900))
    assert t[K.AVAILABLE] == 610 and t[K.AWAY] == 100
    assert later.days["simulator:a1"].observed_since == at(0)
    assert later.days["simulator:a2"].seconds_now(at(900))[K.AVAILABLE] == 900
    # A console whose day is still at 09:05 (the stored figures run to 09:11:40: a
    # clock ahead, a simulator run at another speed) does not take them: an agent
    # away since 09:00 has 5 minutes away, not the stored 10 available on top.
    early = AgentDayBook()
    early.seed(saved_of(list(rows.values())), at(300))
    early.observe([agent(K.AWAY, 0, reason="lunch")], at(300), DAY)
    t = early.days["simulator:a1"].seconds_now(at(300))
    assert early.days["simulator:a1"].handled == 0
    assert t[K.AWAY] == 300 and t.get(K.AVAILABLE, 0) == 0


def test_a_full_refetch_of_equal_agents_keeps_only_the_new_objects() -> None:
    """A source that sends every agent afresh (a collector restart, a resync): nothing
    changed, and the book lets go of the old objects instead of holding each agent
    twice (50,000 agents: ~50 MiB)."""
    book = AgentDayBook()
    first = (agent(K.AVAILABLE, 0), agent(K.AWAY, 0, reason="lunch", aid="a2"))
    book.observe(first, at(10), DAY)
    book.take_changed()
    again = tuple(a.model_copy() for a in first)
    book.observe(again, at(20), DAY)
    assert book.take_changed() == []  # equal: no figures to write
    assert [book.agent(f"{a.source}:{a.id}") for a in first] == list(again)
    assert all(book.agent(f"{a.source}:{a.id}") is a for a in again)


def test_the_state_history_keeps_the_last_twenty_changes_with_reasons_and_times() -> None:
    from zoneinfo import ZoneInfo

    from supervisor_tui.domain.agent_day import HISTORY_KEPT

    book = AgentDayBook()
    polls: list[tuple[float, list[Agent]]] = []
    for n in range(30):  # on a contact, then on a break, 15 times; times to the µs
        since = n * 60 + 0.000123
        if n % 2:
            polls.append((since + 1, [agent(K.AWAY, since, reason=f"break {n}")]))
        else:
            polls.append((since + 1, [agent(K.ON_CONTACT, since, f"c{n}")]))
    run(book, polls)
    history = book.days["simulator:a1"].history
    assert len(history) == HISTORY_KEPT == 20
    assert [c.kind for c in history[:2]] == [K.ON_CONTACT, K.AWAY]
    assert [c.reason for c in history[-3:]] == ["break 27", None, "break 29"]
    assert history[0].since == at(10 * 60 + 0.000123)
    assert history[-1].since == at(29 * 60 + 0.000123)
    # A source in another zone: the same instants (equal, whatever the zone).
    book = AgentDayBook()
    oslo = at(0).astimezone(ZoneInfo("Europe/Oslo"))
    one = Agent(id="a1", name="Ann", state=AgentState(kind=K.AVAILABLE, since=oslo))
    book.observe([one], at(5), DAY)
    assert book.days["simulator:a1"].history[0].since == oslo


def test_the_figures_are_the_same_read_every_poll_or_only_at_the_end() -> None:
    """The console takes each poll's agents and works through them once the screen is
    painted (or at the first read): a book read after every poll and one read only at
    the end agree, and polls taken but not read are never held more than two."""
    polls = [(0, [agent(K.AVAILABLE, -60)]), (30, [agent(K.ON_CONTACT, 20, "c1")]),
             (200, [agent(K.AFTER_CONTACT_WORK, 180, "c1")]), (260, [agent(K.AVAILABLE, 240)]),
             (290, [agent(K.AWAY, 285, reason="break")]), (400, [agent(K.AVAILABLE, 380)])]
    read_each, read_last = AgentDayBook(), AgentDayBook()
    for now, agents in polls:
        read_each.observe(agents, at(now), DAY)
        assert read_each.days["simulator:a1"].covered_until is None  # (read: caught up)
        read_last.observe(agents, at(now), DAY)
        assert len(read_last._pending.items) <= 2
    assert read_last.covered_until("simulator:a1") == at(400)
    assert read_last.days["simulator:a1"] == read_each.days["simulator:a1"]
    assert read_last.days["simulator:a1"].handled == 1


def test_rows_stream_into_the_store_in_one_transaction(store_at: Path | str) -> None:
    # The rows are made as they are written (the first save at 50,000 agents held them
    # all at once: +12 MiB, the console's peak); one that fails halfway leaves nothing.
    from supervisor_tui.store import Store
    from supervisor_tui.store.agent_days import read_agent_days, rows_of, write_agent_days

    store = Store.open(store_at)
    book = AgentDayBook()
    run(book, [(0, [agent(K.AVAILABLE, 0), agent(K.AVAILABLE, 0, aid="a2")])])
    rows = rows_of(book, book.take_changed(), "2026-12-07")
    assert iter(rows) is rows  # made one at a time, not a list

    def broken():  # type: ignore[no-untyped-def]
        yield next(rows)
        raise OSError("disk gone")

    with pytest.raises(OSError):
        write_agent_days(store, broken(), {"simulator": at(0).isoformat()}, "2026-12-07")
    assert read_agent_days(store, "2026-12-07") == []
    write_agent_days(store, rows, {"simulator": at(0).isoformat()}, "2026-12-07")
    assert [r["agent_id"] for r in read_agent_days(store, "2026-12-07")] == ["a2"]
