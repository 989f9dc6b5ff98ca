"""What the console knows between polls, without Textual: the latest board, the clock,
trends, rolling windows, escalation tracking and the shared escalation state.

The app owns one ``ConsoleState`` and forwards each poll to it; screens read it (through
``ui.view.AppView``) and never write it. Keeping it plain makes every "now", every age
and every handled/unhandled decision testable without a terminal.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from itertools import compress
from operator import attrgetter, is_not
from typing import Any, cast

from supervisor_tui.config import Config
from supervisor_tui.config.live import Effective, effective
from supervisor_tui.domain.agent_day import AgentDay, AgentDayBook
from supervisor_tui.domain.board import Board, MetricsMemo, QueueRow, build_board
from supervisor_tui.domain.changes import agents_since
from supervisor_tui.domain.escalation import Escalation, EscalationTracker, TrackerResult
from supervisor_tui.domain.index import IndexBuilder
from supervisor_tui.domain.model import (
    Agent,
    Queue,
    QueueStats,
    Snapshot,
    SourceHealth,
    implausible,
)
from supervisor_tui.domain.rolling import RollingWindows
from supervisor_tui.domain.trend import TrendBook
from supervisor_tui.schedules import ScheduleKeeper
from supervisor_tui.sources.base import Source
from supervisor_tui.store import (
    INTERVAL_COUNTERS,
    RESOLVED,
    SNOOZED,
    TAKEN,
    EscalationState,
    LiveSetting,
    Store,
    StoreError,
)
from supervisor_tui.store.abandoned import AbandonedRecorder
from supervisor_tui.store.agent_days import (
    AgentDayRow,
    read_agent_days,
    rows_of,
    saved_of,
    with_current,
    write_agent_days,
)
from supervisor_tui.store.escalation_log import record_escalations
from supervisor_tui.store.rows import Callback, IntervalRow
from supervisor_tui.survey_feed import SurveyKeeper
from supervisor_tui.ui.forecast_state import ForecastKeeper
from supervisor_tui.ui.vendor_state import VendorDesk

_QUEUE_ID, _WAITING = attrgetter("queue.id"), attrgetter("waiting")  # a trend sample

class ConsoleState:
    def __init__(self, config: Config, sources: Sequence[Source], store: Store | None,
                 clock: Callable[[], datetime], monotonic: Callable[[], float],
                 problem: str | None = None) -> None:
        #: the configuration in force: ``base_config`` (the file) with the live settings
        #: (``live_settings`` table) applied; rebuilt only when one changed
        self.config = config
        self.base_config = config
        self.live = Effective(config)
        self.live_rows: dict[str, LiveSetting] = {}
        self._live_seq = 0
        self._live_queues: dict[str, tuple[Queue, Queue]] = {}  # id -> (source's, shown)
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
        # Window figures of counters that did not change since the last board, reused.
        self.metrics_memo = MetricsMemo()
        #: each agent's day (handled, AHT, time per state), from the agents' timestamps
        self.agent_book = AgentDayBook()
        self._agents_day: str | None = None  # the local day the book was seeded for
        self._callbacks: list[Callback] = []
        self._callbacks_for: Board | None = None  # the board they were read for
        #: shared state of escalations (taken, acknowledged...) from the store, per poll
        self.escalation_states: dict[str, EscalationState] = {}
        self._received_mono: float | None = None
        self._last_history: datetime | None = None
        #: closed intervals not yet in the store (written with the next history call)
        self._closed: list[IntervalRow] = []
        #: how many times closed intervals were written: a screen holding a read of
        #: the store's intervals reads again when it moves (the save follows the paint)
        self.intervals_saved = 0
        #: today's abandoned contacts written to the store (only new ones each poll)
        self.abandoned_log = AbandonedRecorder()
        #: vendors, tiers and this user's scope (ui/vendor_state.py); the app sets the scope
        self.vendors = VendorDesk(lambda: self.config)
        self.vendors.adherence_of = self._adherence_of
        #: today's survey responses (store), FCR and VIP low scores: survey_feed.py
        self.surveys = SurveyKeeper(config.surveys, store, config.console.policy.zone,
                                    monotonic)
        #: today's schedule (store or watched file) and each agent's adherence, per poll
        self.schedule = ScheduleKeeper(config.schedule, store, config.console.policy.zone,
                                       monotonic)
        #: today's forecast from the store (intraday, "Need"): ui/forecast_state.py
        self.forecasts = ForecastKeeper(store, config.console.policy.zone, monotonic)
        #: a schedule problem not yet announced (the app pops it)
        self.schedule_said: str | None = None

    # -- a poll ----------------------------------------------------------------

    def take_snapshot(self, snapshot: Snapshot) -> Board:
        """Build the board once from a fresh snapshot; record trends and history."""
        self.refresh_live_settings()
        cfg = self.config
        snapshot = self._with_live_queues(snapshot)
        # A scoped user's console sees only their queues, on every screen (one place).
        snapshot = self.vendors.narrow(snapshot)
        previous = self.board
        if previous is not None and snapshot.interval_start != previous.snapshot.interval_start:
            self._closed.extend(self._close_interval(previous, snapshot))
        self.rolling.observe(snapshot)
        self.vendors.observe(snapshot)
        board = build_board(
            snapshot,
            formula=cfg.console.sl_formula,
            threshold_factor=cfg.escalations.contact_wait_factor,
            threshold_factors=cfg.escalations.contact_wait_factors,
            strip_size=cfg.console.escalation_strip_size,
            windows={f"{m}m": self.rolling.view(m, snapshot) for m in self.rolling.minutes},
            erlang_window=f"{cfg.console.erlang_window_minutes}m",
            min_sample=cfg.console.min_sample,
            index=self.indexer.index(snapshot),
            live_targets=frozenset(self.live.queues),
            memo=self.metrics_memo,
        )
        self._observe_agents(snapshot)
        self.surveys.poll(snapshot)
        said = self.schedule.poll(snapshot.agents, snapshot.taken_at, snapshot.day_start)
        if said is not None:
            self.schedule_said = said
        self._received_mono = self.monotonic()
        rows = board.rows
        held = previous.rows if previous is not None else ()
        if len(held) == len(rows):  # a kept row holds the same count: only new rows
            rows = tuple(compress(rows, map(is_not, rows, held)))
            self.trends.add_changed(board.taken_at, zip(map(_QUEUE_ID, rows),
                                                        map(_WAITING, rows), strict=True))
        else:
            self.trends.add(board.taken_at,
                            zip(map(_QUEUE_ID, rows), map(_WAITING, rows), strict=True))
        self.board = board
        return board

    def catch_up(self) -> None:
        """After the paint: the agents' day figures and the FCR contact log moved on by
        the polls taken (they are also brought up to date at their first read, by a
        screen that shows them), and the rolling windows' sample due taken (else at the
        next poll)."""
        self.agent_book.catch_up()
        self.surveys.catch_up()
        self.rolling.settle()
        self.vendors.settle()

    def _adherence_of(self, agent: Agent) -> tuple[float, float] | None:
        """(scheduled, adhering) seconds of ``agent`` today from the schedule keeper,
        when one is running and has a schedule (None: not scheduled, or no schedule)."""
        keeper = self.schedule
        if not keeper.has_schedule:
            return None
        got = keeper.now.by_agent.get(f"{agent.source}:{agent.id}")
        return None if got is None else (float(got.scheduled_s), float(got.adhering_s))

    def extra_escalations(self, previous: Mapping[str, Escalation]) -> list[Escalation]:
        """Escalations from beyond the snapshot: schedule adherence, VIP low scores."""
        return [*self.schedule.escalations(previous), *self.surveys.escalations(previous)]

    # -- each agent's day ------------------------------------------------------------

    @property
    def agent_days(self) -> dict[str, AgentDay]:
        """Today's figures per agent, keyed "source:id"."""
        return self.agent_book.days

    def agent_day_rows(self) -> list[AgentDayRow]:
        """Today's agents as ``export agents`` writes them, from this console's own
        figures (fresher than the store, written once a minute), by source and id."""
        if self._agents_day is None:
            return []
        book = self.agent_book
        rows = rows_of(book, sorted(book.days), self._agents_day)
        return [with_current(r) for r in rows]

    def _day_key(self, snapshot: Snapshot) -> str:
        return self.local(snapshot.day_start).date().isoformat()

    def _observe_agents(self, snapshot: Snapshot) -> None:
        day = self._day_key(snapshot)
        if day != self._agents_day:
            self._agents_day = day
            if self.store is not None:  # continue today's stored totals (a restart)
                try:
                    saved = saved_of(read_agent_days(self.store, day))
                except StoreError as err:
                    self.problem = str(err)
                else:
                    self.agent_book.seed(saved, snapshot.taken_at)
        book = self.agent_book
        book.observe(snapshot.agents, snapshot.taken_at, snapshot.day_start,
                     agents_since(snapshot, book.held))

    def _save_agent_days(self, board: Board) -> None:
        """Write the agents whose totals moved, and how far each source's agents were seen."""
        if self.store is None or self._agents_day is None:
            return
        rows = rows_of(self.agent_book, self.agent_book.take_changed(), self._agents_day)
        until = board.taken_at.astimezone(UTC).isoformat()
        covers = {s: until for s in dict.fromkeys(a.source for a in board.snapshot.agents)}
        keep = timedelta(days=self.config.store.interval_retention_days)
        oldest = self.local(board.taken_at - keep).date().isoformat()
        write_agent_days(self.store, rows, covers, self._agents_day, prune_before=oldest)

    # -- live thresholds ----------------------------------------------------------

    def refresh_live_settings(self, force: bool = False) -> bool:
        """Re-read the live settings if any changed (one cheap query for the newest
        ``seq``) and rebuild the effective config; True when it changed. Every console on
        the store applies an admin's change at its next poll."""
        if self.store is None:
            return False
        try:
            seq = self.store.live_settings_seq()
            if seq == self._live_seq and not force:
                return False
            rows = self.store.live_settings()
        except StoreError as err:
            self.problem = str(err)
            return False
        self._live_seq = seq
        self.live_rows = rows
        self.live = effective(self.base_config, {k: r["value"] for k, r in rows.items()})
        self.config = self.live.config
        if self.live.ignored:  # e.g. a store written by a newer version: said, not fatal
            why = next(iter(self.live.ignored.values()))
            self.problem = f"live setting not applied: {why}"
        return True

    def source_queues(self) -> dict[str, Queue]:
        """The latest board's queues as the source sent them (before live overrides):
        a queue key's default."""
        board = self.board
        if board is None:
            return {}
        shown = {q.id: q for q in board.snapshot.queues}
        for qid, (source, live) in self._live_queues.items():
            if shown.get(qid) is live:
                shown[qid] = source
        return shown

    def _with_live_queues(self, snapshot: Snapshot) -> Snapshot:
        """The snapshot with the live SL targets / thresholds on its queues (display and
        rules only: the source's own counts are untouched). Overridden queue objects are
        reused while the source's are unchanged, so the index reads them once."""
        overrides = self.live.queues
        if not overrides:
            self._live_queues.clear()
            return snapshot
        queues: list[Queue] = []
        changed = False
        for queue in snapshot.queues:
            update = overrides.get(queue.id)
            if update:
                memo = self._live_queues.get(queue.id)
                if memo is None or memo[0] is not queue or any(
                        getattr(memo[1], k) != v for k, v in update.items()):
                    memo = (queue, queue.model_copy(update=update))
                    self._live_queues[queue.id] = memo
                queue, changed = memo[1], True
            queues.append(queue)
        return snapshot.model_copy(update={"queues": tuple(queues)}) if changed else snapshot

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

    def record_escalations(self, result: TrackerResult) -> None:
        """Log a poll's new, raised and cleared escalations (``export escalations``):
        nothing is written on a poll without news; an error is said in the status bar."""
        board = self.board
        if self.store is None or board is None:
            return
        keep = timedelta(days=self.config.store.interval_retention_days)
        try:
            record_escalations(self.store, new=result.new, raised=result.raised,
                               cleared=result.cleared, day_start=board.snapshot.day_start,
                               observing_since=self.tracker.observing_since,
                               prune_before=board.taken_at - keep)
        except StoreError as err:
            self.problem = f"escalation log not saved: {err}"

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

    def tracked_callbacks(self) -> list[Callback]:
        """Today's call-backs tracked in the shared store (for sources that cannot queue
        one), read at most once per board whichever screens ask; a read error is said
        in the status bar and the last rows kept."""
        board = self.board
        if self.store is None or board is None:
            return []
        if self._callbacks_for is not board:
            try:
                self._callbacks = self.store.callbacks(board.snapshot.day_start)
            except StoreError as err:
                self.problem = str(err)
            self._callbacks_for = board
        return self._callbacks

    def forget_callbacks(self) -> None:
        """After this console changed one: the next ask reads the store again."""
        self._callbacks_for = None

    def intervals(self, start: datetime, end: datetime, *, queue_id: str | None = None,
                  channels: Sequence[str] | None = None) -> list[IntervalRow]:
        """Closed intervals in [start, end): one queue's rows, or ``channels``' summed
        per interval (a channel group's). Empty without a store; a read error is said in
        the status bar."""
        if self.store is None:
            return []
        try:
            if channels is not None:
                scope = self.vendors.scope
                if scope is not None:  # a scoped user: only their queues' rows summed
                    return self.store.interval_sums(start, end, channels, scope.queue_ids)
                return self.store.interval_sums(start, end, channels)
            return self.store.intervals(start, end, queue_id)
        except StoreError as err:
            self.problem = str(err)
            return []

    def _close_interval(self, last: Board, first: Snapshot) -> list[IntervalRow]:
        """One row per queue for the interval ``last`` (its final poll) belongs to, now
        that ``first`` (the next poll) is in another one.

        The counts are taken to the interval's end where the day's counters allow it:
        what closed today as of ``first`` (day less its interval) less what had closed as
        of ``last`` is exactly the interval that ended, contacts that left after the last
        poll included. Across midnight, after a gap of more than one interval, or from a
        source whose counters do not add up, the last poll's figures are kept and marked
        incomplete."""
        policy = self.config.console.policy
        minutes = policy.minutes
        start = last.snapshot.interval_start
        following = policy.interval_start(start + timedelta(minutes=minutes, seconds=1))
        exact = (first.day_start == last.snapshot.day_start
                 and following == first.interval_start)
        rows: list[IntervalRow] = []
        for row in last.rows:
            seen = row.interval_stats
            counts = self._to_the_end(row, first) if exact else None
            complete = counts is not None
            if counts is None:
                counts = {c: getattr(seen, c) for c in INTERVAL_COUNTERS}
            staffing = row.staffing  # Erlang C from the board row, as the screens show it
            rows.append(cast(IntervalRow, {
                "queue_id": row.queue.id, "interval_start": start.astimezone(UTC).isoformat(),
                "interval_minutes": minutes, "channel": row.queue.channel.value,
                "sl_target": row.queue.sl_target, "threshold_s": row.queue.threshold_s,
                "agents_staffed_at_close": row.effective_agents,
                "agents_needed_at_close": staffing.needed if staffing is not None else None,
                "complete": int(complete), **counts}))
        return rows

    @staticmethod
    def _to_the_end(row: QueueRow, first: Snapshot) -> dict[str, float] | None:
        qid = row.queue.id
        day, interval = first.day_stats.get(qid), first.interval_stats.get(qid)
        if day is None:
            return None
        seen, seen_day = row.interval_stats, row.day_stats
        counts: dict[str, float] = {}
        for c in INTERVAL_COUNTERS:
            value = (getattr(day, c) - (getattr(interval, c) if interval else 0)
                     - (getattr(seen_day, c) - getattr(seen, c)))
            if value < getattr(seen, c) - 1e-6:  # counters only grow: not this source
                return None
            counts[c] = value if isinstance(value, int) else max(float(value), 0.0)
        check = QueueStats.trusted(queue_id=qid, window_start=seen.window_start,
                                   **cast(dict[str, Any], counts))
        return None if implausible(check) else counts

    def record_history(self, board: Board) -> str | None:
        """Save closed intervals (one transaction each time one closes) and one history
        sample per ``history_every_s``; a new problem is returned (once) so the app can
        say it."""
        if self.store is None:
            self._closed.clear()
            return None
        if self._closed:
            try:
                self.store.record_intervals(
                    self._closed, board.taken_at.astimezone(UTC),
                    timedelta(days=self.config.store.interval_retention_days))
            except StoreError as err:  # kept: tried again with the next poll
                del self._closed[:-5000]  # (bounded while the store stays unwritable)
                if self.problem != f"intervals not saved: {err}":
                    self.problem = f"intervals not saved: {err}"
                    return self.problem
            else:
                self._closed.clear()
                self.intervals_saved += 1
        try:  # kept for `export abandoned`: the snapshot holds only today's newest 500
            self.abandoned_log.record(
                self.store, board.snapshot.abandoned, board.taken_at,
                timedelta(days=self.config.store.interval_retention_days))
        except StoreError as err:  # not remembered: tried again with the next poll
            if self.problem != f"abandoned contacts not saved: {err}":
                self.problem = f"abandoned contacts not saved: {err}"
                return self.problem
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
            self._save_agent_days(board)
        except StoreError as err:
            # Keep running on in-memory trends; say so once.
            if self.problem != f"history not saved: {err}":
                self.problem = said = f"history not saved: {err}"
        else:
            self.problem = None
        # Adherence so far (a restarted console continues from it); said once.
        kept = self.schedule.save(self.config.store.interval_retention_days)
        if kept is not None and kept != self.problem:
            self.problem = said = kept
        self.trends.forget_missing({r.queue.id for r in board.rows})
        return said
