"""Polls every source in the background and merges their snapshots.

No UI here: the app runs ``Poller.run`` in a Textual worker and receives each
``PollResult`` through a callback. A slow source is cut off by a timeout; a failing
one keeps its last good data (marked stale by its health), is retried with
exponential back-off and jitter, and never stops the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from supervisor_tui.domain.model import HealthStatus, Snapshot, SourceHealth
from supervisor_tui.domain.text import clean
from supervisor_tui.sources.base import Source
from supervisor_tui.sources.limits import RateLimited

# Failures in a row before a source counts as down rather than degraded.
DOWN_AFTER = 3
MAX_BACKOFF_S = 60.0


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class _SourceState:
    source: Source
    health: SourceHealth
    last_good: Snapshot | None = None
    next_due: float = 0.0  # monotonic


@dataclass(frozen=True)
class PollResult:
    snapshot: Snapshot | None  # merged last good data of every source; None before any
    health: dict[str, SourceHealth]
    fresh: bool  # at least one source answered this round
    errors: tuple[str, ...] = field(default_factory=tuple)


def merge(snapshots: Sequence[Snapshot], health: dict[str, SourceHealth]) -> Snapshot:
    """One snapshot out of several sources' (queues from one, agents from another...)."""
    if len(snapshots) == 1:
        return snapshots[0].model_copy(update={"health": health})
    first = snapshots[0]
    interval_stats: dict = {}
    day_stats: dict = {}
    queue_live: dict = {}
    tier_stats: dict = {}
    for snap in snapshots:
        interval_stats.update(snap.interval_stats)
        day_stats.update(snap.day_stats)
        queue_live.update(snap.queue_live)
        tier_stats.update(snap.tier_stats)
    return Snapshot.model_construct(
        taken_at=max(s.taken_at for s in snapshots),
        interval_start=first.interval_start,
        day_start=first.day_start,
        queues=tuple(q for s in snapshots for q in s.queues),
        interval_stats=interval_stats,
        day_stats=day_stats,
        agents=tuple(a for s in snapshots for a in s.agents),
        contacts=tuple(c for s in snapshots for c in s.contacts),
        health=health,
        clock_rate=first.clock_rate,
        queue_live=queue_live,
        abandoned=tuple(a for s in snapshots for a in s.abandoned),
        tier_stats=tier_stats,
    )


def restrict(snap: Snapshot, provides: str) -> Snapshot:
    """Keep only what a source contributes when several are combined."""
    if provides == "queues":
        return snap.model_copy(update={"agents": ()})
    if provides == "agents":
        return snap.model_copy(update={"queues": (), "contacts": (), "interval_stats": {},
                                       "day_stats": {}, "queue_live": {}, "abandoned": (),
                                       "tier_stats": {}})
    return snap


_WORSE = {HealthStatus.OK: 0, HealthStatus.DEGRADED: 1, HealthStatus.DOWN: 2}


def with_upstream(health: SourceHealth, upstream: Sequence[SourceHealth]) -> SourceHealth:
    """A source's good poll seen through the sources behind it (a collector's): the
    worst status (all down: down; any not ok: degraded), the oldest last success (the
    data is only as fresh as its stalest part, as the console reckons across its own
    sources) and each failing one's reason, named."""
    if not upstream:
        return health
    bad = [u for u in upstream if u.status != HealthStatus.OK]
    status = HealthStatus.OK
    if bad:
        status = HealthStatus.DOWN if len(bad) == len(upstream) and all(
            u.status == HealthStatus.DOWN for u in bad) else HealthStatus.DEGRADED
    known = [u.last_success for u in upstream if u.last_success is not None]
    last_success = min([health.last_success, *known]) if health.last_success and known \
        else health.last_success
    update: dict[str, object] = {"status": max(status, health.status, key=_WORSE.__getitem__),
                                 "last_success": last_success}
    if bad:
        first = bad[0]
        update["last_error"] = clean(f"upstream {first.name} {first.status.value}: "
                                     f"{first.last_error or 'no answer yet'}", 200)
        update["last_error_at"] = first.last_error_at
    notes = [clean(f"upstream {u.name} {u.status.value}: {u.last_error or 'no answer yet'}",
                   160) for u in bad[1:]]
    notes += [clean(f"upstream {u.name}: {n}", 160) for u in upstream for n in u.notes]
    update["notes"] = (*health.notes, *notes)[:10]
    return health.model_copy(update=update)


def backoff_delay(interval_s: float, failures: int, rng: random.Random) -> float:
    """Exponential back-off with full jitter, never shorter than the poll interval."""
    if failures <= 0:
        return interval_s
    ceiling = min(MAX_BACKOFF_S, interval_s * 2 ** min(failures, 10))
    return max(interval_s, rng.uniform(0, ceiling))


