"""Metric definitions on hand-built counters, agents and contacts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supervisor_tui.domain import metrics
from supervisor_tui.domain.model import (
    Agent,
    AgentState,
    AgentStateKind,
    Channel,
    Contact,
    ContactState,
    QueueStats,
    SLFormula,
)

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def stats(**counters: float) -> QueueStats:
    return QueueStats(queue_id="q", window_start=T0, **counters)  # type: ignore[arg-type]


def agent(i: int, kind: AgentStateKind) -> Agent:
    return Agent(id=f"a{i}", name=f"Agent {i}", state=AgentState(kind=kind, since=T0))


def contact(cid: str, entered_at: datetime, state: ContactState = ContactState.WAITING) -> Contact:
    return Contact(id=cid, queue_id="q", channel=Channel.VOICE, entered_at=entered_at, state=state)


# 100 offered: 80 answered (70 within T), 20 abandoned (5 short, 10 after T).
S = stats(offered=100, answered=80, answered_within_threshold=70, abandoned=20,
          abandoned_short=5, abandoned_after_threshold=10, wait_answered_s=800,
          handled=75, handle_s=75 * 240)


def test_service_level_formulas() -> None:
    assert metrics.service_level(S) == pytest.approx(70 / 90)  # answered + abandoned after T
    assert metrics.service_level(S, SLFormula.ANSWERED) == pytest.approx(70 / 80)
    assert metrics.service_level(S, SLFormula.OFFERED) == pytest.approx(70 / 100)


def test_service_level_formula_given_as_config_string() -> None:
    assert metrics.service_level(S, "answered") == pytest.approx(70 / 80)  # type: ignore[arg-type]
    assert metrics.service_level(S, "offered") == pytest.approx(70 / 100)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        metrics.service_level(S, "made_up")  # type: ignore[arg-type]


def test_abandons_before_threshold_do_not_count_against_default_sl() -> None:
    # 10 answered in time, 5 gave up early (before T): still 100% by the default formula.
    s = stats(offered=15, answered=10, answered_within_threshold=10, abandoned=5)
    assert metrics.service_level(s) == 1.0
    assert metrics.service_level(s, SLFormula.OFFERED) == pytest.approx(10 / 15)


def test_asa_aht_and_abandon_rate_without_short_abandons() -> None:
    assert metrics.asa(S) == pytest.approx(10.0)
    assert metrics.aht(S) == pytest.approx(240.0)
    # (20 - 5 short) / (100 - 5 short): short abandons leave both sides.
    assert metrics.abandon_rate(S) == pytest.approx(15 / 95)


def test_only_short_abandons_is_zero_abandon_rate_or_none() -> None:
    assert metrics.abandon_rate(stats(offered=5, abandoned=3, abandoned_short=3, answered=2)) == 0
    assert metrics.abandon_rate(stats(offered=3, abandoned=3, abandoned_short=3)) is None


@pytest.mark.parametrize("formula", list(SLFormula))
def test_empty_window_is_none_not_zero_or_hundred(formula: SLFormula) -> None:
    empty = stats()
    assert metrics.service_level(empty, formula) is None
    assert metrics.asa(empty) is None
    assert metrics.aht(empty) is None
    assert metrics.abandon_rate(empty) is None


def test_offered_but_nothing_resolved_yet_is_none_for_default_sl() -> None:
    # 3 contacts queued, none answered or abandoned after T: no SL to show yet.
    assert metrics.service_level(stats(offered=3)) is None
    assert metrics.service_level(stats(offered=3), SLFormula.OFFERED) == 0.0


def test_longest_wait_is_measured_against_now() -> None:
    contacts = [
        contact("a", T0),
        contact("b", T0 - timedelta(minutes=1), ContactState.CONNECTED),  # not waiting
        contact("c", T0 + timedelta(seconds=30)),
    ]
    assert metrics.oldest_waiting(contacts).id == "a"  # type: ignore[union-attr]
    assert metrics.longest_wait(contacts, T0 + timedelta(seconds=45)) == 45
    assert metrics.longest_wait(contacts, T0 + timedelta(seconds=90)) == 90
    assert metrics.longest_wait(iter(contacts), T0 + timedelta(seconds=90)) == 90
    assert metrics.longest_wait([], T0) == 0.0
    assert metrics.oldest_waiting([]) is None


def test_longest_wait_ignores_connected_and_wrap_up_and_clock_skew() -> None:
    busy = [contact("b", T0, ContactState.CONNECTED), contact("w", T0, ContactState.WRAP_UP)]
    assert metrics.longest_wait(busy, T0 + timedelta(hours=1)) == 0.0
    # A contact stamped after `now` (source clock ahead) waits 0 s, not a negative time.
    assert metrics.longest_wait([contact("f", T0 + timedelta(seconds=5))], T0) == 0.0


def test_unvalidated_contacts_still_count_as_waiting() -> None:
    # The simulator builds models with model_construct, so state may be the plain str.
    raw = Contact.trusted(id="r", queue_id="q", channel="voice", entered_at=T0,
                                  state="waiting")
    assert metrics.longest_wait([raw], T0 + timedelta(seconds=12)) == 12


def test_combine_sums_counters_not_ratios() -> None:
    other = stats(offered=10, answered=10, answered_within_threshold=10, wait_answered_s=50,
                  handled=5, handle_s=500)
    total = metrics.combine([S, other])
    assert total.queue_id == "*" and total.window_start == T0
    assert total.offered == 110 and total.answered == 90
    assert total.wait_answered_s == 850 and total.handle_s == 75 * 240 + 500
    assert metrics.service_level(total) == pytest.approx(80 / 100)  # not mean(70/90, 10/10)
    assert metrics.asa(total) == pytest.approx(850 / 90)


def test_combine_takes_earliest_start_or_the_one_given() -> None:
    later = QueueStats(queue_id="q", window_start=T0 + timedelta(minutes=30), offered=4)
    day = metrics.combine(iter([later, S]), queue_id="q")
    assert day.window_start == T0 and day.queue_id == "q" and day.offered == 104
    forced = T0 - timedelta(hours=1)
    assert metrics.combine([later], window_start=forced).window_start == forced
    assert metrics.combine([], window_start=forced).offered == 0
    with pytest.raises(ValueError):
        metrics.combine([])


def test_combine_covers_every_counter() -> None:
    counters = {name: 1 for name in QueueStats.__pydantic_fields__
                if name not in ("queue_id", "window_start")}
    counters.update(offered=4, abandoned=2)  # a plausible window: 1 + 2 + 1 flowed out
    total = metrics.combine([stats(**counters), stats(**counters)])
    assert all(getattr(total, name) == 2 * value for name, value in counters.items())


def test_arrival_rate_needs_a_minute_of_window() -> None:
    assert metrics.arrival_rate(S, T0 + timedelta(seconds=30)) is None
    assert metrics.arrival_rate(S, T0 + timedelta(seconds=1000)) == pytest.approx(0.1)
    assert metrics.arrival_rate(stats(), T0 + timedelta(minutes=5)) == 0.0


def test_occupancy() -> None:
    assert metrics.occupancy(45, 15) == pytest.approx(0.75)
    assert metrics.occupancy(0, 10) == 0.0
    assert metrics.occupancy(0, 0) is None


def test_agent_counts_and_occupancy_now() -> None:
    kinds = (
        [AgentStateKind.AVAILABLE] * 2
        + [AgentStateKind.ON_CONTACT] * 5
        + [AgentStateKind.AFTER_CONTACT_WORK] * 1
        + [AgentStateKind.AWAY] * 3
        + [AgentStateKind.OFFLINE] * 4
    )
    agents = [agent(i, kind) for i, kind in enumerate(kinds)]
    tally = metrics.agent_counts(agents)
    assert tally == metrics.AgentTally(
        available=2, on_contact=5, after_contact_work=1, away=3, offline=4
    )
    assert tally.staffed == 11  # everyone but offline
    # Away agents are neither busy nor available: (5 + 1) / (2 + 5 + 1).
    assert metrics.occupancy_now(agents) == pytest.approx(6 / 8)


def test_occupancy_now_is_none_when_nobody_is_working() -> None:
    assert metrics.occupancy_now([]) is None
    nobody = [agent(1, AgentStateKind.AWAY), agent(2, AgentStateKind.OFFLINE)]
    assert metrics.occupancy_now(nobody) is None
    assert metrics.agent_counts([]).staffed == 0


@given(
    answered=st.integers(0, 1000),
    within=st.integers(0, 1000),
    after=st.integers(0, 1000),
    short=st.integers(0, 1000),
    other_abandons=st.integers(0, 1000),
)
def test_ratios_are_fractions_or_none(
    answered: int, within: int, after: int, short: int, other_abandons: int
) -> None:
    within = min(within, answered)
    abandoned = after + short + other_abandons
    s = stats(offered=answered + abandoned, answered=answered, answered_within_threshold=within,
              abandoned=abandoned, abandoned_short=short, abandoned_after_threshold=after)
    for value in (*(metrics.service_level(s, f) for f in SLFormula), metrics.abandon_rate(s)):
        assert value is None or 0 <= value <= 1
