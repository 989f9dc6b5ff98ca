"""Top bar: centre clock and interval, each source's health, and the data's age.

The age turns into a loud STALE marker past the configured limit, so numbers that
stopped updating are never read as live.
"""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.widgets import Static

from supervisor_tui import fmt
from supervisor_tui.model import HealthStatus, SourceHealth
from supervisor_tui.safe_text import clean

HEALTH_MARK = {
    HealthStatus.OK: ("●", "green", "ok"),
    HealthStatus.DEGRADED: ("◐", "yellow", "degraded"),
    HealthStatus.DOWN: ("○", "red", "DOWN"),
}


def render_status(
    title: str,
    centre_time: datetime | None,
    interval_label: str,
    health: dict[str, SourceHealth],
    age_s: float | None,
    stale_after_s: float,
    note: str | None = None,
) -> Text:
    line = Text(no_wrap=True, overflow="ellipsis")
    line.append(f" {title} ", "bold reverse")
    line.append(" ")
    if centre_time is not None:
        line.append(f"{centre_time:%H:%M:%S}", "bold")
        line.append(f"  {interval_label}  ", "dim")
    for name, h in health.items():
        mark, colour, word = HEALTH_MARK[h.status]
        line.append(f"{mark} {clean(name, 24)}", colour)
        if h.status is not HealthStatus.OK:
            line.append(f" {word}", f"bold {colour}")
        line.append("  ")
    if age_s is None:
        line.append("waiting for data…", "bold yellow")
    elif age_s > stale_after_s:
        line.append(f" STALE {fmt.duration(age_s)} old ", "bold white on red")
    else:
        line.append(f"data {age_s:.0f}s old", "dim")
    if note:
        line.append(f"  {clean(note, 80)}", "yellow")
    return line


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; }
    """
