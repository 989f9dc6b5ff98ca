"""Queue detail: waiting contacts oldest first, the agents who serve the queue, its
interval and day metrics, and Erlang C staffing (needed now vs staffed)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from supervisor_tui.domain import fmt
from supervisor_tui.domain.board import DAY, INTERVAL, Board, QueueRow, WindowMetrics
from supervisor_tui.domain.forecast import ForecastNeed
from supervisor_tui.domain.intraday import day_bounds
from supervisor_tui.domain.model import Agent, Contact
from supervisor_tui.domain.text import clean
from supervisor_tui.ui.screens.abandoned import callbacks_waiting
from supervisor_tui.ui.screens.agent_detail import AgentDetailScreen
from supervisor_tui.ui.screens.base import BoardScreen
from supervisor_tui.ui.screens.move_agents import MoveAgentsScreen
from supervisor_tui.ui.screens.reassign import ReassignScreen
from supervisor_tui.ui.widgets.grid import Grid
from supervisor_tui.ui.widgets.interval_chart import bar_lines
from supervisor_tui.ui.widgets.keys_footer import KeysFooter
from supervisor_tui.ui.widgets.status_bar import StatusBar
from supervisor_tui.ui.widgets.surveys import has_scores
from supervisor_tui.ui.widgets.surveys import summary as survey_summary
from supervisor_tui.ui.widgets.tables import agent_columns, contact_columns, sl_cell
from supervisor_tui.ui.widgets.tiers import tier_table


def _abandoned(m: WindowMetrics) -> str:
    """'9+1': abandons counted, and short ones apart (left out of the rate), as the
    intraday table writes them; one word, so a narrow column never wraps it."""
    st = m.stats
    return f"{st.abandoned - st.abandoned_short}+{st.abandoned_short}"


def metrics_table(row: QueueRow, columns: list[tuple[str, str]], min_sample: int) -> Table:
    """One column per window (key, label): SL, the counts that add up (offered =
    answered + abandoned + flowed out, by the counting rule), ASA, AHT."""
    table = Table(box=None, padding=(0, 1), expand=False, show_edge=False)
    table.add_column("", style="bold", no_wrap=True)
    windows: list[WindowMetrics | None] = []
    for key, label in columns:
        table.add_column(label, justify="right", no_wrap=True)  # a figure is one line
        windows.append(row.window(key))
    dash = Text(fmt.DASH, style="dim")

    def cells(fn: Callable[[WindowMetrics], Text | str]) -> list[Text | str]:
        return [fn(m) if m is not None else dash for m in windows]

    statuses = [row.status_in(key) for key, _ in columns]
    table.add_row("SL", *[sl_cell(m.service_level, st, m.sl_n, min_sample) if m else dash
                          for m, st in zip(windows, statuses, strict=True)])
    table.add_row("Offered", *cells(lambda m: str(m.stats.offered)))
    table.add_row("Answered", *cells(lambda m: str(m.stats.answered)))
    table.add_row("Aband+short", *cells(_abandoned))
    table.add_row("Aband rate", *cells(lambda m: fmt.pct(m.abandon_rate, 1)
                                         + (f"·{m.abandon_n}" if m.abandon_rate is not None
                                            and m.abandon_n < min_sample else "")))
    if any(m is not None and m.stats.flowed_out for m in windows):
        table.add_row("Flowed out", *cells(lambda m: str(m.stats.flowed_out)))
    table.add_row("ASA", *cells(lambda m: fmt.duration(m.asa_s)))
    table.add_row("AHT", *cells(lambda m: fmt.duration(m.aht_s)
                                + (f"·{m.stats.handled}" if m.aht_s is not None
                                   and m.stats.handled < min_sample else "")))
    return table


def forecast_need_text(fc: ForecastNeed, row: QueueRow) -> Text:
    """'Needed now 11 (fc)': the forecast's need for the interval under way, its inputs,
    and the live rates' need beside it."""
    text = Text("Needed now ")
    text.append(f"{fc.needed} (fc)", "bold")
    short = fc.needed - row.effective_agents
    text.append("  effective ")
    text.append(f"{row.effective_agents:.1f}", "bold red" if short > 1e-9 else "bold green")
    if short > 1e-9:
        text.append(f"  short {short:.1f}", "bold red")
    r = fc.row
    text.append(f"\nforecast {fc.row.minutes}-min interval: {r.contacts:.0f} × "
                f"{fmt.duration(r.aht_s)} AHT ({fc.method})", "dim")
    if row.staffing is not None:
        text.append(f"; live rates need {row.staffing.needed}", "dim")
    text.append("\n")
    return text


