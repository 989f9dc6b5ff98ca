"""Metric definitions on hand-built counters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from supervisor_tui import metrics
from supervisor_tui.model import Channel, Contact, ContactState, QueueStats, SLFormula

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def stats(**counters: float) -> QueueStats:
    return QueueStats(queue_id="q", window_start=T0, **counters)  # type: ignore[arg-type]


# 100 offered: 80 answered (70 within T), 20 abandoned (5 short, 10 after T).
S = stats(offered=100, answered=80, answered_within_threshold=70, abandoned=20,
          abandoned_short=5, abandoned_after_threshold=10, wait_answered_s=800,
          handled=75, handle_s=75 * 240)


def test_service_level_formulas() -> None:
    assert metrics.service_level(S) == pytest.approx(70 / 90)
    assert metrics.service_level(S, SLFormula.ANSWERED) == pytest.approx(70 / 80)
    assert metrics.service_level(S, SLFormula.OFFERED) == pytest.approx(70 / 100)


def test_asa_aht_and_abandon_rate_without_short_abandons() -> None:
    assert metrics.asa(S) == pytest.approx(10.0)
    assert metrics.aht(S) == pytest.approx(240.0)
    assert metrics.abandon_rate(S) == pytest.approx(15 / 95)


def test_empty_window_is_none_not_zero_or_hundred() -> None:
    empty = stats()
    assert metrics.service_level(empty) is None
    assert metrics.asa(empty) is None
    assert metrics.aht(empty) is None
    assert metrics.abandon_rate(empty) is None


def test_longest_wait_is_measured_against_now() -> None:
    contacts = [
        Contact(id="a", queue_id="q", channel=Channel.VOICE, entered_at=T0),
        Contact(id="b", queue_id="q", channel=Channel.VOICE, entered_at=T0 - timedelta(60),
                state=ContactState.CONNECTED),  # talking: not waiting
        Contact(id="c", queue_id="q", channel=Channel.VOICE, entered_at=T0 + timedelta(0, 30)),
    ]
    assert metrics.oldest_waiting(contacts).id == "a"  # type: ignore[union-attr]
    assert metrics.longest_wait(contacts, T0 + timedelta(seconds=45)) == 45
    assert metrics.longest_wait(contacts, T0 + timedelta(seconds=90)) == 90
    assert metrics.longest_wait([], T0) == 0.0


def test_combine_sums_counters_not_ratios() -> None:
    total = metrics.combine([S, stats(offered=10, answered=10, answered_within_threshold=10)])
    assert total.offered == 110 and total.answered == 90
    assert metrics.service_level(total) == pytest.approx(80 / 100)


def test_arrival_rate_needs_a_minute_of_window() -> None:
    assert metrics.arrival_rate(S, T0 + timedelta(seconds=30)) is None
    assert metrics.arrival_rate(S, T0 + timedelta(seconds=1000)) == pytest.approx(0.1)


def test_occupancy() -> None:
    assert metrics.occupancy(45, 15) == pytest.approx(0.75)
    assert metrics.occupancy(0, 0) is None
