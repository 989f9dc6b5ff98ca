"""Widgets for the wall terminal: numbers and statuses readable from across a room.

Status is never carried by colour alone: every status has a symbol and a word, and the
worse statuses also change shape (at risk is a filled badge, missed a filled badge in
the error colour), so a colour-blind reader or a washed-out TV still tells them apart.
Colours come from the theme ($success / $warning / $error) through CSS, so the
high-contrast theme recolours everything here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import ClassVar

from rich.align import Align, AlignMethod
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.padding import Padding
from rich.segment import Segment
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.app import RenderResult as TextualRenderResult
from textual.containers import Container, Vertical
from textual.geometry import Size
from textual.reactive import reactive
from textual.renderables.digits import Digits as DigitsRenderable
from textual.widget import Widget
from textual.widgets import Digits, Static

from supervisor_tui.domain import fmt
from supervisor_tui.domain.board import QueueRow, SLStatus
from supervisor_tui.domain.text import clean

STATUS_WORD = {
    SLStatus.OK: "✓ OK",
    SLStatus.AT_RISK: "! AT RISK",
    SLStatus.MISSED: "✗ MISSED",
    SLStatus.NO_DATA: "· NO DATA",
}
# Worst first, for "what is hidden" summaries and for sorting when rows do not fit.
STATUS_RANK = {SLStatus.MISSED: 0, SLStatus.AT_RISK: 1, SLStatus.NO_DATA: 2, SLStatus.OK: 3}
TILE_CLASSES = ("ok", "at_risk", "missed", "no_data", "neutral")


def digits_text(value: str) -> str:
    """What Digits can draw: its font has no em dash, so 'no value' becomes '--'."""
    return value.replace(fmt.DASH, "--")


# Arms of each box-drawing glyph in Textual's digit font: (up, down, left, right).
_ARMS: dict[str, tuple[bool, bool, bool, bool]] = {}
for _chars, _arms in (
    ("━─", (False, False, True, True)), ("┃│", (True, True, False, False)),
    ("┏╭┌", (False, True, False, True)), ("┓╮┐", (False, True, True, False)),
    ("┗╰└", (True, False, False, True)), ("┛╯┘", (True, False, True, False)),
    ("┣├", (True, True, False, True)), ("┫┤", (True, True, True, False)),
    ("┳┬", (False, True, True, True)), ("┻┴", (True, False, True, True)),
    ("╋┼", (True, True, True, True)), ("╺╶", (False, False, False, True)),
    ("╸╴", (False, False, True, False)), ("╻╷", (False, True, False, False)),
    ("╹╵", (True, False, False, False)),
):
    for _char in _chars:
        _ARMS[_char] = _arms
_HEAVY = set("━┃┏┓┗┛┣┫┳┻╋╺╸╻╹")
MAX_SCALE = 4


def scale_glyph_lines(lines: Sequence[str], scale: int) -> list[str]:
    """Textual's 3x3 digit font drawn ``scale`` times larger, still in line characters.

    Each cell becomes a scale x scale block with the original glyph in its top-left
    corner; a glyph with an arm to the right or down continues it across the block, so
    strokes meet the next glyph's arm and stay unbroken at any scale.
    """
    if scale <= 1:
        return list(lines)
    width = max((len(line) for line in lines), default=0)
    out = [[" "] * (width * scale) for _ in range(len(lines) * scale)]
    for row, line in enumerate(lines):
        for col, char in enumerate(line):
            y, x = row * scale, col * scale
            out[y][x] = char
            arms = _ARMS.get(char)
            if arms is None:
                continue
            across, down = ("━", "┃") if char in _HEAVY else ("─", "│")
            if arms[3]:
                for i in range(1, scale):
                    out[y][x + i] = across
            if arms[1]:
                for i in range(1, scale):
                    out[y + i][x] = down
    return ["".join(cells).rstrip() for cells in out]


class _ScaledDigitsRenderable:
    def __init__(self, text: str, style: Style, scale: int) -> None:
        self.text, self.style, self.scale = text, style, scale

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        glyphs = DigitsRenderable(self.text, self.style)
        rows = [seg.text for seg in glyphs.render(self.style)
                if isinstance(seg, Segment) and seg.text != "\n"]
        width = DigitsRenderable.get_width(self.text) * self.scale
        for line in scale_glyph_lines(rows, self.scale):
            yield Segment(line.ljust(width), self.style)
            yield Segment.line()

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        width = DigitsRenderable.get_width(self.text) * self.scale
        return Measurement(width, width)


class ScaledDigits(Digits):
    """Textual's Digits, ``scale`` times larger: a number read from across the room."""

    scale: reactive[int] = reactive(1, layout=True)

    def render(self) -> TextualRenderResult:
        if self.scale <= 1:
            return super().render()
        style = self.rich_style
        align = self.styles.text_align
        method: AlignMethod = align if align in ("left", "center", "right") else "left"
        return Align(_ScaledDigitsRenderable(self.value, style, self.scale), method, style)

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return DigitsRenderable.get_width(self.value) * self.scale

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return 3 * self.scale