def staffing_text(row: QueueRow, fc: ForecastNeed | None = None) -> Text:
    text = Text()
    q = row.queue
    text.append("Erlang C ", "bold")
    text.append(f"target {fmt.pct(q.sl_target)} in {fmt.duration(q.threshold_s)}", "dim")
    if row.live_target:  # set on the Thresholds screen (T), not the source's own
        text.append(" * live", "yellow")
    text.append("\n")
    s = row.staffing
    if fc is not None:  # a forecast is loaded: "Need" is the forecast's, said so
        text.append_text(forecast_need_text(fc, row))
    elif s is None:
        n = row.shared.min_sample if row.shared else 10
        text.append(f"Too few contacts yet (under {n}) to estimate.\n", "dim")
    else:
        effective = s.effective
        short = s.needed - effective
        text.append("Needed now ")
        text.append(str(s.needed), "bold")
        text.append("  effective ")
        text.append(f"{effective:.1f}", "bold red" if short > 1e-9 else "bold green")
        if short > 1e-9:
            text.append(f"  short {short:.1f}", "bold red")
        text.append("\n")
        text.append(s.inputs() + "\n", "dim")
        if s.predicted_sl_with_staffed is not None:
            text.append(f"Predicted SL with {int(effective)} effective: ")
            text.append(fmt.pct(s.predicted_sl_with_staffed), "bold")
            text.append("\n")
    a = row.agents
    text.append(f"Agents: {a.available} avail · {a.on_contact} on · "
                f"{a.after_contact_work} ACW · {a.away} away")
    return text


