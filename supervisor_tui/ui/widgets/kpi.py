"""KPI tile: a title, a big-ish value and a line of context; status as a CSS class."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical

from supervisor_tui.ui.widgets.lean import LeanText

STATUS_CLASSES = ("ok", "at_risk", "missed", "no_data", "stale", "low_sample")


class KpiTile(Vertical):
    DEFAULT_CSS = """
    KpiTile {
        width: 1fr;
        height: 6;  /* title, value, and two lines for the sub (channel group, sample) */
        min-width: 12;
        border: round $primary 50%;
        padding: 0 1;
    }
    KpiTile .kpi-title { color: $text-muted; text-style: bold; height: 1; }
    KpiTile .kpi-value { text-style: bold; height: 1; }
    KpiTile .kpi-sub { color: $text-muted; height: 2; }
    KpiTile.ok { border: round $success; }
    KpiTile.ok .kpi-value { color: $text-success; }
    KpiTile.at_risk { border: round $warning; }
    KpiTile.at_risk .kpi-value { color: $text-warning; }
    KpiTile.missed { border: heavy $error; }
    KpiTile.missed .kpi-value { color: $text-error; }
    KpiTile.stale .kpi-value { color: $text-disabled; text-style: strike; }
    KpiTile.low_sample .kpi-value { color: $text-muted; text-style: none; }
    """

    def __init__(self, title: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.title_text = title
        self._title = LeanText(title, classes="kpi-title")
        self._value = LeanText("—", classes="kpi-value")
        self._sub = LeanText("", classes="kpi-sub")

    def compose(self) -> ComposeResult:
        yield self._title
        yield self._value
        yield self._sub

    def show(self, value: str | Text, sub: str = "", status: str | None = None,
             title: str | None = None) -> None:
        """``title`` names what the figure covers ("SL live · 15m"); ``status`` is a CSS
        class: ok / at_risk / missed / no_data / stale / low_sample (greyed)."""
        # LeanText sends only changed cells: a quiet screen stays quiet over SSH.
        if title is not None and title != self.title_text:
            self.title_text = title
            self._title.update(title)
        self._value.update(value)
        self._sub.update(sub)
        for cls in STATUS_CLASSES:
            self.set_class(cls == status, cls)
