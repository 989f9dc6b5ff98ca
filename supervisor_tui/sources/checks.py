"""Field checks shared by the platform sources: a platform's garbage (a negative or
absurd count, a date without a zone, true where a number belongs) fails validation
with a short reason instead of reaching the screen as truth."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator

from supervisor_tui.domain.text import clean

MAX_COUNT = 10_000_000  # more contacts or agents than any centre has: garbage
_DIGITS = re.compile(r"^\d{1,12}$")


def count(value: Any) -> int:
    """A non-negative, plausible count; integral floats and digit strings accepted
    (some APIs send counts as strings)."""
    if isinstance(value, bool):
        raise ValueError("a count, not true/false")
    if isinstance(value, int):
        n = value
    elif ((isinstance(value, float) and value.is_integer())
          or (isinstance(value, str) and _DIGITS.match(value.strip()))):
        n = int(value)
    else:
        raise ValueError(f"not a count: {clean(repr(value), 40)}")
    if n < 0:
        raise ValueError(f"negative count {n}")
    if n > MAX_COUNT:
        raise ValueError(f"absurd count {n}")
    return n


def iso_date(value: Any) -> datetime:
    """An ISO 8601 date with a zone, in a plausible year, as UTC."""
    if not isinstance(value, str) or len(value) > 40:
        raise ValueError(f"not an ISO 8601 date: {clean(repr(value), 40)}")
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"not an ISO 8601 date: {clean(repr(value), 40)}") from None
    if when.tzinfo is None:
        raise ValueError("date without a time zone")
    if not 2000 <= when.year <= 2200:
        raise ValueError(f"absurd date {clean(value, 40)}")
    return when.astimezone(UTC)


MAX_SECONDS = 1e10  # ~300 years: a longer duration is garbage


def duration(value: Any, maximum: float = MAX_SECONDS) -> float:
    """A finite, non-negative, plausible duration (in the platform's own unit)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"not a number: {clean(repr(value), 40)}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"not a duration: {value}")
    if value > maximum:
        raise ValueError(f"absurd duration {value}")
    return float(value)


Count = Annotated[int, BeforeValidator(count)]
Seconds = Annotated[float, BeforeValidator(duration)]
Date = Annotated[datetime, BeforeValidator(iso_date)]
