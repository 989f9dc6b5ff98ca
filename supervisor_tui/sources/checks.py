"""Validation shared by the platform sources: a platform's garbage (a negative or
absurd count, a date without a zone, true where a number belongs) fails validation
with a short reason instead of reaching the screen as truth; a listing keeps its good
records and counts the bad ones. No HTTP library here."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from supervisor_tui.domain.text import clean
from supervisor_tui.protocol.documents import describe
from supervisor_tui.sources.base import SourceError

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
Name = Annotated[str, Field(max_length=500)]


class Doc(BaseModel):
    """A platform's wire document: only the fields a source reads, named as the platform
    names them; other fields are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)


D = TypeVar("D", bound=Doc)


def validate(model: type[D], data: Any, what: str) -> D:
    """``data`` as a ``model``, or a ``SourceError`` saying what is wrong with it."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise SourceError(f"{what}: {describe(err)}") from None


@dataclass
class Listing(Generic[D]):
    """The records of a (paged) listing: a garbage record is dropped and counted, with
    the first reason, so the rest of the centre can still be shown."""

    records: list[D] = field(default_factory=list)
    pages: int = 0
    dropped: int = 0
    first_problem: str = ""
    truncated: bool = False

    def read(self, model: type[D], items: Iterable[Any]) -> None:
        for item in items:
            try:
                self.records.append(model.model_validate(item))
            except ValidationError as err:
                self.dropped += 1
                self.first_problem = self.first_problem or describe(err)

    def check(self, what: str) -> None:
        """Refuse a listing that is mostly garbage: what is left would be a wrong centre,
        not a partial one."""
        total = len(self.records) + self.dropped
        if self.dropped and self.dropped * 2 > total and self.dropped > 2:
            raise SourceError(f"{what}: {self.dropped} of {total} records unreadable "
                              f"({self.first_problem})")


def not_future(when: datetime, now: datetime, skew_s: float) -> datetime | None:
    """``when`` if it is not in the future; now if it is at most ``skew_s`` ahead (the
    platform's clock runs a little fast); None if further: garbage."""
    if when <= now:
        return when
    if (when - now).total_seconds() <= skew_s:
        return now
    return None
