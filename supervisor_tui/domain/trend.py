"""Per-queue trend of the last N minutes in fixed time buckets (pure, bounded memory).

Each bucket keeps the largest value seen in it, so a short spike of waiting contacts
is not averaged away. Memory is ``queues x buckets`` whatever the uptime.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime


class TrendBook:
    def __init__(self, minutes: int = 30, buckets: int = 10) -> None:
        self.bucket_s = minutes * 60 / buckets
        self.buckets = buckets
        self._series: dict[str, dict[int, float]] = {}
        self._latest = 0
        # Each key's last value, and the keys already written in the current bucket: an
        # unchanged value there cannot raise the bucket's maximum (5,000 queues a poll,
        # a few hundred of which change), so it is not written again.
        self._last: dict[str, float] = {}
        self._written: set[str] = set()
        self._written_bucket = -1

    def _bucket(self, at: datetime) -> int:
        return int(at.timestamp() // self.bucket_s)

    def add(self, at: datetime, values: Iterable[tuple[str, float]]) -> None:
        bucket = self._bucket(at)
        self._latest = max(self._latest, bucket)
        oldest = self._latest - self.buckets + 1
        if bucket < oldest:  # too late for the window
            for key, _ in values:
                self._series.setdefault(key, {})
            return
        if bucket != self._written_bucket:
            self._written, self._written_bucket = set(), bucket
        written, last = self._written, self._last
        for key, value in values:
            if key in written and last[key] == value:
                continue
            written.add(key)
            last[key] = value
            series = self._series.setdefault(key, {})
            previous = series.get(bucket)
            series[bucket] = value if previous is None else max(previous, value)
            if len(series) > self.buckets:
                for old in [b for b in series if b < oldest]:
                    del series[old]

    def add_changed(self, at: datetime, changed: Iterable[tuple[str, float]]) -> None:
        """Only the values that changed since the last poll; every other key holds its
        last value. A new bucket starts from every key's last value (one pass over the
        queues a bucket, not a poll)."""
        if self._bucket(at) != self._written_bucket:
            now = dict(self._last)
            now.update(changed)
            self.add(at, list(now.items()))
        else:
            self.add(at, changed)

    def series(self, key: str) -> list[float | None]:
        series = self._series.get(key, {})
        start = self._latest - self.buckets + 1
        return [series.get(b) for b in range(start, self._latest + 1)]

    def forget_missing(self, keys: set[str]) -> None:
        """Drop queues that no longer exist so memory stays flat over days."""
        for key in list(self._series):
            if key not in keys:
                del self._series[key]
                self._last.pop(key, None)
                self._written.discard(key)
