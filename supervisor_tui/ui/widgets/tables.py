"""Column sets for the grids: queues, agents, waiting contacts.

Every cell is built as ``rich.text.Text`` from cleaned strings, never as markup, so a
queue called ``[bold red]VIP`` shows exactly that.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from rich.text import Text

from supervisor_tui.domain import fmt
from supervisor_tui.domain.board import INTERVAL, QueueRow, SLStatus, WindowMetrics
from supervisor_tui.domain.forecast import ForecastNeed
from supervisor_tui.domain.model import Agent, AgentStateKind, Contact, Tier
from supervisor_tui.domain.text import clean
from supervisor_tui.ui.widgets.grid import Column


def age_s(since: datetime | None, now: datetime) -> float | None:
    """Seconds since ``since`` (never negative), None without one."""
    return None if since is None else max((now - since).total_seconds(), 0.0)


def num_key(value: float | None) -> float:
    """Sort key treating 'no data' as lowest."""
    return -1.0 if value is None else value


def dash_cell() -> Text:
    """No figure: a grey dash."""
    return Text(fmt.DASH, style="dim")


def count_cell(n: int, style: str) -> Text:
    """A count in ``style``, grey when zero."""
    return Text(str(n), style=style if n else "dim")


def sl_cell(value: float | None, status: SLStatus, n: int | None = None,
            min_sample: int = 0) -> Text:
    """'✓ 82%'; with fewer than ``min_sample`` contacts behind it, greyed with the
    count ('✓ 75%·4'): a figure, not yet a fact."""
    shown, few = fmt.sample_pct(value, n if n is not None else min_sample, min_sample)
    style = "dim" if few and value is not None else fmt.SL_STYLE[status]
    return Text(f"{fmt.SL_SYMBOL[status]} {shown}", style=style)


def wait_cell(wait: float | None, threshold: float, at_least: bool = False) -> Text:
    """A wait; ``at_least`` (stale data) reads '≥ 0:26': frozen at the last data."""
    if wait is None:
        return dash_cell()
    style = "bold red" if wait > threshold else ("yellow" if wait > threshold * 0.75 else "")
    return Text(("≥" if at_least else "") + fmt.duration(wait), style=style)


def _rate_cell(value: float | None, n: int, min_sample: int, digits: int = 0) -> Text:
    if value is None:
        return dash_cell()
    text = fmt.pct(value, digits)
    if n < min_sample:
        return Text(f"{text}·{n}", style="dim")
    return Text(text)


def _time_cell(value: float | None, n: int, min_sample: int) -> Text:
    if value is None:
        return dash_cell()
    if n < min_sample:
        return Text(f"{fmt.duration(value)}·{n}", style="dim")
    return Text(fmt.duration(value))


def queue_columns(
    trend: Callable[[str], str],
    window: str = INTERVAL,
    label: str = "",
    min_sample: int = 0,
    frozen: Callable[[], bool] = lambda: False,
    forecast_need: Callable[[QueueRow], ForecastNeed | None] | None = None,
) -> list[Column[QueueRow]]:
    """Queue rows with their figures over ``window`` (named ``label`` in the headers:
    'SL 15m'); figures from fewer than ``min_sample`` contacts greyed with the count.
    ``forecast_need``: "Need" from the forecast of the interval under way where one is
    loaded, marked "fc" (else the board's, from the live rates)."""
    suffix = f" {label}" if label else ""

    def m(r: QueueRow) -> WindowMetrics | None:
        return r.window(window)

    def sl(r: QueueRow, now: datetime) -> Text:
        w = m(r)
        return sl_cell(w.service_level if w else None, r.status_in(window),
                       w.sl_n if w else 0, min_sample)

    def need_value(r: QueueRow) -> int:
        """What the Need cell shows, to sort by (-1: nothing)."""
        fc = forecast_need(r) if forecast_need is not None else None
        if fc is not None:
            return fc.needed
        return r.staffing.needed if r.staffing else -1

    def need(r: QueueRow, now: datetime) -> Text:
        fc = forecast_need(r) if forecast_need is not None else None
        if fc is not None:  # the forecast's, said so: "14 fc"
            shown = str(fc.needed)
            short = fc.needed > r.effective_agents + 1e-9
            return Text.assemble((shown, "bold red" if short else ""),
                                 (" fc" if len(shown) < 3 else "f", "dim"))
        s = r.staffing
        if s is None:
            return dash_cell()
        short = s.needed > r.effective_agents + 1e-9
        return Text(str(s.needed), style="bold red" if short else "")

    return [
        Column(
            "name", "Queue", 14,
            lambda r, now: clean(r.queue.name, 60),
            lambda r, now: r.queue.name.lower(), priority=0, flex=True, max_width=30,
        ),
        Column("channel", "Chan", 6, lambda r, now: r.queue.channel.value, priority=4),
        Column(
            "waiting", "Wait#", 5,
            lambda r, now: Text(str(r.waiting), style="bold" if r.waiting else "dim"),
            lambda r, now: r.waiting, align="right", priority=0,
        ),
        Column(
            "longest", "Oldest", 7,
            lambda r, now: wait_cell(age_s(r.oldest_waiting_since, now), r.queue.threshold_s,
                                     at_least=frozen()),
            lambda r, now: num_key(age_s(r.oldest_waiting_since, now)), align="right", priority=0,
            sort_by_time=True,
        ),
        Column(
            "sl", f"SL{suffix}", 9, sl,
            lambda r, now: num_key(w.service_level if (w := m(r)) else None),
            align="right", priority=0,
        ),
        Column(
            "target", "Target", 9,
            # "*": a live override (Thresholds screen, T), not the source's target
            lambda r, now: f"{fmt.pct(r.queue.sl_target)}/{fmt.threshold(r.queue.threshold_s)}"
            + ("*" if r.live_target else ""),
            align="right", priority=5,
        ),
        Column(
            "asa", "ASA", 7,
            lambda r, now: _time_cell(w.asa_s, w.stats.answered, min_sample)
            if (w := m(r)) else dash_cell(),
            lambda r, now: num_key(w.asa_s if (w := m(r)) else None), align="right", priority=2,
        ),
        Column(
            "aht", "AHT", 7,
            lambda r, now: _time_cell(w.aht_s, w.stats.handled, min_sample)
            if (w := m(r)) else dash_cell(),
            lambda r, now: num_key(w.aht_s if (w := m(r)) else None), align="right", priority=3,
        ),
        Column(
            "abandon", "Aband", 6,
            lambda r, now: _rate_cell(w.abandon_rate, w.abandon_n, min_sample)
            if (w := m(r)) else dash_cell(),
            lambda r, now: num_key(w.abandon_rate if (w := m(r)) else None), align="right",
            priority=1,
        ),
        Column(
            "agents", "Av/On/ACW/Aw", 13,
            lambda r, now: Text.assemble(
                (f"{r.agents.available:>3}", "green" if r.agents.available else "red"),
                f"/{r.agents.on_contact:>3}/{r.agents.after_contact_work:>2}/"
                f"{r.agents.away:>2}",
            ),
            lambda r, now: r.agents.available, align="right", priority=1,
        ),
        Column(
            "need", "Need", 5, need,
            lambda r, now: need_value(r), align="right", priority=2,
        ),
        Column("trend", "Waiting 30m ▁0 █64+", 19, lambda r, now: trend(r.queue.id),
               priority=3),
    ]


STATE_LABEL = {
    AgentStateKind.AVAILABLE: ("● Available", "green"),
    AgentStateKind.ON_CONTACT: ("◆ On contact", "cyan"),
    AgentStateKind.AFTER_CONTACT_WORK: ("◇ ACW", "magenta"),
    AgentStateKind.AWAY: ("○ Away", "yellow"),
    AgentStateKind.OFFLINE: ("· Offline", "dim"),
}


# Sort states the way a supervisor reads them: free capacity first, gone last.
STATE_ORDER = {kind: i for i, kind in enumerate(AgentStateKind)}


def agent_state_text(agent: Agent) -> Text:
    label, style = STATE_LABEL[agent.state.kind]
    if agent.state.kind is AgentStateKind.AWAY and agent.state.reason:
        label = f"{label}: {clean(agent.state.reason, 20)}"
    return Text(label, style=style)


def agent_columns(
    queue_name: Callable[[str | None], str],
    limit_for: Callable[[Agent], float | None],
) -> list[Column[Agent]]:
    """``limit_for`` gives the time-in-state limit for the agent's state, or None."""

    def in_state(agent: Agent, now: datetime) -> Text:
        age = age_s(agent.state.since, now) or 0.0
        limit = limit_for(agent)
        if limit is not None and age > limit:
            return Text(f"⚑ {fmt.duration(age)}", style="bold red")
        return Text(fmt.duration(age))

    return [
        Column(
            "name", "Agent", 16, lambda a, now: clean(a.name, 40),
            lambda a, now: a.name.lower(), priority=0, flex=True,
        ),
        Column("team", "Team", 10, lambda a, now: clean(a.team, 30),
               lambda a, now: a.team.lower(), priority=2),
        Column("state", "State", 18, lambda a, now: agent_state_text(a),
               lambda a, now: (STATE_ORDER[a.state.kind], a.state.reason or ""), priority=0),
        Column("time", "In state", 9, in_state,
               lambda a, now: age_s(a.state.since, now) or 0.0, align="right", priority=0,
               sort_by_time=True),
        Column("queue", "Queue", 14, lambda a, now: queue_name(a.queue_id),
               lambda a, now: queue_name(a.queue_id), priority=1),
        Column("contact", "Contact", 10, lambda a, now: clean(a.contact_id or fmt.DASH, 20),
               priority=3),
        Column("skills", "Skills", 18,
               lambda a, now: ", ".join(queue_name(s) for s in a.skills), priority=4),
    ]


TIER_STYLE = {Tier.VIP: "bold magenta", Tier.GOLD: "bold yellow", Tier.STANDARD: ""}


def contact_columns(
    threshold_of: Callable[[Contact], float],
    queue_name: Callable[[str | None], str],
    with_queue: bool = True,
) -> list[Column[Contact]]:
    columns: list[Column[Contact]] = [
        Column("id", "Contact", 10, lambda c, now: clean(c.id, 30), priority=0),
        Column("queue", "Queue", 12, lambda c, now: queue_name(c.queue_id), priority=2,
               flex=True),
        Column("channel", "Chan", 6, lambda c, now: c.channel.value, priority=3),
        Column("tier", "Tier", 8,
               lambda c, now: Text(c.tier.value, style=TIER_STYLE[c.tier]), priority=1),
        Column("wait", "Wait", 7,
               lambda c, now: wait_cell(age_s(c.entered_at, now), threshold_of(c)),
               lambda c, now: age_s(c.entered_at, now), align="right", priority=0,
               sort_by_time=True),
        Column("customer", "Customer", 14, lambda c, now: clean(c.customer or "", 40),
               priority=5),
        Column("flags", "Flags", 12,
               lambda c, now: ", ".join(f.value.replace("_", " ") for f in c.flags),
               priority=4),
    ]
    return [c for c in columns if with_queue or c.key != "queue"]
