"""The ``[wall]`` configuration section: what a wall terminal shows and how.

Example (TOML)::

    [wall]
    views = ["dashboard", "queues:voice", "escalations", "agents"]
    rotate_s = 20
    pause_on = ["critical"]   # what holds the escalations view (for at most pause_s)
    theme = "high-contrast"
    stale_after_s = 30

    [wall.queue_groups]          # [groups] (config/groups.py) are wall groups too;
    voice = ["sales", "support"] # on a name in both, this one wins on the wall

Kept apart from ``config.py`` (which imports it) so the wall screen can import it
without pulling the whole configuration in.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import Field, field_validator, model_validator

from supervisor_tui.config.strict import Strict
from supervisor_tui.domain.escalation import EscalationKind, Severity

# View names; a queue group is "queues:<group>", and plain "queues" means every queue.
DASHBOARD = "dashboard"
ESCALATIONS = "escalations"
AGENTS = "agents"
QUEUES = "queues"
QUEUES_PREFIX = "queues:"
VENDORS = "vendors"  # each vendor's totals against its contract ([vendors])


class WallTheme(StrEnum):
    DEFAULT = "default"
    HIGH_CONTRAST = "high-contrast"  # colour-blind-safe (Okabe-Ito), black background


def _default_views() -> list[str]:
    return [DASHBOARD, QUEUES, ESCALATIONS, AGENTS]


PAUSE_WORDS = frozenset({*(s.value for s in Severity), *(k.value for k in EscalationKind)})


class WallConfig(Strict):

    views: list[str] = Field(
        default_factory=_default_views, min_length=1,
        description='views in rotation order: "dashboard", "queues" (all), "queues:<group>", '
        '"escalations", "agents", "vendors"')
    rotate_s: float = Field(15.0, gt=0, le=3600, description="seconds each view is shown")
    queue_groups: dict[str, list[str]] = Field(
        default_factory=dict, description="group name -> queue ids, for queues:<group> views")
    stale_after_s: float | None = Field(
        None, gt=0, description="wall only: data older than this is stale (default: console)")
    pause_on: list[str] = Field(
        default_factory=lambda: [Severity.CRITICAL.value],
        description="what pauses rotation on the escalations view: severities "
        '("critical", "warning", "info") and/or escalation kinds ("tier_wait", "queue_sl", '
        "...); an escalation pauses if its severity or its kind is listed; [] never pauses")
    pause_s: float | None = Field(
        None, gt=0, description="how long a pause holds the escalations view (default and "
        "at most rotate_s: one view's time); a critical strip then rides on every view")
    theme: WallTheme = WallTheme.DEFAULT
    bell: bool = Field(False, description="ring the bell on a new critical escalation "
                       "(off: a wall has nobody at the keyboard to hear it)")

    @field_validator("queue_groups")
    @classmethod
    def _groups_not_empty(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        empty = sorted(name for name, ids in value.items() if not ids)
        if empty:
            raise ValueError(f"queue group(s) with no queue ids: {', '.join(empty)}")
        return value

    @field_validator("pause_on")
    @classmethod
    def _known_pause_words(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - PAUSE_WORDS)
        if unknown:
            raise ValueError(f"unknown {', '.join(map(repr, unknown))} (use severities "
                             f"critical, warning, info or kinds {', '.join(EscalationKind)})")
        return value

    @property
    def pause_for_s(self) -> float:
        return self.rotate_s if self.pause_s is None else self.pause_s

    def pauses_on(self, severity: str, kind: str) -> bool:
        return severity in self.pause_on or kind in self.pause_on

    @model_validator(mode="after")
    def _pause_within_a_view(self) -> Self:
        if self.pause_s is not None and self.pause_s > self.rotate_s:
            raise ValueError(f"pause_s ({self.pause_s:g}) is longer than rotate_s "
                             f"({self.rotate_s:g}): a pause holds one view's time at most, "
                             "or a surge hides every other view")
        return self

    @model_validator(mode="after")
    def _known_views(self) -> Self:
        for view in self.views:
            if view in (DASHBOARD, ESCALATIONS, AGENTS, QUEUES, VENDORS):
                continue
            if view.startswith(QUEUES_PREFIX):
                continue  # the group may be in [groups] too: Config checks with both

            raise ValueError(f"unknown view {view!r} (use dashboard, queues, "
                             "queues:<group>, escalations, agents or vendors)")
        return self

    def with_groups(self, groups: dict[str, list[str]]) -> WallConfig:
        """This wall with the top-level ``[groups]`` added to its queue groups (its own
        ``[wall.queue_groups]`` win on a name in both); every "queues:<group>" view
        checked against them. Raises ValueError naming a view whose group is nowhere."""
        merged = {**groups, **self.queue_groups}
        for view in self.views:
            group = view.removeprefix(QUEUES_PREFIX)
            if view.startswith(QUEUES_PREFIX) and group not in merged:
                known = ", ".join(sorted(merged)) or "none defined"
                raise ValueError(f"wall.views: view {view!r}: no queue group {group!r} in "
                                 f"[groups] or [wall.queue_groups] ({known})")
        return self.model_copy(update={"queue_groups": merged})
