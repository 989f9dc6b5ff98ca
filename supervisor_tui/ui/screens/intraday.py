"""Intraday: today interval by interval beside the same day last week, for one queue or
one channel group, with a chart of offered and SL (issue 13, item 3).

Reads the store's closed intervals through ``ConsoleView.intervals`` (one query per
view and closed interval, not per poll) and adds the interval still open from the
board, marked "so far". Figures come from ``domain.intraday`` (metrics, samples).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from functools import partial
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.command import Hit, Hits, Provider
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Footer, Static

from supervisor_tui.domain import fmt
from supervisor_tui.domain.board import DEFERRED, INTERVAL, LIVE, Board
from supervisor_tui.domain.intraday import (
    IntervalFigures,
    Slot,
    beside,
    channels_of,
    day_bounds,
    figures,
    same_day_last_week,
)
from supervisor_tui.domain.text import clean
from supervisor_tui.export import INTERVAL_EXPORT_COLUMNS, interval_record, to_csv
from supervisor_tui.store.rows import IntervalRow
from supervisor_tui.ui.screens.base import BoardScreen
from supervisor_tui.ui.screens.export_file import ask_export, slug
from supervisor_tui.ui.widgets.interval_chart import axis, series
from supervisor_tui.ui.widgets.status_bar import StatusBar
from supervisor_tui.ui.widgets.tables import sl_cell

NO_HISTORY = ("No history yet: a row is stored for each queue as each interval closes "
              "(every {minutes} min), and last week's appear a week after that.")
GROUP_NAMES = {LIVE: "All live queues (voice, chat, social)", DEFERRED: "All email queues"}

View = tuple[str, str]  # ("group", LIVE) or ("queue", queue id)


class IntradayViews(Provider):
    """Command palette on the intraday screen: any queue or channel group by name."""

    async def search(self, query: str) -> Hits:
        screen = self.screen
        board = screen.sup.board if isinstance(screen, IntradayScreen) else None
        if not isinstance(screen, IntradayScreen) or board is None:
            return
        matcher = self.matcher(query)
        for view in screen.views(board):
            # Content, not markup: a queue name is data.
            label = f"Intraday: {clean(screen.name_of(view), 60)}"
            score = matcher.match(label)
            if score > 0:
                yield Hit(score, Content(label), partial(screen.show_view, view),
                          help="today by interval beside the same day last week")


class IntradayScreen(BoardScreen):
    COMMANDS: ClassVar = {IntradayViews}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("right_square_bracket", "view(1)", "Next queue", key_display="]"),
        Binding("left_square_bracket", "view(-1)", "Previous", key_display="["),
        Binding("x", "export", "Export CSV"),
    ]

    def __init__(self, view: View | None = None) -> None:
        super().__init__()
        self.view: View | None = view
        # Stored figures per (view, day): today's re-read when an interval closes (the
        # board's interval start moves on), last week's kept (they do not change), so
        # neither a poll nor switching back to a view reads the store again.
        self._today: dict[tuple[View, date], tuple[datetime, list[IntervalFigures]]] = {}
        self._before: dict[tuple[View, date], list[IntervalFigures]] = {}

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield Static(id="intraday-head", markup=False)
        with VerticalScroll(id="intraday-body"):
            yield Static(id="intraday-chart", markup=False)
            yield Static(id="intraday-table", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#intraday-body", VerticalScroll).focus()  # ↑ ↓ PgUp PgDn scroll

    # -- which view ---------------------------------------------------------------

    def views(self, board: Board) -> list[View]:
        """Channel groups first (live, email), then every queue by name."""
        groups: list[View] = [("group", g) for g in board.groups()]
        queues: list[View] = [("queue", r.queue.id) for r in
                              sorted(board.rows, key=lambda r: (r.queue.name.lower(),
                                                                r.queue.id))]
        return groups + queues

    def action_view(self, step: int) -> None:
        board = self.sup.board
        if board is None:
            return
        views = self.views(board)
        i = views.index(self.view) if self.view in views else -step
        self.show_view(views[(i + step) % len(views)])

    def show_view(self, view: View) -> None:
        """Show ``view`` (also the command palette's pick: a queue among 1,000)."""
        self.view = view
        if self.sup.board is not None:
            self.show_board(self.sup.board)
        self.tick(ages=False)  # the status bar names the view

    # -- export -------------------------------------------------------------------

    def action_export(self) -> None:
        """x: today's closed intervals of this view to a CSV file whose path is typed
        (``export_file``: the one way screens ask where)."""
        board = self.sup.board
        if board is None or self.view is None:
            return
        today = self.sup.state.local(board.taken_at).date()
        ask_export(self, f"Export today's closed intervals of {self.view_name()} (CSV) to",
                   f"intervals-{today}-{slug(self.view[1])}.csv",
                   lambda: self._export_text(today), "interval")

    def _export_text(self, today: date) -> tuple[str, int]:
        zone = self.sup.config.console.policy.zone
        formula = self.sup.config.console.sl_formula
        records = [interval_record(r, zone, formula) for r in self._rows(today)]
        return to_csv(records, INTERVAL_EXPORT_COLUMNS), len(records)

    def name_of(self, view: View | None) -> str:
        if view is None:
            return "Intraday"
        kind, key = view
        if kind == "group":
            return GROUP_NAMES.get(key, key)
        return self.queue_name(key)

    def view_name(self) -> str:
        return self.name_of(self.view)

    # -- data -----------------------------------------------------------------------

    def _load(self, board: Board, today: date) -> tuple[list[IntervalFigures],
                                                          list[IntervalFigures]]:
        assert self.view is not None
        view, open_start = self.view, board.snapshot.interval_start
        cached = self._today.get((view, today))
        if cached is None or cached[0] != open_start:
            self._today = {k: v for k, v in self._today.items() if k[1] == today}
            self._today[(view, today)] = cached = (open_start, self._read(today))
        before = same_day_last_week(today)
        if (view, before) not in self._before:
            if len(self._before) > 64:  # a day of views, bounded
                self._before.clear()
            self._before[(view, before)] = self._read(before)
        return cached[1], self._before[(view, before)]

    def _rows(self, day: date) -> Sequence[IntervalRow]:
        """The view's stored intervals of ``day``: one queue's, or a channel group's
        summed per interval (queue_id "*")."""
        assert self.view is not None
        state, cfg = self.sup.state, self.sup.config.console
        kind, which = self.view
        start, end = day_bounds(day, cfg.policy)
        return (state.intervals(start, end, channels=channels_of(which)) if kind == "group"
                else state.intervals(start, end, queue_id=which))

    def _read(self, day: date) -> list[IntervalFigures]:
        return figures(self._rows(day), self.sup.config.console.sl_formula)

    def _so_far(self, board: Board) -> IntervalFigures | None:
        """The interval still open, from the board (its figures so far): the same
        totals the dashboard's tiles show, computed once per poll."""
        assert self.view is not None
        kind, which = self.view
        staffed: float | None = None
        needed: int | None = None
        if kind == "group":
            rows = board.group_rows(which)
            m = board.totals(INTERVAL, which) if rows else None
            target = board.target(INTERVAL, which)
        else:
            row = board.rows_by_id.get(which)
            rows = (row,) if row is not None else ()
            m = row.interval if row is not None else None
            target = row.queue.sl_target if row is not None else 0.0
            if row is not None:  # staffed vs need now, as the queue detail shows them
                staffed = row.effective_agents
                needed = row.staffing.needed if row.staffing is not None else None
        if m is None:
            return None
        return IntervalFigures(start=board.snapshot.interval_start,
                               minutes=self.sup.config.console.interval_minutes, metrics=m,
                               target=target, queues=len(rows), complete=False,
                               staffed=staffed, needed=needed)

    # -- rendering ------------------------------------------------------------------

    def show_board(self, board: Board) -> None:
        app = self.sup
        cfg = app.config.console
        views = self.views(board)
        if self.view not in views:
            self.view = views[0] if views else None
        head = self.query_one("#intraday-head", Static)
        chart = self.query_one("#intraday-chart", Static)
        table = self.query_one("#intraday-table", Static)
        if self.view is None:
            head.update(Text("No queues reported yet.", "dim"))
            return
        today = app.state.local(board.taken_at).date()
        before = same_day_last_week(today)
        if app.store is None:
            stored: tuple[list[IntervalFigures], list[IntervalFigures]] = ([], [])
        else:
            stored = self._load(board, today)
        now = self._so_far(board)
        mine = [f for f in stored[0] if f.start != board.snapshot.interval_start]
        if now is not None and app.state.local(now.start).date() == today:
            mine.append(now)
        slots = beside(mine, stored[1], cfg.policy)
        head.update(self._head(today, before, not stored[0] and not stored[1]))
        chart.update(self._chart(slots, board))
        table.update(self._table(slots, board))

    def _head(self, today: date, before: date, empty: bool) -> Text:
        cfg = self.sup.config.console
        text = Text()
        text.append(clean(self.view_name(), 60), "bold")
        if self.view is not None and self.view[0] == "queue":
            row = (self.sup.board.rows_by_id.get(self.view[1])
                   if self.sup.board is not None else None)
            if row is not None:
                q = row.queue
                text.append(f"  {q.channel.value} · target {fmt.pct(q.sl_target)} in "
                            f"{fmt.threshold(q.threshold_s)}", "dim")
        text.append(f"\n{cfg.interval_minutes}-min intervals, {today:%a %d %b} "
                    f"vs last week {before:%a %d %b} ({cfg.policy.tz}); [ ] switch, "
                    "ctrl+p picks a queue", "dim")
        if self.sup.store is None:
            text.append("\nNo store on this console: interval history is not kept.", "bold red")
        elif empty:
            text.append("\n" + NO_HISTORY.format(minutes=cfg.interval_minutes), "bold")
        return text

    def _chart(self, slots: Sequence[Slot], board: Board) -> Text:
        tall = self.size.height >= 40
        height = 2 if tall else 1
        text = Text()
        today = [s.today for s in slots]
        last = [s.last_week for s in slots]

        def offered(f: IntervalFigures | None) -> float | None:
            return float(f.stats.offered) if f is not None else None

        def sl(f: IntervalFigures | None) -> float | None:
            return f.metrics.service_level if f is not None else None

        top = max((f.stats.offered for f in today + last if f is not None), default=0)
        series(text, "Offered", [offered(f) for f in today], top, height, "bold cyan",
               note=f"today (max {top})")
        series(text, " last week", [offered(f) for f in last], top, height, "cyan")
        styles = [fmt.SL_STYLE[f.status] if f is not None else None for f in today]
        series(text, "SL", [sl(f) for f in today], 1.0, height, styles,
               note="today (0–100%, coloured by status)")
        series(text, " last week", [sl(f) for f in last], 1.0, height, "dim")
        text.append_text(axis([s.label for s in slots]))
        return text

    def _table(self, slots: Sequence[Slot], board: Board) -> Text:
        cfg = self.sup.config.console
        n = cfg.min_sample
        per_queue = self.view is not None and self.view[0] == "queue"
        header = ["Interval", "Off", "Ans", "Abn", "SL", "ASA", "AHT",
                  "St/Need" if per_queue else "", "LW Off", "LW SL"]
        rows: list[list[Text]] = []
        dash = Text(fmt.DASH, style="dim")

        def small(value: str, count: int, shown: bool) -> Text:
            return Text(f"{value}·{count}", "dim") if shown and count < n else Text(value)

        open_start = board.snapshot.interval_start
        for slot in slots:
            f, lw = slot.today, slot.last_week
            when = Text(slot.label)
            if f is not None and f.start == open_start:
                when = Text(f"{slot.label[:5]}-now", "italic")  # open: its figures so far
            elif f is not None and not f.complete:
                when.append(" ≥", "dim")  # the last poll's figures: may miss a few
            cells: list[Text] = [dash] * 7
            if f is not None:
                st, m = f.stats, f.metrics
                abandoned = st.abandoned - st.abandoned_short
                cells = [
                    Text(str(st.offered)), Text(str(st.answered)),
                    Text(f"{abandoned}" + (f"+{st.abandoned_short}" if st.abandoned_short
                                           else "")),
                    sl_cell(m.service_level, f.status, m.sl_n, n),
                    small(fmt.duration(m.asa_s), st.answered, m.asa_s is not None),
                    small(fmt.duration(m.aht_s), st.handled, m.aht_s is not None),
                    self._staffing(f) if per_queue else Text(""),
                ]
            lw_cells = [dash, dash]
            if lw is not None:
                lw_cells = [Text(str(lw.stats.offered), "dim"),
                            sl_cell(lw.metrics.service_level, lw.status, lw.metrics.sl_n, n)]
            rows.append([when, *cells, *lw_cells])
        # Laid out here as plain lines, not a rich Table: a Table is measured and
        # rendered again at every layout pass (tens of ms for 48 rows at 200x60).
        widths = [max([len(h), *(r[i].cell_len for r in rows)]) for i, h in enumerate(header)]
        text = Text()
        for i, h in enumerate(header):
            text.append((h.ljust if i == 0 else h.rjust)(widths[i]) + " ", "bold")
        for r in rows:
            text.append("\n")
            for i, cell in enumerate(r):
                pad = " " * (widths[i] - cell.cell_len)
                if i:
                    text.append(pad)
                text.append_text(cell)
                text.append(" " if i else pad + " ")
        text.append(
            f"\n\nEach row: contacts that left the queue in that interval. Abn: "
            f"counted+short. ·n greyed: under {n} contacts behind it. "
            + ("St/Need: effective agents / Erlang C need at the interval's last poll. "
               if per_queue else "")
            + "≥: the last poll's figures (the boundary was missed). LW: same day last "
            "week, same local interval.", "dim")
        return text

    @staticmethod
    def _staffing(f: IntervalFigures) -> Text:
        if f.staffed is None:
            return Text(fmt.DASH, "dim")
        need = "?" if f.needed is None else str(f.needed)
        short = f.needed is not None and f.needed > f.staffed + 1e-9
        return Text(f"{f.staffed:.0f}/{need}", "bold red" if short else "")

    def title_text(self) -> str:
        return f"Intraday: {clean(self.view_name(), 40)}"
