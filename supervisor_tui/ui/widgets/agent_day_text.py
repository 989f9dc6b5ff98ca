"""An agent's day in a few lines (agent detail): handled, AHT, occupancy, a bar of
time per state and the latest state changes — each with what it covers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from rich.text import Text

from supervisor_tui.domain import fmt
from supervisor_tui.domain.agent_day import AgentDay
from supervisor_tui.domain.model import AgentStateKind
from supervisor_tui.domain.text import clean
from supervisor_tui.ui.widgets.tables import STATE_LABEL

BAR_WIDTH = 40
HISTORY_SHOWN = 6
_SHORT = {AgentStateKind.AVAILABLE: "available", AgentStateKind.ON_CONTACT: "on contact",
          AgentStateKind.AFTER_CONTACT_WORK: "ACW", AgentStateKind.AWAY: "away",
          AgentStateKind.OFFLINE: "offline"}


def state_bar(seconds: dict[AgentStateKind, float], width: int = BAR_WIDTH) -> Text:
    """One bar, a segment per state in proportion to its time (largest remainder, so the
    segments fill the width exactly); a state with any time gets at least one cell."""
    total = sum(seconds.values())
    bar = Text()
    if total <= 0:
        return bar.append("·" * width, "dim")
    kinds = [k for k in AgentStateKind if seconds.get(k, 0.0) > 0]
    exact = {k: seconds[k] / total * width for k in kinds}
    cells = {k: max(1, int(exact[k])) for k in kinds}
    for k in sorted(kinds, key=lambda k: exact[k] - int(exact[k]), reverse=True):
        if sum(cells.values()) >= width:
            break
        cells[k] += 1
    while sum(cells.values()) > width:  # (the minimum of one cell overshot)
        cells[max(cells, key=lambda k: cells[k])] -= 1
    for k in kinds:
        bar.append("█" * cells[k], STATE_LABEL[k][1])
    return bar


def agent_day_text(day: AgentDay | None, now: datetime,
                   clock: Callable[[datetime], str]) -> Text:
    """The lines of the agent detail's "Today" section; ``clock`` formats a time."""
    text = Text()
    if day is None:
        return text.append("Today   not seen by this console yet\n", "dim")
    text.append("Today   ")
    text.append(f"{day.handled} handled", "bold")
    text.append(f" · AHT {fmt.duration(day.aht_s) if day.aht_s is not None else '—'}")
    occupancy = day.occupancy(now)
    text.append(f" · occupancy {fmt.pct(occupancy) if occupancy is not None else '—'}")
    text.append(f"  (observed since {clock(day.observed_since)})\n", "dim")
    seconds = day.seconds_now(now)
    text.append("Time    ")
    text.append_text(state_bar(seconds))
    text.append("\n        ")
    parts = [f"{_SHORT[k]} {fmt.duration(seconds[k])}" for k in AgentStateKind
             if seconds.get(k, 0.0) > 0]
    text.append(" · ".join(parts) if parts else "nothing yet", "" if parts else "dim")
    text.append("\n")
    changes = list(day.history)[-HISTORY_SHOWN:]
    text.append("History ")
    for i, change in enumerate(reversed(changes)):
        if i:
            text.append(" ← ", "dim")
        text.append(clock(change.since), "dim")
        label = _SHORT[change.kind]
        if change.reason:
            label += f": {clean(change.reason, 16)}"
        text.append(f" {label}", STATE_LABEL[change.kind][1])
    text.append("\n")
    return text
