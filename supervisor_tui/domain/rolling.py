"""Rolling windows (last 15 / 30 / 60 minutes) from the day's running counters (pure).

Every source reports counters since the start of the centre's day (``Snapshot.day_stats``),
and by the counting rule (docs/metrics.md) a contact counts in the window in which it
left the queue. So the counters of "the last m minutes" are today's counters now minus
today's counters m minutes ago: one subtraction per queue, exact for any source, and
still following the rule. Across midnight the previous day's last counters bridge the
gap.

A sample is taken every ``every_s`` seconds of source time. Each queue's counters are
kept in compact arrays, and only at the samples where they changed: a 60-minute window
at 5,000 queues kept 240 dictionaries of ``QueueStats`` objects, which grew a 50,000-agent
console by ~550 MiB through its first hour (gold/VIP included; bench_console_hour.py).
Now it costs about 100 bytes per queue that changed between two samples.
A window's counters are computed only for the rows someone looks at. A window's true
start is the sample it subtracts, which is never more than ``every_s`` off the nominal
start and is reported, so a console started 4 minutes ago says "last 4 min", not
"last 15 min".
"""

from __future__ import annotations

import bisect
import operator
from array import array
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from supervisor_tui.domain.model import (
    STATS_COUNTERS,
    STATS_INTS,
    QueueStats,
    Snapshot,
    implausible,
)

# Additive counters, in model order; queue_id and window_start are not counters.
_COUNTERS = STATS_COUNTERS
_GET = operator.attrgetter(*_COUNTERS)
_INTS = STATS_INTS
_ZERO: Mapping[str, int] = dict.fromkeys(_COUNTERS, 0)
_N = len(_COUNTERS)
_INT_AT = frozenset(i for i, n in enumerate(_COUNTERS) if n in _INTS)
_GONE = array("d", [float("nan")] * _N)  # a key absent from a sample (NaN: never equal)


def _construct(queue_id: str, start: datetime, counters: Mapping[str, Any]) -> QueueStats:
    """QueueStats from computed counters, unvalidated (the callers check plausibility).
    ``counters`` holds int counts and float seconds by name, given as Any."""
    return QueueStats.trusted(queue_id=queue_id, window_start=start, **counters)


@dataclass(frozen=True, slots=True)
class _Sample:
    seq: int  # its number (the histories say at which sample a value was recorded)
    at: datetime
    day_start: datetime


class _History:
    """One key's counters at the samples where they changed: sample numbers, and the
    values of each (``_N`` doubles; ints are exact in a double)."""

    __slots__ = ("seq", "values")

    def __init__(self) -> None:
        self.seq = array("q")
        self.values = array("d")

    def at(self, seq: int) -> Sequence[float] | None:
        """The counters as of sample ``seq`` (None: not in that sample)."""
        i = bisect.bisect_right(self.seq, seq) - 1
        if i < 0:
            return None
        values = self.values[i * _N:(i + 1) * _N]
        return None if values[0] != values[0] else values  # NaN: gone

    def trim(self, oldest: int) -> None:
        """Drop what no kept sample can ask for (the value at ``oldest`` stays)."""
        i = bisect.bisect_right(self.seq, oldest) - 1
        if i > 0:
            del self.seq[:i]
            del self.values[:i * _N]


_Counters = Sequence[float]  # a QueueStats' counters in _COUNTERS order
#: the counters of a queue id at some moment (None: not known then)
_Reader = Callable[[str], _Counters | None]


def _read_day(day: Mapping[str, QueueStats]) -> _Reader:
    def read(queue_id: str) -> _Counters | None:
        stats = day.get(queue_id)
        return None if stats is None else _GET(stats)
    return read


def _read_sample(histories: Mapping[str, _History], seq: int) -> _Reader:
    """A sample's counters straight from the arrays (no QueueStats made for them)."""
    def read(queue_id: str) -> _Counters | None:
        history = histories.get(queue_id)
        return None if history is None else history.at(seq)
    return read


_NOTHING: _Reader = _read_day({})


def _minus(now: _Counters, then: _Counters | None, queue_id: str,
           start: datetime, plus: _Counters | None = None) -> QueueStats | None:
    """``now - then (+ plus)``, or None when that cannot be a window (counters reset)."""
    values: dict[str, float] = {}
    for i, name in enumerate(_COUNTERS):
        v = now[i]
        if then is not None:
            v -= then[i]
        if plus is not None:
            v += plus[i]
        if v < 0:
            if v > -1e-6 and i not in _INT_AT:  # float rounding of a sum of seconds
                v = 0.0
            else:
                return None
        # (a sample's counts are kept as doubles: whole again here)
        values[name] = round(v) if i in _INT_AT else v
    stats = _construct(queue_id, start, values)
    return None if implausible(stats) else stats


