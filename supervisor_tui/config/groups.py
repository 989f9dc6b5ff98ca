"""The ``[groups]`` and ``[teams]`` configuration sections.

Example (TOML)::

    [groups]                     # queue groups: a KPI band each on the dashboard (g),
    voice = ["sales", "support"] # and "queues:<name>" views on a wall
    digital = ["chat_sales", "email"]

    [teams]                      # optional: teams are as the sources report them
    order = ["Sales", "Tech Support"]   # listed first, in this order; the rest by name
    names = { "TS-EMEA" = "Tech Support EMEA" }   # name shown for a source's team name

``[wall.queue_groups]`` still works: a wall sees ``[groups]`` and its own groups, and on
a name in both the wall's own definition wins there. The dashboard's bands are
``[groups]`` only. Queue ids no source reports are not an error here (a source may be
down, or a queue added later): the band and the wall say which ones are missing.

Kept apart from ``config/__init__.py`` so screens can import it without the whole
configuration.
"""

from __future__ import annotations

from collections import Counter
from typing import Self

from pydantic import Field, model_validator

from supervisor_tui.config.strict import Strict
from supervisor_tui.domain.text import clean

NAME_MAX = 40  # a group or team display name: it has to fit a tile title and a column


def _bad_name(name: str) -> str | None:
    """Why ``name`` cannot be a name shown on screen, or None."""
    if not name.strip():
        return "is empty"
    if len(name) > NAME_MAX:
        return f"is longer than {NAME_MAX} characters"
    if clean(name, NAME_MAX) != name:
        return "has control characters (escape codes, bidi overrides...)"
    return None


def listed_twice(values: list[str]) -> str:
    """The entries of ``values`` listed more than once, quoted ("" when none)."""
    counts = Counter(values)
    return ", ".join(repr(v) for v in sorted(counts) if counts[v] > 1)


def check_groups(groups: dict[str, list[str]]) -> dict[str, list[str]]:
    """Every problem of a ``[groups]`` table in one message (pydantic field validator)."""
    problems: list[str] = []
    for name, ids in groups.items():
        why = _bad_name(name)
        if why:
            problems.append(f"group name {name!r} {why}")
        if not ids:
            problems.append(f"group {name!r} has no queue ids")
        if any(not q.strip() for q in ids):
            problems.append(f"group {name!r} has an empty queue id")
        twice = listed_twice(ids)
        if twice:
            # Counted twice, a queue's waiting and offered would be added twice.
            problems.append(f"group {name!r} lists {twice} more than once")
    if problems:
        raise ValueError("; ".join(problems))
    return groups


class TeamsConfig(Strict):

    order: list[str] = Field(
        default_factory=list, description="teams (as the sources name them) listed first "
        "on the team view, in this order; the others follow by name")
    names: dict[str, str] = Field(
        default_factory=dict, description="a source's team name -> the name shown")

    @model_validator(mode="after")
    def _sane(self) -> Self:
        problems: list[str] = []
        twice = listed_twice(self.order)
        if twice:
            problems.append(f"order lists {twice} more than once")
        for team, shown in self.names.items():
            why = _bad_name(shown)
            if why:
                problems.append(f"names: the name for {team!r} ({shown!r}) {why}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def label(self, team: str) -> str:
        """The name shown for a team as a source reports it (cleaned: source text is
        data); agents with no team read "(no team)"."""
        shown = self.names.get(team, team)
        return clean(shown, NAME_MAX) if shown.strip() else "(no team)"
