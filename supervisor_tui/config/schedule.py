"""The ``[schedule]`` configuration section: schedule adherence (docs/schedule.md).

Example (TOML)::

    [schedule]
    watch = "/srv/wfm/today.csv"   # re-imported when it changes (checked on each poll)
    grace_min = 5                  # the first minutes of each stretch out are forgiven
    escalate_after_min = 10        # out of adherence this long: an escalation
    [schedule.activities]          # activity name -> on_duty | away | offline
    "Tea Party" = "away"

Kept apart from ``config/__init__.py`` so the CLI and the console read one definition.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pydantic import Field, field_validator

from supervisor_tui.config.strict import Strict
from supervisor_tui.domain.schedule import Expected, activities_from_config


class ScheduleConfig(Strict):

    watch: Path | None = Field(
        None, description="a schedule file (CSV or JSON) re-imported for today whenever its "
        "size or modification time changes; a broken file keeps the last good schedule")
    watch_format: str | None = Field(
        None, description="csv or json (default: from the file's extension)")
    grace_min: float = Field(
        5.0, ge=0, le=120, description="minutes of each out-of-adherence stretch forgiven "
        "(a return from break 3 minutes late is in adherence)")
    escalate_after_min: float = Field(
        10.0, gt=0, le=24 * 60, description="out of adherence this many minutes (from the "
        "start of the stretch): an escalation on the desk")
    activities: dict[str, str] = Field(
        default_factory=dict, description="activity name (as the WFM file writes it) -> "
        "on_duty | away | offline, over the built-in names")

    @field_validator("activities")
    @classmethod
    def _known_classes(cls, value: dict[str, str]) -> dict[str, str]:
        activities_from_config(value)  # raises ValueError naming the bad entry
        return value

    @field_validator("watch_format")
    @classmethod
    def _known_format(cls, value: str | None) -> str | None:
        if value is not None and value not in ("csv", "json"):
            raise ValueError("csv or json")
        return value

    def activity_map(self) -> Mapping[str, Expected]:
        return activities_from_config(self.activities)

    @property
    def grace_s(self) -> float:
        return self.grace_min * 60.0

    @property
    def escalate_after_s(self) -> float:
        return self.escalate_after_min * 60.0
