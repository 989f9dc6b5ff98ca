"""Wall terminal: a read-only screen that rotates through views, for a TV on the floor.

One screen with a ContentSwitcher of views (dashboard, queue groups, escalations,
agents), rotated by a timer. A new critical item (what counts: ``[wall] pause_on``)
holds the escalations view for at most one view's time (``pause_s``, default
``rotate_s``); rotation then goes on, and a red critical strip rides on every view for as
long as anything is critical. After a pause, a new one waits for one full rotation, so a
surge (a new critical every few seconds) never parks the wall on the desk. Nothing here
waits for a key: keys that would act are refused with the reason on screen, and nothing opens a
dialog. When the data is older than the stale limit, the whole screen says so: a
banner with the age in large digits, a heavy frame round the views, dimmed numbers.

Views render only while shown (a hidden view catches up when switched to), so a wall
with many views costs what one view costs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import ContentSwitcher, Static

from supervisor_tui.config.wall import (
    AGENTS,
    DASHBOARD,
    ESCALATIONS,
    QUEUES,
    QUEUES_PREFIX,
    VENDORS,
)
from supervisor_tui.domain import fmt
from supervisor_tui.domain.board import (
    DAY,
    INTERVAL,
    LIVE,
    Board,
    SLStatus,
    queue_name,
    sl_status,
)
from supervisor_tui.domain.escalation import (
    Escalation,
    EscalationKind,
    Severity,
    age_text,
    count_by_severity,
)
from supervisor_tui.domain.model import HealthStatus
from supervisor_tui.domain.text import clean
from supervisor_tui.store import TAKEN
from supervisor_tui.ui.screens.base import BoardScreen
from supervisor_tui.ui.view import AppView
from supervisor_tui.ui.widgets.status_bar import StatusBar
from supervisor_tui.ui.widgets.vendor_wall import vendor_summary, vendor_table
from supervisor_tui.ui.widgets.wall import (
    STATUS_RANK,
    STATUS_WORD,
    BigTile,
    LinesBoard,
    QueueBoard,
    ScaledDigits,
    TileGrid,
)

if TYPE_CHECKING:
    from supervisor_tui.config import Config

# Keys that act somewhere in the console, and what they would have done: on the wall
# each is refused with its reason instead of silently doing nothing.
REFUSED_KEYS: tuple[tuple[str, str], ...] = (
    ("k", "acknowledge an escalation"), ("t", "take an escalation"),
    ("x", "resolve an escalation"), ("o", "reopen or overflow"), ("n", "add a note"),
    ("r", "reassign a contact"), ("m", "move agents"), ("s", "sort"), ("0", "unsort"),
    ("f", "filter agents"), ("u", "filter by queue"), ("slash", "search"),
    ("h", "show resolved escalations"), ("y", "confirm an action"), ("space", "select"),
    ("enter", "open a queue"), ("L", "open the audit log"),
    ("c", "open crisis communications"), ("S", "open the sources screen"),
)
REFUSAL_SHOWN_S = 8.0
# Escalations fetched for a list: more than any wall shows, far fewer than a meltdown has.
LIST_LIMIT = 60

WAITING = "Waiting for the first poll…"

SEVERITY_BADGE: dict[str, tuple[str, str]] = {
    Severity.CRITICAL: (" ‼ CRITICAL ", "bold white on red"),
    Severity.WARNING: (" ! WARNING  ", "bold black on yellow"),
    Severity.INFO: (" · INFO     ", "bold cyan"),
}


def view_title(name: str) -> str:
    if name.startswith(QUEUES_PREFIX):
        return f"Queues: {clean(name.removeprefix(QUEUES_PREFIX), 40)}"
    return {DASHBOARD: "Dashboard", QUEUES: "All queues", ESCALATIONS: "Escalations",
            AGENTS: "Agents", VENDORS: "Vendors"}[name]


def unhandled(sup: AppView) -> list[Escalation]:
    return [e for e in sup.escalations if not sup.state.is_handled(e)]


def critical_count(sup: AppView) -> int:
    count = 0
    for esc in sup.escalations:  # sorted most severe first: stop at the first non-critical
        if esc.severity != Severity.CRITICAL:
            break
        if not sup.state.is_handled(esc):
            count += 1
    return count


class WallView(Vertical):
    """One view in the rotation; renders from the app's current board and escalations."""

    DEFAULT_CSS = "WallView { height: 1fr; }"

    def update_view(self, sup: AppView) -> None:
        """Render from the app's state. Override."""


