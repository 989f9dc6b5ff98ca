"""Amazon Connect's answers (only the fields we read, named as the API names them, as
the AWS SDK parses them: timestamps are aware datetimes), and the pure functions that
turn them into our model. No AWS SDK here: the benchmark and the tests feed it plain
dicts shaped like the SDK's.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from supervisor_tui.domain.model import AgentStateKind, Channel, QueueStats
from supervisor_tui.domain.text import clean
from supervisor_tui.sources.checks import Doc, count
from supervisor_tui.sources.checks import Name as Text
from supervisor_tui.sources.connect.settings import is_uuid
from supervisor_tui.sources.plausible import checked_stats, late_abandons

# -- what we ask for (tests check every name and unit against botocore's model) --------

#: GetCurrentMetricData, grouped by QUEUE: (name, unit)
CURRENT_METRICS: tuple[tuple[str, str], ...] = (
    ("CONTACTS_IN_QUEUE", "COUNT"),
    ("OLDEST_CONTACT_AGE", "SECONDS"),
    ("AGENTS_ONLINE", "COUNT"),
    ("AGENTS_AVAILABLE", "COUNT"),
    ("AGENTS_ON_CONTACT", "COUNT"),
    ("AGENTS_AFTER_CONTACT_WORK", "COUNT"),
    ("AGENTS_NON_PRODUCTIVE", "COUNT"),
    ("AGENTS_ERROR", "COUNT"),
    ("AGENTS_STAFFED", "COUNT"),
)

# GetMetricDataV2, grouped by QUEUE (see the package docstring for why each)
ANSWERED = "CONTACTS_HANDLED_BY_CONNECTED_TO_AGENT"
ANSWERED_IN_X = "SUM_CONTACTS_ANSWERED_IN_X"
AVG_ANSWER = "AVG_QUEUE_ANSWER_TIME"
ABANDONED = "CONTACTS_ABANDONED"
ABANDONED_IN_X = "SUM_CONTACTS_ABANDONED_IN_X"
FLOWED_OUT = "CONTACTS_TRANSFERRED_OUT_FROM_QUEUE"
HANDLED = "CONTACTS_HANDLED"
HANDLE_TIME = "SUM_HANDLE_TIME"
V2_METRICS = (ANSWERED, ANSWERED_IN_X, AVG_ANSWER, ABANDONED, ABANDONED_IN_X, FLOWED_OUT,
              HANDLED, HANDLE_TIME)

#: a contact an agent is busy with (offered, ringing, talking, on hold)
_BUSY = frozenset({"INCOMING", "PENDING", "CONNECTING", "CONNECTED", "CONNECTED_ONHOLD"})
#: Connect's channels -> ours; TASK takes the queue's configured channel
CHANNELS = {"VOICE": Channel.VOICE, "CHAT": Channel.CHAT, "EMAIL": Channel.EMAIL}
#: seconds totals above this are garbage (~300 years)
MAX_SECONDS = 1e10


def v2_metrics(threshold_s: int, short_s: int) -> list[dict[str, Any]]:
    """The ``Metrics`` of one GetMetricDataV2 request for queues with threshold T and
    short-abandon time S (thresholds are per metric, so queues are asked in (T, S)
    groups). Abandons under T and under S share a metric name with two thresholds."""

    def lt(name: str, seconds: int) -> dict[str, Any]:
        return {"Name": name, "Threshold": [{"Comparison": "LT",
                                             "ThresholdValue": float(seconds)}]}

    metrics = [{"Name": ANSWERED}, lt(ANSWERED_IN_X, threshold_s), {"Name": AVG_ANSWER},
               {"Name": ABANDONED}, lt(ABANDONED_IN_X, threshold_s), {"Name": FLOWED_OUT},
               {"Name": HANDLED}, {"Name": HANDLE_TIME}]
    if 0 < short_s < threshold_s:
        metrics.append(lt(ABANDONED_IN_X, short_s))
    return metrics


# -- wire documents ----------------------------------------------------------------------


def _id(value: Any) -> str:
    if not is_uuid(value):
        raise ValueError(f"not an id: {clean(repr(value), 40)}")
    return str(value).lower()


def _aware(value: Any) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ValueError(f"not a timestamp: {clean(repr(value), 40)}")
    if not 2000 <= value.year <= 2200:
        raise ValueError(f"absurd date {value.isoformat()}")
    return value.astimezone(UTC)


Id = Annotated[str, BeforeValidator(_id)]
When = Annotated[datetime, BeforeValidator(_aware)]


class RefDoc(Doc):
    Id: Id


class QueueSummaryDoc(Doc):
    Id: Id
    Name: Text | None = None
    QueueType: Text | None = None


class RoutingProfileDoc(Doc):
    Id: Id
    Name: Text | None = None


class UserSummaryDoc(Doc):
    Id: Id
    Username: Text | None = None


class AgentStatusDoc(Doc):
    Id: Id
    Name: Text
    Type: Text


class ProfileQueueDoc(Doc):
    QueueId: Id
    Priority: int | None = None
    Channel: Text | None = None


class StatusDoc(Doc):
    StatusStartTimestamp: When | None = None
    StatusArn: Text | None = None
    StatusName: Text | None = None


class AgentContactDoc(Doc):
    ContactId: Id
    Channel: Text | None = None
    AgentContactState: Text | None = None
    StateStartTimestamp: When | None = None
    ConnectedToAgentTimestamp: When | None = None
    Queue: RefDoc | None = None


class UserDataDoc(Doc):
    User: RefDoc
    RoutingProfile: RefDoc | None = None
    Status: StatusDoc | None = None
    Contacts: list[AgentContactDoc] = Field(default_factory=list)
    NextStatus: Text | None = None


# -- GetCurrentMetricData -----------------------------------------------------------------


def oldest_age_s(value: float, grouped: bool) -> float:
    """OLDEST_CONTACT_AGE in seconds. Connect labels it SECONDS either way, but without
    groupings the value is in milliseconds (its own API reference says so)."""
    return value if grouped else value / 1000


@dataclass(frozen=True, slots=True)
class QueueNow:
    """A queue's real-time metrics, checked."""

    waiting: int
    oldest_s: float | None
    agents: Mapping[str, int]  # AGENTS_* by name


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or \
            not math.isfinite(value):
        raise ValueError(f"not a number: {clean(repr(value), 40)}")
    return float(value)


