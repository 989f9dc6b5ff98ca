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