class DashboardView(WallView):
    def compose(self) -> ComposeResult:
        with TileGrid(classes="wall-kpis"):
            yield BigTile("Service level", sample="100%", id="wall-sl")
            yield BigTile("Waiting", sample="888", id="wall-waiting")
            yield BigTile("Longest wait", sample="88:88", id="wall-longest")
            yield BigTile("Agents free / in", sample="88/88", id="wall-agents")
            yield BigTile("Abandoned", sample="88.8%", id="wall-abandon")
            yield BigTile("Avg speed of answer", sample="88:88", id="wall-asa")
        yield QueueBoard(cast("AppView", self.app).state.data_now, id="wall-dash-queues")

    def update_view(self, sup: AppView) -> None:
        board = sup.board
        if board is None:
            return
        self._tiles(sup, board)
        self.query_one(QueueBoard).set_rows(board.rows)

    def _tiles(self, sup: AppView, board: Board) -> None:
        """The dashboard's rule: rates and times per channel group (live first; email
        apart), the longest wait against its own queue's threshold, window named."""
        groups = board.groups() or (LIVE,)
        head = groups[0]
        other = groups[1] if len(groups) > 1 else None
        group = fmt.GROUP_LABEL[head]
        interval = board.totals(INTERVAL, head)
        day = board.totals(DAY, head)
        target = board.target(INTERVAL, head)
        value = interval.service_level if interval else None
        status = sl_status(value, target)
        cfg = sup.config.console
        label = fmt.window_label(board, INTERVAL, cfg.policy.zone, cfg.interval_minutes)
        min_n = cfg.min_sample
        n = interval.sl_n if interval else 0
        shown, few = fmt.sample_pct(value, n, min_n)
        sub = (f"{group} · {label} · target {fmt.pct(target)} · n {n} · day "
               f"{fmt.pct(day.service_level if day else None)}")
        if other is not None:
            o = board.totals(INTERVAL, other)
            sub += f" · {fmt.GROUP_LABEL[other]} {fmt.pct(o.service_level if o else None)}"
        self.query_one("#wall-sl", BigTile).show(
            shown, STATUS_WORD[status] + (" · FEW CONTACTS" if few and value is not None
                                          else ""),
            "no_data" if few else status.value, sub)
        late = board.over_threshold_count
        self.query_one("#wall-waiting", BigTile).show(
            str(board.waiting),
            f"✗ {late} PAST THRESHOLD" if late else "✓ NONE LATE",
            "missed" if late else "ok")
        now = sup.state.data_now()
        worst = board.worst_wait(None, now)
        at_least = "≥" if sup.state.is_stale() else ""
        if worst is None:
            self.query_one("#wall-longest", BigTile).show(
                "0:00", "· NOBODY WAITING", "neutral", "oldest waiting now")
        else:
            row, wait = worst
            over = wait > row.queue.threshold_s
            self.query_one("#wall-longest", BigTile).show(
                at_least + fmt.duration(wait),
                "✗ PAST ITS TARGET" if over else "✓ WITHIN ITS TARGET",
                "missed" if over else "ok",
                f"{clean(row.queue.name, 30)} · target {fmt.threshold(row.queue.threshold_s)}")
        agents = board.agents
        none_free = agents.available == 0 and board.waiting > 0
        self.query_one("#wall-agents", BigTile).show(
            f"{agents.available}/{agents.staffed}",
            "✗ NONE FREE" if none_free else f"✓ {agents.available} FREE",
            "missed" if none_free else "ok",
            f"on {agents.on_contact} · acw {agents.after_contact_work} · away {agents.away}")
        abandon = interval.abandon_rate if interval else None
        if abandon is None:
            word, level = STATUS_WORD[SLStatus.NO_DATA], "no_data"
        elif abandon > 0.05:
            word, level = "✗ HIGH", "missed"
        else:
            word, level = "✓ OK", "ok"
        st = interval.stats if interval else None
        self.query_one("#wall-abandon", BigTile).show(
            fmt.pct(abandon, 1), word, level,
            f"{group} · {fmt.abandon_parts(st)} · {label}" if st else label)
        self.query_one("#wall-asa", BigTile).show(
            fmt.duration(interval.asa_s if interval else None),
            f"AHT {fmt.duration(interval.aht_s if interval else None)}", "neutral",
            f"{group} · {label}")


