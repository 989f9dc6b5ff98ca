"""Formatting numbers for screens (pure). Status is never carried by colour alone:
every status also has a symbol and a word."""

from __future__ import annotations

import math

from supervisor_tui.board import SLStatus

DASH = "—"

SL_SYMBOL = {
    SLStatus.OK: "✓",
    SLStatus.AT_RISK: "!",
    SLStatus.MISSED: "✗",
    SLStatus.NO_DATA: "·",
}
# Rich style names; themes map them via CSS classes where widgets allow.
SL_STYLE = {
    SLStatus.OK: "bold green",
    SLStatus.AT_RISK: "bold yellow",
    SLStatus.MISSED: "bold red",
    SLStatus.NO_DATA: "dim",
}


def duration(seconds: float | None) -> str:
    """Compact wait/handle time: 0:07, 12:34, 1:02:03, 3d04h."""
    if seconds is None or math.isnan(seconds):
        return DASH
    if math.isinf(seconds):
        return "∞"
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


def threshold(seconds: float) -> str:
    """Short threshold: 20s, 15m, 1h, 1h30m."""
    seconds = int(seconds)
    if seconds < 60 or seconds % 60:
        return f"{seconds}s" if seconds < 120 else duration(seconds)
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if minutes else f"{hours}h"


def pct(value: float | None, digits: int = 0) -> str:
    if value is None or math.isnan(value):
        return DASH
    return f"{value * 100:.{digits}f}%"


SPARK = "▁▂▃▄▅▆▇█"


def sparkline(
    values: list[float | None], top: float | None = None, width: int | None = None
) -> str:
    """One character per value (or per group of values, keeping each group's largest,
    when ``width`` is given), scaled to ``top`` (default: the largest value)."""
    if width is not None and 0 < width < len(values):
        groups = [values[i * len(values) // width:(i + 1) * len(values) // width]
                  for i in range(width)]
        values = [max((v for v in g if v is not None), default=None) for g in groups]
    present = [v for v in values if v is not None]
    if not present:
        return " " * len(values)
    top = top if top is not None else max(present)
    chars = []
    for value in values:
        if value is None:
            chars.append(" ")
        elif top <= 0:
            chars.append(SPARK[0])
        else:
            level = round(min(value / top, 1.0) * (len(SPARK) - 1))
            chars.append(SPARK[max(0, level)])
    return "".join(chars)
