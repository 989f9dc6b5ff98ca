"""Zendesk Talk's wire documents (only the fields we read), and the pure functions
that read them.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator

from supervisor_tui.domain.text import clean
from supervisor_tui.sources.base import SourceError
from supervisor_tui.sources.checks import Count, Doc, Name, Seconds, count

_DIGITS = re.compile(r"^[0-9]{1,19}$")


def _agent_id(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"not an agent id: {clean(repr(value), 40)}")
    text = str(value).strip()
    if not _DIGITS.match(text) or int(text) == 0:
        raise ValueError(f"not an agent id: {clean(repr(value), 40)}")
    return text


class QueueActivityDoc(Doc):
    """``current_queue_activity`` (seconds and counts)."""

    calls_waiting: Count
    callbacks_waiting: Count = 0
    embeddable_callbacks_waiting: Count = 0
    longest_wait_time: Seconds
    average_wait_time: Seconds | None = None
    agents_online: Count | None = None


class OverviewDoc(Doc):
    """``account_overview``: only the fields we read; higher-plan fields may be absent."""

    total_calls: Count | None = None
    total_inbound_calls: Count | None = None
    total_calls_abandoned_in_queue: Count | None = None
    total_calls_with_exceeded_queue_wait_time: Count | None = None
    average_time_to_answer: Seconds | None = None
    average_queue_wait_time: Seconds | None = None


class AgentActivityDoc(Doc):
    """One ``agents_activity`` record; the day's counters default to 0 when absent."""

    agent_id: Annotated[str, BeforeValidator(_agent_id)]
    name: Name | None = None
    agent_state: Name
    call_status: Name | None = None
    calls_accepted: Count = 0
    total_talk_time: Seconds = 0.0
    total_hold_time: Seconds = 0.0
    total_wrap_up_time: Seconds = 0.0


def platform_error(data: dict[str, Any]) -> str | None:
    """Zendesk's error body (``error`` as text or {title, message}, ``description``)."""
    error = data.get("error")
    if error is None and "errors" not in data:
        return None
    parts: list[str] = []
    if isinstance(error, dict):
        parts += [str(error.get(k)) for k in ("title", "message") if error.get(k)]
    elif error is not None:
        parts.append(str(error))
    if data.get("description"):
        parts.append(str(data["description"]))
    if not parts and data.get("errors"):
        parts.append(str(data["errors"])[:120])
    return clean(": ".join(parts) or "an error", 160)


def _validate_count(value: Any, what: str) -> int:
    try:
        return count(value)
    except ValueError as err:
        raise SourceError(f"{what}: {err}") from None