def read_current(results: Iterable[Mapping[str, Any]], wanted: set[str], max_wait_s: float
                 ) -> tuple[dict[str, QueueNow | str], int]:
    """GetCurrentMetricData ``MetricResults`` -> per queue its metrics, or why they were
    rejected; also how many results named no queue of ours (ignored)."""
    out: dict[str, QueueNow | str] = {}
    stray = 0
    for result in results:
        queue = (result.get("Dimensions") or {}).get("Queue") or {}
        qid = str(queue.get("Id") or "").lower()
        if qid not in wanted:
            stray += 1
            continue
        try:
            out[qid] = _queue_now(result.get("Collections") or [], max_wait_s)
        except ValueError as err:
            out[qid] = clean(str(err), 120)
    return out, stray


def _queue_now(collections: list[Mapping[str, Any]], max_wait_s: float) -> QueueNow:
    values: dict[str, float] = {}
    for item in collections:
        name = str((item.get("Metric") or {}).get("Name") or "")
        if "Value" in item and item["Value"] is not None:
            values[name] = _number(item["Value"])
    waiting = count(values.get("CONTACTS_IN_QUEUE", 0.0))
    oldest = values.get("OLDEST_CONTACT_AGE")
    if oldest is not None:
        # Always asked grouped by queue, so seconds (see oldest_age_s)
        oldest = oldest_age_s(oldest, grouped=True)
        if oldest < 0 or oldest > max_wait_s:
            raise ValueError(f"oldest contact age {oldest:g} s is absurd")
    agents = {name: count(values[name]) for name, unit in CURRENT_METRICS
              if name.startswith("AGENTS_") and name in values}
    return QueueNow(waiting=waiting, oldest_s=oldest if waiting else None, agents=agents)


# -- GetMetricDataV2 ----------------------------------------------------------------------


def _key(metric: Mapping[str, Any]) -> tuple[str, float | None]:
    thresholds = metric.get("Threshold") or []
    value = thresholds[0].get("ThresholdValue") if thresholds else None
    return str(metric.get("Name") or ""), (float(value) if value is not None else None)


def read_v2(results: Iterable[Mapping[str, Any]], wanted: Mapping[str, tuple[int, int]],
            window_start: datetime) -> dict[str, QueueStats | str]:
    """GetMetricDataV2 ``MetricResults`` grouped by QUEUE -> per queue its counters, or
    why they cannot be true. ``wanted``: queue id -> (T, S). A queue without a result
    had no contacts in the window (Connect sends no row for it): zero counters."""
    rows: dict[str, dict[tuple[str, float | None], float]] = {}
    for result in results:
        qid = str((result.get("Dimensions") or {}).get("QUEUE") or "").lower()
        if qid not in wanted:
            continue
        values = rows.setdefault(qid, {})
        for item in result.get("Collections") or []:
            value = item.get("Value")
            if value is not None:
                values[_key(item.get("Metric") or {})] = value
    out: dict[str, QueueStats | str] = {}
    for qid, (t, s) in wanted.items():
        try:
            out[qid] = _stats(qid, rows.get(qid, {}), t, s, window_start)
        except ValueError as err:
            out[qid] = clean(str(err), 160)
    return out


