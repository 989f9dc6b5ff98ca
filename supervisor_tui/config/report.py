"""The ``[report]`` configuration section: the end-of-day report e-mailed once a day.

Example (TOML)::

    [report]
    email_to = ["director@example.com", "wfm@example.com"]
    at = "18:30"            # local time ([console] timezone): today's report so far
    channel = "mail"        # a [crisis.channels.NAME] of type email (its SMTP server)

The mail goes through the crisis outbox (durable, leased: two consoles on one store send
it once) on the named e-mail channel; the recipients are ``email_to``, not the channel's
own ``to`` list. Kept apart from ``config/__init__.py``: one section, one module.
"""

from __future__ import annotations

import re
from datetime import time
from typing import TYPE_CHECKING

from pydantic import Field, field_validator

from supervisor_tui.config.strict import Strict

if TYPE_CHECKING:
    from supervisor_tui.crisis.config import CrisisConfig

_EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")
_AT = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class ReportConfig(Strict):

    email_to: list[str] = Field(
        default_factory=list, description="addresses the end-of-day report is e-mailed to "
        "once a day (none: not e-mailed)")
    at: str = Field("18:30", description="local time (HH:MM, [console] timezone) the day's "
                    "report is sent, with the figures so far")
    channel: str | None = Field(
        None, description="the [crisis.channels] e-mail channel to send through (default: "
        "the only e-mail channel configured)")

    @field_validator("email_to")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not _EMAIL.match(v)]
        if bad:
            raise ValueError(f"not e-mail addresses: {', '.join(map(repr, bad))}")
        if len(set(value)) != len(value):
            raise ValueError("lists an address twice")
        return value

    @field_validator("at")
    @classmethod
    def _at(cls, value: str) -> str:
        if not _AT.match(value):
            raise ValueError(f"not a time of day: {value!r} (HH:MM, 24-hour, e.g. \"18:30\")")
        return value

    @property
    def send_at(self) -> time:
        hour, minute = self.at.split(":")
        return time(int(hour), int(minute))

    def email_channel(self, crisis: CrisisConfig) -> str | None:
        """The e-mail channel the report goes through, or None (no mail configured)."""
        if not self.email_to:
            return None
        if self.channel is not None:
            return self.channel
        emails = [n for n, c in crisis.channels.items() if c.type == "email"]
        return emails[0] if len(emails) == 1 else None

    def problems(self, crisis: CrisisConfig) -> list[str]:
        """What is wrong with [report] given the [crisis] channels (Config validator)."""
        if not self.email_to:
            return []
        emails = sorted(n for n, c in crisis.channels.items() if c.type == "email")
        if self.channel is None:
            if not emails:
                return ["report.email_to: e-mailing the report needs a [crisis.channels] "
                        "channel of type email (its SMTP server)"]
            if len(emails) > 1:
                return [f"report.channel: several e-mail channels ({', '.join(emails)}): "
                        "name the one to send the report through"]
            return []
        found = crisis.channels.get(self.channel)
        if found is None:
            return [f"report.channel: unknown channel {self.channel!r} (e-mail channels: "
                    f"{', '.join(emails) or 'none'})"]
        if found.type != "email":
            return [f"report.channel: {self.channel} is a {found.type} channel, not email"]
        return []
