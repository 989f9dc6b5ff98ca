"""Dashboard: headline KPIs, one row per queue, and the contacts waiting too long."""

from __future__ import annotations

from functools import partial
from operator import attrgetter
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.command import Hit, Hits, Provider
from textual.containers import Horizontal
from textual.content import Content

from supervisor_tui.domain import fmt
from supervisor_tui.domain.board import Board, QueueRow, sl_status
from supervisor_tui.domain.escalation import Severity, count_by_severity
from supervisor_tui.domain.groups import GroupBand, group_bands
from supervisor_tui.domain.text import clean
from supervisor_tui.domain.tiers import TierBlock
from supervisor_tui.ui.screens.base import BoardScreen
from supervisor_tui.ui.widgets.adherence import totals_text
from supervisor_tui.ui.widgets.grid import Grid
from supervisor_tui.ui.widgets.group_band import band_line, group_tiles, groups_summary
from supervisor_tui.ui.widgets.keys_footer import KeysFooter
from supervisor_tui.ui.widgets.kpi import KpiTile
from supervisor_tui.ui.widgets.lean import LeanText
from supervisor_tui.ui.widgets.status_bar import StatusBar
from supervisor_tui.ui.widgets.surveys import SurveyTile, has_scores
from supervisor_tui.ui.widgets.surveys import tile as survey_tile
from supervisor_tui.ui.widgets.tables import TIER_STYLE, queue_columns, wait_cell
from supervisor_tui.ui.widgets.tiers import centre_line, not_reported_note, tier_columns

_WAITING = attrgetter("waiting")

ALL_CLEAR = Text("✓ No contact is waiting past its queue's threshold", "green")


def escalation_text(board: Board, now_age: float, at_least: bool = False) -> Text:
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
        text.append_text(wait_cell(item.wait_s + now_age, item.queue.threshold_s, at_least))
        if item.contact.tier.value != "standard":
            text.append(f" {item.contact.tier.value.upper()}", "bold magenta")
    return text


def escalation_list(board: Board, now_age: float, at_least: bool = False) -> Text:
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
        wait = wait_cell(item.wait_s + now_age, item.queue.threshold_s, at_least)
        wait.pad_left(8 - wait.cell_len)
        text.append_text(wait)
        text.append(f" (target {fmt.threshold(item.queue.threshold_s)})  ", "dim")
        text.append(f"{c.tier.value.upper():<8}", TIER_STYLE[c.tier] or "dim")
        text.append(f" {clean(c.id, 16)}  {clean(c.customer or '', 30)}")
        if c.flags:
            text.append("  " + ", ".join(f.value.replace("_", " ") for f in c.flags), "yellow")
    return text


class GroupBands(Provider):
    """Command palette on the dashboard: any queue group's band by name (with many groups,
    g alone is a long walk)."""

    async def search(self, query: str) -> Hits:
        screen = self.screen
        if not isinstance(screen, DashboardScreen):
            return
        matcher = self.matcher(query)
        for name in [None, *screen.sup.config.groups]:
            # Content, not markup: a group name is shown as written.
            label = f"Band: {clean(name, 60)}" if name else "Band: centre (all queues)"
            score = matcher.match(label)
            if score > 0:
                yield Hit(score, Content(label), partial(screen.show_band, name),
                          help="the dashboard's KPI tiles for this queue group (g cycles)")


