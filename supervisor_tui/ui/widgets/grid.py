"""A virtual, keyed table rendered line by line from the current rows.

Why not ``DataTable``: a "time in state" column for 10,000 agents changes every
second for every row, and per-cell updates at that scale cost ~100 ms a poll (see
ARCHITECTURE.md). This table holds only a reference to the rows; ``render_line``
formats just the visible lines, with durations computed at render time, and
``refresh_changed`` repaints only the lines whose text actually changed — so a quiet
table sends almost nothing over a slow SSH link. The cursor follows the row's key,
not its position, so re-sorting or a new poll never moves it to another queue.

Columns carry a priority; when the terminal is narrow the least important columns
are dropped whole rather than squeezing every column into illegibility.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import compress
from operator import is_not
from typing import Any, ClassVar, Generic, Literal, TypeVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from supervisor_tui.ui.widgets.lean import refresh_spans

R = TypeVar("R")
Cell = Text | str


@dataclass(frozen=True)
class Column(Generic[R]):
    key: str
    label: str
    width: int
    cell: Callable[[R, datetime], Cell]
    sort_key: Callable[[R, datetime], Any] | None = None
    align: Literal["left", "right", "center"] = "left"
    priority: int = 1  # 0 = always shown; higher numbers are dropped first when narrow
    flex: bool = False  # takes the spare width, up to max_width
    max_width: int = 40
    sort_by_time: bool = False  # sort_key depends on ``now``: re-sort on every update


class Grid(ScrollView, Generic[R], can_focus=True):
    """Keyed virtual table. Rows are any objects; ``key_of`` gives each a stable key."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "First", show=False),
        Binding("end", "jump(-1)", "Last", show=False),
        Binding("enter", "select", "Open"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "grid--header",
        "grid--cursor",
        "grid--empty",
    }

    DEFAULT_CSS = """
    Grid {
        height: 1fr;
        scrollbar-size-vertical: 1;
        overflow-x: hidden;
        background: $surface;
    }
    Grid > .grid--header { text-style: bold; color: $text-muted; background: $panel; }
    Grid > .grid--cursor { background: $boost; text-style: bold; }
    Grid:focus > .grid--cursor { background: $accent 60%; text-style: bold; }
    Grid > .grid--empty { color: $text-muted; text-style: italic; }
    """

    cursor: reactive[int] = reactive(0, always_update=True, layout=False, repaint=False)

    class _RowMessage(Message):
        def __init__(self, grid: Grid[Any], key: str | None) -> None:
            super().__init__()
            self.grid = grid
            self.key = key

        @property
        def control(self) -> Grid[Any]:
            return self.grid

    class Highlighted(_RowMessage):
        """The cursor moved to another row (``key`` None when the table is empty)."""

    class Selected(_RowMessage):
        """Enter on a row."""

        key: str

    def __init__(
        self,
        columns: Sequence[Column[R]],
        key_of: Callable[[R], str],
        now: Callable[[], datetime],
        empty_text: str = "Nothing to show",
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.columns = list(columns)
        self.key_of = key_of
        self.now = now
        self.empty_text = empty_text
        self.rows: Sequence[R] = ()
        self.row_style: Callable[[R], Style | None] = lambda row: None
        self._keys: list[str] = []
        # Each input row's sort key at the last full sort, and by what it was sorted
        # (column key and function): reused for rows that are the same objects.
        self._sort_keys: list[Any] = []
        self._sorted_by: tuple[str, Any] | None = None
        self._input: Sequence[R] = ()  # rows as last given, before sorting
        self._perm: list[int] | None = None  # sorted position -> index in _input
        self._where: list[int] = []  # index in _input -> sorted position (with _perm)
        self._index: dict[str, int] = {}
        self._cursor_key: str | None = None
        self._shown: dict[int, Strip] = {}  # screen line -> strip last painted
        self._fresh: dict[int, tuple[int, Strip]] = {}  # built, repaint pending
        self._base_style: Style | None = None
        self._layout: list[tuple[Column[R], int]] = []
        self._layout_width = -1
        self.sort_column: str | None = None
        self.sort_reverse = False

    def set_columns(self, columns: Sequence[Column[R]]) -> None:
        """Replace the column set (e.g. another window's figures); sort and cursor stay."""
        self.columns = list(columns)
        if self.sort_column is not None and all(c.key != self.sort_column for c in columns):
            self.sort_column = None
        self._layout_width = -1
        self._shown.clear()
        self._fresh.clear()
        rows, self._input = self._input, ()  # re-sort: the sort keys may mean another window
        self.set_rows(rows)

    # -- data ---------------------------------------------------------------

    def set_rows(self, rows: Sequence[R]) -> None:
        """Show ``rows``; the cursor stays on the same key where it still exists."""
        column = self._sort_col()
        sort_key = column.sort_key if column is not None else None
        now = self.now()
        changed = self._same_order(rows, column, now)
        if changed is not None:
            # 10,000 agents, a few dozen changed state: same keys, same order. Reading
            # only the changed rows skips a sort and 10,000 key reads per poll, and a
            # sorted list is patched at the changed rows' places, not gathered again
            # (50,000 rows: 8 ms).
            perm, where = self._perm, self._where
            if perm is None:
                ordered: Sequence[R] = rows
            else:
                patched = list(self.rows)
                for i in changed:
                    patched[where[i]] = rows[i]
                ordered = patched
        else:
            # Sorted again (50,000 agents when one logs in or out: the rows shift). A
            # row that is the same object as one of the last rows keeps its key and
            # sort key (as the path above assumes), so only new rows are read: both
            # lists are alive here, so one id is one object.
            old = self._input
            at: list[int | None] | None = None
            if old and len(self._keys) == len(old):
                place = dict(zip(map(id, old), range(len(old)), strict=True))
                at = list(map(place.get, map(id, rows)))
            key_of = self.key_of
            if at is None:
                keys = list(map(key_of, rows))
            else:
                held = (self._keys if self._perm is None
                        else list(map(self._keys.__getitem__, self._where)))
                keys = [key_of(r) if j is None else held[j] for r, j in zip(rows, at, strict=True)]
            if sort_key is not None and column is not None:
                same_sort = (at is not None and self._sorted_by == (column.key, sort_key)
                             and not column.sort_by_time)
                if same_sort:
                    was = self._sort_keys
                    values = [sort_key(r, now) if j is None else was[j]
                              for r, j in zip(rows, at, strict=True)]  # type: ignore[arg-type]
                else:
                    values = [sort_key(r, now) for r in rows]
                perm = sorted(range(len(rows)), key=values.__getitem__,
                              reverse=self.sort_reverse)
                ordered = list(map(rows.__getitem__, perm))
                self._sort_keys, self._sorted_by = values, (column.key, sort_key)
                keys = list(map(keys.__getitem__, perm))
            else:
                perm, ordered = None, rows
                self._sort_keys, self._sorted_by = [], None
            self._perm = perm
            # input index -> sorted position: where a changed row goes next time
            self._where = [] if perm is None else _inverse(perm)
            self._keys = keys
            self._index = dict(zip(keys, range(len(keys)), strict=True))
        self._input = rows
        self.rows = ordered
        index = self._index.get(self._cursor_key) if self._cursor_key else None
        if index is None:
            index = min(self.cursor, max(len(ordered) - 1, 0))
        self.virtual_size = Size(self.size.width, len(ordered) + 1)
        self._set_cursor(index, post=self._cursor_key not in self._index)
        self.refresh_changed()

    def _same_order(self, rows: Sequence[R], column: Column[R] | None, now: datetime
                    ) -> list[int] | None:
        """The indices of the rows that changed, if ``rows`` sort exactly as the last
        rows did, with the same keys; else None. Compares object identities first (no
        row is read), then only the rows that changed."""
        old = self._input
        if not old or len(old) != len(rows) or (column is not None and column.sort_by_time):
            return None
        changed = list(compress(range(len(rows)), map(is_not, rows, old)))
        key_of = self.key_of
        if len(changed) > len(rows) // 4:
            # Unsorted (the dashboard's 5,000 queues, each row new every poll): the
            # same keys in the same order is the same order, without an index rebuild.
            # (An unchanged row is the same object, so its key is too: only the
            # changed rows' keys are read.)
            keys = self._keys
            if column is None and self._perm is None and len(keys) == len(rows) and all(
                    key_of(rows[i]) == keys[i] for i in changed):
                return changed
            return None
        sort_key = column.sort_key if column is not None else None
        for i in changed:
            before, after = old[i], rows[i]
            if key_of(before) != key_of(after):
                return None
            if sort_key is not None and sort_key(before, now) != sort_key(after, now):
                return None
        return changed

    @property
    def cursor_key(self) -> str | None:
        return self._cursor_key

    @property
    def cursor_row(self) -> R | None:
        if 0 <= self.cursor < len(self.rows):
            return self.rows[self.cursor]
        return None

    def move_to_key(self, key: str) -> bool:
        index = self._index.get(key)
        if index is None:
            return False
        self._set_cursor(index)
        return True

    def _sort_col(self) -> Column[R] | None:
        return next((c for c in self.columns if c.key == self.sort_column), None)

    def sort_by(self, key: str | None, reverse: bool = False) -> None:
        self.sort_column, self.sort_reverse = key, reverse
        self._shown.clear()
        rows, self._input = self._input, ()  # re-sort from the rows as given
        self.set_rows(rows)
        self.refresh()

    def cycle_sort(self) -> str:
        """Next sortable column (descending first: worst on top); returns its label."""
        sortable = [c for c in self.columns if c.sort_key is not None]
        if not sortable:
            return ""
        current = self._sort_col()
        if current is None:
            self.sort_by(sortable[0].key, True)
        elif self.sort_reverse:
            self.sort_by(current.key, False)
        else:
            nxt = sortable[(sortable.index(current) + 1) % len(sortable)]
            self.sort_by(nxt.key, True)
        label = self._sort_col().label if self._sort_col() else ""  # type: ignore[union-attr]
        return f"{label} {'▼' if self.sort_reverse else '▲'}"

    # -- cursor -------------------------------------------------------------

    def _set_cursor(self, index: int, post: bool = True) -> None:
        old = self.cursor
        index = max(0, min(index, len(self.rows) - 1)) if self.rows else 0
        new_key = self._keys[index] if self.rows else None
        changed = new_key != self._cursor_key
        self._cursor_key = new_key
        self.cursor = index
        self._scroll_to_cursor()
        if old != index:
            self.refresh_line(old + 1)
            self.refresh_line(index + 1)
        if changed and post:
            self.post_message(self.Highlighted(self, new_key))

    def _scroll_to_cursor(self) -> None:
        visible = max(self.size.height - 1, 1)
        top = round(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= top + visible:
            self.scroll_to(y=self.cursor - visible + 1, animate=False)

    def action_cursor(self, delta: int) -> None:
        self._set_cursor(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self._set_cursor(self.cursor + direction * max(self.size.height - 2, 1))

    def action_jump(self, index: int) -> None:
        self._set_cursor(len(self.rows) - 1 if index < 0 else index)

    def action_select(self) -> None:
        if self._cursor_key is not None:
            self.post_message(self.Selected(self, self._cursor_key))

    def on_click(self, event: Any) -> None:
        y = event.y + round(self.scroll_y) - 1
        if event.y >= 1 and 0 <= y < len(self.rows):
            if y == self.cursor:
                self.action_select()
            self._set_cursor(y)

    # -- layout & rendering ---------------------------------------------------

    def on_resize(self) -> None:
        self._layout_width = -1
        self._shown.clear()
        self._fresh.clear()
        self.virtual_size = Size(self.size.width, len(self.rows) + 1)
        self._scroll_to_cursor()

    def _columns_for(self, width: int) -> list[tuple[Column[R], int]]:
        """Fit columns to ``width``: drop the least important, give flex the rest."""
        if width == self._layout_width:
            return self._layout
        chosen = list(self.columns)

        def needed(cols: list[Column[R]]) -> int:
            return sum(c.width for c in cols) + max(len(cols) - 1, 0)

        while needed(chosen) > width and any(c.priority > 0 for c in chosen):
            drop = max(
                (c for c in chosen if c.priority > 0),
                key=lambda c: (c.priority, self.columns.index(c)),
            )
            chosen.remove(drop)
        spare = max(width - needed(chosen), 0)
        widths = {c.key: c.width for c in chosen}
        # Flex columns grow first (to their max), then any spare is spread over all
        # columns so a 200-column wall gets airy columns rather than one huge name.
        for col in [c for c in chosen if c.flex] or chosen[:1]:
            grow = min(spare, max(col.max_width - col.width, 0))
            widths[col.key] += grow
            spare -= grow
        # Leftover goes to columns in proportion to their width: wide text columns
        # grow, a 6-character status column stays a status column.
        total = sum(widths[c.key] for c in chosen) or 1
        leftover = spare
        for col in chosen:
            share = leftover * widths[col.key] // total
            widths[col.key] += share
            spare -= share
        if chosen:
            widths[chosen[0].key] += spare  # rounding remainder
        layout = [(col, widths[col.key]) for col in chosen]
        self._layout, self._layout_width = layout, width
        return layout

    def _render_cells(self, cells: list[Cell], base: Style) -> Strip:
        """Lay cells out as segments. Plain strings and single-style Text (nearly every
        cell) take a fast path of string ops; only multi-span Text goes through Rich."""
        width = self.size.width
        segments: list[Segment] = []
        gap = Segment(" ", base)
        for i, ((col, col_width), cell) in enumerate(
            zip(self._columns_for(width), cells, strict=True)
        ):
            if i:
                segments.append(gap)
            if isinstance(cell, Text) and cell.spans:
                segments.extend(self._rich_cell(cell, col, col_width, base))
                continue
            if isinstance(cell, Text):
                plain, style = cell.plain, cell.style
            else:
                plain, style = cell, ""
            if cell_len(plain) > col_width:
                plain = set_cell_size(plain, col_width - 1) + "…" if col_width > 1 else ""
            pad = col_width - cell_len(plain)
            if col.align == "right":
                plain = " " * pad + plain
            elif col.align == "center":
                plain = " " * (pad // 2) + plain + " " * (pad - pad // 2)
            else:
                plain = plain + " " * pad
            if style:
                cell_style = base + (Style.parse(style) if isinstance(style, str) else style)
            else:
                cell_style = base
            segments.append(Segment(plain, cell_style))
        return Strip(segments).adjust_cell_length(width, base)

    def _rich_cell(
        self, cell: Text, col: Column[R], col_width: int, base: Style
    ) -> list[Segment]:
        text = cell.copy()
        text.truncate(col_width, overflow="ellipsis")
        pad = col_width - text.cell_len
        if col.align == "right":
            text.pad_left(pad)
        elif col.align == "center":
            text.pad_left(pad // 2)
            text.pad_right(pad - pad // 2)
        else:
            text.pad_right(pad)
        text.end = ""
        return [
            Segment(seg.text, base + seg.style if seg.style else base)
            for seg in text.render(self.app.console)
        ]

    def _build_line(self, y: int) -> Strip:
        """Strip for virtual line ``y`` (0 = header)."""
        width = self.size.width
        if y == 0:
            style = self.get_component_rich_style("grid--header")
            arrow = "▼" if self.sort_reverse else "▲"
            labels: list[Text | str] = [
                f"{c.label}{arrow}" if c.key == self.sort_column else c.label
                for c, _ in self._columns_for(width)
            ]
            return self._render_cells(labels, style)
        index = y - 1
        base = self._base_style or self.rich_style
        if not self.rows:
            if index == 0:
                empty = self.get_component_rich_style("grid--empty")
                return Strip([Segment(self.empty_text, empty)]).adjust_cell_length(width, base)
            return Strip.blank(width, base)
        if index >= len(self.rows):
            return Strip.blank(width, base)
        row = self.rows[index]
        extra = self.row_style(row)
        if extra is not None:
            base = base + extra
        if index == self.cursor:
            base = base + self.get_component_rich_style("grid--cursor")
        now = self.now()
        return self._render_cells([c.cell(row, now) for c, _ in self._columns_for(width)], base)

    def render_line(self, y: int) -> Strip:
        # The header is pinned: line 0 of the widget is always the header.
        virtual_y = 0 if y == 0 else y + round(self.scroll_y)
        fresh = self._fresh.pop(y, None)
        if fresh is not None and fresh[0] == virtual_y:
            return fresh[1]  # just built by refresh_changed: don't format it twice
        strip = self._build_line(virtual_y)
        self._shown[y] = strip
        return strip

    def refresh_changed(self) -> int:
        """Repaint only visible lines whose content changed; returns how many."""
        if not self.is_mounted or not self.size.height:
            return 0
        # Resolving the widget's style walks the CSS (~0.15 ms): once per pass, not per line.
        self._base_style = self.rich_style
        top = round(self.scroll_y)
        changed = 0
        for y in range(self.size.height):
            virtual_y = 0 if y == 0 else y + top
            strip = self._build_line(virtual_y)
            shown = self._shown.get(y)
            if shown != strip:
                self._shown[y] = strip
                self._fresh[y] = (virtual_y, strip)
                # Only the changed cells (a ticking wait, one count): lean over SSH.
                refresh_spans(self, y, shown, strip)
                changed += 1
        return changed

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        self._shown.clear()
        self._fresh.clear()
        super().watch_scroll_y(old_value, new_value)


def _inverse(perm: Sequence[int]) -> list[int]:
    """``where`` with ``where[perm[k]] == k``."""
    where = [0] * len(perm)
    for k, i in enumerate(perm):
        where[i] = k
    return where
