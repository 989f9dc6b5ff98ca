"""Rolling windows (last 15 / 30 / 60 minutes) from the day's running counters (pure).

Every source reports counters since the start of the centre's day (``Snapshot.day_stats``),
and by the counting rule (docs/metrics.md) a contact counts in the window in which it
left the queue. So the counters of "the last m minutes" are today's counters now minus
today's counters m minutes ago: one subtraction per queue, exact for any source, and
still following the rule. Across midnight the previous day's last counters bridge the
gap.

Cost per poll is O(1): a sample is a reference to an immutable snapshot's ``day_stats``
(kept every ``every_s`` seconds of source time), and a window's counters are computed
only for the rows someone looks at. A window's true start is the sample it subtracts,
which is never more than ``every_s`` off the nominal start and is reported, so a console
started 4 minutes ago says "last 4 min", not "last 15 min".
"""

from __future__ import annotations

import bisect
import operator
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from supervisor_tui.domain.model import QueueStats, Snapshot, implausible

_EMPTY: Mapping[str, QueueStats] = {}
# Additive counters, in model order; queue_id and window_start are not counters.
_COUNTERS = tuple(n for n in QueueStats.model_fields if n not in ("queue_id", "window_start"))
_GET = operator.attrgetter(*_COUNTERS)
_INTS = frozenset(n for n, f in QueueStats.model_fields.items() if f.annotation is int)
_ZERO: Mapping[str, int] = dict.fromkeys(_COUNTERS, 0)


def _construct(queue_id: str, start: datetime, counters: Mapping[str, Any]) -> QueueStats:
    """QueueStats from computed counters, unvalidated (the callers check plausibility).
    ``counters`` holds int counts and float seconds by name: the typed model_construct
    checks each field, and a name-keyed mix can only be given to it as Any."""
    return QueueStats.model_construct(queue_id=queue_id, window_start=start, **counters)


@dataclass(frozen=True)
class _Sample:
    at: datetime
    day_start: datetime
    day: Mapping[str, QueueStats]


def _minus(now: QueueStats, then: QueueStats | None, queue_id: str,
           start: datetime, plus: QueueStats | None = None) -> QueueStats | None:
    """``now - then (+ plus)``, or None when that cannot be a window (counters reset)."""
    values: dict[str, float] = {}
    for name in _COUNTERS:
        v = getattr(now, name)
        if then is not None:
            v -= getattr(then, name)
        if plus is not None:
            v += getattr(plus, name)
        if v < 0:
            if v > -1e-6 and name not in _INTS:  # float rounding of a sum of seconds
                v = 0.0
            else:
                return None
        values[name] = v
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
    _then: Mapping[str, QueueStats]  # subtracted (same day as _now, or the day before)
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

        def add(stats: QueueStats | None, sign: int) -> None:
            if stats is not None:
                for i, v in enumerate(_GET(stats)):
                    acc[i] += sign * v

        now, then, bridge = self._now.get, self._then.get, self._bridge
        for q in queue_ids:
            add(now(q), 1)
            add(then(q), -1)
            if bridge is not None:
                add(bridge.get(q), 1)
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
        now = self._now.get(queue_id)
        then = self._then.get(queue_id)
        result: QueueStats | None
        if self._bridge is None:
            if now is None:
                result = _construct(queue_id, self.start, _ZERO)
            else:
                result = _minus(now, then, queue_id, self.start)
        else:
            # then is yesterday's: (yesterday's last - then) + today's so far.
            last = self._bridge.get(queue_id)
            base = last if last is not None else then
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
        # The last counters seen of the day before the current one (bridges midnight):
        # (that day's start, its counters, when they were seen).
        self._prev_day: tuple[datetime, Mapping[str, QueueStats], datetime] | None = None
        self._latest: _Sample | None = None

    def observe(self, snapshot: Snapshot) -> None:
        now = _Sample(snapshot.taken_at, snapshot.day_start, snapshot.day_stats)
        latest = self._latest
        if latest is not None and now.at < latest.at:
            return  # a source's clock went backwards: keep what we know
        if latest is not None and now.day_start != latest.day_start:
            self._prev_day = (latest.day_start, latest.day, latest.at)
        self._latest = now
        if not self._samples or now.at - self._samples[-1].at >= self.every:
            self._samples.append(now)
            self._at.append(now.at)
        horizon = now.at - self._keep
        while len(self._samples) > 1 and self._samples[1].at <= horizon:
            self._samples.popleft()
            self._at.pop(0)

    def view(self, minutes: int, snapshot: Snapshot) -> RollingView:
        """The last ``minutes`` as of ``snapshot`` (observed or not)."""
        end = snapshot.taken_at
        nominal = end - timedelta(minutes=minutes)
        i = bisect.bisect_left(self._at, nominal)
        sample = self._samples[i] if i < len(self._samples) else None
        today = snapshot.day_start
        if snapshot.day_start >= nominal and (sample is None or sample.day_start == today
                                              or sample.at >= today):
            # The day began inside the window and nothing older is known: the day so far.
            return RollingView(minutes, today, end, snapshot.day_stats, _EMPTY, None)
        if sample is None or sample.at >= end:
            return RollingView(minutes, end, end, snapshot.day_stats, snapshot.day_stats, None)
        if sample.day_start == today:
            return RollingView(minutes, sample.at, end, snapshot.day_stats, sample.day, None)
        prev = self._prev_day
        if prev is not None and prev[0] == sample.day_start and today - prev[2] <= self.every:
            return RollingView(minutes, sample.at, end, snapshot.day_stats, sample.day, prev[1],
                               gap=(prev[2], today))
        # Sample from an older day and no close look at its end: only today is known.
        return RollingView(minutes, today, end, snapshot.day_stats, _EMPTY, None)
