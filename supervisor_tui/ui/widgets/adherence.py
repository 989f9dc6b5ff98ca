"""Schedule adherence cells and lines (agents screen, agent detail, teams, dashboard)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from rich.text import Text

from supervisor_tui.domain import fmt
from supervisor_tui.domain.adherence import EXPECTED_LABEL, AdherenceNow, Totals
from supervisor_tui.domain.model import Agent
from supervisor_tui.domain.schedule import Adherence, ScheduleEntry
from supervisor_tui.domain.text import clean
from supervisor_tui.ui.widgets.grid import Column
from supervisor_tui.ui.widgets.tables import dash_cell

OUT_STYLE = "bold red"


def _key(agent: Agent) -> str:
    return f"{agent.source}:{agent.id}"


def adherence_columns(now_of: Callable[[], AdherenceNow]) -> list[Column[Agent]]:
    """Scheduled activity now, in / OUT of adherence now (after the grace), and minutes
    out of adherence today (after grace). Unscheduled agents show a dash."""

    def of(agent: Agent) -> Adherence | None:
        return now_of().by_agent.get(_key(agent))

    def activity(agent: Agent, now: datetime) -> Text:
        a = of(agent)
        if a is None or a.activity is None:
            return dash_cell()
        return Text(clean(a.activity, 20))

    def state(agent: Agent, now: datetime) -> Text:
        a = of(agent)
        if a is None or a.in_adherence is None:
            return dash_cell()
        return Text("✗ OUT", OUT_STYLE) if a.in_adherence is False else Text("✓ in", "green")

    def minutes(agent: Agent, now: datetime) -> Text:
        a = of(agent)
        if a is None or a.scheduled_s <= 0:
            return dash_cell()
        m = a.out_s / 60
        return Text(f"{m:.0f}", OUT_STYLE if a.in_adherence is False else "")

    def sort_activity(agent: Agent, now: datetime) -> str:
        a = of(agent)
        return "~" if a is None or a.activity is None else a.activity.casefold()

    def sort_state(agent: Agent, now: datetime) -> int:
        a = of(agent)
        return 2 if a is None or a.in_adherence is None else (0 if a.in_adherence is False
                                                              else 1)

    def sort_minutes(agent: Agent, now: datetime) -> float:
        a = of(agent)
        return -1.0 if a is None else -a.out_s  # most out first

    return [
        Column("sched", "Sched", 9, activity, sort_activity, priority=3),
        Column("adh", "Adh", 5, state, sort_state, priority=1),
        Column("out", "Out m", 5, minutes, sort_minutes, align="right", priority=1),
    ]


def totals_text(t: Totals, window: str = "today") -> tuple[str, str]:
    """(value, context) for a tile: "92%", "today · 41 agents scheduled · 3 out"."""
    pct = t.percent
    value = fmt.DASH if pct is None else f"{pct:.0f}%"
    return value, f"{window} · {t.agents} agents scheduled · {t.out_now} out now"


def schedule_lines(entries: Sequence[ScheduleEntry], a: Adherence | None, now: datetime,
                   clock: Callable[[datetime], str], grace_min: float) -> Text:
    """The agent detail's "Schedule" section: adherence so far and today's entries, the
    one in force marked."""
    text = Text()
    if not entries:
        return text.append("Schedule not in today's schedule\n", "dim")
    text.append("Adhere  ")
    if a is None or a.scheduled_s <= 0:
        text.append("not judged yet (not seen during a scheduled activity)", "dim")
    else:
        pct = 100.0 * a.adhering_s / a.scheduled_s
        text.append(f"{pct:.0f}%", "bold")
        text.append(f" · {a.out_s / 60:.0f} min out of {a.scheduled_s / 60:.0f} scheduled "
                    f"(grace {grace_min:g} min)", "dim")
        if a.in_adherence is False and a.out_since is not None:
            text.append(f"  ✗ OUT since {clock(a.out_since)}", OUT_STYLE)
    text.append("\nSchedule")
    for e in entries:
        current = e.start <= now < e.end
        text.append("\n  " if not current else "\n▶ ", "bold" if current else "")
        text.append(f"{clock(e.start)}-{clock(e.end)} ", "bold" if current else "dim")
        text.append(f"{clean(e.activity, 24)} ({EXPECTED_LABEL[e.expected]})",
                    "bold" if current else "")
    text.append("\n")
    return text
