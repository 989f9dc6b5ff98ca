"""What the console knows between polls, without Textual: the latest board, the clock,
trends, rolling windows, escalation tracking and the shared escalation state.

The app owns one ``ConsoleState`` and forwards each poll to it; screens read it (through
``ui.view.AppView``) and never write it. Keeping it plain makes every "now", every age
and every handled/unhandled decision testable without a terminal.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from supervisor_tui.config import Config
from supervisor_tui.domain.board import Board, build_board
from supervisor_tui.domain.escalation import Escalation, EscalationTracker
from supervisor_tui.domain.index import IndexBuilder
from supervisor_tui.domain.model import Snapshot, SourceHealth
from supervisor_tui.domain.rolling import RollingWindows
from supervisor_tui.domain.trend import TrendBook
from supervisor_tui.sources.base import Source
from supervisor_tui.store import RESOLVED, SNOOZED, TAKEN, EscalationState, Store, StoreError


class ConsoleState:
    def __init__(self, config: Config, sources: Sequence[Source], store: Store | None,
                 clock: Callable[[], datetime], monotonic: Callable[[], float],
                 problem: str | None = None) -> None:
        self.config = config
        self.sources = sources
        self.store = store
        # Injectable so tests and snapshots can freeze time.
        self.clock = clock
        self.monotonic = monotonic
        #: the latest board (the app's ``board`` reactive announces the same object)
        self.board: Board | None = None
        self.health: dict[str, SourceHealth] = {}
        #: what went wrong last (store, history, rules): said in the status bar
        self.problem = problem
        console = config.console
        self.trends = TrendBook(minutes=console.trend_minutes, buckets=30)
        self.rolling = RollingWindows(
            tuple({*console.rolling_minutes, console.erlang_window_minutes}))
        self.window_key = "interval"  # which window the figures on screen cover (w)
        self.tracker = EscalationTracker(console.sl_formula)
        # Follows this console's stream of snapshots, re-reading only changed objects;
        # the board carries each poll's index to the escalation rules and screens.
        self.indexer = IndexBuilder()
        #: shared state of escalations (taken, acknowledged...) from the store, per poll
        self.escalation_states: dict[str, EscalationState] = {}
        self._received_mono: float | None = None
        self._last_history: datetime | None = None

    # -- a poll ----------------------------------------------------------------

    def take_snapshot(self, snapshot: Snapshot) -> Board:
        """Build the board once from a fresh snapshot; record trends and history."""
        cfg = self.config
        self.rolling.observe(snapshot)
        board = build_board(
            snapshot,
            formula=cfg.console.sl_formula,
            threshold_factor=cfg.escalations.contact_wait_factor,
            strip_size=cfg.console.escalation_strip_size,
            windows={f"{m}m": self.rolling.view(m, snapshot) for m in self.rolling.minutes},
            erlang_window=f"{cfg.console.erlang_window_minutes}m",
            min_sample=cfg.console.min_sample,
            index=self.indexer.index(snapshot),
        )
        self._received_mono = self.monotonic()
        self.trends.add(board.taken_at, ((r.queue.id, float(r.waiting)) for r in board.rows))
        self.board = board
        return board

    def seconds_since_data(self) -> float | None:
        """Monotonic seconds since the last fresh board arrived (None before the first)."""
        if self._received_mono is None:
            return None
        return self.monotonic() - self._received_mono

    # -- time ------------------------------------------------------------------

    def centre_now(self) -> datetime:
        """Now in the source's clock: the snapshot's time aged by the wall clock."""
        board = self.board
        if board is None or self._received_mono is None:
            return self.clock()
        elapsed = (self.monotonic() - self._received_mono) * board.snapshot.clock_rate
        return board.taken_at + timedelta(seconds=elapsed)

    def data_now(self) -> datetime:
        """"Now" for ages of what the data shows (waits, time in state): the centre's
        clock while data is live; frozen at the last data while it is stale, so a wait
        reads "≥ 0:26" instead of ticking on numbers nobody is updating."""
        board = self.board
        if board is not None and self.is_stale():
            return board.taken_at
        return self.centre_now()

    def local(self, when: datetime) -> datetime:
        """A moment in the centre's configured time zone (the one clock on screen)."""
        return when.astimezone(self.config.console.policy.zone)

    def cycle_window(self) -> str:
        """Next window for the figures (interval, rolling ones, today)."""
        keys = self.config.console.window_keys
        i = keys.index(self.window_key) if self.window_key in keys else -1
        self.window_key = keys[(i + 1) % len(keys)]
        return self.window_key

    def data_age_s(self) -> float | None:
        """Wall-clock seconds since the stalest source last answered."""
        successes = [h.last_success for h in self.health.values()]
        if not successes or any(s is None for s in successes):
            return None
        oldest = min(s for s in successes if s is not None)
        return max((self.clock() - oldest).total_seconds(), 0.0)

    def live_within_s(self) -> float:
        """Data this young is on time: the slowest source's poll interval plus slack."""
        default = self.config.console.poll_interval_s
        intervals = [s.poll_interval_s or default for s in self.sources]
        return max(intervals, default=default) + 1.5

    def is_stale(self) -> bool:
        age = self.data_age_s()
        return age is None or age > self.config.console.stale_after_s

    # -- shared escalation state -----------------------------------------------------

    def refresh_escalation_states(self) -> dict[str, EscalationState]:
        """Re-read who took, acknowledged, snoozed or resolved what (every console)."""
        if self.store is not None:
            try:
                self.escalation_states = self.store.escalation_states()
            except StoreError as err:
                self.problem = str(err)
        return self.escalation_states

    def owned(self) -> set[str]:
        return {eid for eid, st in self.escalation_states.items() if st["state"] == TAKEN}

    def escalation_state(self, esc: Escalation) -> EscalationState | None:
        """Shared state of this occurrence: ownership always counts; an acknowledge or
        resolve counts only if made after the escalation (re)appeared."""
        state = self.escalation_states.get(esc.id)
        if state is None:
            return None
        if state["state"] == TAKEN:
            return state
        return state if datetime.fromisoformat(state["updated_at"]) >= esc.first_seen else None

    def is_handled(self, esc: Escalation) -> bool:
        """Resolved, or snoozed and not yet due back: off the desk and out of counts."""
        state = self.escalation_state(esc)
        if state is None:
            return False
        if state["state"] == SNOOZED:
            until = state.get("until") or ""
            return bool(until) and datetime.fromisoformat(until) > self.centre_now()
        return state["state"] == RESOLVED

    # -- history -----------------------------------------------------------------

    def backfill_trends(self) -> None:
        if self.store is None:
            return
        since = self.clock() - timedelta(minutes=self.config.console.trend_minutes)
        try:
            rows = self.store.history_since(since)
        except StoreError as err:
            self.problem = str(err)
            return
        for row in rows:
            at = datetime.fromisoformat(row["ts"])
            self.trends.add(at, [(row["queue_id"], float(row["waiting"]))])

    def record_history(self, board: Board) -> str | None:
        """Save one history sample per ``history_every_s``; a new problem is returned
        (once) so the app can say it."""
        if self.store is None:
            return None
        every = timedelta(seconds=self.config.store.history_every_s)
        if self._last_history is not None and board.taken_at - self._last_history < every:
            return None
        self._last_history = board.taken_at
        ts = board.taken_at.astimezone(UTC).isoformat()
        said: str | None = None
        try:
            self.store.record_history(
                {
                    "ts": ts,
                    "queue_id": r.queue.id,
                    "service_level": r.interval.service_level,
                    "waiting": r.waiting,
                    "longest_wait_s": (board.taken_at - r.oldest_waiting_since).total_seconds()
                    if r.oldest_waiting_since
                    else 0.0,
                    "offered": r.interval.stats.offered,
                    "answered": r.interval.stats.answered,
                    "abandoned": r.interval.stats.abandoned,
                }
                for r in board.rows
            )
            self.store.prune_history(
                board.taken_at.astimezone(UTC),
                timedelta(days=self.config.store.history_retention_days),
            )
        except StoreError as err:
            # Keep running on in-memory trends; say so once.
            if self.problem != f"history not saved: {err}":
                self.problem = said = f"history not saved: {err}"
        else:
            self.problem = None
        self.trends.forget_missing({r.queue.id for r in board.rows})
        return said
