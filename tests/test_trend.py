"""The queue sparkline's trend book: each bucket holds the largest value seen in it."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from supervisor_tui.domain.trend import TrendBook

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Naive:
    """Every value of every poll written: what the book must equal."""

    def __init__(self, minutes: int, buckets: int) -> None:
        self.bucket_s, self.buckets = minutes * 60 / buckets, buckets
        self.series: dict[str, dict[int, float]] = {}
        self.latest = 0

    def add(self, at: datetime, values: list[tuple[str, float]]) -> None:
        bucket = int(at.timestamp() // self.bucket_s)
        self.latest = max(self.latest, bucket)
        for key, value in values:
            s = self.series.setdefault(key, {})
            if bucket >= self.latest - self.buckets + 1:
                s[bucket] = max(s.get(bucket, value), value)

    def of(self, key: str) -> list[float | None]:
        s = self.series.get(key, {})
        return [s.get(b) for b in range(self.latest - self.buckets + 1, self.latest + 1)]


def test_a_spike_between_polls_of_one_bucket_is_kept() -> None:
    book = TrendBook(minutes=30, buckets=10)  # 3-minute buckets
    for s, waiting in ((0, 2), (20, 9), (40, 2), (60, 2)):
        book.add(T0 + timedelta(seconds=s), [("sales", waiting)])
    book.add(T0 + timedelta(minutes=3), [("sales", 2)])
    assert book.series("sales")[-2:] == [9, 2]


@pytest.mark.parametrize("only_changed", [False, True])
def test_the_book_equals_writing_every_value_of_every_poll(only_changed: bool) -> None:
    """Polls every 5 s for 40 minutes over 30 queues, most unchanged from poll to poll,
    a few polls arriving late: every series equals the naive book's at every poll,
    whether the book is given every value or (the console) only the changed ones."""
    rnd = random.Random(7)
    book, naive = TrendBook(minutes=30, buckets=10), Naive(30, 10)
    values = {f"q{i}": rnd.randrange(5) for i in range(30)}
    at = T0
    for poll in range(480):
        changed = {}
        for key in rnd.sample(sorted(values), 3):  # a few queues change
            values[key] = changed[key] = rnd.randrange(12)
        when = at - timedelta(minutes=4) if poll % 97 == 0 else at  # a late sample
        pairs = list(values.items())
        if only_changed and poll:
            book.add_changed(when, list(changed.items()))
        else:
            book.add(when, pairs)
        naive.add(when, pairs)
        for key in values:
            assert book.series(key) == naive.of(key), (poll, key)
        at += timedelta(seconds=5)


def test_a_forgotten_queue_starts_afresh() -> None:
    book = TrendBook(minutes=30, buckets=10)
    book.add(T0, [("sales", 4)])
    book.forget_missing(set())
    assert book.series("sales") == [None] * 10
    book.add(T0 + timedelta(seconds=5), [("sales", 4)])
    assert book.series("sales")[-1] == 4
