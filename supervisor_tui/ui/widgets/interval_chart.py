"""Bar charts by interval, drawn with block characters (Rich Text, no plotting library).

Eighth blocks give 8 levels per line, so a 2-line bar has 16: enough to see the shape
of a day at 80 columns (48 half-hours fit beside a 12-character label), and the text
is the same in any terminal, over SSH and in tests. A missing interval is a blank
column, never a zero bar.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.style import Style
from rich.text import Text

BLOCKS = " ▁▂▃▄▅▆▇█"


def bar_lines(values: Sequence[float | None], top: float, height: int) -> list[str]:
    """``height`` lines (top line first) of one column per value, scaled to ``top``."""
    levels = height * 8
    cols: list[list[str]] = []
    for v in values:
        if v is None:
            cols.append([" "] * height)
            continue
        n = round(max(v, 0.0) / top * levels) if top > 0 else 0
        if v > 0:
            n = max(n, 1)  # a non-zero interval shows, however small
        n = min(n, levels)
        col = []
        for line in range(height - 1, -1, -1):  # from the top line down
            fill = n - line * 8
            col.append(BLOCKS[max(0, min(fill, 8))])
        cols.append(col)
    return ["".join(c[i] for c in cols) for i in range(height)]


def series(text: Text, label: str, values: Sequence[float | None], top: float,
           height: int, styles: Sequence[str | None] | str = "", note: str = "",
           label_width: int = 12) -> None:
    """Append one labelled series (``height`` lines) to ``text``; ``styles`` is one
    style for all columns or one per column."""
    lines = bar_lines(values, top, height)
    for i, line in enumerate(lines):
        text.append((label if i == 0 else "").ljust(label_width)[:label_width], "bold")
        if isinstance(styles, str):
            text.append(line, styles)
        else:
            for ch, st in zip(line, styles, strict=True):
                text.append(ch, Style.parse(st) if st else "")
        if i == 0 and note:
            text.append(f" {note}", "dim")
        text.append("\n")


def axis(labels: Sequence[str], label_width: int = 12, every: int = 8) -> Text:
    """Time marks under the bars: the first interval and every ``every``-th one."""
    line = [" "] * (len(labels) + 6)
    for i in range(0, len(labels), every):
        mark = labels[i][:5]
        if i + len(mark) <= len(line) and all(c == " " for c in line[i:i + len(mark) + 1]
                                              if i + len(mark) < len(line)):
            line[i:i + len(mark)] = list(mark)
    return Text(" " * label_width + "".join(line).rstrip(), "dim")