class QueuesView(WallView):
    """Every queue (``queue_ids`` None) or one configured group, worst first if crowded."""

    def __init__(self, queue_ids: Sequence[str] | None, *, id: str) -> None:
        super().__init__(id=id)
        self.queue_ids = queue_ids

    def compose(self) -> ComposeResult:
        yield Static(classes="wall-summary", markup=False)
        yield QueueBoard(cast("AppView", self.app).state.data_now)

    def update_view(self, sup: AppView) -> None:
        board = sup.board
        if board is None:
            return
        if self.queue_ids is None:
            rows, missing = list(board.rows), []
        else:
            by_id = board.rows_by_id
            rows = [by_id[q] for q in self.queue_ids if q in by_id]
            missing = [q for q in self.queue_ids if q not in by_id]
        self.query_one(QueueBoard).set_rows(rows, missing)
        counts = {s: 0 for s in STATUS_RANK}
        for row in rows:
            counts[row.status] += 1
        line = Text(no_wrap=True, overflow="ellipsis")
        styles = {SLStatus.MISSED: "bold white on red", SLStatus.AT_RISK: "bold black on yellow",
                  SLStatus.OK: "bold green", SLStatus.NO_DATA: "bold"}
        for status in (SLStatus.MISSED, SLStatus.AT_RISK, SLStatus.OK, SLStatus.NO_DATA):
            n = counts[status]
            if n or status is not SLStatus.NO_DATA:
                line.append(f" {n} {STATUS_WORD[status]} ", styles[status] if n else "dim")
                line.append("  ")
        line.append(f"{sum(r.waiting for r in rows)} waiting", "bold")
        self.query_one(".wall-summary", Static).update(line)


class VendorsView(WallView):
    """Each vendor's totals against its contract (ui/widgets/vendor_wall.py)."""

    def compose(self) -> ComposeResult:
        yield Static(classes="wall-summary", markup=False)
        yield Static(classes="wall-vendors", markup=False)

    def update_view(self, sup: AppView) -> None:
        board = sup.board
        if board is None:
            return
        key = sup.state.window_key
        rows = sup.state.vendors.vendors(board, key)
        cfg = sup.config.console
        window = fmt.window_label(board, key, cfg.policy.zone, cfg.interval_minutes)
        self.query_one(".wall-summary", Static).update(vendor_summary(rows, window))
        self.query_one(".wall-vendors", Static).update(vendor_table(rows, cfg.min_sample))


class EscalationsView(WallView):
    def compose(self) -> ComposeResult:
        with TileGrid(classes="wall-kpis wall-kpis-3"):
            yield BigTile("Critical", sample="888", id="wall-esc-critical")
            yield BigTile("Warning", sample="888", id="wall-esc-warning")
            yield BigTile("Info", sample="888", id="wall-esc-info")
        yield Static("Needs a human — most severe, then oldest, first", classes="wall-section",
                     markup=False)
        yield LinesBoard(cast("AppView", self.app).state.data_now, empty=WAITING)

    def update_view(self, sup: AppView) -> None:
        if sup.board is None:  # no data is not the same as nothing to do
            return
        shown = unhandled(sup)
        counts = count_by_severity(shown)
        crit, warn, info = (counts[Severity.CRITICAL], counts[Severity.WARNING],
                            counts[Severity.INFO])
        self.query_one("#wall-esc-critical", BigTile).show(
            str(crit), "‼ CRITICAL" if crit else "✓ NONE", "missed" if crit else "ok")
        self.query_one("#wall-esc-warning", BigTile).show(
            str(warn), "! WARNING" if warn else "✓ NONE", "at_risk" if warn else "ok")
        self.query_one("#wall-esc-info", BigTile).show(
            str(info), "· INFO" if info else "✓ NONE", "neutral" if info else "ok")
        lines = self.query_one(LinesBoard)
        lines.empty = Text("✓ Nothing needs a human right now", "bold green")
        lines.set_items(
            shown[:LIST_LIMIT], cast(Callable[[object, datetime], Text], escalation_line(sup)),
            lambda n: Text(f"+{n} more on the escalation desk", "bold"), total=len(shown))


