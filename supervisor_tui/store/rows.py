"""The shapes of the store's rows, as the code reads them (sqlite returns plain dicts)."""

from __future__ import annotations

from typing import TypedDict


class EscalationState(TypedDict):
    """Who took, acknowledged, snoozed or resolved an escalation, shared by consoles."""

    id: str
    state: str  # OPEN, ACKNOWLEDGED, TAKEN, RESOLVED or SNOOZED
    owner: str
    updated_at: str  # ISO 8601 with offset
    updated_by: str
    until: str  # snoozed until (ISO 8601), "" otherwise
    seq: int  # bumped on every change: an undo checks nobody changed it since


class EscalationNote(TypedDict):
    id: int
    escalation_id: str
    ts: str
    user: str
    note: str


class EscalationNotice(TypedDict):
    """A message to one user about their escalation (taken over, given to them)."""

    id: int
    escalation_id: str
    to_user: str
    from_user: str
    ts: str
    text: str
    seen_at: str


class HistoryRow(TypedDict):
    """One per-queue sample, every ``[store] history_every_s``."""

    ts: str  # UTC, ISO 8601
    queue_id: str
    service_level: float | None
    waiting: int
    longest_wait_s: float
    offered: int
    answered: int
    abandoned: int


class IntervalRow(TypedDict):
    """One queue over one closed reporting interval (the intraday history).

    Counters follow the counting rule (docs/metrics.md): offered = answered + abandoned +
    flowed out. ``complete`` is 1 when the counts run to the interval's end (taken from
    the day's counters at the first poll of the next interval), 0 when they are the last
    poll's figures (the console missed the boundary: contacts that left after that poll
    are not in them)."""

    queue_id: str
    interval_start: str  # UTC, ISO 8601
    interval_minutes: int
    channel: str
    offered: int
    answered: int
    answered_within_threshold: int
    abandoned: int
    abandoned_short: int
    abandoned_after_threshold: int
    flowed_out: int
    wait_answered_s: float
    handled: int
    handle_s: float
    sl_target: float
    threshold_s: float
    #: effective agents (on this queue's contacts, or available and serving it) at the
    #: interval's last poll: the count Erlang C's need is compared with
    agents_staffed_at_close: float
    #: Erlang C agents needed at the interval's last poll (None: too few contacts)
    agents_needed_at_close: int | None
    complete: int


class LiveSetting(TypedDict):
    """One live threshold (``live_settings``): a config value changed while running,
    shared by every console on the store. ``value`` is JSON text, None once cleared
    back to the config's value (the row stays: who cleared it, and ``seq`` only grows)."""

    key: str  # e.g. "queue.billing.sl_target", "escalations.acw_limit_s", "notify.bell"
    value: str | None
    updated_by: str
    updated_at: str  # ISO 8601 with offset
    seq: int  # the table's max + 1 on every write: compare-and-set, and "anything new?"


class Callback(TypedDict):
    """A call-back tracked in the store (``callbacks``), for a source that cannot queue
    one itself: every console on the store sees it and who marked it done."""

    id: str  # "<source>:<abandoned id>": one call-back per abandoned contact
    abandoned_id: str
    source: str
    queue_id: str
    customer: str
    number: str  # the number or handle to call, "" if the source gave none
    created_by: str
    created_at: str  # ISO 8601 with offset
    state: str  # waiting, done or no_answer
    updated_by: str
    updated_at: str
