"""When the cyclic garbage collector runs, in the console and in the collector: between
polls, not inside one.

A poll of a 50,000-agent centre creates ~100,000 container objects (the changed agents,
contacts and counters, the board's rows), nearly none of them cyclic garbage. Left to its
thresholds, CPython runs ~40 young collections inside each poll and, every few polls, a
full one over the whole heap: measured (benchmarks/bench_dashboard.py, 5,000 queues /
50,000 agents) ~30 ms of young collections per poll and a 250 ms full pass every ~4 polls,
which was the p95 of poll -> painted on its own.

So the garbage collector is held from the poll's start (``begin``: the first snapshot of
a big centre is itself ~200,000 new objects as the source decodes it) until the poll is
painted and its escalations evaluated; then ``settle`` collects the young generations
(this poll's cyclic garbage: objects nobody holds are freed by reference counting anyway)
and freezes the survivors (``gc.freeze``: they are the console's live state, and a full
pass would only walk them again). The ``serve`` collector (``protocol/collector.py``)
does the same around each round: the version's body and records are its live state.
Frozen objects are still freed when their count drops; only cycles among them wait for
the full collection ``settle`` runs every ``full_every_s`` (unfreeze, collect everything,
freeze again), which keeps memory bounded over days.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

FULL_EVERY_S = 600.0  # a full pass (hundreds of ms at 50,000 agents) each 10 minutes


def hold_from_start() -> None:
    """No collection from now until the first poll's ``settle``: a console whose sources
    begin their first read before it is built (``Source.begin``) decodes that answer,
    ~200,000 objects at 50,000 agents, during its start-up; left to its thresholds the
    collector walked them twice (~0.15 s) before the first paint."""
    gc.disable()


class PollGC:
    def __init__(self, full_every_s: float = FULL_EVERY_S,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.full_every_s = full_every_s
        self._monotonic = monotonic
        self._last_full: float | None = None
        #: full collections run so far (tests, the benchmark)
        self.full_runs = 0
        self._in_flight = False  # a poll begun whose result has not arrived

    def begin(self) -> None:
        """A poll starts: no collection until its ``settle``."""
        self._in_flight = True
        gc.disable()

    def hold(self) -> None:
        """A poll's result arrived: no collection until ``settle`` (idempotent)."""
        self._in_flight = False
        gc.disable()

    def settle(self) -> None:
        """After a poll: this poll's cyclic garbage collected, its survivors frozen, the
        collector back on its thresholds for whatever runs until the next poll (still
        held if the next one has begun meanwhile: its own settle lets it go)."""
        now = self._monotonic()
        if self._last_full is None or now - self._last_full >= self.full_every_s:
            self._last_full = now
            self.full_runs += 1
            gc.unfreeze()
            gc.collect()
        else:
            gc.collect(1)
        gc.freeze()
        if not self._in_flight:
            gc.enable()

    def release(self) -> None:
        """No more polls (the console or collector is closing): the collector back on
        its thresholds, even if a poll begun was never settled."""
        self._in_flight = False
        gc.enable()
