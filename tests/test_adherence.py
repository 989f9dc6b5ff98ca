"""The adherence book poll after poll, against hand-computed figures, and its escalation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from supervisor_tui.domain.adherence import (
    AdherenceBook,
    SavedAdherence,
    adherence_escalations,
    judge,
    spans_of,
)
from supervisor_tui.domain.escalation import EscalationKind, Severity
from supervisor_tui.domain.model import Agent, AgentState
from supervisor_tui.domain.model import AgentStateKind as K
from supervisor_tui.domain.schedule import Expected, ScheduleEntry, advance

DAY0 = datetime(2026, 12, 6, tzinfo=UTC)


def at(hhmm: str) -> datetime:
    h, m = map(int, hhmm.split(":"))
    return DAY0 + timedelta(hours=h, minutes=m)


def agent(kind: K, since: str, aid: str = "1001", name: str = "Ada Smith",
          team: str = "Red") -> Agent:
    return Agent(id=aid, source="pbx", name=name, team=team, skills=("sales",),
                 state=AgentState(kind=kind, since=at(since)))


SHIFT = [ScheduleEntry("1001", at("08:00"), at("10:00"), "Open", Expected.ON_DUTY),
         ScheduleEntry("1001", at("10:00"), at("10:15"), "Break", Expected.AWAY),
         ScheduleEntry("1001", at("10:15"), at("12:00"), "Open", Expected.ON_DUTY),
         # matched by name, case-insensitive
         ScheduleEntry("ben jones", at("08:00"), at("12:00"), "Phone", Expected.ON_DUTY)]


def book() -> AdherenceBook:
    b = AdherenceBook(grace_s=300)
    b.set_schedule(SHIFT)
    return b


def test_late_break_poll_by_poll_matches_the_hand_count() -> None:
    # Ada: available from 07:50, away 10:20-10:35 (break scheduled 10:00-10:15).
    # Judged from 08:00 (the schedule starts; 07:50-08:00 unscheduled). By 11:00:
    # 10:00-10:15 out (15 - 5 grace = 10 min), 10:20-10:35 out (15 - 5 = 10 min):
    # 20 of 180 scheduled minutes out = 88.9 %.
    b = book()
    ben = agent(K.OFFLINE, "07:00", aid="77", name="Ben Jones", team="Blue")
    polls = [("08:00", agent(K.AVAILABLE, "07:50")), ("10:05", agent(K.AVAILABLE, "07:50")),
             ("10:21", agent(K.AWAY, "10:20")), ("10:36", agent(K.AVAILABLE, "10:35")),
             ("11:00", agent(K.AVAILABLE, "10:35"))]
    for hhmm, ada in polls:
        b.observe([ada, ben], at(hhmm), DAY0)
    now = b.figures(at("11:00"))
    ada_now = now.by_agent["pbx:1001"]
    assert (ada_now.scheduled_s, ada_now.out_s) == (180 * 60, 20 * 60)
    assert ada_now.in_adherence is True and ada_now.activity == "Open"
    # Ben: logged off all morning while scheduled on the phone: 180 - 5 = 175 min out
    ben_now = now.by_agent["pbx:77"]
    assert (ben_now.scheduled_s, ben_now.out_s) == (180 * 60, 175 * 60)
    assert ben_now.in_adherence is False and ben_now.out_since == at("08:00")
    assert now.out_for_s("pbx:77") == 3 * 3600
    # centre: (160 + 5) adhering of 360 scheduled minutes; teams apart
    assert now.centre.percent is not None
    assert round(now.centre.percent, 2) == round(100 * 165 / 360, 2)
    assert (now.centre.agents, now.centre.out_now) == (2, 1)
    assert now.teams["Red"].percent is not None
    assert round(now.teams["Red"].percent, 1) == 88.9
    assert now.teams["Blue"].percent is not None
    assert round(now.teams["Blue"].percent, 2) == round(100 * 5 / 180, 2)


def test_unchanged_agent_object_is_not_read_again_and_gone_agents_stop_counting() -> None:
    b = book()
    ada = agent(K.AVAILABLE, "08:00")
    b.observe([ada], at("08:00"), DAY0)
    b.observe([ada], at("09:00"), DAY0)
    b.observe([], at("09:30"), DAY0)  # gone from the feed at 09:30: judged to 09:00 only
    b.observe([], at("11:00"), DAY0)
    a = b.figures(at("11:00")).by_agent["pbx:1001"]
    assert (a.scheduled_s, a.out_s, a.in_adherence) == (3600, 0, None)


def test_new_schedule_keeps_unchanged_agents_figures() -> None:
    b = book()
    ben = agent(K.OFFLINE, "07:00", aid="77", name="Ben Jones")
    ada = agent(K.AVAILABLE, "08:00")
    b.observe([ada, ben], at("08:00"), DAY0)
    b.observe([ada, ben], at("09:00"), DAY0)
    # Ben's line changes (now starts at 10:00), Ada's do not
    b.set_schedule([*SHIFT[:3], ScheduleEntry("Ben Jones", at("10:00"), at("12:00"), "Phone",
                                              Expected.ON_DUTY)])
    b.observe([ada, ben], at("09:00"), DAY0)
    now = b.figures(at("10:30"))
    assert now.by_agent["pbx:1001"].scheduled_s == 150 * 60  # 08:00-10:30, kept
    # Ben judged afresh from his current state's start, against the new line: 10:00-10:30
    assert (now.by_agent["pbx:77"].scheduled_s, now.by_agent["pbx:77"].out_s) == (1800, 1500)


def test_restart_continues_from_stored_figures() -> None:
    b = book()
    b.seed({"pbx:1001": SavedAdherence(3600.0, 600.0, at("09:00"), at("08:00"))})
    b.observe([agent(K.AVAILABLE, "08:30")], at("09:30"), DAY0)
    now = b.figures(at("09:30"))
    a = now.by_agent["pbx:1001"]
    assert (a.scheduled_s, a.out_s) == (5400, 600)  # 60 stored + 30 observed minutes
    assert now.observed_since == at("08:00")


def test_escalation_after_n_minutes_out() -> None:
    b = book()
    ben = agent(K.OFFLINE, "07:00", aid="77", name="Ben Jones")
    b.observe([ben], at("08:09"), DAY0)
    assert adherence_escalations(b.figures(at("08:09")), b, 600, {}) == []
    b.observe([ben], at("08:10"), DAY0)
    [esc] = adherence_escalations(b.figures(at("08:10")), b, 600, {})
    assert (esc.kind, esc.severity, esc.since, esc.first_seen) == (
        EscalationKind.AGENT_ADHERENCE, Severity.WARNING, at("08:00"), at("08:10"))
    assert esc.reason == ("Ben Jones out of adherence: scheduled Phone (on duty), is logged "
                          "off (limit 10 min)")
    # the same object while nothing changed (the tracker sees no news)
    again = adherence_escalations(b.figures(at("08:12")), b, 600, {esc.id: esc})
    assert again == [esc] and again[0] is esc


# --- the fast per-poll walk agrees with the definition (schedule.advance) -------------

_KINDS = list(K)
_EXP = list(Expected)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.integers(1, 12), st.sampled_from(_EXP)),
                max_size=6),
       st.sampled_from(_KINDS), st.integers(0, 50), st.integers(0, 50),
       st.integers(0, 6), st.one_of(st.none(), st.integers(0, 50)))
def test_judge_agrees_with_advance(raw, kind, a, length, grace, run) -> None:  # type: ignore[no-untyped-def]
    """Random days in 5-minute steps (overlaps and gaps included), one state over a span,
    an out stretch carried in or not: the same seconds and the same open stretch."""
    step = timedelta(minutes=5)
    entries = sorted((ScheduleEntry("x", DAY0 + s * step, DAY0 + (s + n) * step, e.value, e)
                      for s, n, e in raw), key=lambda e: e.start)
    start, end = DAY0 + a * step, DAY0 + (a + length) * step
    carried = None if run is None or run > a else DAY0 + run * step
    want = advance(entries, [(start, kind)], start, end, grace * 60.0, carried)
    got = judge(spans_of(entries), kind, start.timestamp(), end.timestamp(), grace * 60.0,
                None if carried is None else carried.timestamp())
    assert got[:2] == want[:2]
    assert got[2] == (None if want[2] is None else want[2].timestamp())


def test_judge_of_an_empty_span_changes_nothing() -> None:
    # found by the property test: a zero-length span must not open an out stretch
    spans = spans_of([ScheduleEntry("x", at("08:00"), at("08:10"), "Break", Expected.AWAY)])
    t = at("08:05").timestamp()
    assert judge(spans, K.AVAILABLE, t, t, 0.0, None) == (0.0, 0.0, None)