def escalation_line(sup: AppView) -> Callable[[Escalation, datetime], Text]:
    def line(esc: Escalation, now: datetime) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        word, style = SEVERITY_BADGE[esc.severity]
        text.append(word, style)
        # The desk's rule: from the source's timestamps, "≥" when only first sight is
        # known or the data is stale.
        age = age_text(esc, now, sup.state.tracker.observing_since, sup.state.is_stale())
        text.append(f" {age:>7}  ", "bold")
        text.append(f"{queue_name(sup.board, esc.queue_id, 18):<18} ", "bold")
        text.append(clean(esc.describe(now), 160))
        state = sup.state.escalation_state(esc)
        if state is not None and state["state"] == TAKEN:
            text.append(f"  ◉ taken by {clean(state['owner'], 20)}", "bold")
        return text

    return line


AGENT_KINDS = {EscalationKind.AGENT_ACW: "ACW", EscalationKind.AGENT_AWAY: "AWAY",
               EscalationKind.AGENT_LONG_CONTACT: "LONG",
               EscalationKind.AGENT_ADHERENCE: "ADH"}


class AgentsView(WallView):
    def compose(self) -> ComposeResult:
        with TileGrid(classes="wall-kpis"):
            yield BigTile("Available", id="wall-ag-available")
            yield BigTile("On contact", id="wall-ag-on")
            yield BigTile("ACW", id="wall-ag-acw")
            yield BigTile("Away", id="wall-ag-away")
            yield BigTile("Logged in", id="wall-ag-staffed")
            yield BigTile("Offline", id="wall-ag-offline")
        yield Static("Agents past their limits", classes="wall-section", markup=False)
        yield LinesBoard(cast("AppView", self.app).state.data_now, empty=WAITING)

    def update_view(self, sup: AppView) -> None:
        board = sup.board
        if board is None:
            return
        flagged = [e for e in unhandled(sup) if e.kind in AGENT_KINDS]
        acw = sum(1 for e in flagged if e.kind == EscalationKind.AGENT_ACW)
        away = sum(1 for e in flagged if e.kind == EscalationKind.AGENT_AWAY)
        long = sum(1 for e in flagged if e.kind == EscalationKind.AGENT_LONG_CONTACT)
        agents = board.agents
        none_free = agents.available == 0 and board.waiting > 0
        self.query_one("#wall-ag-available", BigTile).show(
            str(agents.available), "✗ NONE FREE" if none_free else "✓ READY",
            "missed" if none_free else "ok", f"{board.waiting} waiting")
        self.query_one("#wall-ag-on", BigTile).show(
            str(agents.on_contact), f"! {long} LONG" if long else "· BUSY",
            "at_risk" if long else "neutral")
        self.query_one("#wall-ag-acw", BigTile).show(
            str(agents.after_contact_work),
            f"! {acw} OVER LIMIT" if acw else "✓ WITHIN LIMIT", "at_risk" if acw else "ok")
        self.query_one("#wall-ag-away", BigTile).show(
            str(agents.away), f"! {away} OVER LIMIT" if away else "✓ WITHIN LIMIT",
            "at_risk" if away else "ok")
        schedule = sup.state.schedule
        if schedule.has_schedule:  # the count out of schedule adherence now (after grace)
            adh = schedule.now.centre
            pct = "—" if adh.percent is None else f"{adh.percent:.0f}%"
            self.query_one("#wall-ag-staffed", BigTile).show(
                str(agents.staffed),
                f"! {adh.out_now} OUT OF ADHERENCE" if adh.out_now else "✓ ON SCHEDULE",
                "at_risk" if adh.out_now else "ok",
                f"adherence {pct} today · {adh.agents} scheduled")
        else:
            self.query_one("#wall-ag-staffed", BigTile).show(
                str(agents.staffed), "· LOGGED IN", "neutral")
        self.query_one("#wall-ag-offline", BigTile).show(
            str(agents.offline), "· LOGGED OFF", "neutral")

        def line(esc: Escalation, now: datetime) -> Text:
            text = Text(no_wrap=True, overflow="ellipsis")
            word, style = SEVERITY_BADGE[esc.severity]
            text.append(f" {AGENT_KINDS[esc.kind]:<4} {word.strip():<10} ", style)
            d = esc.duration_s(now)
            text.append(f" {fmt.duration(d):>7}  ", "bold")
            text.append(clean(esc.reason, 120))
            return text

        lines = self.query_one(LinesBoard)
        lines.empty = Text("✓ No agent is past an after-contact work or away limit",
                           "bold green")
        lines.set_items(
            flagged[:LIST_LIMIT], cast(Callable[[object, datetime], Text], line),
            lambda n: Text(f"+{n} more agents past their limits", "bold"), total=len(flagged))


