"""Sources: every configured platform's health, request counts, latencies and budget.

What a supervisor checks when numbers look wrong during an outage: which source is
down, since when, why (its last error, verbatim but cleaned), how hard we are
hitting its API and how much of the budget is left.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType

from supervisor_tui.domain import fmt
from supervisor_tui.domain.board import Board
from supervisor_tui.domain.model import HealthStatus, SourceHealth
from supervisor_tui.domain.text import clean
from supervisor_tui.sources.base import Source
from supervisor_tui.ui.screens.base import BoardScreen
from supervisor_tui.ui.widgets.grid import Column, Grid
from supervisor_tui.ui.widgets.keys_footer import KeysFooter
from supervisor_tui.ui.widgets.lean import LeanText
from supervisor_tui.ui.widgets.status_bar import HEALTH_MARK, StatusBar


@dataclass(frozen=True)
class SourceRow:
    source: Source
    health: SourceHealth


def _age(moment: datetime | None, now: datetime) -> str:
    return fmt.DASH if moment is None else fmt.duration((now - moment).total_seconds()) + " ago"


def _status(row: SourceRow, now: datetime) -> Text:
    mark, colour, word = HEALTH_MARK[row.health.status]
    return Text(f"{mark} {word}", style=colour if row.health.status is HealthStatus.OK
                else f"bold {colour}")


def _requests(row: SourceRow, now: datetime) -> str:
    stats = row.source.request_stats
    if stats is None:
        return fmt.DASH
    text = f"{stats.requests} / {stats.failures} failed"
    return text + (f" / {stats.rate_limited}×429" if stats.rate_limited else "")


def _latency(row: SourceRow, now: datetime) -> str:
    stats = row.source.request_stats
    p95 = stats.p95_ms() if stats is not None else None
    last = row.health.latency_ms
    parts = [f"{last:.0f} ms" if last is not None else fmt.DASH]
    if p95 is not None:
        parts.append(f"p95 {p95:.0f}")
    return " · ".join(parts)


def _budget(row: SourceRow, now: datetime) -> str:
    budget = row.source.budget
    if budget is None:
        return "unlimited"
    return f"{budget.remaining()} of {budget.limit} / {budget.window_s:g}s"


def source_columns(default_interval: float) -> list[Column[SourceRow]]:
    return [
        Column("name", "Source", 14, lambda r, now: clean(r.source.name, 30), priority=0),
        Column("kind", "Type", 10, lambda r, now: type(r.source).__name__.removesuffix(
            "Source").lower(), priority=3),
        Column("status", "Status", 11, _status, priority=0),
        Column("ok", "Last success", 13, lambda r, now: _age(r.health.last_success, now),
               align="right", priority=1),
        Column("poll", "Every", 6, lambda r, now: fmt.duration(
            r.source.poll_interval_s or default_interval), align="right", priority=4),
        Column("latency", "Latency", 16, _latency, align="right", priority=2),
        Column("requests", "Requests / failed", 20, _requests, align="right", priority=2),
        Column("budget", "API budget left", 18, _budget, align="right", priority=3),
        Column("provides", "Gives", 7, lambda r, now: r.source.provides, priority=5),
    ]


class SourcesScreen(BoardScreen):
    BINDINGS: ClassVar[list[BindingType]] = []

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield Grid(source_columns(self.sup.config.console.poll_interval_s),
                   key_of=lambda r: r.source.name, now=self.sup.state.clock,
                   empty_text="No sources configured", id="sources")
        yield LeanText(id="source-detail")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#sources", Grid).focus()
        self._show()

    def _rows(self) -> list[SourceRow]:
        health = self.sup.state.health
        return [SourceRow(s, health.get(s.name) or SourceHealth(name=s.name))
                for s in self.sup.state.sources]

    def _show(self) -> None:
        if not self._ready:
            return
        self.query_one("#sources", Grid).set_rows(self._rows())
        self._show_detail()

    def show_board(self, board: Board) -> None:
        self._show()

    def refresh_ages(self) -> None:
        self._show()

    def tick(self, ages: bool = True) -> None:
        super().tick(ages)
        if self.sup.board is None:  # a source down from the start: still show why
            self._show()

    def on_grid_highlighted(self, event: Grid.Highlighted) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        row = self.query_one("#sources", Grid).cursor_row
        text = Text(no_wrap=False)
        if row is not None:
            h = row.health
            text.append(f"{clean(row.source.name, 40)}: ", "bold")
            caps = ", ".join(sorted(c.value for c in row.source.capabilities))
            text.append(f"can {caps}. ", "dim")
            if h.consecutive_failures:
                text.append(f"{h.consecutive_failures} failure(s) in a row; ", "yellow")
            for note in h.notes:
                text.append("\n⚠ ", "yellow")
                text.append(clean(note, 200))
            if h.notes:
                text.append("\n")
            if h.last_error:
                when = _age(h.last_error_at, self.sup.state.clock())
                text.append(f"last error {when}: ", "bold red")
                text.append(clean(h.last_error, 300))
            else:
                text.append("no errors", "green")
        self.query_one("#source-detail", LeanText).update(text)

    def title_text(self) -> str:
        return "Sources"
