"""Dashboard: headline KPIs, one row per queue, and the contacts waiting too long."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Footer

from supervisor_tui import fmt
from supervisor_tui.board import Board, sl_status
from supervisor_tui.escalation import count_by_severity
from supervisor_tui.safe_text import clean
from supervisor_tui.screens.base import BoardScreen
from supervisor_tui.widgets.grid import Grid
from supervisor_tui.widgets.kpi import KpiTile
from supervisor_tui.widgets.lean import LeanText
from supervisor_tui.widgets.status_bar import StatusBar
from supervisor_tui.widgets.tables import TIER_STYLE, queue_columns, wait_cell

ALL_CLEAR = Text("✓ No contact is waiting past its queue's threshold", "green")


def escalation_text(board: Board, now_age: float) -> Text:
    """One line: 'N over threshold' and the worst few inline (for short terminals)."""
    count = board.over_threshold_count
    if not count:
        return ALL_CLEAR
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"⚠ {count} over threshold", "bold red")
    for item in board.over_threshold:
        text.append("  │ ", "dim")
        text.append(clean(item.queue.name, 24), "bold")
        text.append(" ")
        text.append_text(wait_cell(item.wait_s + now_age, item.queue.threshold_s))
        if item.contact.tier.value != "standard":
            text.append(f" {item.contact.tier.value.upper()}", "bold magenta")
    return text


def escalation_list(board: Board, now_age: float) -> Text:
    """Summary line, then one line per worst contact (for taller terminals)."""
    count = board.over_threshold_count
    if not count:
        return ALL_CLEAR
    text = Text(no_wrap=True, overflow="ellipsis")
    shown = len(board.over_threshold)
    text.append(f"⚠ {count} contact(s) waiting past their queue's threshold", "bold red")
    if count > shown:
        text.append(f" — worst {shown}:", "dim")
    for item in board.over_threshold:
        c = item.contact
        text.append("\n  ")
        text.append(f"{clean(item.queue.name, 24):<24}", "bold")
        wait = wait_cell(item.wait_s + now_age, item.queue.threshold_s)
        wait.pad_left(8 - wait.cell_len)
        text.append_text(wait)
        text.append(f" (target {fmt.threshold(item.queue.threshold_s)})  ", "dim")
        text.append(f"{c.tier.value.upper():<8}", TIER_STYLE[c.tier] or "dim")
        text.append(f" {clean(c.id, 16)}  {clean(c.customer or '', 30)}")
        if c.flags:
            text.append("  " + ", ".join(f.value.replace("_", " ") for f in c.flags), "yellow")
    return text


class DashboardScreen(BoardScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "sort", "Sort"),
        Binding("0", "unsort", "Unsort", show=False),
    ]

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        with Horizontal(id="kpis"):
            yield KpiTile("Service level", id="kpi-sl")
            yield KpiTile("Waiting", id="kpi-waiting")
            yield KpiTile("Longest wait", id="kpi-longest")
            yield KpiTile("Agents avail", id="kpi-agents")
            yield KpiTile("Abandoned", id="kpi-abandon")
            yield KpiTile("ASA", id="kpi-asa")
        grid: Grid = Grid(
            queue_columns(self._trend),
            key_of=lambda r: r.queue.id,
            now=self.sup.centre_now,
            empty_text="Waiting for the first poll…",
            id="queues",
        )
        yield grid
        yield LeanText(id="escalations")
        yield LeanText(id="escalation-list")
        yield Footer()

    def _trend(self, queue_id: str) -> str:
        return fmt.sparkline(self.sup.trends.series(queue_id), width=15)

    def on_mount(self) -> None:
        self.query_one("#queues", Grid).focus()
        # Escalations are evaluated just after each board is painted: show them then.
        self.watch(self.app, "escalations", lambda _: self._show_escalations(), init=False)

    def show_board(self, board: Board) -> None:
        grid = self.query_one("#queues", Grid)
        grid.set_rows(board.rows)
        self._show_kpis(board)

    def refresh_ages(self) -> None:
        board = self.sup.board
        if board is None:
            return
        self.query_one("#queues", Grid).refresh_changed()
        self._show_kpis(board)

    def _show_kpis(self, board: Board) -> None:
        stale = "stale" if self.sup.is_stale() else None
        interval = board.totals_interval
        day = board.totals_day
        now = self.sup.centre_now()
        label = self.sup.config.console.policy.label(board.taken_at)
        status = board.overall_status
        self.query_one("#kpi-sl", KpiTile).show(
            f"{fmt.SL_SYMBOL[status]} {fmt.pct(interval.service_level)}",
            f"target {fmt.pct(board.overall_target)} · day {fmt.pct(day.service_level)}",
            stale or status.value,
        )
        self.query_one("#kpi-waiting", KpiTile).show(
            str(board.waiting),
            f"{board.over_threshold_count} over threshold",
            stale or ("missed" if board.over_threshold_count else "ok"),
        )
        oldest = (
            (now - board.oldest_waiting_since).total_seconds()
            if board.oldest_waiting_since
            else None
        )
        self.query_one("#kpi-longest", KpiTile).show(
            fmt.duration(oldest), "oldest waiting now", stale
        )
        agents = board.agents
        self.query_one("#kpi-agents", KpiTile).show(
            f"{agents.available} / {agents.staffed}",
            f"on {agents.on_contact} · acw {agents.after_contact_work} · away {agents.away}",
            stale or ("missed" if agents.available == 0 and board.waiting else None),
        )
        abandon = interval.abandon_rate
        self.query_one("#kpi-abandon", KpiTile).show(
            fmt.pct(abandon, 1),
            f"{interval.stats.abandoned} in {label}",
            stale or (None if abandon is None else ("missed" if abandon > 0.05 else "ok")),
        )
        self.query_one("#kpi-asa", KpiTile).show(
            fmt.duration(interval.asa_s),
            f"AHT {fmt.duration(interval.aht_s)} · {label}",
            stale or sl_status(interval.service_level, board.overall_target).value,
        )
        self._show_escalations(board)

    def _show_escalations(self, board: Board | None = None) -> None:
        board = board or self.sup.board
        if board is None:
            return
        age = (self.sup.centre_now() - board.taken_at).total_seconds()
        desk = self._desk_line()
        inline = Text.assemble(desk, "  ", escalation_text(board, age))
        self.query_one("#escalations", LeanText).update(inline)
        self.query_one("#escalation-list", LeanText).update(
            Text.assemble(desk, "\n", escalation_list(board, age)))

    def _desk_line(self) -> Text:
        """The escalation desk in one line: counts by severity and who owns what."""
        shown = [e for e in self.sup.escalations if not self.sup.is_handled(e)]
        counts = count_by_severity(shown)
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append("Desk ", "bold")
        line.append(f"‼{counts['critical']} ", "bold red" if counts["critical"] else "dim")
        line.append(f"!{counts['warning']} ", "yellow" if counts["warning"] else "dim")
        line.append(f"·{counts['info']}", "cyan" if counts["info"] else "dim")
        top = next((e for e in shown if e.severity == "critical"), None)
        if top is not None:
            line.append(f"  {clean(top.reason, 70)}", "red")
        line.append("  (e)", "dim")
        return line

    def on_grid_selected(self, event: Grid.Selected) -> None:
        self.sup.open_queue(event.key)

    def action_sort(self) -> None:
        label = self.query_one("#queues", Grid).cycle_sort()
        self.notify(f"Sorted by {label}", timeout=2)

    def action_unsort(self) -> None:
        self.query_one("#queues", Grid).sort_by(None)

    def title_text(self) -> str:
        return "Dashboard"