class WallScreen(BoardScreen):
    """The wall: rotating read-only views, paused on critical, loud when stale."""

    CSS_PATH = "wall.tcss"
    # Our own breakpoint names, so the console's -short layout rules never apply here.
    # Six tiles in a row from 160 columns: each then holds "1:02:03" in large digits.
    # (ignore: Textual annotates these `ClassVar[...] | None`, which mypy reads as an
    # instance variable that a ClassVar may not override)
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [  # type: ignore[misc]
        (0, "-wall-narrow"), (160, "-wall-wide")]
    VERTICAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [  # type: ignore[misc]
        (0, "-wall-short"), (40, "-wall-tall")]
    AUTO_FOCUS = ""  # nothing to focus: no cursor, no input
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("d", "jump('dashboard')", "Dashboard", show=False),
        Binding("e", "jump('escalations')", "Escalations", show=False),
        Binding("a", "jump('agents')", "Agents", show=False),
        Binding("right", "step(1)", "Next view", show=False),
        Binding("left", "step(-1)", "Previous view", show=False),
        Binding("question_mark,f1", "wall_help", "Help", show=False),
        *(Binding(key, f"refuse('{what}')", show=False) for key, what in REFUSED_KEYS),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._order: list[str] = []  # rotation, as configured (names may repeat)
        self._ids: dict[str, str] = {}  # view name -> widget id
        self._position = 0
        self._current = ""
        self._paused = False
        self._timer: Timer | None = None
        self._pause_timer: Timer | None = None
        self._pause_until = 0.0  # (app monotonic) when the current pause ends
        self._pause_ended: float | None = None  # when the last pause ended
        self._pausing_seen: set[str] = set()  # ids of pausing items already accounted for
        self._refusal: str | None = None
        self._refusal_timer: Timer | None = None

    # -- building ----------------------------------------------------------------

    def compose(self) -> ComposeResult:
        wall = self.sup.config.wall
        self._order = list(wall.views)
        names = list(dict.fromkeys([*self._order, ESCALATIONS]))  # escalations: for pauses
        self._ids = {name: f"wall-view-{i}" for i, name in enumerate(names)}
        self._current = self._order[0]
        yield StatusBar(id="status")
        with Horizontal(id="wall-stale"):
            yield Static(id="wall-stale-word", markup=False)
            yield ScaledDigits("", id="wall-stale-age")
            yield Static(id="wall-stale-detail", markup=False)
        yield Static(id="wall-critical", markup=False)
        with ContentSwitcher(id="wall-views", initial=self._ids[self._current]):
            for name in names:
                yield self._make_view(name, self._ids[name])
        yield Static(id="wall-footer", markup=False)

    def _make_view(self, name: str, view_id: str) -> WallView:
        if name == DASHBOARD:
            return DashboardView(id=view_id)
        if name == ESCALATIONS:
            return EscalationsView(id=view_id)
        if name == AGENTS:
            return AgentsView(id=view_id)
        if name == QUEUES:
            return QueuesView(None, id=view_id)
        if name == VENDORS:
            return VendorsView(id=view_id)
        group = name.removeprefix(QUEUES_PREFIX)
        return QueuesView(self.sup.config.wall.queue_groups[group], id=view_id)

    def on_mount(self) -> None:
        self._timer = self.set_interval(self.sup.config.wall.rotate_s, self._rotate)
        self.watch(self.app, "escalations", self._escalations_changed, init=False)
        self._show_footer()

    # -- state -------------------------------------------------------------------

    @property
    def current_view(self) -> str:
        return self._current

    @property
    def paused(self) -> bool:
        return self._paused

    def _view(self, name: str) -> WallView:
        return self.query_one(f"#{self._ids[name]}", WallView)

    def _switch_to(self, name: str) -> None:
        self._current = name
        self.query_one("#wall-views", ContentSwitcher).current = self._ids[name]
        self._view(name).update_view(self.sup)
        self._show_footer()
        self.tick(ages=False)  # the status bar carries the view's title

    def _rotate(self) -> None:
        if self._paused or len(self._order) < 2 or not self.showing:
            return
        self._position = (self._position + 1) % len(self._order)
        self._switch_to(self._order[self._position])

    def _escalations_changed(self, _: object = None) -> None:
        if not self.showing:
            return
        sup = self.sup
        wall = sup.config.wall
        pausing = {e.id for e in unhandled(sup) if wall.pauses_on(e.severity, e.kind)}
        new = pausing - self._pausing_seen
        # Forget what cleared: if it comes back, it is new again.
        self._pausing_seen = pausing
        now = sup.state.monotonic()
        turn = wall.rotate_s * max(len(self._order), 1)
        rested = self._pause_ended is None or now - self._pause_ended >= turn
        if new and not self._paused and rested:
            self._start_pause(now)
        elif self._paused and not pausing:
            self._end_pause()  # all handled or gone: no need to hold the view
        elif self._current in (ESCALATIONS, AGENTS, DASHBOARD):
            self._view(self._current).update_view(sup)
        self._show_critical_strip()
        self._show_footer()

    def _start_pause(self, now: float) -> None:
        self._paused = True
        pause = self.sup.config.wall.pause_for_s
        self._pause_until = now + pause
        if self._timer is not None:
            self._timer.pause()
        if self._pause_timer is not None:
            self._pause_timer.stop()
        self._pause_timer = self.set_timer(pause, self._end_pause)
        self._switch_to(ESCALATIONS)

    def _end_pause(self) -> None:
        if not self._paused or not self.showing:
            return
        self._paused = False
        self._pause_ended = self.sup.state.monotonic()
        if self._pause_timer is not None:
            self._pause_timer.stop()
            self._pause_timer = None
        self._switch_to(self._order[self._position])  # back where rotation was
        if self._timer is not None:
            self._timer.reset()  # and a full turn there before moving on
            self._timer.resume()
        self._show_critical_strip()
        self._show_footer()

    def _show_critical_strip(self) -> None:
        """One line (more on a tall wall) of what is critical, on every view."""
        sup = self.sup
        strip = self.query_one("#wall-critical", Static)
        critical = [e for e in unhandled(sup) if e.severity == Severity.CRITICAL]
        self.set_class(bool(critical), "-wall-critical")
        if not critical:
            strip.update("")
            return
        now = sup.state.centre_now()
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append(f" ‼ {len(critical)} CRITICAL ", "bold white on red")
        for esc in critical[:4]:
            line.append("  ")
            line.append(clean(esc.describe(now), 80), "bold")
        if len(critical) > 4:
            line.append(f"  +{len(critical) - 4} more on the escalations view", "bold")
        strip.update(line)

    # -- BoardScreen hooks ---------------------------------------------------------

    def show_board(self, board: Board) -> None:
        self._view(self._current).update_view(self.sup)

    def refresh_ages(self) -> None:
        self._view(self._current).update_view(self.sup)
        self._show_critical_strip()
        if self._paused:
            self._show_footer()  # the countdown to the end of the pause

    def tick(self, ages: bool = True) -> None:
        super().tick(ages)
        if self.showing:
            self._show_stale()

    def title_text(self) -> str:
        title = view_title(self._current) if self._current else "Wall"
        return f"WALL · {title}" + (" · ROTATION PAUSED" if self._paused else "")

    # -- stale -------------------------------------------------------------------

    def _show_stale(self) -> None:
        sup = self.sup
        board = sup.board
        stale = board is not None and sup.state.is_stale()
        self.set_class(stale, "-wall-stale")
        if not stale or board is None:
            return
        age = sup.state.data_age_s()
        self.query_one("#wall-stale-word", Static).update(
            Text("⚠ STALE DATA\nNOT LIVE", "bold"))
        age_text = fmt.duration(age) if age is not None else "--"
        digits = self.query_one("#wall-stale-age", ScaledDigits)
        if digits.value != age_text:
            digits.update(age_text)
        digits.scale = 2 if self.has_class("-wall-tall") else 1  # the banner is 8 rows
        zone = sup.config.console.policy.zone
        detail = Text(no_wrap=True, overflow="ellipsis")
        detail.append("old (min:sec)\n", "bold")
        detail.append(f"last update {board.taken_at.astimezone(zone):%H:%M:%S}")
        for name, health in sup.state.health.items():
            if health.status is not HealthStatus.OK:
                word = "DOWN" if health.status is HealthStatus.DOWN else "degraded"
                detail.append(f"\n{clean(name, 24)} {word}: {clean(health.last_error or '?', 80)}")
        self.query_one("#wall-stale-detail", Static).update(detail)

    # -- footer ------------------------------------------------------------------

    def _show_footer(self) -> None:
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append(" WALL DISPLAY · read-only ", "bold reverse")
        line.append("  ")
        for i, name in enumerate(self._order):
            here = name == self._current and (i == self._position or self._paused)
            line.append("● " if here else "○ ", "bold" if here else "dim")
        line.append(f" {view_title(self._current)}", "bold")
        if self._refusal:
            line.append(f"   ✗ Refused: {self._refusal}", "bold white on red")
        elif self._paused:
            left = max(self._pause_until - self.sup.state.monotonic(), 0.0)
            line.append(f"  ‖ PAUSED · resumes in {fmt.duration(left)} ", "bold white on red")
        elif len(self._order) > 1:
            following = self._order[(self._position + 1) % len(self._order)]
            line.append(f"   next: {view_title(following)} · every "
                        f"{self.sup.config.wall.rotate_s:g} s", "dim")
        self.query_one("#wall-footer", Static).update(line)

    # -- keys: look, never act -----------------------------------------------------

    def action_jump(self, name: str) -> None:
        if name not in self._ids:
            return
        if name in self._order:
            self._position = self._order.index(name)
        self._switch_to(name)
        if self._timer is not None and not self._paused:
            self._timer.reset()

    def action_step(self, delta: int) -> None:
        self._position = (self._position + delta) % len(self._order)
        self.action_jump(self._order[self._position])

    def action_refuse(self, what: str) -> None:
        reason = f"{what} — this wall display is read-only; use a console without --wall"
        self._refusal = reason
        self.notify(reason, title="Refused", severity="warning", timeout=REFUSAL_SHOWN_S)
        if self._refusal_timer is not None:
            self._refusal_timer.stop()
        self._refusal_timer = self.set_timer(REFUSAL_SHOWN_S, self._clear_refusal)
        self._show_footer()

    def _clear_refusal(self) -> None:
        self._refusal = None
        if self.showing:
            self._show_footer()

    def action_wall_help(self) -> None:
        # A notice that goes away by itself: a help screen would wait for a key.
        wall = self.sup.config.wall
        self.notify(
            f"Read-only wall display. Views rotate every {wall.rotate_s:g} s; a new critical "
            f"item holds the escalations view for up to {wall.pause_for_s:g} s, and a red "
            "strip lists critical items on every view. d dashboard · e escalations · a agents · "
            "←/→ previous/next view · q quit.",
            title="Wall display", timeout=12)


def wall_settings(config: Config) -> Config:
    """The configuration a wall runs with: console settings overridden by ``[wall]``
    (its own stale limit, and its own bell, off by default)."""
    update: dict[str, object] = {"bell": config.wall.bell}
    if config.wall.stale_after_s is not None:
        update["stale_after_s"] = config.wall.stale_after_s
    return config.model_copy(update={"console": config.console.model_copy(update=update)})
