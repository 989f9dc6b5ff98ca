"""The Textual app: wires poller -> board (reactive) -> screens.

Screens know the UI and nothing of any platform: they watch ``app.board`` (one
immutable Board per poll) and ask the app for "now" in the centre's clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar, cast

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.command import Hit, Hits, Provider
from textual.content import Content
from textual.fuzzy import Matcher
from textual.notifications import SeverityLevel
from textual.reactive import reactive
from textual.screen import ModalScreen, Screen
from textual.worker import Worker

from supervisor_tui.actions import Actions
from supervisor_tui.audited import Auditor, AuditSink
from supervisor_tui.config import Config
from supervisor_tui.crisis.db import CrisisStoreError
from supervisor_tui.crisis.incidents import Banner
from supervisor_tui.crisis.outbox import Attempt
from supervisor_tui.crisis.paging import PAGE_INCIDENT, PageBook
from supervisor_tui.crisis.service import CrisisError, CrisisService
from supervisor_tui.domain.board import Board
from supervisor_tui.domain.escalation import (
    Escalation,
    EscalationKind,
    TrackerResult,
)
from supervisor_tui.domain.model import Snapshot
from supervisor_tui.domain.paging import PageMark
from supervisor_tui.domain.roles import Role
from supervisor_tui.domain.text import clean, clean_block
from supervisor_tui.gc_policy import PollGC
from supervisor_tui.identity import identity_for
from supervisor_tui.notices import NoticeDesk, category_label
from supervisor_tui.paging import Pager
from supervisor_tui.poller import Poller, PollResult, utcnow
from supervisor_tui.sources.base import Capability, Source
from supervisor_tui.store import Store, StoreError
from supervisor_tui.store.audit import AuditLog
from supervisor_tui.ui.modes import SCREENS
from supervisor_tui.ui.state import ConsoleState
from supervisor_tui.ui.themes import install_themes, sync_ansi_theme, textual_theme_name
from supervisor_tui.ui.vendor_state import scope_for
from supervisor_tui.ui.view import AppView, ConsoleView


def _highlight(matcher: Matcher, label: str) -> Content:
    """``matcher.highlight`` without markup: it parses the label as markup, and a queue
    name is data (``open[/`` would raise MarkupError in the palette)."""
    content = Content(label)
    _, offsets = matcher.fuzzy_search.match(matcher.query, label)
    for offset in offsets:
        if not label[offset].isspace():
            content = content.stylize(matcher.match_style, offset, offset + 1)
    return content


class QueueCommands(Provider):
    """Command palette: jump to any queue by name."""

    async def search(self, query: str) -> Hits:
        app = self.app
        assert isinstance(app, SupervisorApp)
        if app.board is None:
            return
        matcher = self.matcher(query)
        for row in app.board.rows:
            label = f"Open queue {clean(row.queue.name, 60)}"
            score = matcher.match(label)
            if score > 0:
                yield Hit(
                    score,
                    _highlight(matcher, label),
                    lambda qid=row.queue.id: app.open_queue(qid),
                    help=f"{row.waiting} waiting · {row.queue.channel.value}",
                )


#: terminals shorter than this are "-short" (80x24 over SSH): slimmer tiles, one-line notices
SHORT_ROWS = 30


class NoticeCommands(Provider):
    """Command palette: mute, snooze or unmute new-critical notices per category
    (type "notices" or the category)."""

    async def search(self, query: str) -> Hits:
        app = self.app
        assert isinstance(app, SupervisorApp)
        matcher = self.matcher(query)
        desk = app.notices
        minutes = app.config.notify.snooze_minutes
        for kind in EscalationKind:
            label = category_label(kind)
            state = desk.silenced(kind)
            if state:
                options = [(f"Notices: unmute {label} ({state})",
                            lambda k=kind: app.set_notices(k, "unmute"))]
            else:
                options = [(f"Notices: snooze {label} for {minutes:g} min",
                            lambda k=kind: app.set_notices(k, "snooze")),
                           (f"Notices: mute {label}", lambda k=kind: app.set_notices(k, "mute"))]
            for text, callback in options:
                score = matcher.match(text)
                if score > 0:
                    yield Hit(score, _highlight(matcher, text), callback,
                              help="new-critical pop-ups and bell; the desk still lists them")


def _later(module: str, name: str) -> Callable[[], Screen]:
    """A mode's screen, its module imported when the mode is first shown."""
    def make() -> Screen:
        screens = importlib.import_module(f"supervisor_tui.ui.screens.{module}")
        return cast(Screen, getattr(screens, name)())
    return make


class SupervisorApp(App[None]):
    TITLE = "supervisor-tui"
    CSS_PATH = "app.tcss"
    COMMANDS: ClassVar = App.COMMANDS | {QueueCommands, NoticeCommands}
    # (ignore: Textual annotates it `ClassVar[...] | None`, read by mypy as an instance var)
    VERTICAL_BREAKPOINTS: ClassVar = [(0, "-short"), (SHORT_ROWS, "-tall")]  # type: ignore[misc]
    # Each screen's module is imported when it is first shown: a console imports and
    # builds only the screen it opens on (issue 15: first data).
    MODES: ClassVar = {name: _later(*where) for name, where in SCREENS.items()}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark,f1", "help", "Help", key_display="?"),
        Binding("d", "switch_mode('dashboard')", "Dashboard"),
        Binding("a", "switch_mode('agents')", "Agents"),
        Binding("e", "switch_mode('escalations')", "Escalations"),
        Binding("c", "switch_mode('crisis')", "Crisis"),
        # I, not i: the crisis screen's i declares an incident. Out of the footer like L
        # and S (help, the palette and the README list it).
        Binding("I", "switch_mode('intraday')", "Intraday", show=False),
        Binding("L", "switch_mode('audit')", "Audit log", show=False),
        Binding("S", "switch_mode('sources')", "Sources", show=False),
        Binding("A", "switch_mode('abandoned')", "Abandoned", show=False),
        Binding("T", "switch_mode('thresholds')", "Thresholds", show=False),
        Binding("M", "switch_mode('teams')", "Teams", show=False),
        Binding("V", "switch_mode('vendors')", "Vendors", show=False),
        Binding("N", "snooze_notices", "Snooze the last notice's categories", show=False),
    ]

    # repaint=False: an App reactive would otherwise repaint the whole screen on every
    # poll (measured: 10x the bytes over SSH); the widgets that show it refresh themselves.
    board: reactive[Board | None] = reactive(None, always_update=True, repaint=False)
    # Active escalations (sorted) and their shared state from the store, per poll.
    escalations: reactive[Sequence[Escalation]] = reactive(tuple, always_update=True,
                                                           repaint=False)
    # Active incidents and their latest agents broadcast, re-read from the shared store
    # on every poll and tick; watchers fire only when something changed.
    banners: reactive[tuple[Banner, ...]] = reactive(tuple, repaint=False)
    # Bumped when this console's delivery worker records an attempt: screens refresh now.
    crisis_revision: reactive[int] = reactive(0, repaint=False)
    # Pages to the on-call supervisor per escalation id (any console's), after each pass.
    pages: reactive[dict[str, PageMark]] = reactive(dict, repaint=False)

    def __init__(
        self,
        config: Config,
        sources: list[Source],
        store: Store | None = None,
        store_problem: str | None = None,
        clock: Callable[[], datetime] = utcnow,
        monotonic: Callable[[], float] = time.monotonic,
        user: str | None = None,
        read_only: bool = False,
        audit: AuditSink | None = None,
        wall: bool = False,
        theme_name: str | None = None,
        screen: str = "dashboard",
    ) -> None:
        super().__init__()
        self.wall = wall
        if screen not in self.MODES:
            raise ValueError(f"no screen {screen!r}")
        # The screen it opens on: only that one is built (a console opened on the agents
        # screen never lays out the dashboard it would leave at once).
        self.start_screen = screen
        if wall:
            # A wall terminal only looks: viewer role, no dialogs, [wall] settings.
            from supervisor_tui.ui.screens.wall import WallScreen, wall_settings

            config = wall_settings(config)
            read_only = True
            self.use_command_palette = False  # the palette is a dialog waiting for keys
            self.add_mode("wall", WallScreen)
        install_themes(self)
        chosen = textual_theme_name(theme_name or (config.wall.theme if wall else None))
        if chosen is not None:
            self.theme = chosen
            sync_ansi_theme(self)
        self.sources = sources
        self.store = store
        self.clock = clock
        self.monotonic = monotonic
        # Board, clock, trends, windows and escalation tracking live in a plain object
        # (no Textual) that screens read through ``ui.view.ConsoleView``.
        self.state = ConsoleState(config, sources, store, clock, monotonic, store_problem)
        self._gc = PollGC()  # collections between polls, not inside one (gc_policy)
        self.poller = Poller(
            sources,
            interval_s=config.console.poll_interval_s,
            timeout_s=config.console.poll_timeout_s,
            clock=clock,
        )
        if audit is None and store is not None:
            try:  # with the [audit] key and anchor files, kept outside the store
                audit = AuditLog.for_config(store.db, config.audit)
            except StoreError as err:  # actions are refused without an audit log
                self.problem = str(err)
        self.audit = audit
        # Said in the status bar for the whole run (``problem`` comes and goes): nothing
        # done here reaches other consoles, or a lasting audit log.
        self.not_shared = store is None or store_problem is not None
        self.not_audited = self.not_shared or audit is None
        self.identity = identity_for(config)  # the OS account, not $USER
        self.user = user or self.identity.user
        role = Role.VIEWER if read_only else config.roles.role_of(self.user)
        # [roles.scopes]: a scoped user's console shows only their queues (the state
        # narrows each snapshot) and their actions elsewhere are refused (the auditor).
        scope = scope_for(config, self.user)
        self.state.vendors.scope = scope
        self.actions = Actions(sources, audit, self.user, role, scope)
        # A watched schedule file is imported as this user under their configured role
        # (the file is the config's choice, so a read-only wall imports it too).
        self.state.schedule.auditor = Auditor(audit, self.user,
                                              config.roles.role_of(self.user))
        # A read-only console (a wall) only looks: it never sends, not even what others
        # queued (any other console, or `crisis deliver`, does that).
        self.crisis_read_only = read_only
        self.crisis = self._open_crisis(role)
        if self.crisis is not None:
            self.crisis.auditor.scope = scope  # crisis reaches the whole centre
        self._crisis_stop = asyncio.Event()
        self._crisis_worker: Worker[None] | None = None
        self.pager = self._open_pager()
        self._paging_said: str | None = None  # the last paging problem noticed
        self._escalations_seeded = False
        # New-critical notices: combined, held while a dialog is open, per-category mute.
        self.notices = NoticeDesk(config.notify, clock=monotonic)

    # -- notices -----------------------------------------------------------------

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Every notice (screens' ``self.notify`` lands here too) is plain text: source
        text in it is data. Textual would parse ``message`` as markup, so a queue named
        ``open[/`` would raise MarkupError, ``[link=…]`` become a live hyperlink and
        ``[@click=app.quit]`` an action; ``markup`` is ignored for that reason."""
        super().notify(clean_block(message, 600), title=clean(title, 120),
                       severity=severity, timeout=timeout, markup=False)

    # -- state -----------------------------------------------------------------

    @property
    def config(self) -> Config:
        """The configuration in force: the file's with the live thresholds applied."""
        return self.state.config

    def apply_live_settings(self) -> None:
        """Re-read the live thresholds now (after this console changed one) and let the
        notices follow; the next poll rebuilds the board and rules with them."""
        self.state.refresh_live_settings(force=True)
        self._follow_notify()

    def _follow_notify(self) -> None:
        desk, notify = self.notices, self.config.notify
        if desk.config is not notify:  # live [notify]: session mutes are kept
            desk.muted = (desk.muted - set(desk.config.mute)) | set(notify.mute)
            desk.config = notify

    @property
    def problem(self) -> str | None:
        """What went wrong last (store, history, rules), said in the status bar."""
        return self.state.problem

    @problem.setter
    def problem(self, value: str | None) -> None:
        self.state.problem = value

    # -- lifecycle -------------------------------------------------------------

    def on_mount(self) -> None:
        if self.problem:  # e.g. the database could not be opened: say so on screen too
            self.notify(self.problem, title="Running without saved history",
                        severity="warning", timeout=20)
        if self.identity.note:  # e.g. SUPERVISOR_TUI_USER set but not trusted here
            self.notify(f"{self.identity.note}; acting as {self.user}", title="Identity",
                        severity="warning", timeout=20)
        self.state.backfill_trends()
        self.switch_mode("wall" if self.wall else self.start_screen)
        self._tick_s = self.config.console.tick_interval(os.environ)
        self.set_interval(self._tick_s, self._timer_tick)
        self.poll_sources()
        self._start_crisis()
        if self.pager is not None:
            self.set_interval(self.pager.rules.check_s, self._page_tick)
        self._start_report_mail()

    @work(exclusive=True, group="poller")
    async def poll_sources(self) -> None:
        # The garbage collector is held from each poll's start, not only from its
        # arrival: the first snapshot of a big centre is ~200,000 new objects, and each
        # young (then middle) collection over them as the source decodes them cost
        # ~75 ms before the first data was on screen (issue 15). Settled after the paint.
        await self.poller.run(self._apply_poll_safely, on_start=self._gc.begin)

    def _apply_poll_safely(self, result: PollResult) -> None:
        # A bug in turning one poll into a screen must not end the poller (and put a
        # traceback on a wall terminal): keep the last good screen and say why.
        if not self.is_running:  # closing: the screens are being taken down under it
            return
        self._gc.hold()  # (the poll's result is here: held until it is settled)
        try:
            self.apply_poll(result)
        except Exception as err:
            self.log.error("applying poll failed", err)
            self._gc.settle()  # (the collector is not left held)
            self.problem = clean(f"display error: {type(err).__name__}: {err}", 120)

    async def on_unmount(self) -> None:
        await self.poller.close()
        self._gc.release()  # a poll that landed while the app closed was never settled
        self._save_poll()  # the last poll's, if the console closed before it ran
        await self._stop_crisis()  # before the store closes under it
        if self.store is not None:
            self.store.close()

    def apply_poll(self, result: PollResult) -> None:
        """Take one poll result: build the board once, then every screen reads it."""
        state = self.state
        state.health = result.health
        if result.snapshot is not None and result.fresh:
            board = state.take_snapshot(result.snapshot)
            self._follow_notify()
            if state.vendors.said:  # a scope naming nothing known: once
                self.notify(state.vendors.said, title="Scope", severity="warning",
                            timeout=15)
                state.vendors.said = None
            if state.schedule_said:  # the watched schedule file, once per new problem
                self.notify(state.schedule_said, title="Schedule", severity="warning",
                            timeout=15)
                state.schedule_said = None
            self.board = board
            # Escalation rules cost tens of ms at 10,000 agents: paint the numbers first,
            # evaluate right after (same poll, one frame later).
            # (the board's snapshot: the source's with any live queue targets on it)
            self.call_after_refresh(self._update_escalations, board.snapshot)
            # Saving (closed intervals, the minute's history sample of every queue, the
            # agents' day figures: ~1 s at 50,000 agents on the first poll) after the
            # paint too: a supervisor sees the numbers first.
            self._unsaved = board
            self.call_after_refresh(self._save_poll)
        else:
            self._gc.settle()  # (nothing new to paint: held since the poll began)
        # Status only: the screen re-rendered from the new board through its watcher.
        self._tick(ages=result.snapshot is None or not result.fresh)

    _unsaved: Board | None = None  # a poll painted, not yet saved

    def _save_poll(self) -> None:
        board, self._unsaved = self._unsaved, None
        if board is None:  # (saved already: a later poll's save or the exit's)
            return
        try:
            said = self.state.record_history(board)
        except Exception as err:  # a bug here must not end the console
            self.log.error("saving the poll failed", err)
            self.problem = clean(f"saving: {type(err).__name__}: {err}", 120)
            return
        if said:  # a new problem saving history: the status bar keeps saying it
            self.notify(said, severity="warning", timeout=10)

    def _update_escalations(self, snapshot: Snapshot) -> None:
        try:
            if not self.is_running:  # closing: its screens are being taken down
                return
            try:  # the books no screen read for this paint, brought up to this poll
                self.state.catch_up()
            except Exception as err:
                self.log.error("bringing the books up to date failed", err)
                self.problem = clean(f"agent figures: {type(err).__name__}: {err}", 120)
            self._evaluate_escalations(snapshot)
        finally:
            self._gc.settle()

    def _evaluate_escalations(self, snapshot: Snapshot) -> None:
        state = self.state
        state.refresh_escalation_states()
        # On the event loop on purpose: a thread measured worse (GIL contention doubled
        # CPU and slowed painting). It runs just after the board is painted.
        try:
            board = self.board
            index = board.index if board is not None and board.snapshot is snapshot else None
            result = state.tracker.update(snapshot, self.config.escalations, state.owned(),
                                          index=index, extra=state.extra_escalations)
        except Exception as err:
            self.problem = clean(f"escalation rules failed: {type(err).__name__}: {err}", 120)
            return
        state.record_escalations(result)  # each occurrence, for `export escalations`
        self._apply_escalations(result)

    def _apply_escalations(self, result: TrackerResult) -> None:
        self.escalations = result.active
        seeded, self._escalations_seeded = self._escalations_seeded, True
        fresh_critical = [e for e in result.new + result.raised if e.severity == "critical"
                          and not self.state.is_handled(e)]
        self.notices.forget_except({e.id for e in result.active
                                    if not self.state.is_handled(e)})
        if fresh_critical and seeded:  # not for the backlog found at start-up
            ring = self.notices.arrive(fresh_critical)
            if ring and self.config.console.bell:
                self.bell()
        self.flush_notices()

    def flush_notices(self) -> None:
        """Show the combined new-critical notice if one is due: never over a dialog (it
        waits until the dialog closes), never on the desk itself (which lists them)."""
        if not self.screen_stack:
            return
        screen = self.screen
        if getattr(screen, "LISTS_NOTICES", False) or self.wall:
            self.notices.seen()  # (a wall's critical strip says it; nobody reads toasts)
            return
        notice = self.notices.due(isinstance(screen, ModalScreen), self.state.centre_now())
        if notice is not None and self.config.console.announce:
            # 80x24 over SSH: one line, no title (the status bar carries the count), so a
            # notice every few seconds of an outage hides a line, not a corner.
            short = screen.has_class("-short")
            width = max(min(60, self.size.width // 2) - 4, 20) if short else 240
            self.notify(clean(notice.message, width), title="" if short else notice.title,
                        severity="error", timeout=self.config.notify.timeout_s, markup=False)

    def set_notices(self, kind: EscalationKind, how: str) -> None:
        """Mute, snooze or unmute one category of new-critical notices (this session)."""
        label = category_label(kind)
        if how == "mute":
            self.notices.mute(kind)
            said = f"Notices muted: {label} (ctrl+p \"notices\" to unmute)"
        elif how == "snooze":
            self.notices.snooze([kind])
            said = f"Notices snoozed for {self.config.notify.snooze_minutes:g} min: {label}"
        else:
            self.notices.unmute(kind)
            said = f"Notices back on: {label}"
        self.notify(said, title="Notices", timeout=5, markup=False)

    def action_snooze_notices(self) -> None:
        """N: snooze the categories of the last notice (or of those waiting to show)."""
        kinds = self.notices.last_kinds or tuple(dict.fromkeys(
            e.kind for e in self.notices.pending.values()))
        if not kinds:
            self.notify("No new-critical notice to snooze. ctrl+p, type \"notices\": mute "
                        "or snooze any category.", title="Notices", timeout=6, markup=False)
            return
        self.notices.snooze(kinds)
        self.notices.last_kinds = ()
        labels = ", ".join(category_label(k) for k in kinds)
        self.notify(f"Snoozed for {self.config.notify.snooze_minutes:g} min: {labels}. "
                    "Still counted in the status bar and listed on the desk (e).",
                    title="Notices", timeout=6, markup=False)

    def _timer_tick(self) -> None:
        # Ages only need re-rendering if no poll has just rendered them: at a 1 s poll
        # interval this halves the work (and the bytes sent over SSH).
        since = self.state.seconds_since_data()
        fresh = since is not None and since < 0.9 * self._tick_s
        self._tick(ages=not fresh)

    def _tick(self, ages: bool = True) -> None:
        # A poll can land before the first screen; the clock can tick while the app
        # closes, after Textual has removed a screen's widgets but not yet the screen.
        if not self.screen_stack or not self.is_running:
            return
        self.set_class(self.state.is_stale() and self.board is not None, "-stale")
        self.poll_banners()
        self.flush_notices()  # one held behind a dialog that has closed since
        screen = self.screen
        if hasattr(screen, "tick"):
            screen.tick(ages)

    # -- crisis communications ------------------------------------------------------

    def _open_crisis(self, role: Role) -> CrisisService | None:
        """The crisis service on the shared store (none without one: nothing to share)."""
        if self.store is None:
            return None
        broadcasters = {s.name: s.broadcast for s in self.sources
                        if s.supports(Capability.BROADCAST)}
        try:
            return CrisisService(self.config.crisis, self.store.db, user=self.user, role=role,
                                 audit=self.audit, broadcasters=broadcasters, clock=self.clock,
                                 listener=self._crisis_attempt)
        except CrisisError as err:
            self.problem = clean(f"crisis communications unavailable: {err}", 120)
            return None

    def _start_crisis(self) -> None:
        # The worker also resumes whatever a crashed console left queued or half-sent.
        if self.crisis is not None and not self.crisis_read_only:
            self._crisis_worker = self.run_worker(self.crisis.run_worker(self._crisis_stop),
                                                  group="crisis", exclusive=True)
            broken = self.crisis.channel_problems()
            if broken:  # said at start-up, not discovered in the middle of an outage
                self.notify("; ".join(f"{name}: {why}" for name, why in sorted(broken.items()))
                            + ". Other consoles that have them send those deliveries.",
                            title="Crisis channels this console cannot send on",
                            severity="warning", timeout=20)

    async def _stop_crisis(self) -> None:
        if self.crisis is None:
            return
        self._crisis_stop.set()
        self.workers.cancel_group(self, "crisis-now")  # an unsent row's lease covers it
        worker = self._crisis_worker
        if worker is not None and worker.is_running:
            # Let an attempt in flight record its outcome; if it takes too long, the row's
            # lease lets the next console resend it with the same key.
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(worker.wait(), 3.0)
        await self.crisis.aclose()

    def _crisis_attempt(self, attempt: Attempt) -> None:
        # Called by the delivery worker on the event loop, after each recorded attempt.
        self.crisis_revision += 1
        self.poll_banners()  # an agents-channel delivery posts a banner message
        if self.pager is not None and attempt.row.incident_id == PAGE_INCIDENT:
            said = self.pager.attempt_notice(attempt)
            if said:
                self.notify(said, title="Page not delivered", severity="error", timeout=30)
            with contextlib.suppress(CrisisStoreError):  # the next pass says it
                self.pager.refresh(self.state.data_now())
            self._show_pages()

    # -- paging the on-call supervisor ([crisis.paging]) ----------------------------

    def _open_pager(self) -> Pager | None:
        """Only a console that sends crisis messages pages (a wall only looks)."""
        paging = self.config.crisis.paging
        if not paging.enabled or self.crisis is None or self.crisis_read_only:
            return None
        try:
            book = PageBook(self.crisis.outbox.db)
        except CrisisStoreError as err:
            self.problem = clean(f"paging unavailable: {err}", 120)
            return None
        return Pager(self.config.crisis, book, self.actions.auditor,
                     lambda t: f"{self.state.local(t):%H:%M}")

    # -- the end-of-day report by e-mail ([report] email_to / at) --------------------

    def _start_report_mail(self) -> None:
        """A console that sends crisis messages also queues the day's report once
        ``at`` has passed (once across consoles: report/mail.py); its delivery worker
        sends it."""
        if (self.config.report.email_channel(self.config.crisis) is None
                or self.crisis is None or self.crisis_read_only or self.store is None):
            return  # (asked before importing the report: ~15 ms of every start)
        from supervisor_tui.report.mail import ReportMailer, plan_of, settings_of

        plan = plan_of(self.config)
        assert plan is not None  # (its e-mail channel is there: asked above)
        self._report_mailer = ReportMailer(self.store, plan, settings_of(self.config),
                                           self.user)
        self._report_mail_said: str | None = None
        self.set_interval(60.0, self._report_mail_tick)

    def _report_mail_tick(self) -> None:
        try:  # (quick store work on the event loop: the store connection is not shared)
            queued = self._report_mailer.run(self.clock())
        except Exception as err:  # a bug here must not stop the timer or the console
            said: str | None = f"end-of-day report mail not queued: {err}"
        else:
            said = None
            if queued is not None:
                self.deliver_now()
        if said and said != self._report_mail_said:
            self.notify(said, title="Report mail", severity="error", timeout=30)
        self._report_mail_said = said

    def _page_tick(self) -> None:
        self.run_worker(self._page_pass(), group="paging", exclusive=True)

    async def _page_pass(self) -> None:
        """One paging pass: quick store work on the event loop (the store connection is
        not shared across threads); the sends are the delivery worker's."""
        pager, state = self.pager, self.state
        if pager is None or self.board is None or state.is_stale():
            return  # never page from data nobody is updating
        try:
            result = pager.run(self.escalations, state.escalation_states, state.data_now())
        except Exception as err:  # a bug here must not stop the timer or the console
            result_problem: str | None = f"paging failed: {type(err).__name__}: {err}"
        else:
            result_problem = result.problem
            if result.queued is not None:
                self.deliver_now()
        if result_problem and result_problem != self._paging_said:
            self.notify(result_problem, title="Paging", severity="error", timeout=30)
        self._paging_said = result_problem
        self._show_pages()

    def _show_pages(self) -> None:
        if self.pager is not None and self.pager.marks != self.pages:
            self.pages = dict(self.pager.marks)

    def poll_banners(self) -> None:
        """Re-read the active incidents (one cheap query): every console on the host
        shows an incident declared anywhere within one poll."""
        if self.crisis is None:
            return
        try:
            self.banners = tuple(self.crisis.banners())
        except (CrisisError, CrisisStoreError) as err:
            self.problem = clean(f"incident banner: {err}", 120)

    def deliver_now(self) -> None:
        """Deliver what was just queued at once, not at the worker's next look."""
        if self.crisis is not None and not self.crisis_read_only:
            self.run_worker(self._deliver_pass(), group="crisis-now")

    async def _deliver_pass(self) -> None:
        assert self.crisis is not None
        try:
            # One pass (wait 0): retries are left to the background worker's schedule.
            await self.crisis.deliver(wait_s=0)
        except CrisisError as err:
            self.notify(clean(err, 160), title="Crisis delivery", severity="error")

    async def action_switch_mode(self, mode: str) -> None:
        # Keys typed ahead of "q" (a slow SSH link) must not build screens on the way out.
        # A wall never leaves its screen (its own keys jump between wall views).
        if self._exit or (self.wall and mode != "wall"):
            return
        await super().action_switch_mode(mode)

    def watch_theme(self, _: str) -> None:
        sync_ansi_theme(self)  # e.g. picked in the command palette: recolour ANSI too

    def poll_now(self) -> None:
        """Poll at once (after an action) instead of waiting for the next interval."""
        self.run_worker(self._poll_once_now(), group="poll-now", exclusive=True)

    async def _poll_once_now(self) -> None:
        self._apply_poll_safely(await self.poller.poll_once())

    # -- navigation --------------------------------------------------------------

    def open_queue(self, queue_id: str) -> None:
        if self.board is not None and queue_id in self.board.rows_by_id:
            from supervisor_tui.ui.screens.queue_detail import QueueDetailScreen

            self.push_screen(QueueDetailScreen(queue_id))

    def action_help(self) -> None:
        from supervisor_tui.ui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            self.pop_screen()
            return
        self.push_screen(HelpScreen(self.screen))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand(
            "Dashboard", "Queues and KPIs (d)", lambda: self.switch_mode("dashboard")
        )
        yield SystemCommand("Agents", "Every agent and their state (a)",
                            lambda: self.switch_mode("agents"))
        yield SystemCommand("Escalation desk", "Everything that needs a human (e)",
                            lambda: self.switch_mode("escalations"))
        yield SystemCommand("Intraday", "Today by interval beside the same day last week, "
                            "with a chart of offered and SL (I)",
                            lambda: self.action_switch_mode("intraday"))
        yield SystemCommand("Abandoned", "Today's abandoned contacts, VIP first; call them "
                            "back (A)", lambda: self.action_switch_mode("abandoned"))
        yield SystemCommand("Teams", "Per team: agents by state, occupancy now, longest "
                            "in state, AHT today (M)", lambda: self.action_switch_mode("teams"))
        yield SystemCommand("Vendors", "Per vendor or site: SL against its contract, AHT, "
                            "abandon, adherence, agents by state (V)",
                            lambda: self.action_switch_mode("vendors"))
        yield SystemCommand("Audit log", "Who did what, live (L)",
                            lambda: self.switch_mode("audit"))
        yield SystemCommand("Sources", "Health, requests, latency and API budget of each "
                            "source (S)", lambda: self.action_switch_mode("sources"))
        yield SystemCommand("Thresholds", "Live SL targets, escalation limits and notice "
                            "policy: admins change them for every console (T)",
                            lambda: self.action_switch_mode("thresholds"))
        yield SystemCommand("Crisis communications", "Declare an incident, message "
                            "customers and agents, watch deliveries (c)",
                            lambda: self.action_switch_mode("crisis"))
        yield SystemCommand("Snooze notices", "Snooze the categories of the last "
                            "new-critical notice (N); type \"notices\" for each category",
                            self.action_snooze_notices)
        yield SystemCommand("Help", "Keys and metric definitions (?)", self.action_help)


if TYPE_CHECKING:
    def _implements(app: SupervisorApp, state: ConsoleState) -> tuple[AppView, ConsoleView]:
        """Never called: mypy checks here that the app and its state provide what
        screens are promised (``ui.view``)."""
        return app, state
