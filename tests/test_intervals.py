from datetime import UTC, datetime

import pytest

from supervisor_tui.domain.intervals import IntervalPolicy


def test_interval_start_aligns_to_local_boundaries() -> None:
    policy = IntervalPolicy(minutes=30, tz="Europe/London")
    # 13:47 UTC in July is 14:47 BST -> interval 14:30-15:00 local
    now = datetime(2026, 7, 1, 13, 47, 12, tzinfo=UTC)
    start = policy.interval_start(now)
    assert start.astimezone(policy.zone).strftime("%H:%M") == "14:30"
    assert policy.label(now) == "14:30-15:00"


def test_day_starts_at_local_midnight() -> None:
    policy = IntervalPolicy(minutes=15, tz="America/New_York")
    now = datetime(2026, 1, 10, 3, 0, tzinfo=UTC)  # 22:00 the previous day in New York
    day = policy.day_start(now)
    assert day.astimezone(policy.zone).strftime("%Y-%m-%d %H:%M") == "2026-01-09 00:00"


def test_dst_day_interval_is_still_aligned() -> None:
    policy = IntervalPolicy(minutes=30, tz="Europe/Paris")
    # 2026-03-29: clocks jump 02:00 -> 03:00 local. 01:10 UTC = 03:10 CEST.
    now = datetime(2026, 3, 29, 1, 10, tzinfo=UTC)
    assert policy.label(now) == "03:00-03:30"
    assert policy.interval_start(now) <= now
    assert policy.day_start(now) <= policy.interval_start(now)


@pytest.mark.parametrize("minutes", [0, 7, -30])
def test_bad_interval_is_refused(minutes: int) -> None:
    with pytest.raises(ValueError):
        IntervalPolicy(minutes=minutes)


def test_unknown_zone_is_refused() -> None:
    with pytest.raises(Exception):  # noqa: B017 - zoneinfo raises its own error type
        IntervalPolicy(tz="Mars/Olympus_Mons")
