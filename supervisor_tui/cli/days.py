"""A day as a command takes it: YYYY-MM-DD, or a name (today, yesterday, tomorrow)
resolved in the centre's zone when the command runs."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

_OFFSETS = {"today": 0, "yesterday": -1, "tomorrow": 1}


def day_type(*names: str) -> Callable[[str], str]:
    """An argparse ``type``: a day as typed, YYYY-MM-DD or one of ``names`` (kept as a name
    so it is resolved in the centre's zone, which the config gives later)."""
    def parse(text: str) -> str:
        if text in names:
            return text
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a day: {text!r} (YYYY-MM-DD)") from None

    return parse


#: --date of export and report: a day that has happened
past_day = day_type("today", "yesterday")


def resolve_day(text: str, zone: Any) -> date:
    """The day ``text`` names (see day_type) in ``zone``."""
    offset = _OFFSETS.get(text)
    if offset is None:
        return date.fromisoformat(text)
    return datetime.now(zone).date() + timedelta(days=offset)