@dataclass(frozen=True)
class RollingView:
    """The last ``minutes`` minutes as of one snapshot; ``start`` is where it truly
    begins (later than nominal while the console has not seen that much)."""

    minutes: int
    start: datetime
    end: datetime
    _now: Mapping[str, QueueStats]
    _then: _Reader  # subtracted (same day as _now, or the day before)
    _bridge: Mapping[str, QueueStats] | None  # the previous day's last counters
    # Across midnight: from the last poll of the day before to midnight nobody saw the
    # counters (at most ``every_s``); contacts that left then are not in the window.
    gap: tuple[datetime, datetime] | None = None
    _cache: dict[str, QueueStats | None] = field(default_factory=dict, compare=False)

    @property
    def covered_s(self) -> float:
        return max((self.end - self.start).total_seconds(), 0.0)

    @property
    def complete(self) -> bool:
        """The window covers (within a sample) its nominal length."""
        return self.covered_s >= self.minutes * 60 - 60

    def total(self, queue_ids: Iterable[str], queue_id: str = "*") -> QueueStats | None:
        """Counters of several queues summed over the window, in one pass (headline
        totals at 1,000 queues); None if they cannot be a window."""
        acc = [0.0] * len(_COUNTERS)

        def add(values: _Counters | None, sign: int) -> None:
            if values is not None:
                for i, v in enumerate(values):
                    acc[i] += sign * v

        now, then = _read_day(self._now), self._then
        bridge = None if self._bridge is None else _read_day(self._bridge)
        for q in queue_ids:
            add(now(q), 1)
            add(then(q), -1)
            if bridge is not None:
                add(bridge(q), 1)
        values: dict[str, float] = {}
        for name, v in zip(_COUNTERS, acc, strict=True):
            if v < 0:
                if v > -1e-6 and name not in _INTS:
                    v = 0.0
                else:
                    return None
            values[name] = round(v) if name in _INTS else v
        stats = _construct(queue_id, self.start, values)
        return None if implausible(stats) else stats

    def stats(self, queue_id: str) -> QueueStats | None:
        """Counters of one queue over the window; None if its counters went backwards
        (a source restarted its day) and the window cannot be told."""
        try:
            return self._cache[queue_id]
        except KeyError:
            pass
        now_stats = self._now.get(queue_id)
        now = None if now_stats is None else _GET(now_stats)
        then = self._then(queue_id)
        result: QueueStats | None
        if self._bridge is None:
            if now is None:
                result = _construct(queue_id, self.start, _ZERO)
            else:
                result = _minus(now, then, queue_id, self.start)
        else:
            # then is yesterday's: (yesterday's last - then) + today's so far.
            last = self._bridge.get(queue_id)
            base = _GET(last) if last is not None else then
            if base is None:
                result = _minus(now, None, queue_id, self.start) if now else None
            else:
                result = _minus(base, then, queue_id, self.start, plus=now)
            if result is None and now is None and base is None:
                result = _construct(queue_id, self.start, _ZERO)
        self._cache[queue_id] = result
        return result


