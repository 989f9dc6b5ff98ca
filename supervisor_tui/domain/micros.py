"""Instants as whole microseconds since the Unix epoch (pure): how the books that keep
many timestamps (the agents' day, the FCR contact log) hold them, as ints in arrays
rather than one datetime object each, exactly (no float rounding)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def micros(when: datetime) -> int:
    """``when`` (aware) as microseconds since the epoch."""
    return (when - EPOCH) // MICROSECOND


def from_micros(count: int) -> datetime:
    """The instant ``count`` microseconds after the epoch (UTC)."""
    return EPOCH + count * MICROSECOND
