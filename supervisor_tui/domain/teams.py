"""Each team's figures from one snapshot and the agents' days (pure).

Teams are what the sources report in ``Agent.team`` (agents with none form the team
""). Per team:

- agents by state now, and logged in = everyone not offline;
- occupancy now = (on contact + ACW) / (on contact + ACW + available), with that
  denominator as its sample (away and offline agents count for neither side, as in
  ``metrics.occupancy``);
- the logged-in agent longest in their current state (the age is taken at render time);
- AHT for the day = sum of handle time / sum of contacts handled over the team's agents'
  days (``domain.agent_day``: what the console saw them finish today), with the count.
  Agents no longer in the snapshot are not in it: their team is only known from it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from supervisor_tui.domain import metrics
from supervisor_tui.domain.agent_day import AgentDay, agent_key
from supervisor_tui.domain.model import Agent, AgentStateKind


@dataclass(frozen=True)
class TeamFigures:
    team: str  # as the source reports it ("" = no team)
    agents: metrics.AgentTally
    longest: Agent | None  # logged in, longest in their current state
    handled: int  # contacts the team's agents were seen to finish today
    handle_s: float
    day_agents: int  # of its agents, those with a day record (behind the AHT)
    observed_since: datetime | None  # the earliest of those records' first sight
    reported: bool = True  # False: named in [teams] order, but no source reports it

    @property
    def logged_in(self) -> int:
        return self.agents.staffed

    @property
    def busy(self) -> int:
        return self.agents.on_contact + self.agents.after_contact_work

    @property
    def occupancy_n(self) -> int:
        """The occupancy's sample: agents on a contact, in ACW or available."""
        return self.busy + self.agents.available

    @property
    def occupancy(self) -> float | None:
        n = self.occupancy_n
        return self.busy / n if n else None

    @property
    def aht_s(self) -> float | None:
        return self.handle_s / self.handled if self.handled else None


class _Acc:
    __slots__ = ("by_kind", "days", "handle_s", "handled", "longest", "longest_since",
                 "since")

    def __init__(self) -> None:
        self.by_kind: dict[AgentStateKind, int] = dict.fromkeys(AgentStateKind, 0)
        self.longest: Agent | None = None
        self.longest_since: datetime | None = None
        self.handled = 0
        self.handle_s = 0.0
        self.days = 0
        self.since: datetime | None = None


def team_figures(agents: Iterable[Agent], days: Mapping[str, AgentDay] | None = None,
                 order: Sequence[str] = ()) -> tuple[TeamFigures, ...]:
    """One row per team, in one pass over the agents: the teams in ``order`` first (in
    that order, listed even when no source reports them), then the rest by name."""
    accs: dict[str, _Acc] = {}
    days = days or {}
    offline = AgentStateKind.OFFLINE
    for agent in agents:  # each agent read once: 10,000 scattered objects a poll
        team = agent.team
        acc = accs.get(team)
        if acc is None:
            acc = accs[team] = _Acc()
        state = agent.state
        kind = state.kind
        acc.by_kind[kind] += 1
        if kind != offline and (acc.longest_since is None
                                    or state.since < acc.longest_since):
            acc.longest, acc.longest_since = agent, state.since
        day = days.get(agent_key(agent)) if days else None
        if day is not None:
            acc.days += 1
            acc.handled += day.handled
            acc.handle_s += day.handle_s
            if acc.since is None or day.observed_since < acc.since:
                acc.since = day.observed_since

    named = list(dict.fromkeys(order))
    listed = set(named)
    rest = sorted((t for t in accs if t not in listed), key=lambda t: (t.casefold(), t))
    rows: list[TeamFigures] = []
    for team in [*named, *rest]:
        acc = accs.get(team)
        if acc is None:
            rows.append(TeamFigures(team, metrics.AgentTally(), None, 0, 0.0, 0, None,
                                    reported=False))
            continue
        rows.append(TeamFigures(
            team=team,
            agents=metrics.AgentTally(
                available=acc.by_kind[AgentStateKind.AVAILABLE],
                on_contact=acc.by_kind[AgentStateKind.ON_CONTACT],
                after_contact_work=acc.by_kind[AgentStateKind.AFTER_CONTACT_WORK],
                away=acc.by_kind[AgentStateKind.AWAY],
                offline=acc.by_kind[AgentStateKind.OFFLINE]),
            longest=acc.longest,
            handled=acc.handled,
            handle_s=acc.handle_s,
            day_agents=acc.days,
            observed_since=acc.since,
        ))
    return tuple(rows)