def _stats(qid: str, v: Mapping[tuple[str, float | None], Any], t: int, s: int,
           window_start: datetime) -> QueueStats | str:
    def n(name: str, threshold: int | None = None) -> int:
        return count(v.get((name, float(threshold) if threshold is not None else None), 0))

    def secs(name: str) -> float | None:
        value = v.get((name, None))
        if value is None:
            return None
        value = _number(value)
        if not 0 <= value <= MAX_SECONDS:
            raise ValueError(f"{name} {value:g} s is absurd")
        return value

    answered, abandoned, flowed = n(ANSWERED), n(ABANDONED), n(FLOWED_OUT)
    handled = n(HANDLED)
    avg_answer, handle_s = secs(AVG_ANSWER), secs(HANDLE_TIME)
    if answered and avg_answer is None:
        return f"no {AVG_ANSWER} for {answered} answered"
    if handled and handle_s is None:
        return f"no {HANDLE_TIME} for {handled} handled"
    short = n(ABANDONED_IN_X, s) if 0 < s < t else (n(ABANDONED_IN_X, t) if s == t else 0)
    under_t = n(ABANDONED_IN_X, t)
    if under_t > abandoned:
        return f"abandoned under {t} s {under_t} exceeds abandoned {abandoned}"
    late, _ = late_abandons(abandoned, short, abandoned - under_t)
    return checked_stats(
        queue_id=qid, window_start=window_start,
        offered=answered + abandoned + flowed, answered=answered,
        answered_within_threshold=n(ANSWERED_IN_X, t), abandoned=abandoned,
        abandoned_short=short, abandoned_after_threshold=late,
        wait_answered_s=(avg_answer or 0.0) * answered, handled=handled,
        handle_s=handle_s or 0.0, flowed_out=flowed)


# -- GetCurrentUserData -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AgentNow:
    """One agent's state as read from a ``UserData``: what it is built from."""

    kind: AgentStateKind
    since: datetime | None
    reason: str | None
    contact: AgentContactDoc | None  # the contact it is busy with (or wrapping up)


def agent_now(doc: UserDataDoc, status_types: Mapping[str, str]) -> AgentNow:
    """An agent's state: its contacts first (busy with one -> on contact; one ended and
    still held -> after-contact work; missed -> away), else its agent status, whose type
    (``status_types``: status id -> ROUTABLE / CUSTOM / OFFLINE, from ListAgentStatuses)
    says available, away (the status name is the reason) or offline."""
    busy = [c for c in doc.Contacts if (c.AgentContactState or "") in _BUSY]
    if busy:
        first = min(busy, key=lambda c: c.StateStartTimestamp or datetime.max.replace(
            tzinfo=UTC))
        return AgentNow(AgentStateKind.ON_CONTACT,
                        first.ConnectedToAgentTimestamp or first.StateStartTimestamp,
                        None, first)
    ended = [c for c in doc.Contacts if c.AgentContactState == "ENDED"]
    if ended:
        return AgentNow(AgentStateKind.AFTER_CONTACT_WORK, ended[0].StateStartTimestamp,
                        None, ended[0])
    missed = [c for c in doc.Contacts if c.AgentContactState in ("MISSED", "ERROR",
                                                                  "REJECTED")]
    if missed:
        what = {"MISSED": "missed contact", "ERROR": "contact error",
                "REJECTED": "rejected contact"}[missed[0].AgentContactState or "MISSED"]
        return AgentNow(AgentStateKind.AWAY, missed[0].StateStartTimestamp, what, None)
    status = doc.Status or StatusDoc()
    kind_of = status_types.get(status_id(status.StatusArn) or "")
    name = status.StatusName or ""
    if kind_of is None:  # a status the catalog does not know yet: its built-in names
        kind_of = {"available": "ROUTABLE", "offline": "OFFLINE"}.get(name.casefold(),
                                                                      "CUSTOM")
    if kind_of == "ROUTABLE":
        return AgentNow(AgentStateKind.AVAILABLE, status.StatusStartTimestamp, None, None)
    if kind_of == "OFFLINE":
        return AgentNow(AgentStateKind.OFFLINE, status.StatusStartTimestamp, None, None)
    return AgentNow(AgentStateKind.AWAY, status.StatusStartTimestamp,
                    clean(name, 40).casefold() or "away", None)


def status_id(arn: str | None) -> str | None:
    """The agent status id at the end of an ARN (``.../agent-state/ID``)."""
    if not arn:
        return None
    tail = arn.rsplit("/", 1)[-1].lower()
    return tail if is_uuid(tail) else None