class Poller:
    def __init__(
        self,
        sources: Sequence[Source],
        interval_s: float = 2.0,
        timeout_s: float = 10.0,
        clock: Callable[[], datetime] = utcnow,
        seed: int | None = None,
    ) -> None:
        if not sources:
            raise ValueError("at least one source is needed")
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.clock = clock
        self._rng = random.Random(seed)
        self._states = [
            _SourceState(source=s, health=SourceHealth(name=s.name)) for s in sources
        ]

    @property
    def sources(self) -> list[Source]:
        return [s.source for s in self._states]

    def health(self) -> dict[str, SourceHealth]:
        return {s.source.name: s.health for s in self._states}

    def _interval(self, state: _SourceState) -> float:
        return state.source.poll_interval_s or self.interval_s

    async def _poll_source(self, state: _SourceState) -> str | None:
        budget = state.source.budget
        if budget is not None:
            # Never spend more than the platform allows: wait for room rather than
            # send a poll that would be cut off half-way with a 429.
            wait = budget.wait_for(min(state.source.poll_cost(), budget.limit))
            if wait > 0:
                state.next_due = time.monotonic() + wait
                return "skip"
        started = time.perf_counter()
        retry_after: float | None = None
        try:
            snap = await asyncio.wait_for(state.source.snapshot(), self.timeout_s)
            if not isinstance(snap, Snapshot):
                raise TypeError(f"returned {type(snap).__name__}, not a Snapshot")
        except TimeoutError:
            error = f"no answer within {self.timeout_s:g} s"
        except asyncio.CancelledError:
            raise
        except RateLimited as err:
            error, retry_after = clean(state.source.redact(str(err)), 160), err.retry_after
        except Exception as err:  # any source bug must not take the console down
            error = clean(state.source.redact(str(err) or type(err).__name__), 160)
        else:
            state.last_good = restrict(snap, state.source.provides)
            state.health = with_upstream(SourceHealth(
                name=state.source.name,
                status=HealthStatus.OK,
                last_success=self.clock(),
                latency_ms=(time.perf_counter() - started) * 1000,
                notes=tuple(clean(state.source.redact(n), 160)
                            for n in state.source.notes[:5]),
            ), state.source.upstream())
            state.next_due = time.monotonic() + self._interval(state)
            return None
        failures = state.health.consecutive_failures + 1
        state.health = state.health.model_copy(
            update={
                "status": HealthStatus.DOWN if failures >= DOWN_AFTER else HealthStatus.DEGRADED,
                "last_error": error,
                "last_error_at": self.clock(),
                "consecutive_failures": failures,
                "latency_ms": (time.perf_counter() - started) * 1000,
            }
        )
        delay = backoff_delay(self._interval(state), failures, self._rng)
        if retry_after is not None:  # the platform said when: not sooner
            delay = max(delay, min(retry_after, 15 * MAX_BACKOFF_S))
        state.next_due = time.monotonic() + delay
        return f"{state.source.name}: {error}"

    async def poll_once(self, only_due: bool = False) -> PollResult:
        now = time.monotonic()
        due = [s for s in self._states if not only_due or s.next_due <= now]
        outcomes = await asyncio.gather(*(self._poll_source(s) for s in due))
        errors = [e for e in outcomes if e != "skip"]
        health = self.health()
        good = [s.last_good for s in self._states if s.last_good is not None]
        return PollResult(
            snapshot=merge(good, health) if good else None,
            health=health,
            fresh=any(e is None for e in errors),
            errors=tuple(e for e in errors if e),
        )

    async def run(self, on_result: Callable[[PollResult], None],
                  on_start: Callable[[], None] | None = None) -> None:
        """Poll forever; each round polls the sources that are due, ``on_start`` called
        as it begins."""
        while True:
            if on_start is not None:
                on_start()
            on_result(await self.poll_once(only_due=True))
            await self.wait_until_due()

    def make_due(self, name: str) -> None:
        """Poll source ``name`` in the next round (e.g. to show what an action did)."""
        for state in self._states:
            if state.source.name == name:
                state.next_due = 0.0

    async def wait_until_due(self, wake: asyncio.Event | None = None) -> None:
        """Sleep until a source is due, a source is pushed new data (it is then due at
        once) or ``wake`` is set (cleared here)."""
        delay = max(0.05, min(s.next_due for s in self._states) - time.monotonic())
        events = [e for s in self._states if (e := s.source.pushed) is not None]
        if wake is not None:
            events.append(wake)
        if not events:
            await asyncio.sleep(delay)
            return
        waiters = [asyncio.ensure_future(e.wait()) for e in events]
        try:
            await asyncio.wait(waiters, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        if wake is not None:
            wake.clear()
        for state in self._states:
            pushed = state.source.pushed
            if pushed is not None and pushed.is_set():
                pushed.clear()
                state.next_due = 0.0

    async def close(self) -> None:
        for state in self._states:
            # closing must not mask the reason we are exiting
            with contextlib.suppress(Exception):
                await state.source.close()
