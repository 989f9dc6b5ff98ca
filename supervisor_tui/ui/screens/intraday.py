"""Intraday: today interval by interval beside the same day last week, for one queue or
one channel group, with a chart of offered and SL (issue 13, item 3).

Reads the store's closed intervals through ``ConsoleView.intervals`` (one query per
view and closed interval, not per poll) and adds the interval still open from the
board, marked "so far". Figures come from ``domain.intraday`` (metrics, samples).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from functools import partial
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.command import Hit, Hits, Provider
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from supervisor_tui.domain import fmt
from supervisor_tui.domain.board import DEFERRED, INTERVAL, LIVE, Board, QueueRow
from supervisor_tui.domain.forecast import (
    ForecastDay,
    Projection,
    SlotForecast,
    board_projection,
    scheduled_agents,
    variance,
    view_forecast,
)
from supervisor_tui.domain.intraday import (
    IntervalFigures,
    Slot,
    beside,
    channels_of,
    day_bounds,
    figures,
    same_day_last_week,
    slot_key,
)
from supervisor_tui.domain.text import clean
from supervisor_tui.export import INTERVAL_EXPORT_COLUMNS, interval_record, to_csv
from supervisor_tui.store.rows import IntervalRow
from supervisor_tui.ui.screens.base import BoardScreen
from supervisor_tui.ui.screens.export_file import ask_export, slug
from supervisor_tui.ui.widgets.interval_chart import axis, series
from supervisor_tui.ui.widgets.keys_footer import KeysFooter
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
        Binding("f", "forecast_columns", "Forecast/LW"),
    ]

    def __init__(self, view: View | None = None) -> None:
        super().__init__()
        self.view: View | None = view
        # Stored figures per (view, day): today's read again once a closed interval is
        # saved (after the paint of the first poll of the next interval, so the board's
        # interval start moving on is not enough), last week's kept (they do not
        # change), so neither a poll nor switching back to a view reads the store again.
        self._today: dict[tuple[View, date],
                          tuple[tuple[datetime, int], list[IntervalFigures]]] = {}
        self._before: dict[tuple[View, date], list[IntervalFigures]] = {}
        #: columns beside today's: the forecast's (when one is loaded) or last week's
        self.forecast_columns = True
        # A view's forecast by interval, worked out once per view, interval and forecast
        # read (required agents are an Erlang C search per queue and interval).
        self._fc_key: tuple[object, ...] | None = None
        self._fc_day: ForecastDay | None = None
        self._fc: dict[datetime, SlotForecast] = {}
        self._fc_scheduled: dict[str, dict[datetime, float]] | None = None
        #: the view shown has a forecast: only then does the footer offer f
        self._has_forecast = False

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield Static(id="intraday-head", markup=False)
        with VerticalScroll(id="intraday-body"):
            yield Static(id="intraday-chart", markup=False)
            yield Static(id="intraday-table", markup=False)
        yield KeysFooter()

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

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # f does nothing without a forecast for the view: not offered then
        if action == "forecast_columns":
            return self._has_forecast
        return True

    def action_forecast_columns(self) -> None:
        """f: the forecast's columns beside today's, or last week's."""
        self.forecast_columns = not self.forecast_columns
        if self.sup.board is not None:
            self.show_board(self.sup.board)

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
        view = self.view
        read_for = (board.snapshot.interval_start, self.sup.state.intervals_saved)
        cached = self._today.get((view, today))
        if cached is None or cached[0] != read_for:
            self._today = {k: v for k, v in self._today.items() if k[1] == today}
            self._today[(view, today)] = cached = (read_for, self._read(today))
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
        rows = self._queues(board)
        if not rows:
            return None
        if kind == "group":
            m = board.totals(INTERVAL, which)
            target = board.target(INTERVAL, which)
        else:
            row = rows[0]
            m, target = row.interval, row.queue.sl_target
            # staffed vs need now, as the queue detail shows them
            staffed = row.effective_agents
            needed = row.staffing.needed if row.staffing is not None else None
        if m is None:
            return None
        return IntervalFigures(start=board.snapshot.interval_start,
                               minutes=self.sup.config.console.interval_minutes, metrics=m,
                               target=target, queues=len(rows), complete=False,
                               staffed=staffed, needed=needed)

    # -- the forecast ---------------------------------------------------------------

    def _queues(self, board: Board) -> tuple[QueueRow, ...]:
        """The board rows of the view's queues."""
        assert self.view is not None
        kind, which = self.view
        if kind == "group":
            return board.group_rows(which)
        row = board.rows_by_id.get(which)
        return (row,) if row is not None else ()

    def _scheduled(self, board: Board, queues: Sequence[QueueRow], starts: list[datetime]
                   ) -> dict[str, dict[datetime, float]] | None:
        """Agents the imported schedule has on duty per queue and interval (None: no
        schedule imported today)."""
        schedule = self.sup.state.schedule
        if not schedule.has_schedule:
            return None
        minutes = self.sup.config.console.interval_minutes
        return {r.queue.id: scheduled_agents(board.snapshot.agents, schedule.entries_for,
                                             r.queue.id, starts, minutes) for r in queues}

    def _forecast(self, board: Board) -> tuple[ForecastDay | None,
                                               dict[datetime, SlotForecast],
                                               Projection | None]:
        """Today's forecast of the view by interval, and (one queue) its projected day
        SL; the per-interval part is kept until the interval, the forecast read or the
        schedule changes."""
        day = self.sup.state.forecasts.today(board)
        if day is None or self.view is None:
            return None, {}, None
        queues = self._queues(board)
        schedule = self.sup.state.schedule
        key = (self.view, id(day), board.snapshot.interval_start, schedule.loads)
        if key != self._fc_key:
            self._fc_day = day  # held while keyed on its id, so no later day reuses it
            starts = sorted({r.start for q in queues for r in day.rows(q.queue.id)})
            scheduled = self._scheduled(board, queues, starts)
            self._fc_key, self._fc_scheduled = key, scheduled
            self._fc = view_forecast(day, queues, self.sup.config.console.interval_minutes,
                                     scheduled)
        scheduled = self._fc_scheduled
        projection = None
        if self.view[0] == "queue" and queues:
            projection = board_projection(
                day, queues[0], board.taken_at,
                None if scheduled is None else scheduled.get(queues[0].queue.id))
        return day, self._fc, projection

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
        # Only intervals before the open one: a row stored for a later one (another
        # console's clock ahead, a simulator run at another speed) cannot be true yet.
        mine = [f for f in stored[0] if f.start < board.snapshot.interval_start]
        if now is not None and app.state.local(now.start).date() == today:
            mine.append(now)
        fday, fc, projection = self._forecast(board)
        fc_by_key = {slot_key(start, cfg.policy): f for start, f in fc.items()}
        keyed = {self._key_of(s): s for s in beside(mine, stored[1], cfg.policy)}
        if fc_by_key and self.forecast_columns:  # the rest of the day, as forecast
            for key, f in fc_by_key.items():
                if key not in keyed and f.contacts > 0:
                    keyed[key] = self._empty_slot(fc, key)
        keys = sorted(keyed)
        slots = [keyed[k] for k in keys]
        # (a view none of whose queues has a forecast keeps last week's columns)
        forecasts = [fc_by_key.get(k) for k in keys] if fday is not None and fc else None
        self._has_forecast = forecasts is not None
        self.refresh_keys()  # (the forecast's keys come and go with it)
        text = self._head(today, before, not stored[0] and not stored[1])
        if forecasts is not None:
            text.append_text(self._forecast_head(slots, forecasts, projection))
        head.update(text)
        chart.update(self._chart(slots, board, forecasts))
        table.update(self._table(slots, board, forecasts if self.forecast_columns else None))

    def _key_of(self, slot: Slot) -> tuple[int, int, int]:
        f = slot.today or slot.last_week
        assert f is not None
        return slot_key(f.start, self.sup.config.console.policy)

    def _empty_slot(self, fc: dict[datetime, SlotForecast], key: tuple[int, int, int]
                    ) -> Slot:
        """A slot with a forecast and nothing yet to set beside it (later today)."""
        policy = self.sup.config.console.policy
        start = next(s for s in fc if slot_key(s, policy) == key)
        local = start.astimezone(policy.zone)
        end = (start + timedelta(minutes=policy.minutes)).astimezone(policy.zone)
        return Slot(f"{local:%H:%M}-{end:%H:%M}" + ("²" if key[2] else ""), None, None)

    def _forecast_head(self, slots: Sequence[Slot],
                       forecasts: Sequence[SlotForecast | None],
                       projection: Projection | None) -> Text:
        """The day so far against its forecast, and (a queue) the projected day SL."""
        board = self.sup.board
        open_start = board.snapshot.interval_start if board is not None else None
        offered = fc_so_far = handled = 0.0
        handle_s = fc_handle = fc_n = 0.0
        total = 0.0
        for slot, f in zip(slots, forecasts, strict=True):
            if f is None:
                continue
            total += f.contacts
            t = slot.today
            if t is None:
                continue
            share = self._elapsed_share(t.start) if t.start == open_start else 1.0
            offered += t.stats.offered
            fc_so_far += f.contacts * share
            handled += t.stats.handled
            handle_s += t.stats.handle_s
            if f.aht_s is not None:
                fc_handle += f.contacts * share * f.aht_s
                fc_n += f.contacts * share
        text = Text("\nForecast ", "bold")
        text.append(f"{total:.0f} today; recorded so far {offered:.0f} vs {fc_so_far:.0f} "
                    f"({fmt.DASH if (v := variance(offered, fc_so_far)) is None else f'{v:+.0%}'})")
        aht = handle_s / handled if handled else None
        fc_aht = fc_handle / fc_n if fc_n else None
        text.append(f", AHT {fmt.duration(aht)} vs {fmt.duration(fc_aht)}")
        if aht is not None and fc_aht:
            text.append(f" ({aht / fc_aht - 1:+.0%})")
        if projection is not None and projection.service_level is not None:
            text.append("\nProjected day SL ", "bold")
            text.append(fmt.pct(projection.service_level), "bold")
            # (kept under 80 columns: the method is in the help, h)
            text.append(f"  so far {fmt.pct(projection.so_far)} of "
                        f"{projection.counted_so_far:.0f}, {projection.remaining_contacts:.0f}"
                        f" to come ({projection.basis().replace(' and ', '+')})", "dim")
        return text

    def _elapsed_share(self, start: datetime) -> float:
        """The part of the interval under way gone by (its forecast pro-rated to it)."""
        board = self.sup.board
        if board is None:
            return 1.0
        length = self.sup.config.console.interval_minutes * 60
        gone = (board.taken_at - start).total_seconds()
        return max(0.0, min(1.0, gone / length))

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

    def _chart(self, slots: Sequence[Slot], board: Board,
               forecasts: Sequence[SlotForecast | None] | None = None) -> Text:
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
        fc = [None if f is None else f.contacts for f in forecasts or []]
        top = max([top, *(round(c) for c in fc if c is not None)])
        def fits(note: str) -> str:  # a note that would wrap the line is left out
            return note if 12 + len(slots) + 1 + len(note) <= self.size.width - 2 else ""

        series(text, "Offered", [offered(f) for f in today], top, height, "bold cyan",
               note=fits(f"today (max {top})"))
        if forecasts is not None:
            series(text, " forecast", fc, top, height, "magenta")
        series(text, " last week", [offered(f) for f in last], top, height, "cyan")
        styles = [fmt.SL_STYLE[f.status] if f is not None else None for f in today]
        series(text, "SL", [sl(f) for f in today], 1.0, height, styles,
               note=fits("today (0–100%, coloured by status)") or fits("today"))
        series(text, " last week", [sl(f) for f in last], 1.0, height, "dim")
        text.append_text(axis([s.label for s in slots]))
        return text

    def _table(self, slots: Sequence[Slot], board: Board,
               forecasts: Sequence[SlotForecast | None] | None = None) -> Text:
        """Today's intervals with last week's beside them, or (``forecasts``) the
        forecast's: contacts, variance, AHT, and required / scheduled / logged-in agents."""
        cfg = self.sup.config.console
        n = cfg.min_sample
        per_queue = self.view is not None and self.view[0] == "queue"
        if forecasts is not None:
            header = ["Interval", "Off", "Fc", "Var", "Abn", "SL", "AHT", "FcAHT",
                      "Req/Sch/In"]
        else:
            header = ["Interval", "Off", "Ans", "Abn", "SL", "ASA", "AHT",
                      "St/Need" if per_queue else "", "LW Off", "LW SL"]
        rows: list[list[Text]] = []
        dash = Text(fmt.DASH, style="dim")

        def small(value: str, count: int, shown: bool) -> Text:
            return Text(f"{value}·{count}", "dim") if shown and count < n else Text(value)

        open_start = board.snapshot.interval_start
        for i, slot in enumerate(slots):
            f, lw = slot.today, slot.last_week
            when = Text(slot.label)
            if f is not None and f.start == open_start:
                when = Text(f"{slot.label[:5]}-now", "italic")  # open: its figures so far
            elif f is not None and not f.complete:
                when.append(" ≥", "dim")  # the last poll's figures: may miss a few
            abn = sl = aht = dash
            if f is not None:
                st, m = f.stats, f.metrics
                abandoned = st.abandoned - st.abandoned_short
                abn = Text(f"{abandoned}" + (f"+{st.abandoned_short}" if st.abandoned_short
                                             else ""))
                sl = sl_cell(m.service_level, f.status, m.sl_n, n)
                aht = small(fmt.duration(m.aht_s), st.handled, m.aht_s is not None)
            if forecasts is not None:
                rows.append([when, Text(str(f.stats.offered)) if f is not None else dash,
                             *self._forecast_cells(f, forecasts[i], open_start), abn, sl, aht,
                             *self._forecast_staffing(f, forecasts[i])])
                continue
            cells: list[Text] = [dash] * 7
            if f is not None:
                st, m = f.stats, f.metrics
                cells = [
                    Text(str(st.offered)), Text(str(st.answered)), abn, sl,
                    small(fmt.duration(m.asa_s), st.answered, m.asa_s is not None), aht,
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
        if forecasts is not None:
            text.append(
                "\n\nFc: forecast contacts (10:00-now: pro-rated to the minutes gone); Var: "
                "(offered - Fc) / Fc. Req: agents the forecast requires (Erlang C for "
                "voice, chat, social; workload / occupancy for email). Sch: scheduled "
                "(the imported schedule, else the forecast file). In: effective agents at "
                "the interval's last poll. f: last week's columns.", "dim")
            return text
        text.append(
            f"\n\nEach row: contacts that left the queue in that interval. Abn: "
            f"counted+short. ·n greyed: under {n} contacts behind it. "
            + ("St/Need: effective agents / Erlang C need at the interval's last poll. "
               if per_queue else "")
            + "≥: the last poll's figures (the boundary was missed). LW: same day last "
            "week, same local interval.", "dim")
        return text

    def _forecast_cells(self, f: IntervalFigures | None, fc: SlotForecast | None,
                        open_start: datetime) -> list[Text]:
        """Fc and Var of one interval (the one under way against its forecast so far)."""
        dash = Text(fmt.DASH, style="dim")
        if fc is None:
            return [dash, dash]
        share = self._elapsed_share(f.start) if f is not None and f.start == open_start \
            else 1.0
        expected = fc.contacts * share
        cell = Text(f"{expected:.0f}", "magenta")
        v = variance(f.stats.offered, expected) if f is not None else None
        if v is None:
            return [cell, dash]
        style = "bold red" if v >= 0.1 else ("cyan" if v <= -0.1 else "")
        return [cell, Text(f"{v:+.0%}", style)]

    @staticmethod
    def _forecast_staffing(f: IntervalFigures | None, fc: SlotForecast | None) -> list[Text]:
        """FcAHT and Req/Sch/In of one interval (red: fewer in than required)."""
        dash = Text(fmt.DASH, style="dim")
        logged = None if f is None or f.staffed is None else f.staffed
        if fc is None:
            return [dash, Text(f"—/—/{logged:.0f}" if logged is not None else fmt.DASH, "dim")]
        req = fmt.DASH if fc.required is None else str(fc.required)
        sch = fmt.DASH if fc.scheduled is None else f"{fc.scheduled:.0f}"
        got = fmt.DASH if logged is None else f"{logged:.0f}"
        short = fc.required is not None and logged is not None and logged < fc.required
        return [Text(fmt.duration(fc.aht_s), "magenta"),
                Text(f"{req}/{sch}/{got}", "bold red" if short else "")]

    @staticmethod
    def _staffing(f: IntervalFigures) -> Text:
        if f.staffed is None:
            return Text(fmt.DASH, "dim")
        need = "?" if f.needed is None else str(f.needed)
        short = f.needed is not None and f.needed > f.staffed + 1e-9
        return Text(f"{f.staffed:.0f}/{need}", "bold red" if short else "")

    def title_text(self) -> str:
        return f"Intraday: {clean(self.view_name(), 40)}"
