"""Top bar: centre clock and interval, each source's health, and the data's age.

The age turns into a loud STALE marker past the configured limit, so numbers that
stopped updating are never read as live.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from rich.text import Text

from supervisor_tui.domain import fmt
from supervisor_tui.domain.model import HealthStatus, SourceHealth
from supervisor_tui.domain.text import clean
from supervisor_tui.ui.widgets.lean import LeanText

HEALTH_MARK = {
    HealthStatus.OK: ("●", "green", "ok"),
    HealthStatus.DEGRADED: ("◐", "yellow", "degraded"),
    HealthStatus.DOWN: ("○", "red", "DOWN"),
}


def render_status(
    title: str,
    centre_time: datetime | None,
    interval_label: str,
    health: Mapping[str, SourceHealth],
    age_s: float | None,
    stale_after_s: float,
    note: str | None = None,
    live_within_s: float = 0.0,
    alerts: int = 0,
    who: str | None = None,
    alarm: str | None = None,
) -> Text:
    """``who``: user and role; ``alarm``: a standing warning (an unshared store).
    ``live_within_s``: data younger than this (the poll interval and some slack) reads
    "live" rather than a count that ticks every second — on time is all a reader needs,
    and a quiet bar costs nothing over SSH. Late data shows its age, stale data shouts."""
    line = Text(no_wrap=True, overflow="ellipsis")
    line.append(f" {title} ", "bold reverse")
    line.append(" ")
    if alarm:  # e.g. NOT SHARED · NOT AUDITED: first, so no width ever crops it
        line.append(f" {alarm} ", "bold white on red")
        line.append(" ")
    if alerts:  # new critical escalations nobody has looked at yet (the desk resets it)
        line.append(f" ‼ {alerts} new critical — e ", "bold white on red")
        line.append(" ")
    if centre_time is not None:  # already in the centre's zone: name it
        line.append(f"{centre_time:%H:%M:%S}", "bold")
        zone = centre_time.tzname()
        if zone:
            line.append(f" {zone}", "dim")
        line.append(f"  {interval_label}  ", "dim")
    for name, h in health.items():
        mark, colour, word = HEALTH_MARK[h.status]
        line.append(f"{mark} {clean(name, 24)}", colour)
        if h.status is not HealthStatus.OK:
            line.append(f" {word}", f"bold {colour}")
        elif h.notes:  # answered, but dropped or doubted some data: see the sources screen
            line.append(" ⚠", "yellow")
        line.append("  ")
    if age_s is None:
        line.append("waiting for data…", "bold yellow")
    elif age_s > stale_after_s:
        line.append(f" STALE {fmt.duration(age_s)} old ", "bold white on red")
    elif age_s <= live_within_s and all(h.status is HealthStatus.OK
                                        for h in health.values()):
        line.append("live", "dim")  # never while a source is degraded or down
    else:
        line.append(f"data {age_s:.0f}s old", "yellow")
    if note:
        line.append(f"  {clean(note, 80)}", "yellow")
    if who:  # "sam (viewer)": who this console acts as, and so which keys it has
        line.append(f"  {clean(who, 40)}", "bold")
    return line


class StatusBar(LeanText):
    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; }
    """
