"""domain.intraday: per-interval figures from stored rows, with their samples; the
same day last week aligned by local interval of day across DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from supervisor_tui.domain import metrics
from supervisor_tui.domain.board import DEFERRED, LIVE, SLStatus
from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.domain.intraday import (
    beside,
    channels_of,
    day_bounds,
    figures,
    same_day_last_week,
)
from supervisor_tui.domain.model import QueueStats, SLFormula

PARIS = IntervalPolicy(30, "Europe/Paris")


def row(start: datetime, queue: str = "q", *, offered: int = 10, within: int = 8,
        target: float = 0.8, channel: str = "voice", **extra: float) -> dict:
    values = {"offered": offered, "answered": offered, "answered_within_threshold": within,
              "abandoned": 0, "abandoned_short": 0, "abandoned_after_threshold": 0,
              "flowed_out": 0, "wait_answered_s": 5.0 * offered, "handled": offered,
              "handle_s": 200.0 * offered}
    values.update(extra)
    return {"queue_id": queue, "interval_start": start.astimezone(UTC).isoformat(),
            "interval_minutes": 30, "channel": channel, **values, "sl_target": target,
            "threshold_s": 20.0, "agents_staffed_at_close": 3.0, "agents_needed_at_close": 4,
            "complete": 1}


def test_figures_sum_queues_and_use_the_metrics_with_their_samples() -> None:
    t = datetime(2026, 11, 23, 9, tzinfo=UTC)
    rows = [row(t, "a", offered=10, within=9, target=0.8),
            row(t, "b", offered=30, within=15, target=0.9, abandoned=4, abandoned_short=1,
                abandoned_after_threshold=2, answered=26),
            row(t + timedelta(minutes=30), "a", offered=3, within=3)]
    first, second = figures(rows, SLFormula.ANSWERED_AND_ABANDONED_AFTER)
    st = first.stats
    assert (st.offered, st.answered, st.abandoned) == (40, 36, 4)
    assert st.offered == st.answered + st.abandoned + st.flowed_out
    total = QueueStats(queue_id="*", window_start=t, offered=40, answered=36,
                       answered_within_threshold=24, abandoned=4, abandoned_short=1,
                       abandoned_after_threshold=2, wait_answered_s=200, handled=40,
                       handle_s=8000)
    assert first.metrics.service_level == metrics.service_level(total)  # 24 / (36 + 2)
    assert first.metrics.sl_n == 38 and first.metrics.asa_s == metrics.asa(total)
    # Targets weighted by each queue's SL sample: (0.8 x 10 + 0.9 x 28) / 38
    assert abs(first.target - (0.8 * 10 + 0.9 * 28) / 38) < 1e-9
    assert first.status is SLStatus.MISSED and first.queues == 2
    assert (first.staffed, first.needed) == (6.0, 8)
    assert second.metrics.sl_n == 3 and second.status is SLStatus.OK


def test_channel_groups_keep_email_apart() -> None:
    assert set(channels_of(LIVE)) == {"voice", "chat", "social"}
    assert channels_of(DEFERRED) == ("email",)


def test_last_week_is_aligned_by_local_interval_across_a_dst_change() -> None:
    # Paris went to summer time on 29 March 2026: 1 April is UTC+2, 25 March UTC+1.
    today, before = date(2026, 4, 1), same_day_last_week(date(2026, 4, 1))
    assert before == date(2026, 3, 25)
    start, end = day_bounds(today, PARIS)
    assert start == datetime(2026, 3, 31, 22, tzinfo=UTC) and end - start == timedelta(hours=24)
    ten_today = datetime(2026, 4, 1, 8, tzinfo=UTC)  # 10:00 in Paris
    ten_before = datetime(2026, 3, 25, 9, tzinfo=UTC)  # 10:00 in Paris too
    slots = beside(figures([row(ten_today, offered=12)], SLFormula.ANSWERED),
                   figures([row(ten_before, offered=7),
                            row(ten_before - timedelta(minutes=30), offered=5)],
                           SLFormula.ANSWERED), PARIS)
    assert [s.label for s in slots] == ["09:30-10:00", "10:00-10:30"]
    assert slots[0].today is None and slots[0].last_week is not None
    assert slots[1].today is not None and slots[1].last_week is not None
    assert (slots[1].today.stats.offered, slots[1].last_week.stats.offered) == (12, 7)


def test_the_day_clocks_go_back_has_25_hours_and_its_repeated_hour_is_marked() -> None:
    start, end = day_bounds(date(2026, 10, 25), PARIS)
    assert end - start == timedelta(hours=25)
    first = datetime(2026, 10, 25, 0, 0, tzinfo=UTC)  # 02:00 CEST
    second = datetime(2026, 10, 25, 1, 0, tzinfo=UTC)  # 02:00 CET, the hour again
    slots = beside(figures([row(first), row(second)], SLFormula.ANSWERED), [], PARIS)
    assert [s.label for s in slots] == ["02:00-02:30", "02:00-02:30²"]
