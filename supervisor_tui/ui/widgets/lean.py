"""Repaint only the cells that changed: what keeps the console lean over SSH.

Textual repaints a whole widget (every line, every cell, every colour code) when its
content is replaced, and a whole line when a line-API widget refreshes it. On a busy
dashboard that is a full screen a second: ~600 KiB a minute at 80x24. These helpers
compare the old and new lines cell by cell and refresh only the changed spans, so a
clock ticking from 10:41:07 to 10:41:08 sends one character and its colour, not a line.
"""

from __future__ import annotations

from itertools import compress, count, repeat
from operator import ne

from rich.cells import get_character_cell_size
from rich.style import Style
from rich.text import Text
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget

# Two changed runs closer than this are sent as one: a cursor move and a colour code
# cost about as much as re-sending a few unchanged cells.
MERGE_GAP = 12

Cell = tuple[str, Style | None]


def cells(strip: Strip) -> list[Cell]:
    """One (character, style) per terminal cell; a wide character's second cell is ""."""
    out: list[Cell] = []
    append, extend = out.append, out.extend
    for text, style, control in strip:
        if control:
            continue
        if text.isascii():  # (nearly all: one cell per character, made in C)
            extend(zip(text, repeat(style)))
            continue
        for char in text:
            append((char, style))
            if get_character_cell_size(char) == 2:
                append(("", style))
    return out


def changed_spans(old: Strip | None, new: Strip, gap: int = MERGE_GAP) -> list[tuple[int, int]]:
    """Cell ranges [start, end) where ``new`` differs from ``old``; [] if the same."""
    if old is None:
        return [(0, new.cell_length)]
    if old == new:
        return []
    a, b = cells(old), cells(new)
    if len(a) != len(b):
        return [(0, max(len(a), len(b)))]
    spans: list[tuple[int, int]] = []
    start = end = -1
    for x in compress(count(), map(ne, a, b)):  # the changed cells, found in C
        if start >= 0 and x - end <= gap:
            end = x + 1
            continue
        if start >= 0:
            spans.append((start, end))
        start, end = x, x + 1
    if start >= 0:
        spans.append((start, end))
    return spans


def refresh_spans(widget: Widget, y: int, old: Strip | None, new: Strip) -> bool:
    """Refresh only what changed on content line ``y``; True if anything did."""
    spans = changed_spans(old, new)
    for x0, x1 in spans:
        widget.refresh(Region(x0, y, x1 - x0, 1))
    return bool(spans)


class LeanText(Widget):
    """Text (never markup: names from sources are data) that repaints changed cells only.

    A drop-in for ``Static`` where the content changes often and its height rarely.
    """

    DEFAULT_CSS = """
    LeanText { height: auto; width: 1fr; }
    """

    def __init__(self, content: Text | str = "", *, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._content: Text | str = content
        self._strips: list[Strip] = []
        self._key: tuple[int, Style] | None = None  # (width, base style) of _strips

    @property
    def content(self) -> Text | str:
        return self._content

    @property
    def plain(self) -> str:
        return self._content.plain if isinstance(self._content, Text) else self._content

    def _lines(self, width: int, style: Style) -> list[Strip]:
        text = self._content if isinstance(self._content, Text) else Text(self._content)
        if width <= 0:
            return []
        console = self.app.console
        options = console.options.update_width(width).update(highlight=False)
        lines = console.render_lines(text, options, style=style, pad=True, new_lines=False)
        return [Strip(line, width) for line in lines] or [Strip.blank(width, style)]

    def _current(self) -> list[Strip]:
        key = (self.size.width, self.rich_style)
        if key != self._key:  # resized, or CSS changed (a status class): render afresh
            self._key = key
            self._strips = self._lines(*key)
        return self._strips

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._lines(width, self.rich_style))

    def render_line(self, y: int) -> Strip:
        strips = self._current()
        if y < len(strips):
            return strips[y]
        return Strip.blank(self.size.width, self.rich_style)

    def update(self, content: Text | str) -> None:
        if isinstance(content, Text) and isinstance(self._content, Text):
            if content.plain == self._content.plain and content.spans == self._content.spans \
                    and content.style == self._content.style:
                return  # the same text: send nothing
        elif content == self._content:
            return
        self._content = content
        if not self.is_mounted or self._key is None or self._key[0] != self.size.width:
            self._key = None
            self.refresh(layout=True)
            return
        old = self._strips
        new = self._lines(*self._key)
        self._strips = new
        if len(new) != len(old):  # height changes: a layout, then a full repaint
            self.refresh(layout=True)
            return
        # Only lines the widget shows: a dirty region below it would repaint whatever is
        # there (it is clipped to the container, not to this widget).
        height = self.size.height
        for y, (before, after) in enumerate(zip(old, new, strict=True)):
            if y >= height:
                break
            refresh_spans(self, y, before, after)