class RollingWindows:
    """Samples of the day's counters; ``view(m)`` gives the last m minutes."""

    def __init__(self, minutes: tuple[int, ...] = (15, 30, 60), every_s: float = 15.0) -> None:
        if not minutes or min(minutes) <= 0:
            raise ValueError("rolling windows need positive minutes")
        self.minutes = tuple(sorted(set(minutes)))
        self.every = timedelta(seconds=every_s)
        self._keep = timedelta(minutes=max(self.minutes)) + self.every
        self._samples: deque[_Sample] = deque()
        self._at: list[datetime] = []  # sample times, for bisect (kept with _samples)
        self._seq = 0
        self._histories: dict[str, _History] = {}
        # the object last recorded per key: an unchanged queue is the same object (the
        # simulator and the http source keep it), so a sample reads only the changed
        self._recorded: dict[str, QueueStats] = {}
        self._gone: dict[str, int] = {}  # keys absent since that sample
        # The last counters seen of the day before the current one (bridges midnight):
        # (that day's start, its counters, when they were seen).
        self._prev_day: tuple[datetime, Mapping[str, QueueStats], datetime] | None = None
        # the latest snapshot's (time, day start, day counters)
        self._latest: tuple[datetime, datetime, Mapping[str, QueueStats]] | None = None
        # a sample due, not yet taken (``settle``): the same three
        self._pending: tuple[datetime, datetime, Mapping[str, QueueStats]] | None = None

    def observe(self, snapshot: Snapshot) -> None:
        """Take this poll's counters. A sample due is only noted: it is taken by
        ``settle`` (after the paint) or at the next poll, whichever comes first. At
        5,000 queues a sample reads the ~4,000 whose counters moved in 15 s (~25 ms);
        a view of this poll never needs it (see ``view``)."""
        self.settle()
        at, day_start, day = snapshot.taken_at, snapshot.day_start, snapshot.day_stats
        latest = self._latest
        if latest is not None and at < latest[0]:
            return  # a source's clock went backwards: keep what we know
        if latest is not None and day_start != latest[1]:
            self._prev_day = (latest[1], latest[2], latest[0])
        self._latest = (at, day_start, day)
        if not self._samples or at - self._samples[-1].at >= self.every:
            self._pending = (at, day_start, day)

    def settle(self) -> None:
        """Take the sample ``observe`` noted, if any, and drop those no window needs."""
        if self._pending is None:
            return
        (at, day_start, day), self._pending = self._pending, None
        self._seq += 1
        self._record(day)
        self._samples.append(_Sample(self._seq, at, day_start))
        self._at.append(at)
        horizon = at - self._keep
        dropped = False
        while len(self._samples) > 1 and self._samples[1].at <= horizon:
            self._samples.popleft()
            self._at.pop(0)
            dropped = True
        if dropped and self._gone:
            self._forget(self._samples[0].seq)

    def held(self) -> int:
        """Counter records kept (tests and benchmarks: follows change, not time)."""
        self.settle()
        return sum(len(h.seq) for h in self._histories.values())

    def _record(self, day: Mapping[str, QueueStats]) -> None:
        """Sample ``day``: the counters of each key that changed since its last record.
        Only those keys' histories are trimmed: an unchanged key holds one record, so
        the cost of a sample follows change, not the number of queues."""
        seq, recorded, histories = self._seq, self._recorded, self._histories
        oldest = self._samples[0].seq if self._samples else seq
        for key, stats in day.items():
            if recorded.get(key) is stats:
                continue
            recorded[key] = stats
            try:
                values = array("d", _GET(stats))
            except OverflowError:  # a count no double holds (garbage): not known then
                values = _GONE
            history = histories.get(key)
            if history is None:
                history = histories[key] = _History()
                self._gone.pop(key, None)
            elif history.values[-_N:] == values:  # rebuilt with the same counters
                continue
            else:
                self._gone.pop(key, None)
                history.trim(oldest)
            history.seq.append(seq)
            history.values.extend(values)
        if len(recorded) > len(day):  # every key of day is recorded: some have gone
            for key in [k for k in recorded if k not in day]:
                del recorded[key]
                history = histories[key]
                history.trim(oldest)
                history.seq.append(seq)
                history.values.extend(_GONE)
                self._gone[key] = seq

    def _forget(self, oldest: int) -> None:
        """Drop the keys gone before every kept sample."""
        for key, seq in list(self._gone.items()):
            if seq <= oldest:
                del self._gone[key]
                del self._histories[key]

    def view(self, minutes: int, snapshot: Snapshot) -> RollingView:
        """The last ``minutes`` as of ``snapshot`` (observed or not). A sample noted
        but not yet taken is never the one a window starts at: a window starts at the
        first sample at or after ``end - minutes``, an older one is kept (windows are
        minutes long, samples seconds apart), and where none is, the window is empty
        either way."""
        end = snapshot.taken_at
        nominal = end - timedelta(minutes=minutes)
        i = bisect.bisect_left(self._at, nominal)
        sample = self._samples[i] if i < len(self._samples) else None
        today = snapshot.day_start
        if snapshot.day_start >= nominal and (sample is None or sample.day_start == today
                                              or sample.at >= today):
            # The day began inside the window and nothing older is known: the day so far.
            return RollingView(minutes, today, end, snapshot.day_stats, _NOTHING, None)
        if sample is None or sample.at >= end:
            return RollingView(minutes, end, end, snapshot.day_stats,
                               _read_day(snapshot.day_stats), None)
        then = _read_sample(self._histories, sample.seq)
        if sample.day_start == today:
            return RollingView(minutes, sample.at, end, snapshot.day_stats, then, None)
        prev = self._prev_day
        if prev is not None and prev[0] == sample.day_start and today - prev[2] <= self.every:
            return RollingView(minutes, sample.at, end, snapshot.day_stats, then, prev[1],
                               gap=(prev[2], today))
        # Sample from an older day and no close look at its end: only today is known.
        return RollingView(minutes, today, end, snapshot.day_stats, _NOTHING, None)
