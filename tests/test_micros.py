"""Instants kept as whole microseconds (the agents' day, the FCR log) come back exact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from supervisor_tui.domain.micros import from_micros, micros


def test_instants_round_trip_to_the_microsecond_where_a_float_would_not() -> None:
    for when in (datetime(2026, 12, 7, 18, 30, 0, 999_999, tzinfo=UTC),
                 datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
                 datetime(1969, 12, 31, 23, 59, 59, 1, tzinfo=UTC),
                 datetime(2026, 3, 29, 2, 30, 0, 7, tzinfo=timezone(timedelta(hours=2)))):
        assert from_micros(micros(when)) == when
    far = datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)
    assert round(far.timestamp() * 1_000_000) != micros(far)  # why not a float
    assert micros(datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)) == 1_000_000