class DashboardScreen(BoardScreen):
    COMMANDS: ClassVar = {GroupBands}
    # The adherence tile only with a schedule loaded; seven tiles then share 80 columns.
    DEFAULT_CSS = """
    DashboardScreen #kpi-adherence { display: none; }
    DashboardScreen #kpis.-adherence #kpi-adherence { display: block; }
    DashboardScreen #kpis.-adherence KpiTile { min-width: 10; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "sort", "Sort"),
        Binding("w", "window", "Window"),
        Binding("0", "unsort", "Unsort", show=False),
        Binding("g", "band", "Group band"),
        Binding("t", "columns", "Tiers"),
    ]
    # The queue table's column set: "standard" (the queue's own figures) or "tiers"
    # (VIP / gold / standard SL, abandon, ASA, offered); t switches.
    column_set: str = "standard"
    # The KPI band shows the centre (None) or one [groups] group; g cycles.
    band: str | None = None
    _bands_for: tuple[object, str] | None = None  # (board, window) _bands was built for
    _bands: tuple[GroupBand, ...] = ()

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        if self.sup.config.groups:  # (no groups configured: the band is as it always was)
            yield LeanText(id="band-label")
        with Horizontal(id="kpis"):
            yield KpiTile("Service level", id="kpi-sl")
            yield KpiTile("Waiting", id="kpi-waiting")
            yield KpiTile("Longest wait", id="kpi-longest")
            yield KpiTile("Agents avail", id="kpi-agents")
            yield KpiTile("Abandoned", id="kpi-abandon")
            yield KpiTile("ASA", id="kpi-asa")
            yield SurveyTile("CSAT today", id="kpi-csat")  # once a response is in
            yield KpiTile("Adherence", id="kpi-adherence")  # shown with a schedule
        if self.sup.config.groups:
            yield LeanText(id="group-summary")
        grid: Grid = Grid(
            self._columns(),
            key_of=lambda r: r.queue.id,
            now=self.sup.state.data_now,
            empty_text="Waiting for the first poll…",
            id="queues",
        )
        note = LeanText(id="tier-note")  # tiers: which sources report none (t shows it)
        note.display = False
        yield note
        yield grid
        yield LeanText(id="escalations")
        yield LeanText(id="escalation-list")
        yield KeysFooter()

    def _trend(self, queue_id: str) -> str:
        return fmt.count_sparkline(self.sup.state.trends.series(queue_id), width=15)

    _columns_window: str | None = None

    def _columns(self) -> list:
        sup = self.sup
        key = sup.state.window_key
        board = sup.board
        label = self._window_label(key, short=True) if board else ""
        self._columns_window = f"{key}:{label}:{self.column_set}"
        if self.column_set == "tiers":
            return tier_columns(self._tiers_of, label, sup.config.console.min_sample,
                                frozen=sup.state.is_stale)
        forecasts = sup.state.forecasts  # "Need" from the forecast when one is loaded
        return queue_columns(self._trend, key, label, sup.config.console.min_sample,
                             frozen=sup.state.is_stale,
                             forecast_need=lambda r: forecasts.need(sup.board, r))

    def _tiers_of(self, row: QueueRow) -> TierBlock | None:
        board = self.sup.board
        if board is None:
            return None
        return self.sup.state.vendors.queue_tiers(board, row.queue.id, self.sup.state.window_key)

    def action_columns(self) -> None:
        """t: the queue table's columns between the queue's own and per customer tier."""
        self.column_set = "standard" if self.column_set == "tiers" else "tiers"
        self.query_one("#queues", Grid).set_columns(self._columns())
        board = self.sup.board
        if board is not None:
            self.show_board(board)
        self.notify("Columns: per customer tier (VIP, gold, standard), each SL against "
                    "its own target" if self.column_set == "tiers" else
                    "Columns: the queue's own figures", timeout=3, markup=False)

    def _show_tier_note(self, board: Board) -> None:
        note = self.query_one("#tier-note", LeanText)
        shown = self.column_set == "tiers"
        note.display = shown
        if shown:
            key = self.sup.state.window_key
            desk = self.sup.state.vendors

            def label(group: str) -> str:  # how many of the group's queues it covers
                rows = board.group_rows(group)
                split = sum(1 for r in rows if (b := self._tiers_of(r)) and b.tiers)
                return f"{fmt.GROUP_LABEL[group]} ({split}/{len(rows)} queues)"

            text = centre_line(((label(g), desk.centre_tiers(board, key, g))
                                for g in board.groups()), self.sup.config.console.min_sample)
            text.append("\n")
            text.append_text(not_reported_note((r, self._tiers_of(r)) for r in board.rows))
            text.append(f" per tier over {self._window_label(key)}, each SL against "
                        "its own target ([tiers])", "dim")
            note.update(text)

    def _window_label(self, key: str, short: bool = False) -> str:
        sup = self.sup
        board = sup.board
        if board is None:
            return key
        cfg = sup.config.console
        return fmt.window_label(board, key, cfg.policy.zone, cfg.interval_minutes, short)

    def action_window(self) -> None:
        key = self.sup.state.cycle_window()
        board = self.sup.board
        if board is not None:
            self.show_board(board)
        self.notify(f"Figures now cover {self._window_label(key)}", timeout=2)

    def key_refusal(self, action: str) -> str | None:
        # g only in the footer when there are groups to cycle; pressed anyway, it says how.
        if action == "band" and not self.sup.config.groups:
            return "no [groups] configured"
        return super().key_refusal(action)

    def action_band(self) -> None:
        names = list(self.sup.config.groups)
        if not names:
            self.notify("No queue groups configured: add a [groups] table to the config "
                        "(NAME = [queue ids]) for a KPI band per group", timeout=6,
                        markup=False)
            return
        order: list[str | None] = [None, *names]
        self.show_band(order[(order.index(self.band) + 1) % len(order)
                             if self.band in order else 0])

    def show_band(self, name: str | None) -> None:
        """The band of group ``name`` (None: the centre's)."""
        self.band = name
        board = self.sup.board
        if board is not None:
            self._show_kpis(board)

    def group_bands(self, board: Board) -> tuple[GroupBand, ...]:
        """Every configured group's band over the window shown: worked out once per poll
        and window (the tick re-renders only the ages)."""
        key = self.sup.state.window_key
        if self._bands_for is None or self._bands_for[0] is not board or (
                self._bands_for[1] != key):
            self._bands = group_bands(board, self.sup.config.groups, key)
            self._bands_for = (board, key)
        return self._bands

    def _show_group_band(self, board: Board, label: str) -> bool:
        """The band line, the stacked summary, and the tiles when a group is chosen;
        False when the centre's tiles are to be shown."""
        if not self.sup.config.groups:
            return False
        sup = self.sup
        min_n = sup.config.console.min_sample
        bands = self.group_bands(board)
        band = next((b for b in bands if b.name == self.band), None)
        self.query_one("#band-label", LeanText).update(
            band_line(band, [b.name for b in bands], len(board.rows), min_n))
        now = sup.state.data_now()
        stale = sup.state.is_stale()
        self.query_one("#group-summary", LeanText).update(
            groups_summary(bands, self.band, now, min_n, stale))
        if band is None:
            return False
        for tile_id, tile in group_tiles(band, label, now, min_n, stale).items():
            self.query_one(f"#{tile_id}", KpiTile).show(tile.value, tile.sub, tile.status,
                                                        title=tile.title)
        return True

    def on_mount(self) -> None:
        self.query_one("#queues", Grid).focus()
        # Escalations are evaluated just after each board is painted: show them then.
        self.watch(self.app, "escalations", lambda _: self._show_escalations(), init=False)

    def show_board(self, board: Board) -> None:
        grid = self.query_one("#queues", Grid)
        key = self.sup.state.window_key
        if self._columns_window != (f"{key}:{self._window_label(key, short=True)}:"
                                    f"{self.column_set}"):
            grid.set_columns(self._columns())  # the headers name the window
        grid.set_rows(board.rows)
        self._show_tier_note(board)
        self._show_kpis(board)

    def refresh_ages(self) -> None:
        board = self.sup.board
        if board is None:
            return
        self.query_one("#queues", Grid).refresh_changed()
        self._show_kpis(board)

    def _show_kpis(self, board: Board) -> None:
        """Headline tiles. Rates and times are per channel group (live: voice, chat,
        social; deferred: email), never a mix of a 20 s and a 1 h target. Each title
        names its window ("SL 15m", short enough for 80 columns) and each second line
        starts with its group; figures on fewer than the minimum sample are greyed with
        their count."""
        sup = self.sup
        stale = "stale" if sup.state.is_stale() else None
        key = sup.state.window_key
        label = self._window_label(key, short=True)
        self._show_surveys()
        self._show_adherence()
        if self._show_group_band(board, label):
            self._show_escalations(board)
            return
        min_n = sup.config.console.min_sample
        groups = board.groups() or ("live",)
        head = groups[0]
        other = groups[1] if len(groups) > 1 else None
        now = sup.state.data_now()
        frozen = "≥" if stale else ""

        def sl_value(group: str) -> tuple[str, str, float, int]:
            m = board.totals(key, group)
            target = board.target(key, group)
            value = m.service_level if m else None
            status = sl_status(value, target)
            shown, _ = fmt.sample_pct(value, m.sl_n if m else 0, min_n)
            return f"{fmt.SL_SYMBOL[status]} {shown}", status.value, target, m.sl_n if m else 0

        value, status, target, n = sl_value(head)
        # Sub-lines put the group and the sample first: a narrow tile cuts the end.
        sub = f"{fmt.GROUP_LABEL[head]} · n {n} · target {fmt.pct(target)}"
        if other is not None:
            other_value, _, _, _ = sl_value(other)
            sub += f" · {fmt.GROUP_LABEL[other]} {other_value}"
        self.query_one("#kpi-sl", KpiTile).show(
            value, sub, stale or ("low_sample" if n < min_n else status),
            title=f"SL {label}")

        waiting_sub = f"{board.over_threshold_count} over threshold"
        if other is not None:  # the parts that add up to the figure, then how many late
            live_waiting = sum(map(_WAITING, board.group_rows(head)))  # (in C: 5,000 rows)
            waiting_sub = (f"{fmt.GROUP_LABEL[head]} {live_waiting} · "
                           f"{fmt.GROUP_LABEL[other]} {board.waiting - live_waiting} · "
                           f"{board.over_threshold_count} late")
        self.query_one("#kpi-waiting", KpiTile).show(
            str(board.waiting), waiting_sub,
            stale or ("missed" if board.over_threshold_count else "ok"),
            title="Waiting")

        worst = board.worst_wait(None, now)
        if worst is None:
            self.query_one("#kpi-longest", KpiTile).show(
                fmt.DASH, "nobody waiting", stale, title="Longest")
        else:
            row, wait = worst
            over = wait > row.queue.threshold_s
            self.query_one("#kpi-longest", KpiTile).show(
                f"{frozen}{fmt.duration(wait)} of {fmt.threshold(row.queue.threshold_s)}",
                clean(row.queue.name, 30),
                stale or ("missed" if over else "ok"),
                title="Longest")

        agents = board.agents
        self.query_one("#kpi-agents", KpiTile).show(
            f"{agents.available} / {agents.staffed}",
            f"on {agents.on_contact} · acw {agents.after_contact_work} · away {agents.away}",
            stale or ("missed" if agents.available == 0 and board.waiting else None),
            title="Avail / in")

        m = board.totals(key, head)
        abandon = m.abandon_rate if m else None
        shown, few = fmt.sample_pct(abandon, m.abandon_n if m else 0, min_n)
        if abandon is not None:
            shown = fmt.pct(abandon, 1) + (f"·{m.abandon_n}" if few and m else "")
        self.query_one("#kpi-abandon", KpiTile).show(
            shown, f"{fmt.GROUP_LABEL[head]} · {fmt.abandon_parts(m.stats if m else None)}",
            stale or ("low_sample" if few and abandon is not None else
                      None if abandon is None else ("missed" if abandon > 0.05 else "ok")),
            title=f"Aband {label}")

        answered = m.stats.answered if m else 0
        asa = m.asa_s if m else None
        asa_text = fmt.duration(asa) + (f"·{answered}" if asa is not None
                                        and answered < min_n else "")
        aht_n = m.stats.handled if m else 0
        aht = fmt.duration(m.aht_s if m else None)
        self.query_one("#kpi-asa", KpiTile).show(
            asa_text,
            f"{fmt.GROUP_LABEL[head]} · n {answered} · AHT {aht}"
            f"{'·' + str(aht_n) if m and m.aht_s and aht_n < min_n else ''}",
            stale or ("low_sample" if asa is not None and answered < min_n else
                      sl_status(m.service_level if m else None, board.target(key, head)).value),
            title=f"ASA {label}")
        self._show_escalations(board)

    def _show_adherence(self) -> None:
        """Centre adherence today: (scheduled − out after grace) / scheduled seconds of
        the scheduled agents, from midnight (or the console's first sight) to now."""
        schedule = self.sup.state.schedule
        kpis = self.query_one("#kpis")
        kpis.set_class(schedule.has_schedule, "-adherence")
        if not schedule.has_schedule:
            return
        adh = schedule.now
        value, context = totals_text(adh.centre)
        since = (f" since {self.sup.state.local(adh.observed_since):%H:%M}"
                 if adh.observed_since is not None else "")
        stale = "stale" if self.sup.state.is_stale() else None
        self.query_one("#kpi-adherence", KpiTile).show(
            f"{value} n{adh.centre.agents}", context.replace("today", f"today{since}", 1),
            stale or ("no_data" if adh.centre.percent is None else
                      "at_risk" if adh.centre.out_now else "ok"),
            title="Adh today")

    def _show_surveys(self) -> None:
        """The centre's CSAT today once a scored response is in (none: no tile, the
        others keep their width): its n when under the minimum sample; NPS and FCR on
        the second line. Not beside a group's band: the figures are the centre's."""
        surveys = self.sup.state.surveys
        shown = has_scores(surveys.figures) and self.band is None
        self.query_one("#kpis").set_class(shown, "-surveys")
        if not shown:
            return
        tile = self.query_one("#kpi-csat", KpiTile)
        value, sub, status = survey_tile(surveys.figures, surveys.fcr,
                                         self.sup.config.console.min_sample)
        stale = "stale" if self.sup.state.is_stale() else None
        tile.show(value, sub, stale or status, title="CSAT today")

    def _show_escalations(self, board: Board | None = None) -> None:
        board = board or self.sup.board
        if board is None:
            return
        # On stale data the waits stop at the last data and read "≥".
        age = (self.sup.state.data_now() - board.taken_at).total_seconds()
        frozen = self.sup.state.is_stale()
        desk = self._desk_line()
        inline = Text.assemble(desk, "  ", escalation_text(board, age, frozen))
        self.query_one("#escalations", LeanText).update(inline)
        self.query_one("#escalation-list", LeanText).update(
            Text.assemble(desk, "\n", escalation_list(board, age, frozen)))

    _desk: tuple[object, object, Text] | None = None  # (escalations, states, line)

    def _desk_line(self) -> Text:
        """The escalation desk in one line: counts by severity and who owns what.

        Thousands of escalations at 50,000 agents: the line is kept while neither the
        escalations nor the shared states were renewed (and no snooze can run out)."""
        escalations, states = self.sup.escalations, self.sup.state.escalation_states
        kept = self._desk
        if kept is not None and kept[0] is escalations and kept[1] is states:
            return kept[2]
        line = self._desk_text()
        snoozed = any(st["state"] == "snoozed" for st in states.values())
        self._desk = None if snoozed else (escalations, states, line)
        return line

    def _desk_text(self) -> Text:
        shown = [e for e in self.sup.escalations if not self.sup.state.is_handled(e)]
        counts = count_by_severity(shown)
        crit, warn, info = (counts[s] for s in (Severity.CRITICAL, Severity.WARNING,
                                                Severity.INFO))
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append("Desk ", "bold")
        line.append(f"‼{crit} ", "bold red" if crit else "dim")
        line.append(f"!{warn} ", "yellow" if warn else "dim")
        line.append(f"·{info}", "cyan" if info else "dim")
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
