"""Formatting numbers for screens (pure). Status is never carried by colour alone:
every status also has a symbol and a word."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from supervisor_tui.domain.board import DAY, DEFERRED, INTERVAL, LIVE, Board, SLStatus
from supervisor_tui.domain.model import QueueStats

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


def utc_stamp(moment: datetime) -> str:
    """``2026-03-02T09:30:00Z``: the one UTC timestamp form of exports and reports
    (an aware time in any zone is turned to UTC first, never relabelled)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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


def abandon_parts(stats: QueueStats | None) -> str:
    """"4 of 48 · +2 short": the abandon rate's own numerator and denominator (short
    abandons out of both, docs/metrics.md), then the short ones."""
    short = stats.abandoned_short if stats else 0
    counted = stats.abandoned - short if stats else 0
    return f"{counted} of {stats.offered - short if stats else 0} · +{short} short"


SPARK = "▁▂▃▄▅▆▇█"

GROUP_LABEL = {LIVE: "live", DEFERRED: "email"}


def window_label(board: Board, key: str, zone: ZoneInfo, minutes: int, short: bool = False) -> str:
    """What a window covers, in the centre's zone: '10:00-10:30', 'last 15m' (or
    'last 4m' while the console has seen less), 'today'."""
    if key == INTERVAL:
        start = board.snapshot.interval_start.astimezone(zone)
        end = start + timedelta(minutes=minutes)
        return f"{start:%H:%M}" if short else f"{start:%H:%M}-{end:%H:%M}"
    if key == DAY:
        return "today"
    view = board.windows.get(key)
    if view is None:
        return key
    if view.complete:
        return f"{view.minutes}m" if short else f"last {view.minutes}m"
    covered = max(int(view.covered_s // 60), 0)
    return f"{covered}/{view.minutes}m" if short else f"last {covered} of {view.minutes}m"


def sample_pct(value: float | None, n: int, min_sample: int) -> tuple[str, bool]:
    """'82%', or '75%·4' when fewer than ``min_sample`` contacts stand behind it (the
    bool says: grey it)."""
    if value is None:
        return DASH, True
    if n < min_sample:
        return f"{pct(value)}·{n}", True
    return pct(value), False


def clock(when: datetime, zone: ZoneInfo) -> str:
    """'14:03:07 CET': the centre's zone, named."""
    local = when.astimezone(zone)
    return f"{local:%H:%M:%S} {local.tzname() or ''}".rstrip()


def count_sparkline(values: list[float | None], width: int | None = None) -> str:
    """Counts on one fixed scale shared by every row: each step up doubles (▁ 0, ▂ 1,
    ▃ 2-3, ▄ 4-7, ▅ 8-15, ▆ 16-31, ▇ 32-63, █ 64 or more). A fixed scale means a row
    can be compared with the next, and a new peak never redraws the past."""
    if width is not None and 0 < width < len(values):
        groups = [values[i * len(values) // width:(i + 1) * len(values) // width]
                  for i in range(width)]
        values = [max((v for v in g if v is not None), default=None) for g in groups]
    chars = []
    for value in values:
        if value is None:
            chars.append(" ")
        elif value < 1:
            chars.append(SPARK[0])
        else:
            chars.append(SPARK[min(len(SPARK) - 1, 1 + int(math.log2(value)))])
    return "".join(chars)
