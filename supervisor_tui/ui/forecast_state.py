"""Today's forecast as a console holds it (no Textual): read from the shared store at
the first ask of each interval and at most once a minute otherwise, so an import from
any host reaches every console within a minute, and a poll never reads the store.

"Need" from the forecast (:meth:`ForecastKeeper.need`) is the agents the forecast of the
interval under way requires for the queue's own target and threshold (Erlang C for
voice-like queues, workload for email: ``domain.forecast``), with the board's
occupancy cap; the board's own "Need" comes from the live arrival rate and AHT.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from datetime import datetime, tzinfo

from supervisor_tui.domain.board import CHANNEL_GROUP, DEFERRED, Board, QueueRow
from supervisor_tui.domain.forecast import ForecastDay, ForecastNeed
from supervisor_tui.store import Store, StoreError

REREAD_S = 60.0


class ForecastKeeper:
    def __init__(self, store: Store | None, zone: tzinfo,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.zone = zone
        self.monotonic = monotonic
        self.day: ForecastDay | None = None
        #: why the forecast could not be read (None: it could, or there is no store)
        self.problem: str | None = None
        self._key: tuple[str, datetime] | None = None
        self._read_at = 0.0
        self._mark: tuple[object, ...] | None = None
        #: the board the key was last worked out for
        self._board: weakref.ref[Board] | None = None

    def today(self, board: Board | None) -> ForecastDay | None:
        """The forecast of the board's local day (None: none imported, or no store)."""
        if self.store is None or board is None:
            return None
        now = self.monotonic()
        seen = self._board
        if seen is not None and seen() is board and now - self._read_at < REREAD_S:
            return self.day  # (asked for every dashboard row: the key once per board)
        self._board = weakref.ref(board)  # (not keeping an old board alive)
        snap = board.snapshot
        key = (snap.day_start.astimezone(self.zone).date().isoformat(), snap.interval_start)
        if key != self._key or now - self._read_at >= REREAD_S:
            from supervisor_tui.store.forecasts import day_summary, forecast_day

            self._key, self._read_at = key, now
            try:
                # One small query a minute; the rows only when an import changed them,
                # so the day (and its required agents, kept in it) stays the same object.
                mark = (key[0], tuple((s.queue_id, s.intervals, s.imported_at)
                                      for s in day_summary(self.store, key[0])))
                if mark != self._mark:
                    day = forecast_day(self.store, key[0])
                    self.day, self._mark = (day if day else None), mark
                self.problem = None
            except StoreError as err:  # keep the last one read, say why it is not newer
                self.problem = str(err)
        return self.day

    def need(self, board: Board | None, row: QueueRow) -> ForecastNeed | None:
        """Agents the forecast of the interval under way needs for ``row``'s queue."""
        day = self.today(board)
        if day is None or board is None:
            return None
        q = row.queue
        return day.need(q.id, board.snapshot.interval_start, q.sl_target, q.threshold_s,
                        deferred=CHANNEL_GROUP[q.channel] == DEFERRED,
                        max_occupancy=row.max_occupancy)
