"""Paging the on-call supervisor about unowned escalations (pure: no I/O).

An escalation of a paged severity (critical by default) that has been on the desk
``after_minutes`` with nobody owning it pages the on-call supervisor named in the
config; it is paged again every ``repeat_minutes`` until someone takes, acknowledges or
resolves it, it clears, or ``max_pages`` is reached. A snoozed item is not paged until
its snooze ends.

Every page of one escalation has a number (1, 2, ...) and a key, ``<escalation id>#<n>``:
the store records each key once (``crisis.paging``), so two consoles on one store that
both find page 3 due send it once. The number comes from the last page *recorded*, not
from this console's memory, and the re-page clock runs from that page's time: an item
that clears and comes back within ``repeat_minutes`` of its last page waits out the rest
of that time (the on-call person is never paged about one item more often than that).

Times are the centre's clock (snapshot time), like the escalation rules themselves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from supervisor_tui.domain.escalation import Escalation, Severity, clock, sort_key
from supervisor_tui.domain.text import clean

# The store's workflow words (supervisor_tui.store; not imported: the domain is pure).
_TAKEN, _ACKNOWLEDGED, _RESOLVED, _SNOOZED = "taken", "acknowledged", "resolved", "snoozed"

#: what a page says the escalation desk key is (the console's binding)
DESK_KEY = "e"


class PagingConfig(BaseModel):
    """``[crisis.paging]``: who is paged, how, and when. Off unless enabled."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(False, description="page the on-call supervisor about unowned "
                          "escalations")
    who: str = Field("", max_length=80, description="the on-call supervisor, as the page "
                     "names them (e.g. \"Dana Ortiz (on-call)\")")
    channels: list[str] = Field(default_factory=list, description="[crisis.channels] to "
                                "page through (webhook, slack, teams, email, sms)")
    recipients: dict[str, list[str]] = Field(
        default_factory=dict, description="per channel: only these of its recipients (an "
        "sms channel's numbers, an email channel's addresses); default all of them")
    after_minutes: float = Field(5.0, gt=0, le=24 * 60, description="an item unowned this "
                                 "long (centre clock, since it came on the desk) is paged")
    repeat_minutes: float = Field(10.0, ge=1, le=24 * 60, description="paged again this "
                                  "often until someone takes, acknowledges or resolves it")
    severities: list[Severity] = Field(default_factory=lambda: [Severity.CRITICAL],
                                       min_length=1, description="severities that page")
    max_pages: int = Field(0, ge=0, le=1000, description="at most this many pages per item "
                           "(0: until it is taken)")
    max_items: int = Field(5, ge=1, le=50, description="items named in one page; the rest "
                           "are counted")
    check_s: float = Field(15.0, ge=1, le=600, description="how often a console looks for "
                           "pages due")

    @field_validator("who")
    @classmethod
    def _who(cls, value: str) -> str:
        return clean(value, 80).strip()

    @field_validator("channels")
    @classmethod
    def _channels(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("lists a channel twice")
        return value

    @property
    def after_s(self) -> float:
        return self.after_minutes * 60.0

    @property
    def repeat_s(self) -> float:
        return self.repeat_minutes * 60.0


@dataclass(frozen=True)
class PageRecord:
    """The last page recorded for one escalation (by any console on the store)."""

    number: int
    at: datetime


@dataclass(frozen=True)
class DuePage:
    escalation: Escalation
    number: int  # 1: the first page; n: the (n-1)th re-page

    @property
    def key(self) -> str:
        return page_key(self.escalation.id, self.number)


@dataclass(frozen=True)
class PageMark:
    """What the desk says about one escalation's pages (from the store: any console's)."""

    count: int  # pages recorded: the last one's number
    last_at: datetime
    message_id: int  # the last page's outbox message
    who: str
    channels: tuple[str, ...]
    outcome: str = ""  # of the last page's deliveries: "delivered", "sending", "failed: …"

    def short(self) -> str:
        """For a 12-column cell: "paged 2×"."""
        return f"paged {self.count}×"

    def text(self, local_time: str) -> str:
        """For the detail line: "paged 2× · last 12:03 to Dana via oncall (delivered)"."""
        via = f" via {', '.join(self.channels)}" if self.channels else ""
        said = f" ({self.outcome})" if self.outcome else ""
        return (f"paged {self.count}× · last {local_time} to {clean(self.who, 40)}{via}"
                f"{said}")


def page_key(escalation_id: str, number: int) -> str:
    """The dedupe key of one page: the same on every console."""
    return f"{escalation_id}#{number}"


def _when(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def held_by(esc: Escalation, state: Mapping[str, object] | None, now: datetime) -> str | None:
    """Why a human has this item (no page), or None. Ownership always counts; an
    acknowledge, resolve or snooze only if made since the item (re)appeared — the same
    rule the desk uses (``ui.state.ConsoleState.escalation_state``)."""
    if not state:
        return None
    word = str(state.get("state", ""))
    if word == _TAKEN:
        return f"taken by {state.get('owner') or 'someone'}"
    updated = _when(state.get("updated_at"))
    if updated is None or updated < esc.first_seen:
        return None  # about an earlier occurrence
    if word in (_ACKNOWLEDGED, _RESOLVED):
        return word
    if word == _SNOOZED:
        until = _when(state.get("until"))
        if until is not None and until > now:
            return "snoozed"
    return None


def page_due(esc: Escalation, state: Mapping[str, object] | None, last: PageRecord | None,
             rules: PagingConfig, now: datetime) -> int | None:
    """The number of the page due now for ``esc``, or None."""
    if esc.severity not in rules.severities:
        return None
    if not esc.present or esc.ended is not None:
        return None  # clearing (held by hysteresis) or the contact left
    if held_by(esc, state, now) is not None:
        return None
    if esc.age_s(now) < rules.after_s:
        return None
    if last is not None and (now - last.at).total_seconds() < rules.repeat_s:
        return None
    number = (last.number if last is not None else 0) + 1
    if rules.max_pages and number > rules.max_pages:
        return None
    return number


def due_pages(escalations: Iterable[Escalation], states: Mapping[str, Mapping[str, object]],
              last_pages: Mapping[str, PageRecord], rules: PagingConfig,
              now: datetime) -> list[DuePage]:
    """Every page due now, most severe then oldest first."""
    if not rules.enabled:
        return []
    due = []
    for esc in escalations:
        number = page_due(esc, states.get(esc.id), last_pages.get(esc.id), rules, now)
        if number is not None:
            due.append(DuePage(esc, number))
    due.sort(key=lambda d: sort_key(d.escalation))
    return due


def _item(page: DuePage, now: datetime) -> str:
    esc = page.escalation
    name = clean(esc.label or esc.id, 60)
    what = clean(esc.reason, 120)
    again = f" (page {page.number})" if page.number > 1 else ""
    return f"{name}: {what}, on the desk {clock(esc.age_s(now))}{again}"


def page_text(pages: Sequence[DuePage], who: str, now: datetime, at_text: str,
              max_items: int = 5, short: bool = False) -> tuple[str, str]:
    """(subject, body) of one page about ``pages``, naming at most ``max_items`` of them
    (the rest counted); ``short`` for SMS (one line, three names). Source text (names,
    reasons) is cleaned: it is data."""
    n = len(pages)
    crit = sum(1 for p in pages if p.escalation.severity == Severity.CRITICAL)
    what = ("critical item" if crit == n else "item") + ("s" if n != 1 else "")
    subject = f"Page: {n} unowned {what} on the escalation desk"
    to = clean(who, 80) or "on-call supervisor"
    if short:
        names = "; ".join(clean(p.escalation.label or p.escalation.id, 40) for p in pages[:3])
        more = f" +{n - 3} more" if n > 3 else ""
        return subject, clean(f"{to}: {n} unowned {what} ({at_text}): {names}{more}. "
                              f"Take on the desk ({DESK_KEY}).", 300)
    lines = [f"{to}: {n} {what} nobody has taken ({at_text}). Take "
             f"{'them' if n != 1 else 'it'} on the escalation desk (key {DESK_KEY}), or "
             "acknowledge to stop the pages."]
    lines += [f"- {_item(p, now)}" for p in pages[:max_items]]
    if n > max_items:
        lines.append(f"- and {n - max_items} more")
    return subject, "\n".join(lines)
