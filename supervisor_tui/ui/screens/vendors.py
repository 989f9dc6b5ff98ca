"""Vendors (V): one row per outsourcing vendor or site, its KPIs over the window shown
(w switches, as on the dashboard) against its contract, red where a contract KPI is
missed; Enter opens the vendor: its queues on the dashboard's columns and its agents.

Who is whose, and how each figure is counted, is ``domain.vendors`` (docs/vendors.md);
the figures are worked out once per poll and window by the console (``VendorView``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType

from supervisor_tui.domain import fmt
from supervisor_tui.domain.board import Board, SLStatus
from supervisor_tui.domain.model import Agent
from supervisor_tui.domain.text import clean
from supervisor_tui.domain.vendors import Miss, VendorFigures
from supervisor_tui.ui.screens.agent_detail import AgentDetailScreen
from supervisor_tui.ui.screens.base import BoardScreen
from supervisor_tui.ui.widgets.grid import Column, Grid
from supervisor_tui.ui.widgets.keys_footer import KeysFooter
from supervisor_tui.ui.widgets.lean import LeanText
from supervisor_tui.ui.widgets.status_bar import StatusBar
from supervisor_tui.ui.widgets.tables import (
    agent_columns,
    count_cell,
    dash_cell,
    num_key,
    queue_columns,
)

NO_VENDORS = "No vendor known (how to name one: above)"
#: said above the empty table in lines that fit 80 columns (a grid row would be cut)
HOW_TO_NAME = ("\n Add [vendors.NAME] (queues, teams, agents, contract) to the config,"
               "\n or use a source that reports each queue's or agent's site"
               " (docs/vendors.md).")
MISSED = "bold red"


def vendor_columns(min_sample: int) -> list[Column[VendorFigures]]:
    def sl(v: VendorFigures, now: datetime) -> Text:
        if v.sl is None:
            return dash_cell()
        status = v.sl_status
        text = f"{fmt.SL_SYMBOL[status]} {fmt.pct(v.sl)} n{v.sl_n}"
        if Miss.SL in v.misses:
            return Text(text, style=MISSED)
        if v.sl_n < min_sample:
            return Text(text, style="dim")
        return Text(text, style=fmt.SL_STYLE[status] if status is not SLStatus.OK else "green")

    def target(v: VendorFigures, now: datetime) -> Text:
        c = v.contract
        if c is None:
            return Text("none", style="dim")
        mark = "≠" if v.other_thresholds else ""  # some queues count at another threshold
        return Text(f"{fmt.pct(c.sl_target)}/{fmt.threshold(c.threshold_s)}{mark}")

    def against(value: float, show: Callable[[float], str], limit: float | None,
                sign: str, missed: bool, style: str = "") -> Text:
        """A figure with its contract limit ('4:10 ≤5:00'), red when missed."""
        text = show(value) if limit is None else f"{show(value)} {sign}{show(limit)}"
        return Text(text, style=MISSED if missed else style)

    def aht(v: VendorFigures, now: datetime) -> Text:
        m = v.figures
        if m is None or m.aht_s is None:
            return dash_cell()
        c = v.contract
        return against(m.aht_s, fmt.duration, None if c is None else c.aht_max_s, "≤",
                       Miss.AHT in v.misses)

    def abandon(v: VendorFigures, now: datetime) -> Text:
        m = v.figures
        if m is None or m.abandon_rate is None:
            return dash_cell()
        c = v.contract
        return against(m.abandon_rate, lambda x: fmt.pct(x, 1),
                       None if c is None else c.abandon_max, "≤", Miss.ABANDON in v.misses,
                       "dim" if m.abandon_n < min_sample else "")

    def adherence(v: VendorFigures, now: datetime) -> Text:
        if v.adherence is None:
            return dash_cell()
        c = v.contract
        return against(v.adherence, fmt.pct, None if c is None else c.adherence_min, "≥",
                       Miss.ADHERENCE in v.misses)

    def agents_cell(v: VendorFigures, now: datetime) -> Text:
        t = v.agents
        text = Text()
        text.append_text(count_cell(t.available, "green"))
        text.append("/", "dim")
        text.append_text(count_cell(t.on_contact, "cyan"))
        text.append("/", "dim")
        text.append_text(count_cell(t.after_contact_work, "magenta"))
        text.append("/", "dim")
        text.append_text(count_cell(t.away, "yellow"))
        if v.agents_from_queues:
            text.append("*", "dim")  # counted from its queues' agents (no agent of its own)
        return text

    def name(v: VendorFigures, now: datetime) -> Text:
        return Text(v.name, style="bold red" if v.misses else "")

    return [
        Column("name", "Vendor", 12, name, lambda v, now: v.name.casefold(), priority=0,
               flex=True, max_width=30),
        Column("queues", "Q", 3, lambda v, now: count_cell(len(v.rows), ""),
               lambda v, now: len(v.rows), align="right", priority=3),
        Column("sl", "SL", 12, sl, lambda v, now: num_key(v.sl),
               align="right", priority=0),
        Column("target", "Contract", 9, target, align="right", priority=0),
        Column("aht", "AHT", 11, aht,
               lambda v, now: num_key(None if v.figures is None else v.figures.aht_s),
               align="right", priority=1),
        Column("abandon", "Aband", 12, abandon,
               lambda v, now: num_key(None if v.figures is None else v.figures.abandon_rate),
               align="right", priority=0),
        Column("adherence", "Adh", 9, adherence,
               lambda v, now: num_key(v.adherence), align="right",
               priority=2),
        Column("agents", "Av/On/ACW/Aw", 12, agents_cell,
               lambda v, now: v.agents.available, align="right", priority=1),
        Column("in", "In", 4, lambda v, now: count_cell(v.agents.staffed, "bold"),
               lambda v, now: v.agents.staffed, align="right", priority=2),
    ]


class VendorsScreen(BoardScreen):
    DEFAULT_CSS = """
    #vendor-summary { height: auto; max-height: 5; background: $panel; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("w", "window", "Window"),
        Binding("s", "sort", "Sort"),
    ]

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield LeanText(id="vendor-summary")
        yield Grid(
            vendor_columns(self.sup.config.console.min_sample),
            key_of=lambda v: v.key,
            now=self.sup.state.data_now,
            empty_text=NO_VENDORS,
            id="vendors",
        )
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#vendors", Grid).focus()

    def rows(self, board: Board) -> tuple[VendorFigures, ...]:
        return tuple(self.sup.state.vendors.vendors(board, self.sup.state.window_key))

    def show_board(self, board: Board) -> None:
        rows = self.rows(board)
        self.query_one("#vendors", Grid).set_rows(rows)
        self._show_summary(board, rows)

    def refresh_ages(self) -> None:
        self.query_one("#vendors", Grid).refresh_changed()

    def _window_label(self, board: Board) -> str:
        cfg = self.sup.config.console
        return fmt.window_label(board, self.sup.state.window_key, cfg.policy.zone,
                                cfg.interval_minutes)

    def _show_summary(self, board: Board, rows: tuple[VendorFigures, ...]) -> None:
        """The window, how SL is counted, and what a mark means: every number's basis."""
        line = Text(no_wrap=True, overflow="ellipsis")
        missed = [v for v in rows if v.misses]
        line.append(f" {len(rows)} vendors · {self._window_label(board)}", "bold")
        if missed:
            line.append(f" · {len(missed)} missing their contract", "bold red")
        line.append("\n SL = in threshold / the formula's denominator, n · red: contract "
                    "missed", "dim")
        notes: list[str] = []
        if any(v.other_thresholds for v in rows):
            notes.append("≠ queue threshold ≠ contract's")
        if any(v.agents_from_queues for v in rows):
            notes.append("* its queues' agents")
        if rows and all(v.adherence is None for v in rows):
            notes.append("Adh —: no schedule")
        scope = self.sup.state.vendors.scope
        if scope is not None and scope.unknown:
            notes.append(f"⚠ scope names nothing known: {clean(', '.join(scope.unknown), 40)}")
        if notes:
            line.append("\n " + " · ".join(notes), "dim")
        if not rows:
            line.append(HOW_TO_NAME)
        self.query_one("#vendor-summary", LeanText).update(line)

    def action_window(self) -> None:
        self.sup.state.cycle_window()
        board = self.sup.board
        if board is not None:
            self.show_board(board)
            self.notify(f"Figures now cover {self._window_label(board)}", timeout=2)

    def action_sort(self) -> None:
        label = self.query_one("#vendors", Grid).cycle_sort()
        self.notify(f"Sorted by {label}", timeout=2)

    def on_grid_selected(self, event: Grid.Selected) -> None:
        board = self.sup.board
        if board is None or event.key is None:
            return
        vendor = next((v for v in self.rows(board) if v.key == event.key), None)
        if vendor is not None:
            self.app.push_screen(VendorDetailScreen(vendor.key, vendor.name))

    def title_text(self) -> str:
        return "Vendors"