class BigTile(Vertical):
    """A headline number in large digits, its title in the border, its status in words.

    ``sample``: the widest value expected, so the digits' scale does not jump about as
    the value changes; a wider value still fits (the grid rescales for it).
    """

    DEFAULT_CSS = """
    BigTile {
        height: 6;
        border: round $primary 60%;
        border-title-style: bold;
        border-title-color: $text;
        border-subtitle-color: $text-muted;
        padding: 0 1;
        align-vertical: middle;
    }
    BigTile > ScaledDigits { text-align: center; text-style: bold; width: 1fr; }
    BigTile > .tile-status { text-align: center; text-style: bold; width: 1fr; height: 1; }
    BigTile.ok { border: round $success; }
    BigTile.ok > ScaledDigits { color: $text-success; }
    BigTile.ok > .tile-status { color: $text-success; }
    BigTile.at_risk { border: double $warning; }
    BigTile.at_risk > ScaledDigits { color: $text-warning; }
    BigTile.at_risk > .tile-status { background: $warning; color: $background; }
    BigTile.missed { border: heavy $error; }
    BigTile.missed > ScaledDigits { color: $text-error; }
    BigTile.missed > .tile-status { background: $error; color: $text; }
    BigTile.no_data > ScaledDigits { color: $text-muted; }
    BigTile.no_data > .tile-status { color: $text-muted; }
    """

    def __init__(self, title: str, *, sample: str = "888", id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = title
        self.sample = sample
        self._digits = ScaledDigits("--")
        self._status = Static("", classes="tile-status", markup=False)

    def compose(self) -> ComposeResult:
        yield self._digits
        yield self._status

    @property
    def value(self) -> str:
        return self._digits.value

    @property
    def status_text(self) -> str:
        return str(self._status.content)

    @property
    def scale(self) -> int:
        return self._digits.scale

    def fit_scale(self) -> int:
        """The largest scale at which the sample (or a wider value) and the status line
        fit inside this tile as it is now laid out."""
        size = self.content_size
        width = max(DigitsRenderable.get_width(self.sample),
                    DigitsRenderable.get_width(self.value), 1)
        return max(1, min(MAX_SCALE, (size.height - 1) // 3, size.width // width))

    def set_scale(self, scale: int) -> None:
        if scale != self._digits.scale:
            self._digits.scale = scale

    def show(self, value: str, status: str, level: str | None, sub: str = "") -> None:
        """``level``: one of TILE_CLASSES (None: no status colour)."""
        value = digits_text(value)
        if value != self._digits.value:  # Digits re-lays out on every update otherwise
            wider = DigitsRenderable.get_width(value) > DigitsRenderable.get_width(
                self._digits.value)
            self._digits.update(value)
            if wider and isinstance(self.parent, TileGrid) and self.scale > self.fit_scale():
                self.parent.rescale()
        if status != self.status_text:
            self._status.update(status)
        if sub != self.border_subtitle:
            self.border_subtitle = sub
        for cls in TILE_CLASSES:
            self.set_class(cls == level, cls)


class TileGrid(Container):
    """Tiles in a grid, their digits all at one scale: the largest every tile fits."""

    def on_resize(self) -> None:
        # The tiles get their new sizes in the same layout pass: measure after it.
        self.call_after_refresh(self.rescale)

    def rescale(self) -> None:
        tiles = list(self.query_children(BigTile))
        scale = min((tile.fit_scale() for tile in tiles), default=1)
        for tile in tiles:
            tile.set_scale(scale)


class QueueBoard(Widget):
    """One row per queue with a big status badge; large digits when there is room.

    Renders only what fits. When rows do not all fit, the worst come first and a last
    line says what is hidden and how bad it is, so nothing missed is ever off-screen
    without a trace.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "queue-board--ok", "queue-board--at-risk", "queue-board--missed",
        "queue-board--no-data", "queue-board--header", "queue-board--name",
        "queue-board--late", "queue-board--muted",
    }
    DEFAULT_CSS = """
    QueueBoard { height: 1fr; padding: 0 1; }
    QueueBoard > .queue-board--ok { color: $text-success; text-style: bold; }
    QueueBoard > .queue-board--at-risk {
        background: $warning; color: $background; text-style: bold;
    }
    QueueBoard > .queue-board--missed { background: $error; color: $text; text-style: bold; }
    QueueBoard > .queue-board--no-data { color: $text-muted; text-style: bold; }
    QueueBoard > .queue-board--header { color: $text-muted; text-style: bold; }
    QueueBoard > .queue-board--name { color: $text; text-style: bold; }
    QueueBoard > .queue-board--late { color: $text-error; text-style: bold; }
    QueueBoard > .queue-board--muted { color: $text-muted; }
    """

    def __init__(self, now: Callable[[], datetime], *, empty: str = "Waiting for the first "
                 "poll…", id: str | None = None) -> None:
        super().__init__(id=id)
        self._now = now
        self._rows: Sequence[QueueRow] = ()
        self._missing: Sequence[str] = ()
        self.empty = empty

    def set_rows(self, rows: Sequence[QueueRow], missing: Sequence[str] = ()) -> None:
        """``missing``: configured queue ids the sources do not have (said, not hidden)."""
        self._rows = rows
        self._missing = missing
        self.refresh()

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"queue-board--{name}")

    def _badge_style(self, status: SLStatus) -> Style:
        return self._style(status.value.replace("_", "-"))

    def render(self) -> RenderableType:
        rows = list(self._rows)
        if not rows:
            return Text(self.empty, self._style("muted"))
        height = max(self.size.height, 1)
        wide = self.size.width >= 110
        # Large digits on a tall screen, or whenever every row fits that way.
        big = self.screen.has_class("-wall-tall") or _fits(height, True, 0) >= len(rows)
        footer_lines = 1 if self._missing else 0
        hidden: list[QueueRow] = []
        if len(rows) > _fits(height, big, footer_lines):
            # Worst first (stable: configured order within a status), then what fits
            # above one line summarising the rest.
            rows.sort(key=lambda r: STATUS_RANK[r.status])
            keep = _fits(height, big, 1)
            rows, hidden = rows[:keep], rows[keep:]
        now = self._now()
        table = self._table(rows, now, big, wide)
        parts: list[RenderableType] = [table]
        footer = self._footer(hidden)
        if footer is not None:
            parts.append(footer)
        return Group(*parts)

    def _table(self, rows: list[QueueRow], now: datetime, big: bool, wide: bool) -> Table:
        header = self._style("header")
        # On a wide wall the table keeps its natural width, with air between columns,
        # rather than stretching one name column across the room: eyes travel less.
        table = Table(box=None, expand=not wide, show_header=True, header_style=header,
                      padding=(0, 3 if wide else 1), pad_edge=False)
        # One-line rows get short headers: at 80 columns the names need the room.
        short = not big and not wide
        table.add_column("Status", no_wrap=True, width=13 if big else 11)
        table.add_column("Queue", no_wrap=True, overflow="ellipsis", min_width=8,
                         max_width=40 if wide else None, ratio=None if wide else 1)
        table.add_column("SL" if short else "Service level", justify="right", no_wrap=True)
        if not big or wide:
            table.add_column("Target", justify="right", no_wrap=True)
        table.add_column("Wait" if short else "Waiting", justify="right", no_wrap=True)
        table.add_column("Longest", justify="right", no_wrap=True)
        if wide or not big:
            table.add_column("Agents" if short else "Avail/Staff", justify="right",
                             no_wrap=True)
        for i, row in enumerate(rows):
            if big and i:
                table.add_row()  # a blank line between big rows (Rich's leading needs a box)
            table.add_row(*self._cells(row, now, big, wide))
        return table

    def _cells(self, row: QueueRow, now: datetime, big: bool,
               wide: bool) -> list[RenderableType]:
        status = row.status
        badge_style = self._badge_style(status)
        word = STATUS_WORD[status]
        name_style = self._style("name")
        sl = fmt.pct(row.interval.service_level)
        target = f"{fmt.pct(row.queue.sl_target)} in {fmt.threshold(row.queue.threshold_s)}"
        longest_s = ((now - row.oldest_waiting_since).total_seconds()
                     if row.oldest_waiting_since else 0.0)
        late = longest_s > row.queue.threshold_s
        value_style = badge_style if status is SLStatus.OK else self._style("name")
        longest_style = self._style("late") if late else name_style
        agents = row.agents
        avail = f"{agents.available}/{agents.staffed}"
        name = clean(row.queue.name, 40)
        if not big:
            cells: list[RenderableType] = [
                Text(f" {word} ", badge_style), Text(name, name_style),
                Text(sl, value_style), Text(target, self._style("muted")),
                Text(str(row.waiting), name_style),
                Text(fmt.duration(longest_s) + (" ✗" if late else ""), longest_style),
                Text(avail, name_style)]
            return cells
        badge = Padding(Text(word, badge_style, justify="center"), (1, 1), style=badge_style,
                        expand=True)
        label = Text(name, name_style)
        label.append(f"\ntarget {target}", self._style("muted"))
        if late:
            label.append("\n✗ waiting past threshold", self._style("late"))
        cells = [badge, label, _big(sl, value_style)]
        if wide:
            cells.append(Padding(Text(target, self._style("muted")), (1, 0, 0, 0)))
        cells.append(_big(str(row.waiting), name_style))
        cells.append(_big(fmt.duration(longest_s), longest_style))
        if wide:
            cells.append(_big(avail, name_style))
        return cells

    def _footer(self, hidden: list[QueueRow]) -> Text | None:
        if not hidden and not self._missing:
            return None
        text = Text(no_wrap=True, overflow="ellipsis")
        if hidden:
            counts = {s: 0 for s in STATUS_RANK}
            for row in hidden:
                counts[row.status] += 1
            text.append(f"+{len(hidden)} more: ", self._style("header"))
            shown = [f"{n} {STATUS_WORD[s]}" for s, n in sorted(
                counts.items(), key=lambda kv: STATUS_RANK[kv[0]]) if n]
            text.append(" · ".join(shown), self._style("name"))
        if self._missing:
            text.append(f"  not reported: {clean(', '.join(self._missing), 60)}",
                        self._style("muted"))
        return text


def _big(value: str, style: Style) -> RenderableType:
    """Large digits, right-aligned like the numbers in the other rows."""
    return Align.right(DigitsRenderable(digits_text(value), style))


def _fits(height: int, big: bool, footer_lines: int) -> int:
    """Rows that fit under the header: big rows are 3 lines plus a blank between."""
    room = height - footer_lines
    return max(room // 4 if big else room - 1, 0)


class LinesBoard(Widget):
    """A list of one-line items, as many as fit, with a '+N more' line for the rest.

    Lines are built at render time (``line(item, now)``) so ages are always current.
    """

    DEFAULT_CSS = """
    LinesBoard { height: 1fr; padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, now: Callable[[], datetime], *, empty: Text | str = "",
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self._now = now
        self.empty = empty
        self._items: Sequence[object] = ()
        self._total = 0
        self._line: Callable[[object, datetime], Text] = lambda item, now: Text(str(item))
        self._more: Callable[[int], Text] = lambda n: Text(f"+{n} more")

    def set_items(self, items: Sequence[object], line: Callable[[object, datetime], Text],
                  more: Callable[[int], Text], total: int | None = None) -> None:
        """``total``: how many items there are when ``items`` is only the worst few."""
        self._items = items
        self._total = len(items) if total is None else total
        self._line = line
        self._more = more
        self.refresh()

    def render(self) -> RenderableType:
        if not self._items:
            return Text(self.empty) if isinstance(self.empty, str) else self.empty
        height = max(self.size.height, 1)
        # A blank line between items when they all fit that way: easier from afar.
        spaced = 2 * len(self._items) - 1 <= height and self.screen.has_class("-wall-tall")
        per = 2 if spaced else 1
        fit = (height + (1 if spaced else 0)) // per
        items = self._items
        more = self._total - len(items)
        if len(items) > fit or (more and len(items) >= fit):
            items = items[:max(fit - 1, 0)]
            more = self._total - len(items)
        now = self._now()
        out = Text(no_wrap=True, overflow="ellipsis")
        for i, item in enumerate(items):
            if i:
                out.append("\n\n" if spaced else "\n")
            out.append_text(self._line(item, now))
        if more > 0:
            if items:
                out.append("\n")
            out.append_text(self._more(more))
        return out