class QueueDetailScreen(BoardScreen):
    DEFAULT_CSS = """
    QueueDetailScreen #queue-tiers { height: auto; max-height: 5; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,backspace", "app.pop_screen", "Back"),
        Binding("tab", "app.focus_next", "Switch table", show=False),
        Binding("r", "reassign", "Reassign"),
        Binding("o", "overflow", "Overflow"),
        Binding("m", "move_agents", "Move agents"),
        Binding("w", "window", "Window"),
    ]
    # Keys a viewer does not see (domain.roles.REQUIRED_ROLE; BoardScreen.check_action).
    GATED: ClassVar[dict[str, str]] = {"reassign": "reassign_contact",
                                       "overflow": "overflow", "move_agents": "move_agents"}

    def __init__(self, queue_id: str) -> None:
        super().__init__()
        self.queue_id = queue_id

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        with Horizontal(id="queue-summary"):
            yield Static(id="queue-metrics", markup=False)
            yield Static(id="queue-staffing", markup=False)
        yield Static(id="queue-tiers", markup=False)  # per customer tier (the window shown)
        with Horizontal(id="queue-lists"):
            with Vertical():
                yield Static("Waiting, oldest first", classes="section-title",
                             id="waiting-title", markup=False)
                yield Grid(
                    contact_columns(self._threshold, self.queue_name, with_queue=False),
                    key_of=lambda c: c.id,
                    now=self.sup.state.data_now,
                    empty_text="Nobody waiting",
                    id="waiting",
                )
            with Vertical():
                yield Static("Agents serving this queue", classes="section-title")
                yield Grid(
                    agent_columns(self.queue_name, lambda a: None),
                    key_of=lambda a: f"{a.source}:{a.id}",
                    now=self.sup.state.data_now,
                    empty_text="No agent has this skill",
                    id="serving",
                )
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#waiting", Grid).focus()
        self.query_one("#serving", Grid).sort_by("state")

    def _row(self) -> QueueRow | None:
        board = self.sup.board
        return board.rows_by_id.get(self.queue_id) if board else None

    def _threshold(self, contact: Contact) -> float:
        row = self._row()
        return row.queue.threshold_s if row else 0.0

    def show_board(self, board: Board) -> None:
        row = board.rows_by_id.get(self.queue_id)
        if row is None:
            self.query_one("#queue-metrics", Static).update(
                Text("This queue is no longer reported by any source.", "bold red")
            )
            return
        cfg = self.sup.config.console
        zone, minutes = cfg.policy.zone, cfg.interval_minutes
        keys = [INTERVAL]
        chosen = self.sup.state.window_key
        rolling = chosen if chosen not in (INTERVAL, DAY) else f"{cfg.rolling_minutes[0]}m"
        keys += [rolling, DAY]
        columns = [(k, fmt.window_label(board, k, zone, minutes, short=True)) for k in keys]
        self.query_one("#queue-metrics", Static).update(
            metrics_table(row, columns, cfg.min_sample))
        staffing = staffing_text(row, self.sup.state.forecasts.need(board, row))
        surveys = self.sup.state.surveys.figures
        if has_scores(surveys):  # (a centre without surveys gets no empty line)
            if not staffing.plain.endswith("\n"):
                staffing.append("\n")
            staffing.append("Surveys today ")
            staffing.append_text(survey_summary(surveys.queues.get(self.queue_id)))
            staffing.append("\n")
        chart = self._offered_today(board, row)
        if chart is not None:
            staffing.append("\n")
            staffing.append_text(chart)
        self.query_one("#queue-staffing", Static).update(staffing)
        self._show_tiers(board, chosen)
        self.query_one("#waiting", Grid).set_rows(board.waiting_by_queue.get(self.queue_id, ()))
        self.query_one("#waiting-title", Static).update(self._waiting_title(board))
        serving: tuple[Agent, ...] = board.agents_by_queue.get(self.queue_id, ())
        self.query_one("#serving", Grid).set_rows(serving)

    def _show_tiers(self, board: Board, key: str) -> None:
        """VIP, gold and standard over the window shown (w), each against its target."""
        cfg = self.sup.config.console
        block = self.sup.state.vendors.queue_tiers(board, self.queue_id, key)
        if block is None:
            return
        label = fmt.window_label(board, key, cfg.policy.zone, cfg.interval_minutes,
                                 short=True)
        self.query_one("#queue-tiers", Static).update(
            tier_table(block, label, cfg.min_sample))

    _today_key: tuple[date, datetime, int] | None = None
    _today_offered: tuple[int, ...] = ()

    def _offered_today(self, board: Board, row: QueueRow) -> Text | None:
        """Today's offered per interval (stored closed intervals, then the open one so
        far): one line of bars, shown once there is history (the intraday screen, I,
        has the rest)."""
        state, cfg = self.sup.state, self.sup.config.console
        today = state.local(board.taken_at).date()
        # Read again once a closed interval is saved (just after the paint of the next
        # interval's first poll), not every poll.
        key = (today, board.snapshot.interval_start, state.intervals_saved)
        if key != self._today_key:
            start, end = day_bounds(today, cfg.policy)
            self._today_key = key
            self._today_offered = tuple(
                r["offered"] for r in state.intervals(start, end, queue_id=self.queue_id)
                if datetime.fromisoformat(r["interval_start"]) < board.snapshot.interval_start)
        if not self._today_offered:
            return None
        values = [*self._today_offered, row.interval_stats.offered][-36:]
        top = max(values)
        # Bars first: on a short terminal the words are what gets cut.
        text = Text(bar_lines([float(v) for v in values], float(top), 1)[0], "bold cyan")
        text.append(f" offered per {cfg.interval_minutes} min today (max {top}; last: so far)",
                    "dim")
        return text

    def _waiting_title(self, board: Board) -> str:
        """The waiting list's title, with the call-backs among them (queued on the
        source, or tracked in the store) when there are any."""
        tracked = self.sup.state.tracked_callbacks() if board.snapshot.abandoned else []
        n = callbacks_waiting(board, tracked).get(self.queue_id, 0)
        return "Waiting, oldest first" + (f" · {n} call-back{'s' * (n > 1)}" if n else "")

    def _waiting(self) -> list[Contact]:
        board = self.sup.board
        return list(board.waiting_by_queue.get(self.queue_id, ())) if board else []

    def action_reassign(self) -> None:
        key = self.query_one("#waiting", Grid).cursor_key
        contact = next((c for c in self._waiting() if c.id == key), None)
        if contact is None:
            self.notify("No waiting contact selected", severity="warning")
            return
        self.app.push_screen(ReassignScreen([contact], self.queue_id))

    def action_overflow(self) -> None:
        waiting = self._waiting()
        if not waiting:
            self.notify("Nobody is waiting in this queue", severity="warning")
            return
        self.app.push_screen(ReassignScreen(waiting, self.queue_id, overflow=True))

    def on_grid_selected(self, event: Grid.Selected) -> None:
        if event.grid.id == "waiting":  # Enter on a waiting contact: reassign it
            self.action_reassign()
        elif event.grid.id == "serving" and event.key is not None:  # an agent's detail
            self.app.push_screen(AgentDetailScreen([event.key]))

    def action_window(self) -> None:
        """The rolling column cycles with the dashboard's window (w)."""
        self.sup.state.cycle_window()
        if self.sup.board is not None:
            self.show_board(self.sup.board)

    def action_move_agents(self) -> None:
        self.app.push_screen(MoveAgentsScreen(self.queue_id))

    def refresh_ages(self) -> None:
        for grid in self.query(Grid):
            grid.refresh_changed()

    def title_text(self) -> str:
        row = self._row()
        return f"Queue: {clean(row.queue.name, 40)}" if row else "Queue"