class VendorDetailScreen(BoardScreen):
    """One vendor: its figures in a line, its queues on the dashboard's columns (Enter
    opens one) and its agents (Enter: the agent's detail); esc goes back."""

    DEFAULT_CSS = """
    VendorDetailScreen #vendor-line { height: auto; max-height: 2; background: $panel; }
    VendorDetailScreen #vendor-queues { height: 1fr; }
    VendorDetailScreen #vendor-agents { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,backspace", "app.pop_screen", "Back"),
        Binding("tab", "app.focus_next", "Switch table", show=False),
    ]

    def __init__(self, key: str, name: str) -> None:
        super().__init__()
        self.key = key
        self.name_shown = name

    def compose(self) -> ComposeResult:
        sup = self.sup
        yield StatusBar(id="status")
        yield LeanText(id="vendor-line")
        yield Grid(queue_columns(lambda qid: fmt.count_sparkline(
                       sup.state.trends.series(qid), width=15),
                   sup.state.window_key, "", sup.config.console.min_sample,
                   frozen=sup.state.is_stale),
                   key_of=lambda r: r.queue.id, now=sup.state.data_now,
                   empty_text="No queue of this vendor is reported now", id="vendor-queues")
        yield Grid(agent_columns(self.queue_name, lambda a: None),
                   key_of=lambda a: f"{a.source}:{a.id}", now=sup.state.data_now,
                   empty_text="No agent of this vendor is reported now", id="vendor-agents")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#vendor-queues", Grid).focus()

    def _vendor(self, board: Board) -> VendorFigures | None:
        rows = self.sup.state.vendors.vendors(board, self.sup.state.window_key)
        return next((v for v in rows if v.key == self.key), None)

    def show_board(self, board: Board) -> None:
        vendor = self._vendor(board)
        line = Text(no_wrap=True, overflow="ellipsis")
        if vendor is None:
            line.append(" This vendor is no longer known (config changed, or no source "
                        "reports it)", "bold red")
            self.query_one("#vendor-line", LeanText).update(line)
            return
        cells = {c.key: c for c in vendor_columns(self.sup.config.console.min_sample)}
        now = self.sup.state.data_now()
        line.append(f" {vendor.name} ", "bold")
        for key, label in (("sl", "SL"), ("target", "contract"), ("aht", "AHT"),
                           ("abandon", "aband"), ("adherence", "adh"),
                           ("agents", "av/on/acw/aw")):
            line.append(f" · {label} ", "dim")
            cell = cells[key].cell(vendor, now)
            line.append_text(cell if isinstance(cell, Text) else Text(str(cell)))
        self.query_one("#vendor-line", LeanText).update(line)
        self.query_one("#vendor-queues", Grid).set_rows(vendor.rows)
        agents = list(self.sup.state.vendors.vendor_agents(board, self.key))
        if not agents:  # none of its own: those serving its queues (as counted, *)
            seen: dict[int, Agent] = {}
            for row in vendor.rows:
                for agent in row.serving:
                    seen.setdefault(id(agent), agent)
            agents = list(seen.values())
        self.query_one("#vendor-agents", Grid).set_rows(agents)

    def refresh_ages(self) -> None:
        for grid in self.query(Grid):
            grid.refresh_changed()

    def on_grid_selected(self, event: Grid.Selected) -> None:
        if event.key is None:
            return
        if event.grid.id == "vendor-queues":
            self.sup.open_queue(event.key)
        else:
            self.app.push_screen(AgentDetailScreen([event.key]))

    def title_text(self) -> str:
        return f"Vendor: {self.name_shown}"
