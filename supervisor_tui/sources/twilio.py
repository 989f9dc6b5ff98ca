"""The ``twilio`` source: a Twilio TaskRouter workspace.

What a poll reads (``/v1/Workspaces/{WS}/...``, HTTP Basic with the account SID and
auth token, or an API key SID and secret):

- ``POST TaskQueues/RealTimeStatistics``: live counters of up to 50 queues per call.
  Validated and kept in ``live`` (waiting, reserved, longest wait, workers by
  activity); they fill ``Snapshot.queue_live`` (see below) and cross-check the task
  listing (see ``notes``).
- ``GET Tasks?AssignmentStatus=pending&AssignmentStatus=reserved`` (paged): the waiting
  contacts. Reserved means offered to an agent and not yet accepted: still waiting.
- ``GET Workers`` (paged): the agents. State from the activity's friendly name through
  ``activity_map``; since when from ``date_status_changed``.
- ``GET TaskQueues/{WQ}/CumulativeStatistics?StartDate=..&SplitByWaitTime=T,S``: the
  interval (and day) counters, refreshed every ``interval_refresh_s`` /
  ``day_refresh_s`` rather than every poll: one request per queue per window is the
  most expensive part of a poll, and counters over a 30-minute window move slowly.
- ``GET Workers?TaskQueueSid={WQ}`` (paged, every ``membership_refresh_s``): which
  workers each queue may route to, i.e. the agents' skills. Worker attributes are not
  returned by list calls, and queues select workers by expressions we cannot
  evaluate, so asking TaskRouter is the only way to know.
- ``GET TaskQueues`` and ``GET Activities`` every ``catalog_refresh_s``: queue names
  and the activities ``set_agent_state`` can choose from.

Cumulative statistics -> ``QueueStats`` (T = the queue's threshold, S = its short
abandon time; both are sent as ``SplitByWaitTime``). The counting rule (``QueueStats``):
a task counts in the window in which it left the queue, so offered is built from the
outcomes, not from ``tasks_entered`` (arrivals: a task that entered at 10:29 and was
answered at 10:31 would be offered in one interval and answered in the next):

=========================== =====================================================
offered                     ``reservations_accepted + tasks_canceled + tasks_moved``
answered                    ``reservations_accepted``
answered_within_threshold   ``split_by_wait_time[T].below.reservations_accepted``
abandoned                   ``tasks_canceled`` (caller hung up, TTL expired, or an
                            API cancel: TaskRouter does not tell them apart)
abandoned_after_threshold   ``split_by_wait_time[T].above.tasks_canceled``, less any
                            that are also short (see below)
abandoned_short             ``split_by_wait_time[S].below.tasks_canceled``
flowed_out                  ``tasks_moved`` (moved to another queue by the workflow;
                            inferred: the spec says "moved from one queue to another")
wait_answered_s             ``wait_duration_in_queue_until_accepted.total`` (time in
                            this queue), else ``wait_duration_until_accepted.total``
handled, handle_s           0: TaskRouter queue statistics carry no handle time, so
                            AHT shows as unknown rather than as 0 s
=========================== =====================================================

Plausibility: at each threshold, ``below + above`` must equal the totals
(``reservations_accepted``, ``tasks_canceled``). TaskRouter splits at most 10,000
tasks/reservations per threshold: past that, a split covering fewer is a sample, and
the within/short/late counts are scaled from it (a note says "estimated"). Abandons
after T exclude short ones (short abandons are left out of every rate); settings keep
S <= T, so only a sampled split can overlap, and the late count is then clamped (and
said). Counters that fail (Twilio's own spec example: 100 accepted, 100 canceled, every
split 0 + 0) reject that queue's window only: the queue shows no figures, and a note
names it and says why; the rest of the poll stands.

Live queue counts (``Snapshot.queue_live``): waiting = ``tasks_by_status.pending +
reserved`` (reserved: offered to an agent, not yet accepted). The oldest wait comes from
the task listing (time in this queue); only when the listing does not hold the
longest-waiting task (``longest_task_waiting_sid``) or lists fewer tasks than TaskRouter
counts is it taken from ``longest_task_waiting_age``, which counts from the task's
creation (so may overstate time in this queue for a transferred task).

Limits: a task accepted by several reservations (re-offers, transfers) counts once per
acceptance; tasks deleted by the API (``tasks_deleted``) are not counted (TaskRouter
does not say whether they were still waiting); counters are as old as their last
refresh (at most ``interval_refresh_s``). Agents' ``contact_id`` is not filled (that
needs a reservation look-up per worker), and a worker who stays in an "Available"
activity while on a task (multitasking) shows as available.

Everything is validated here: the spec leaves ``tasks_by_status``,
``split_by_wait_time`` and ``activity_statistics`` untyped. Garbage in aggregate
counters (a negative count, a string, a window that was not the one asked for) rejects
the poll with a one-line ``SourceError`` (a wrong counter cannot be dropped without
showing zero as truth); counters that are each well-formed but cannot all be true
reject that queue's window (above); a garbage worker or task record is dropped and
said so in ``notes`` (and the log), unless most records are garbage. The clock-skew
warning is worked out from the tasks that were kept, never from a dropped one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, ClassVar, Literal, TypeVar
from urllib.parse import parse_qsl, quote, urlsplit

import httpx
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.domain.model import (
    ActionResult,
    Agent,
    AgentState,
    AgentStateKind,
    Channel,
    Contact,
    ContactState,
    Queue,
    QueueLive,
    QueueStats,
    Snapshot,
    Tier,
)
from supervisor_tui.domain.text import clean
from supervisor_tui.protocol.documents import describe, is_loopback
from supervisor_tui.sources.base import Capability, SourceError
from supervisor_tui.sources.checks import Count, Date, Seconds
from supervisor_tui.sources.plausible import checked_stats, late_abandons, rejection_note
from supervisor_tui.sources.reuse import Reuse
from supervisor_tui.sources.settings import SourceSettings
from supervisor_tui.sources.web import (
    RateLimited,
    WebClient,
    WebSource,
    secret_from_env,
)

log = logging.getLogger(__name__)

#: the bulk real-time statistics call takes at most this many queues
BULK_MAX = 50
#: the largest page TaskRouter serves
PAGE_SIZE = 1000
#: TaskRouter's own ceiling on a task's life (the Timeout of a new task), seconds
MAX_TASK_TTL_S = 1_209_600
#: counts above this are garbage, not a contact centre
#: durations (sums of waits over a day) above this are garbage
#: attributes larger than this are not parsed (TaskRouter's own limit is far lower)
MAX_ATTRIBUTES_CHARS = 256 * 1024

_SID_RE = {p: re.compile(rf"^{p}[0-9a-fA-F]{{32}}$") for p in ("AC", "WS", "WQ", "WK", "WT",
                                                                    "WA", "SK")}
_ATTR_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)*$")
_DIGITS = re.compile(r"^[0-9]{1,12}$")

# Task channel unique names (Twilio's defaults and common custom ones) -> our channels;
# anything else takes the queue's configured channel.
_CHANNELS = {"voice": Channel.VOICE, "video": Channel.VOICE, "chat": Channel.CHAT,
             "sms": Channel.CHAT, "messaging": Channel.CHAT, "whatsapp": Channel.CHAT,
             "email": Channel.EMAIL, "facebook": Channel.SOCIAL, "social": Channel.SOCIAL}

#: activity friendly names (case-insensitive) -> our agent states; settings add to these
DEFAULT_ACTIVITY_MAP: dict[str, AgentStateKind] = {
    "available": AgentStateKind.AVAILABLE,
    "idle": AgentStateKind.AVAILABLE,
    "busy": AgentStateKind.ON_CONTACT,
    "reserved": AgentStateKind.ON_CONTACT,
    "on call": AgentStateKind.ON_CONTACT,
    "wrapup": AgentStateKind.AFTER_CONTACT_WORK,
    "wrap up": AgentStateKind.AFTER_CONTACT_WORK,
    "wrap-up": AgentStateKind.AFTER_CONTACT_WORK,
    "wrapping": AgentStateKind.AFTER_CONTACT_WORK,
    "break": AgentStateKind.AWAY,
    "lunch": AgentStateKind.AWAY,
    "training": AgentStateKind.AWAY,
    "meeting": AgentStateKind.AWAY,
    "unavailable": AgentStateKind.AWAY,
    "offline": AgentStateKind.OFFLINE,
}


def _sid_ok(prefix: str, value: object) -> bool:
    return isinstance(value, str) and bool(_SID_RE[prefix].match(value))


# -- settings ------------------------------------------------------------------------


class TwilioQueueSettings(BaseModel):
    """Per-queue reporting settings (``[sources.NAME.queue_settings.WQ...]``)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=80, description="display name (default: "
                             "the TaskQueue's friendly name)")
    channel: Channel = Channel.VOICE
    sl_target: float = Field(0.8, ge=0, le=1)
    threshold_s: int = Field(20, ge=1, le=86_400, description="service-level threshold T, "
                             "sent as SplitByWaitTime")
    short_abandon_s: int = Field(5, ge=0, le=3_600, description="abandons under this are "
                                 "short (0: none are); also sent as SplitByWaitTime")
    task_channel: str | None = Field(None, max_length=64, description="count only this "
                                     "TaskChannel (SID or unique name) in the statistics")
    routing_value: str | None = Field(None, min_length=1, max_length=200, description=(
        "the value written to move_attribute / agent_queues_attribute for this queue "
        "(default: the queue SID)"))

    @model_validator(mode="after")
    def _short_under_threshold(self) -> TwilioQueueSettings:
        if self.short_abandon_s > self.threshold_s:
            raise ValueError("short_abandon_s must not exceed threshold_s")
        return self


class TwilioSettings(SourceSettings):
    """``[sources.NAME]`` with ``type = "twilio"``: one TaskRouter workspace."""

    type: Literal["twilio"] = "twilio"
    #: TaskRouter limits are per endpoint (see the workspace's Limits page in the
    #: Console); the bulk statistics call allows 5 requests/s. 300 per minute keeps the
    #: average there and fits a poll of a large centre in one window.
    default_budget: ClassVar[tuple[int, float] | None] = (300, 60.0)

    workspace_sid: str = Field(description="WS... of the TaskRouter workspace")
    account_sid: str | None = Field(None, description="AC...: the Basic user when "
                                    "authenticating with the account's auth token")
    username_env: str | None = Field(None, description="environment variable holding an "
                                     "API key SID (SK...) to use as the Basic user")
    password_env: str = Field(description="environment variable holding the auth token "
                              "or the API key secret")
    base_url: str = Field("https://taskrouter.twilio.com", description="TaskRouter API "
                          "base URL (tests and mock servers override it)")
    ca_bundle: str | None = None
    queues: list[str] | None = Field(None, description="TaskQueue SIDs to show (default: "
                                     "every queue in the workspace, listed periodically)")
    queue_defaults: TwilioQueueSettings = Field(default_factory=TwilioQueueSettings)
    queue_settings: dict[str, TwilioQueueSettings] = Field(
        default_factory=dict, description="per TaskQueue SID, replacing queue_defaults")
    activity_map: dict[str, AgentStateKind] = Field(
        default_factory=dict, description="activity friendly name -> available, on_contact, "
        "after_contact_work, away or offline (added to the built-in defaults)")
    # refresh periods: what need not be read on every poll
    interval_refresh_s: float = Field(30.0, ge=1, le=1800)
    day_stats: bool = Field(True, description="also read counters since local midnight")
    day_refresh_s: float = Field(300.0, ge=1, le=86_400)
    membership_refresh_s: float = Field(120.0, ge=5, le=86_400)
    catalog_refresh_s: float = Field(600.0, ge=10, le=86_400)
    stats_window: Literal["StartDate", "Minutes"] = Field(
        "StartDate", description="how to ask for the interval: StartDate is exact, Minutes "
        "rounds up to whole minutes (and so may include the end of the previous interval)")
    bulk_body_key: Literal["both", "QueueSids", "queueSids"] = Field(
        "both", description="name of the queue list in the bulk statistics body (the docs "
        "use both spellings; 'both' sends the list under each)")
    max_jobs_per_poll: int = Field(10, ge=1, le=500, description="refreshes of per-queue "
                                   "counters/members per poll once everything is loaded")
    max_pages: int = Field(20, ge=1, le=1000, description="pages per listing before it is "
                           "cut short (and said so)")
    max_concurrency: int = Field(4, ge=1, le=16)
    max_task_age_s: int = Field(MAX_TASK_TTL_S, ge=60, le=10 * MAX_TASK_TTL_S)
    max_clock_skew_s: float = Field(300.0, ge=0, le=3600, description="platform times up "
                                    "to this far in the future are taken as now")
    # actions
    move_attribute: str | None = Field(None, description="task attribute the workflow "
                                       "routes on (e.g. transfer_queue); enables moving "
                                       "waiting contacts")
    move_priority: int | None = Field(None, ge=0, le=2**31 - 1, description="priority "
                                      "given to a moved task so it is not last in line")
    agent_queues_attribute: str | None = Field(None, description="worker attribute (list) "
                                               "queues select workers on, e.g. "
                                               "routing.skills; enables moving agents")
    allow_agent_state: bool = Field(True, description="allow changing workers' activities")
    # task / worker attributes, when TaskRouter returns them in lists
    tier_attribute: str | None = "tier"
    tier_by_priority: dict[Tier, int] = Field(
        default_factory=dict, description="task priority at or above which a task is this "
        "tier, when its attributes do not say (e.g. { vip = 100, gold = 50 })")
    customer_attribute: str | None = None
    team_attribute: str | None = "team"

    @field_validator("workspace_sid")
    @classmethod
    def _ws(cls, value: str) -> str:
        if not _sid_ok("WS", value):
            raise ValueError("must be a workspace SID: WS followed by 32 hex digits")
        return value

    @field_validator("account_sid")
    @classmethod
    def _ac(cls, value: str | None) -> str | None:
        if value is not None and not _sid_ok("AC", value):
            raise ValueError("must be an account SID: AC followed by 32 hex digits")
        return value

    @field_validator("queues")
    @classmethod
    def _wq_list(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        bad = [v for v in value if not _sid_ok("WQ", v)]
        if bad:
            raise ValueError(f"not TaskQueue SIDs (WQ + 32 hex digits): {bad[:3]}")
        return list(dict.fromkeys(value))

    @field_validator("queue_settings")
    @classmethod
    def _wq_keys(cls, value: dict[str, TwilioQueueSettings]) -> dict[str, TwilioQueueSettings]:
        bad = [k for k in value if not _sid_ok("WQ", k)]
        if bad:
            raise ValueError(f"keys must be TaskQueue SIDs: {bad[:3]}")
        return value

    @field_validator("activity_map")
    @classmethod
    def _casefold(cls, value: dict[str, AgentStateKind]) -> dict[str, AgentStateKind]:
        return {k.strip().casefold(): v for k, v in value.items()}

    @field_validator("move_attribute", "agent_queues_attribute", "tier_attribute",
                     "customer_attribute", "team_attribute")
    @classmethod
    def _attr_path(cls, value: str | None) -> str | None:
        if value is not None and not _ATTR_PATH.match(value):
            raise ValueError("must be an attribute name, or a dotted path such as "
                             "routing.skills")
        return value

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http(s) URL with a host")
        if parts.username or parts.password or parts.query or parts.fragment:
            raise ValueError("must not carry credentials, a ?query or a #fragment")
        if parts.scheme == "http" and not is_loopback(parts.hostname):
            # The Basic credentials go with every request.
            raise ValueError("plain http:// is only allowed to a loopback address")
        return value

    @model_validator(mode="after")
    def _auth(self) -> TwilioSettings:
        if bool(self.account_sid) == bool(self.username_env):
            raise ValueError("set exactly one of account_sid (with the auth token in "
                             "password_env) or username_env (an API key SID)")
        return self

    def queue(self, sid: str) -> TwilioQueueSettings:
        return self.queue_settings.get(sid, self.queue_defaults)

    def routing_value(self, sid: str) -> str:
        return self.queue(sid).routing_value or sid

    def activity_kinds(self) -> dict[str, AgentStateKind]:
        return {**DEFAULT_ACTIVITY_MAP, **self.activity_map}


# -- response documents ---------------------------------------------------------------
# Only the fields we read; extra fields are ignored. Names are the spec's
# (tests check each one exists in twilio_taskrouter_v1.json).


def _sid(prefix: str) -> Any:
    def check(value: Any) -> str:
        if not _sid_ok(prefix, value):
            raise ValueError(f"not a {prefix} SID: {clean(repr(value), 40)}")
        return str(value)
    return BeforeValidator(check)


Name = Annotated[str, Field(max_length=500)]


class _Doc(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ActivityCount(_Doc):
    """An ``activity_statistics`` item (untyped in the spec)."""

    friendly_name: Name
    workers: Count


class TasksByStatus(_Doc):
    """``tasks_by_status`` (untyped in the spec); absent statuses have no tasks."""

    pending: Count = 0
    reserved: Count = 0
    assigned: Count = 0
    wrapping: Count = 0


class RealtimeDoc(_Doc):
    """One ``task_queue_data`` item of the bulk call (its items are untyped)."""

    task_queue_sid: Annotated[str, _sid("WQ")]
    longest_task_waiting_age: Count = 0
    longest_task_waiting_sid: Name | None = None  # checked where used: a hint only
    longest_relative_task_age_in_queue: Count | None = None
    tasks_by_status: TasksByStatus | None = None
    total_available_workers: Count = 0
    total_eligible_workers: Count = 0
    activity_statistics: list[ActivityCount] | None = None


class BulkRealtimeDoc(_Doc):
    task_queue_data: list[RealtimeDoc] | None = None


class SplitCounts(_Doc):
    tasks_canceled: Count
    reservations_accepted: Count


class SplitDoc(_Doc):
    """One threshold of ``split_by_wait_time`` (untyped in the spec)."""

    above: SplitCounts
    below: SplitCounts


class DurationsDoc(_Doc):
    total: Seconds = 0.0


class CumulativeDoc(_Doc):
    task_queue_sid: Annotated[str, _sid("WQ")] | None = None
    start_time: Date | None = None
    end_time: Date | None = None
    tasks_entered: Count = 0
    tasks_canceled: Count = 0
    tasks_moved: Count = 0
    reservations_accepted: Count = 0
    wait_duration_until_accepted: DurationsDoc | None = None
    wait_duration_in_queue_until_accepted: DurationsDoc | None = None
    split_by_wait_time: dict[str, SplitDoc] | None = None


class TaskQueueDoc(_Doc):
    sid: Annotated[str, _sid("WQ")]
    friendly_name: Name | None = None


class ActivityDoc(_Doc):
    sid: Annotated[str, _sid("WA")]
    friendly_name: Name
    available: StrictBool | None = None


class WorkerDoc(_Doc):
    sid: Annotated[str, _sid("WK")]
    friendly_name: Name | None = None
    activity_name: Name | None = None
    available: StrictBool | None = None
    date_status_changed: Date | None = None
    date_updated: Date | None = None
    attributes: str | None = None


class TaskDoc(_Doc):
    sid: Annotated[str, _sid("WT")]
    assignment_status: Literal["pending", "reserved", "assigned", "canceled", "completed",
                               "wrapping"]
    task_queue_sid: Annotated[str, _sid("WQ")] | None = None
    age: Count = 0
    date_created: Date | None = None
    task_queue_entered_date: Date | None = None
    priority: Annotated[StrictInt, Field(ge=0, le=2**31 - 1)] = 0
    task_channel_unique_name: Name | None = None
    attributes: str | None = None


class PageMeta(_Doc):
    next_page_url: str | None = None


class TwilioErrorDoc(_Doc):
    code: int | None = None
    message: str | None = None


#: list call -> (its key in the page, its record document)
LISTINGS: dict[str, tuple[str, type[_Doc]]] = {
    "TaskQueues": ("task_queues", TaskQueueDoc),
    "Activities": ("activities", ActivityDoc),
    "Workers": ("workers", WorkerDoc),
    "Tasks": ("tasks", TaskDoc),
}

_D = TypeVar("_D", bound=_Doc)


def _validate(model: type[_D], data: Any, what: str) -> _D:
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise SourceError(f"{what}: {describe(err)}") from None


# -- parsing helpers (pure) -----------------------------------------------------------


def parse_attributes(text: str | None) -> dict[str, Any] | None:
    """A task's or worker's attributes as a dict, or None when absent or not an object."""
    if not text or len(text) > MAX_ATTRIBUTES_CHARS:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def get_path(attrs: dict[str, Any] | None, path: str | None) -> Any:
    if attrs is None or path is None:
        return None
    node: Any = attrs
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def set_path(attrs: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of ``attrs`` with ``path`` set; refuses to overwrite a non-object on the way."""
    result = json.loads(json.dumps(attrs))
    node = result
    parts = path.split(".")
    for part in parts[:-1]:
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise ValueError(f"attribute {part!r} is not an object")
        node = child
    node[parts[-1]] = value
    return result


#: TaskRouter splits at most this many tasks/reservations per SplitByWaitTime threshold
SPLIT_CAP = 10_000


@dataclass(frozen=True)
class Split:
    """One threshold's split, checked against the totals (scaled when it is a sample)."""

    below_accepted: int
    below_canceled: int
    above_canceled: int
    estimated: bool


def check_split(at: int, split: SplitDoc, accepted: int, canceled: int) -> Split | str:
    """``below + above`` must be the totals; past TaskRouter's 10,000 a split covering
    fewer is a sample, scaled up to the totals. Otherwise: the reason it cannot be true."""
    b, a = split.below, split.above
    got_acc = b.reservations_accepted + a.reservations_accepted
    got_can = b.tasks_canceled + a.tasks_canceled
    if (got_acc, got_can) == (accepted, canceled):
        return Split(b.reservations_accepted, b.tasks_canceled, a.tasks_canceled, False)
    sampled = (accepted + canceled > SPLIT_CAP and got_acc + got_can <= SPLIT_CAP
               and got_acc <= accepted and got_can <= canceled
               and (got_acc > 0 or accepted == 0) and (got_can > 0 or canceled == 0))
    if not sampled:
        wrong = []
        if got_acc != accepted:
            wrong.append(f"{b.reservations_accepted} + {a.reservations_accepted} of "
                         f"{accepted} answered")
        if got_can != canceled:
            wrong.append(f"{b.tasks_canceled} + {a.tasks_canceled} of {canceled} abandoned")
        return f"split at {at} s counts {' and '.join(wrong)}"

    def scale(n: int, got: int, total: int) -> int:
        return min(total, round(n * total / got)) if got else 0

    below_can = scale(b.tasks_canceled, got_can, canceled)
    return Split(scale(b.reservations_accepted, got_acc, accepted), below_can,
                 canceled - below_can, True)


def queue_stats(queue_id: str, window_start: datetime, doc: CumulativeDoc,
                qs: TwilioQueueSettings) -> tuple[QueueStats | None, str | None]:
    """Cumulative statistics -> counters (the table in the module docstring), with a
    caveat to show beside them; or no counters and the reason they cannot be true."""
    splits = doc.split_by_wait_time or {}
    answered, abandoned = doc.reservations_accepted, doc.tasks_canceled
    checked: dict[int, Split] = {}
    for at in dict.fromkeys(t for t in (qs.threshold_s, qs.short_abandon_s) if t > 0):
        split = splits.get(str(at))
        if split is None:
            return None, f"no split_by_wait_time for {at} s"
        result = check_split(at, split, answered, abandoned)
        if isinstance(result, str):
            return None, result
        checked[at] = result
    at_t = checked[qs.threshold_s]
    within = at_t.below_accepted
    short = checked[qs.short_abandon_s].below_canceled if qs.short_abandon_s > 0 else 0
    after, clamped = late_abandons(abandoned, short, at_t.above_canceled)
    waits = doc.wait_duration_in_queue_until_accepted or doc.wait_duration_until_accepted
    stats = checked_stats(
        queue_id=queue_id, window_start=window_start,
        offered=answered + abandoned + doc.tasks_moved, answered=answered,
        answered_within_threshold=within, abandoned=abandoned, abandoned_short=short,
        abandoned_after_threshold=after, flowed_out=doc.tasks_moved,
        wait_answered_s=waits.total if waits else 0.0)
    if isinstance(stats, str):
        return None, stats
    caveats = []
    if any(c.estimated for c in checked.values()):
        caveats.append(f"within {qs.threshold_s} s and short abandons estimated from "
                       f"TaskRouter's {SPLIT_CAP:,}-task sample")
    if clamped:
        caveats.append(f"{at_t.above_canceled - after} abandon(s) both short and late: "
                       "counted short")
    return stats, "; ".join(caveats) or None


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- state kept between polls ---------------------------------------------------------


@dataclass(frozen=True)
class Realtime:
    """A queue's real-time statistics, validated."""

    pending: int | None
    reserved: int | None
    longest_wait_s: int
    longest_sid: str | None
    available_workers: int
    eligible_workers: int
    workers_by_activity: dict[str, int]


@dataclass(frozen=True)
class _Cached:
    fetched_at: datetime
    window_start: datetime | None
    value: Any


@dataclass(frozen=True)
class _Counted:
    """A queue's counters for one window, or why they were rejected; with a caveat."""

    stats: QueueStats | None
    note: str | None


@dataclass(frozen=True)
class _Job:
    """A per-queue refresh: interval/day counters or the queue's members."""

    kind: Literal["interval", "day", "members"]
    queue_id: str
    missing: bool
    staleness: float  # age / refresh period
    cost: int


@dataclass(frozen=True)
class _Plan:
    made_at: datetime
    catalog_cost: int  # 0: the catalog is fresh
    queue_ids: tuple[str, ...]
    bulk_calls: int
    worker_pages: int
    task_pages: int
    jobs: tuple[_Job, ...]

    @property
    def cost(self) -> int:
        return (self.catalog_cost + self.bulk_calls + self.worker_pages + self.task_pages
                + sum(j.cost for j in self.jobs))


@dataclass
class _Listing:
    records: list[Any] = field(default_factory=list)
    pages: int = 0
    dropped: int = 0
    first_problem: str = ""
    truncated: bool = False


_KIND_RANK = {"interval": 0, "members": 1, "day": 2}
_STATUS_WORDS = {
    "reserved": "being offered to an agent right now",
    "assigned": "already answered",
    "wrapping": "already answered (agent wrapping up)",
    "completed": "already completed",
    "canceled": "canceled (the customer left)",
}


def _wall_now() -> datetime:
    return datetime.now(UTC)


class TwilioSource(WebSource):
    """One TaskRouter workspace as a source; ``clock`` is injectable for tests."""

    def __init__(self, name: str, policy: IntervalPolicy, settings: TwilioSettings,
                 transport: httpx.AsyncBaseTransport | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        super().__init__(name, policy)
        self.settings = settings
        self._clock = clock or _wall_now
        password = secret_from_env(settings.password_env, f"source {name}: auth token")
        user = settings.account_sid or secret_from_env(settings.username_env,
                                                       f"source {name}: API key SID")
        try:
            self._client = WebClient(name, settings.base_url, auth=(user or "", password or ""),
                                     headers={"Accept": "application/json"},
                                     timeout_s=settings.timeout_s,
                                     ca_bundle=settings.ca_bundle,
                                     budget=settings.make_budget(), transport=transport)
        except OSError as err:  # loading the CA bundle
            raise SourceError(f"source {name}: cannot use ca_bundle {settings.ca_bundle}: "
                              f"{clean(err.strerror or err, 100)}") from None
        self._ws = f"/v1/Workspaces/{settings.workspace_sid}"
        self._sem = asyncio.Semaphore(settings.max_concurrency)
        self._kinds = settings.activity_kinds()
        caps = {Capability.SNAPSHOT}
        if settings.move_attribute:
            caps.add(Capability.REASSIGN_CONTACT)
        if settings.agent_queues_attribute:
            caps.add(Capability.MOVE_AGENTS)
        if settings.allow_agent_state:
            caps.add(Capability.AGENT_STATE)
        self.capabilities = frozenset(caps)
        # catalog
        self._queues: dict[str, Queue] = {}
        self._activities: dict[str, ActivityDoc] = {}
        self._catalog_at: datetime | None = None
        # per-queue caches
        self._stats: dict[tuple[str, str], _Cached] = {}
        self._members: dict[str, _Cached] = {}
        self._pages: dict[str, int] = {}
        self._planned: _Plan | None = None
        # identity reuse: unchanged agents/contacts keep their objects (see index.py)
        self._agent_cache: Reuse[Agent] = Reuse()
        self._contact_cache: Reuse[Contact] = Reuse()
        #: validated real-time statistics of the last poll, by queue SID
        self.live: dict[str, Realtime] = {}
        #: what the last poll dropped or doubted, one line each (also logged)
        self.notes: tuple[str, ...] = ()
        #: requests the last snapshot() sent
        self.last_poll_requests = 0

    # -- Source API ---------------------------------------------------------------------

    def poll_cost(self) -> int:
        self._planned = self._plan(self._clock())
        return self._planned.cost

    async def close(self) -> None:
        await self._client.aclose()

    async def snapshot(self) -> Snapshot:
        now = self._clock()
        plan = self._planned
        self._planned = None
        if plan is None or abs((now - plan.made_at).total_seconds()) > 5:
            plan = self._plan(now)
        notes: list[str] = []
        sent_before = self._client.stats.requests
        try:
            if plan.catalog_cost:
                await self._refresh_catalog(notes)
                if plan.queue_ids != tuple(self._queues):
                    plan = self._plan(now, catalog_done=True)
            live, workers, tasks, _ = await self._gather(
                self._bulk_realtime(plan.queue_ids),
                self._list("Workers", {}, "workers"),
                self._list("Tasks", {"AssignmentStatus": ["pending", "reserved"]},
                           "tasks"),
                self._run_jobs(plan.jobs, notes),
            )
        finally:
            self.last_poll_requests = self._client.stats.requests - sent_before
        taken_at = self._clock()
        self.live = live
        agents = self._agents(workers, taken_at, notes)
        contacts = self._contacts(tasks, taken_at, notes)
        self._cross_check(tasks, contacts, notes)
        snap = self._build(taken_at, agents, contacts, notes)
        self.notes = tuple(notes)
        for note in notes:
            log.warning("source %s: %s", self.name, note)
        return snap

    # -- planning -----------------------------------------------------------------------

    def _window_start(self, kind: str, now: datetime) -> datetime:
        return (self.policy.interval_start(now) if kind == "interval"
                else self.policy.day_start(now))

    def _plan(self, now: datetime, catalog_done: bool = False) -> _Plan:
        s = self.settings
        catalog_due = not catalog_done and (
            self._catalog_at is None
            or (now - self._catalog_at).total_seconds() >= s.catalog_refresh_s)
        catalog_cost = (self._pages.get("TaskQueues", 1) + self._pages.get("Activities", 1)
                        if catalog_due else 0)
        queue_ids = tuple(self._queues) or tuple(s.queues or ())
        bulk = math.ceil(len(queue_ids) / BULK_MAX)
        worker_pages = self._pages.get("Workers", 1)
        task_pages = self._pages.get("Tasks", 1)
        mandatory = catalog_cost + bulk + worker_pages + task_pages
        budget = self._client.budget
        room = (budget.remaining() - mandatory) if budget is not None else 10**9
        jobs = self._pick_jobs(self._due_jobs(now, queue_ids), room)
        return _Plan(now, catalog_cost, queue_ids, bulk, worker_pages, task_pages, jobs)

    def _due_jobs(self, now: datetime, queue_ids: Iterable[str]) -> list[_Job]:
        s = self.settings
        periods: list[tuple[Literal["interval", "day"], float]] = [
            ("interval", s.interval_refresh_s)]
        if s.day_stats:
            periods.append(("day", s.day_refresh_s))
        jobs = []
        for qid in queue_ids:
            for kind, period in periods:
                cached = self._stats.get((qid, kind))
                start = self._window_start(kind, now)
                if cached is None or cached.window_start != start:
                    jobs.append(_Job(kind, qid, True, math.inf, 1))
                else:
                    age = (now - cached.fetched_at).total_seconds()
                    if age >= period:
                        jobs.append(_Job(kind, qid, False, age / period, 1))
            members = self._members.get(qid)
            pages = self._pages.get(f"members:{qid}", 1)
            if members is None:
                jobs.append(_Job("members", qid, True, math.inf, pages))
            else:
                age = (now - members.fetched_at).total_seconds()
                if age >= s.membership_refresh_s:
                    jobs.append(_Job("members", qid, False, age / s.membership_refresh_s,
                                     pages))
        return jobs

    def _pick_jobs(self, jobs: list[_Job], room: int) -> tuple[_Job, ...]:
        """What fits: missing data first (no per-poll cap), then the stalest refreshes up
        to ``max_jobs_per_poll``; never more than the budget has room for."""
        jobs.sort(key=lambda j: (not j.missing, _KIND_RANK[j.kind], -j.staleness))
        picked: list[_Job] = []
        refreshes = 0
        for job in jobs:
            if job.cost > room:
                continue
            if not job.missing:
                if refreshes >= self.settings.max_jobs_per_poll:
                    continue
                refreshes += 1
            picked.append(job)
            room -= job.cost
        return tuple(picked)

    # -- requests -----------------------------------------------------------------------

    async def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async with self._sem:
            return await self._client.request(method, url, **kwargs)

    async def _json(self, method: str, url: str, what: str, **kwargs: Any) -> Any:
        response = await self._send(method, url, **kwargs)
        data = self._client.parse_json(response)
        if not isinstance(data, dict):
            raise SourceError(f"{what}: expected a JSON object, got "
                              f"{type(data).__name__}")
        return data

    @staticmethod
    async def _gather(*coros: Awaitable[Any]) -> list[Any]:
        """Run concurrently; then raise the most telling failure (a 429 first, so its
        Retry-After is honoured) as one ``SourceError``."""
        results = await asyncio.gather(*coros, return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        for err in errors:
            if isinstance(err, asyncio.CancelledError):
                raise err
        for err in errors:
            if isinstance(err, RateLimited):
                raise err
        for err in errors:
            if isinstance(err, SourceError):
                raise err
        if errors:  # a bug of ours: still one line, never a traceback on screen
            err = errors[0]
            raise SourceError(clean(f"{type(err).__name__}: {err}", 200)) from err
        return list(results)

    async def _list(self, resource: str, params: dict[str, Any], what: str,
                    page_key: str | None = None) -> _Listing:
        """Every page of a list call, following ``meta.next_page_url`` on our own host."""
        key, model = LISTINGS[resource]
        path = f"{self._ws}/{resource}"
        query: list[tuple[str, str]] = [("PageSize", str(PAGE_SIZE))]
        for name, value in params.items():
            for item in value if isinstance(value, list) else [value]:
                query.append((name, str(item)))
        listing = _Listing()
        seen: set[str] = set()
        url: str | None = path
        while url is not None:
            if listing.pages >= self.settings.max_pages:
                listing.truncated = True
                break
            data = await self._json("GET", url, what,
                                    params=query if listing.pages == 0 else None)
            listing.pages += 1
            items = data.get(key)
            if not isinstance(items, list):
                raise SourceError(f"{what}: no '{key}' list in the answer")
            for item in items:
                try:
                    listing.records.append(model.model_validate(item))
                except ValidationError as err:
                    listing.dropped += 1
                    listing.first_problem = listing.first_problem or describe(err)
            meta = _validate(PageMeta, data.get("meta") or {}, f"{what}: page meta")
            url = self._next_page(meta.next_page_url, path, what)
            if url is not None:
                if url in seen:
                    raise SourceError(f"{what}: paging goes round in circles")
                seen.add(url)
        self._pages[page_key or resource] = max(1, listing.pages)
        total = len(listing.records) + listing.dropped
        if listing.dropped and listing.dropped * 2 > total and listing.dropped > 2:
            raise SourceError(f"{what}: {listing.dropped} of {total} records unreadable "
                              f"({listing.first_problem})")
        return listing

    @staticmethod
    def _next_page(link: str | None, path: str, what: str) -> str | None:
        """The next page as a path on *our* base URL: credentials never follow a link
        to another host, and a link to another resource is an error."""
        if not link:
            return None
        parts = urlsplit(link)
        if parts.path.rstrip("/") != path:
            raise SourceError(f"{what}: next page link points elsewhere "
                              f"({clean(link, 80)})")
        query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}"
                         for k, v in parse_qsl(parts.query, keep_blank_values=True))
        return f"{path}?{query}" if query else path

    # -- catalog ------------------------------------------------------------------------

    async def _refresh_catalog(self, notes: list[str]) -> None:
        try:
            queues, activities = await self._gather(
                self._list("TaskQueues", {}, "task queues"),
                self._list("Activities", {}, "activities"))
        except RateLimited:
            raise
        except SourceError as err:
            if not self._queues:
                raise  # nothing to show without the queue list
            notes.append(f"catalog not refreshed: {err}")
            return
        self._activities = {a.sid: a for a in activities.records}
        listed = {q.sid: q for q in queues.records}
        wanted = self.settings.queues or list(listed)
        missing = [sid for sid in wanted if sid not in listed]
        if missing:
            notes.append(f"queue(s) not in the workspace: {', '.join(missing[:5])}")
        built: dict[str, Queue] = {}
        for sid in wanted:
            if sid not in listed:
                continue
            qs = self.settings.queue(sid)
            built[sid] = Queue(id=sid, name=clean(qs.name or listed[sid].friendly_name or sid,
                                                  80),
                               channel=qs.channel, sl_target=qs.sl_target,
                               threshold_s=qs.threshold_s, short_abandon_s=qs.short_abandon_s,
                               source=self.name)
        for sid in set(self._queues) - set(built):  # forget removed queues' caches
            self._members.pop(sid, None)
            for kind in ("interval", "day"):
                self._stats.pop((sid, kind), None)
        self._queues = built
        self._catalog_at = self._clock()

    # -- statistics -----------------------------------------------------------------------

    def _bulk_body(self, sids: list[str]) -> dict[str, list[str]]:
        key = self.settings.bulk_body_key
        return {"QueueSids": sids, "queueSids": sids} if key == "both" else {key: sids}

    async def _bulk_realtime(self, queue_ids: Sequence[str]) -> dict[str, Realtime]:
        batches = [list(queue_ids[i:i + BULK_MAX]) for i in range(0, len(queue_ids),
                                                                  BULK_MAX)]
        docs = await self._gather(*(
            self._json("POST", f"{self._ws}/TaskQueues/RealTimeStatistics",
                       "real-time statistics", json=self._bulk_body(batch))
            for batch in batches))
        live: dict[str, Realtime] = {}
        for batch, data in zip(batches, docs, strict=True):
            doc = _validate(BulkRealtimeDoc, data, "real-time statistics")
            for item in doc.task_queue_data or ():
                if item.longest_task_waiting_age > self.settings.max_task_age_s:
                    raise SourceError(f"real-time statistics: queue {item.task_queue_sid} "
                                      f"longest wait {item.longest_task_waiting_age} s is "
                                      "absurd")
                by_status = item.tasks_by_status
                live[item.task_queue_sid] = Realtime(
                    pending=by_status.pending if by_status else None,
                    reserved=by_status.reserved if by_status else None,
                    longest_wait_s=item.longest_task_waiting_age,
                    longest_sid=item.longest_task_waiting_sid
                    if _sid_ok("WT", item.longest_task_waiting_sid) else None,
                    available_workers=item.total_available_workers,
                    eligible_workers=item.total_eligible_workers,
                    workers_by_activity={clean(a.friendly_name, 60): a.workers
                                         for a in item.activity_statistics or ()})
            missing = [sid for sid in batch if sid not in live]
            if missing:
                raise SourceError(f"real-time statistics came back for "
                                  f"{len(batch) - len(missing)} of {len(batch)} queues "
                                  f"(missing {missing[0]}); check bulk_body_key")
        return live

    async def _run_jobs(self, jobs: Sequence[_Job], notes: list[str]) -> None:
        await self._gather(*(self._run_job(job, notes) for job in jobs))

    async def _run_job(self, job: _Job, notes: list[str]) -> None:
        if job.kind == "members":
            listing = await self._list("Workers", {"TaskQueueSid": job.queue_id},
                                       f"members of {job.queue_id}",
                                       page_key=f"members:{job.queue_id}")
            if listing.truncated:
                notes.append(f"members of {job.queue_id}: cut at {listing.pages} pages")
            self._members[job.queue_id] = _Cached(
                self._clock(), None, frozenset(w.sid for w in listing.records))
            return
        now = self._clock()
        start = self._window_start(job.kind, now)
        qs = self.settings.queue(job.queue_id)
        thresholds = sorted({qs.threshold_s, qs.short_abandon_s} - {0})
        params: dict[str, str] = {"SplitByWaitTime": ",".join(map(str, thresholds))}
        if job.kind == "interval" and self.settings.stats_window == "Minutes":
            params["Minutes"] = str(max(1, math.ceil((now - start).total_seconds() / 60)))
        else:
            params["StartDate"] = _iso(start)
        if qs.task_channel:
            params["TaskChannel"] = qs.task_channel
        what = f"{job.kind} statistics of {job.queue_id}"
        data = await self._json(
            "GET", f"{self._ws}/TaskQueues/{job.queue_id}/CumulativeStatistics", what,
            params=params)
        doc = _validate(CumulativeDoc, data, what)
        if doc.task_queue_sid not in (None, job.queue_id):
            raise SourceError(f"{what}: the answer is about queue {doc.task_queue_sid}")
        if doc.start_time is not None and abs((doc.start_time - start).total_seconds()) > 120:
            # e.g. the window parameter was ignored and the default 15 minutes served
            raise SourceError(f"{what}: counted from {_iso(doc.start_time)}, asked for "
                              f"{_iso(start)}")
        stats, note = queue_stats(job.queue_id, start, doc, qs)
        self._stats[(job.queue_id, job.kind)] = _Cached(now, start, _Counted(stats, note))

    # -- mapping --------------------------------------------------------------------------

    def _clamp(self, when: datetime, now: datetime) -> datetime | None:
        """``when`` if it is not in the future (up to the allowed skew: then now)."""
        if when <= now:
            return when
        if (when - now).total_seconds() <= self.settings.max_clock_skew_s:
            return now
        return None

    def _agents(self, listing: _Listing, now: datetime, notes: list[str]) -> tuple[Agent, ...]:
        s = self.settings
        skills: dict[str, list[str]] = {}
        for qid in self._queues:
            cached = self._members.get(qid)
            for wk in cached.value if cached else ():
                skills.setdefault(wk, []).append(qid)
        unmapped: set[str] = set()
        dropped = listing.dropped
        problem = listing.first_problem
        agents = []
        self._agent_cache.begin()
        for w in listing.records:
            since_raw = w.date_status_changed or w.date_updated
            since = self._clamp(since_raw, now) if since_raw else None
            if since is None:
                dropped += 1
                problem = problem or (f"worker {w.sid}: status changed in the future "
                                      f"({_iso(since_raw)})" if since_raw else
                                      f"worker {w.sid}: no date_status_changed")
                continue
            activity = clean(w.activity_name or "", 60)
            kind = self._kinds.get(activity.strip().casefold())
            if kind is None:
                if activity:
                    unmapped.add(activity)
                kind = AgentStateKind.AVAILABLE if w.available else AgentStateKind.AWAY
            reason = activity.lower() if kind == AgentStateKind.AWAY and activity else None
            attrs = parse_attributes(w.attributes)
            team = get_path(attrs, s.team_attribute)
            key = (w.friendly_name, kind, since, reason, tuple(skills.get(w.sid, ())),
                   team if isinstance(team, str) else "")
            agents.append(self._agent_cache.get(w.sid, key, lambda w=w, key=key, kind=kind,
                                                since=since, reason=reason: Agent(
                id=w.sid, name=clean(w.friendly_name or w.sid, 80), team=clean(key[5], 40),
                state=AgentState(kind=kind, since=since, reason=reason),
                skills=key[4], source=self.name)))
        self._agent_cache.commit()
        if unmapped:
            notes.append("activities not in activity_map (taken from 'available'): "
                         + ", ".join(sorted(unmapped)[:5]))
        if dropped:
            notes.append(f"dropped {dropped} unreadable worker record(s): {problem}")
        if listing.truncated:
            notes.append(f"workers: listing cut at {listing.pages} pages (max_pages)")
        return tuple(agents)

    def _tier(self, attrs: dict[str, Any] | None, priority: int) -> Tier:
        value = get_path(attrs, self.settings.tier_attribute)
        if isinstance(value, str):
            try:
                return Tier(value.strip().lower())
            except ValueError:
                pass
        for tier in (Tier.VIP, Tier.GOLD):
            floor = self.settings.tier_by_priority.get(tier)
            if floor is not None and priority >= floor:
                return tier
        return Tier.STANDARD

    def _entered_at(self, t: TaskDoc, now: datetime) -> datetime | str:
        """When the task entered its queue, or why that is absurd.

        The platform's absolute date, not ``now - age``: ``age`` is whole seconds read at
        a slightly different moment each poll, so waits would jitter and every contact
        would be a new object each poll (see index.py). ``_clock_skew`` says when our
        clock and Twilio's disagree.
        """
        limit = self.settings.max_task_age_s
        aged = "age" in t.model_fields_set
        if aged and t.age > limit:
            return f"age {t.age} s"
        if t.task_queue_entered_date is not None:
            if t.date_created and (t.task_queue_entered_date - t.date_created
                                   ).total_seconds() < -1:
                return "entered its queue before it was created"
            entered = self._clamp(t.task_queue_entered_date, now)
            if entered is None:
                return f"entered its queue in the future ({_iso(t.task_queue_entered_date)})"
            if (now - entered).total_seconds() > limit:
                return f"entered its queue too long ago ({_iso(entered)})"
            return entered
        if aged:
            return now - timedelta(seconds=t.age)
        return "no age or dates"

    def _clock_skew(self, tasks: Iterable[TaskDoc], now: datetime) -> float | None:
        """Seconds Twilio's clock is ahead of ours (creation + age = its now), or None."""
        for t in tasks:
            if t.date_created is not None and "age" in t.model_fields_set:
                return (t.date_created + timedelta(seconds=t.age) - now).total_seconds()
        return None

    def _contacts(self, listing: _Listing, now: datetime,
                  notes: list[str]) -> tuple[Contact, ...]:
        s = self.settings
        dropped = listing.dropped
        problem = listing.first_problem
        contacts = []
        kept: list[TaskDoc] = []
        self._contact_cache.begin()
        for t in listing.records:
            queue = self._queues.get(t.task_queue_sid or "")
            if queue is None or t.assignment_status not in ("pending", "reserved"):
                continue  # another queue's task, or it moved on since
            entered = self._entered_at(t, now)
            if isinstance(entered, str):
                dropped += 1
                problem = problem or f"task {t.sid}: {entered}"
                continue
            kept.append(t)
            channel = _CHANNELS.get((t.task_channel_unique_name or "").casefold(),
                                    queue.channel)
            attrs = parse_attributes(t.attributes)
            customer = get_path(attrs, s.customer_attribute)
            key = (queue.id, channel, self._tier(attrs, t.priority),
                   # entered_at moves by sub-second rounding between polls: whole seconds
                   int(entered.timestamp()),
                   clean(customer, 60) if isinstance(customer, str) else None)
            contacts.append(self._contact_cache.get(t.sid, key, lambda t=t, key=key,
                                                    entered=entered: Contact(
                id=t.sid, queue_id=key[0], channel=key[1], tier=key[2], entered_at=entered,
                state=ContactState.WAITING, customer=key[4])))
        self._contact_cache.commit()
        if dropped:
            notes.append(f"dropped {dropped} unreadable task record(s): {problem}")
        # Only tasks that passed the checks: a dropped one (a 2014 task in a spec
        # example) would claim the clocks are years apart.
        skew = self._clock_skew(kept, now)
        if skew is not None and abs(skew) > max(5.0, self.settings.max_clock_skew_s / 10):
            notes.append(f"this machine's clock is {abs(skew):.0f} s "
                         f"{'behind' if skew > 0 else 'ahead of'} Twilio's: waits and times "
                         "in state are off by that much")
        return tuple(contacts)

    def _cross_check(self, listing: _Listing, contacts: Sequence[Contact],
                     notes: list[str]) -> None:
        """Say so when the task list cannot be the whole truth."""
        if not listing.truncated:
            return
        listed: dict[str, int] = {}
        for c in contacts:
            listed[c.queue_id] = listed.get(c.queue_id, 0) + 1
        short = []
        for qid, live in self.live.items():
            if live.pending is None or live.reserved is None:
                continue
            waiting = live.pending + live.reserved
            if waiting > listed.get(qid, 0):
                short.append(f"{self._queues[qid].name if qid in self._queues else qid} "
                             f"{listed.get(qid, 0)} of {waiting}")
        notes.append(f"tasks: listing cut at {listing.pages} pages; waiting contacts shown "
                     f"(newest missing): {', '.join(short[:5]) or 'unknown'}")

    def _build(self, taken_at: datetime, agents: tuple[Agent, ...],
               contacts: tuple[Contact, ...], notes: list[str]) -> Snapshot:
        istart = self.policy.interval_start(taken_at)
        dstart = self.policy.day_start(taken_at)
        interval: dict[str, QueueStats] = {}
        day: dict[str, QueueStats] = {}
        front: list[str] = []
        for kind, start, into in (("interval", istart, interval), ("day", dstart, day)):
            rejected: dict[str, str] = {}
            caveats: dict[str, str] = {}
            for qid, queue in self._queues.items():
                cached = self._stats.get((qid, kind))
                if cached is None or cached.window_start != start:
                    continue
                counted: _Counted = cached.value
                if counted.stats is None:
                    rejected[queue.name] = counted.note or "unknown"
                    continue
                into[qid] = counted.stats
                if counted.note:
                    caveats[queue.name] = counted.note
            note = rejection_note(f"{kind} counters", rejected)
            if note:
                front.append(note)
            if caveats:
                (name, caveat), *rest = caveats.items()
                more = f" and {len(rest)} more queue(s)" if rest else ""
                front.append(f"{kind} counters of {name}{more}: {caveat}")
        notes[:0] = front  # first: the poller shows only the first few notes
        return Snapshot(taken_at=taken_at, interval_start=istart, day_start=dstart,
                        queues=tuple(self._queues.values()), interval_stats=interval,
                        day_stats=day, agents=agents, contacts=contacts,
                        queue_live=self._queue_live(taken_at, contacts))

    def _queue_live(self, taken_at: datetime, contacts: Sequence[Contact]
                    ) -> dict[str, QueueLive]:
        """Waiting counts from the real-time statistics; the oldest wait from them only
        where the task listing cannot give it (module docstring)."""
        listed: dict[str, list[Contact]] = {}
        for c in contacts:
            listed.setdefault(c.queue_id, []).append(c)
        live: dict[str, QueueLive] = {}
        for qid in self._queues:
            now = self.live.get(qid)
            if now is None or now.pending is None or now.reserved is None:
                continue  # tasks_by_status absent: the listing is all we know
            waiting = now.pending + now.reserved
            mine = listed.get(qid, [])
            oldest = None
            if waiting:
                longest = next((c for c in mine if c.id == now.longest_sid), None)
                if longest is not None:
                    oldest = longest.entered_at
                elif now.longest_wait_s and (len(mine) < waiting
                                             or now.longest_sid is not None):
                    oldest = taken_at - timedelta(seconds=now.longest_wait_s)
            live[qid] = QueueLive(queue_id=qid, waiting=waiting, oldest_waiting_since=oldest)
        return live

    # -- actions --------------------------------------------------------------------------

    async def _act(self, method: str, url: str, **kwargs: Any
                   ) -> httpx.Response | ActionResult:
        """Send an action request; turn transport trouble into a result, never raise."""
        expect = (200, 400, 404, 409, 412)
        try:
            return await self._send(method, url, expect=expect, **kwargs)
        except RateLimited as err:
            return ActionResult(ok=False, code="rate_limited", message=str(err))
        except SourceError as err:
            status = self._client.stats.last_status
            if method != "GET" and (status is None or status >= 500):
                return ActionResult(ok=False, code="not_confirmed",
                                    message=f"not confirmed: {err} — check the next snapshot "
                                    "before trying again")
            return ActionResult(ok=False, code="error", message=str(err))

    @staticmethod
    def _refusal(response: httpx.Response, what: str) -> ActionResult:
        status = response.status_code
        try:
            error = TwilioErrorDoc.model_validate(response.json())
            reason = clean(error.message or "", 200) or "no reason given"
            if error.code is not None:
                reason += f" (Twilio error {error.code})"
        except (ValueError, ValidationError):
            reason = "no reason given"
        code = {404: "not_found", 412: "changed"}.get(status, "refused")
        return ActionResult(ok=False, code=code, message=f"{what}: HTTP {status}: {reason}")

    async def _fetch(self, resource: str, sid: str, model: type[_D], what: str
                     ) -> tuple[_D, str | None] | ActionResult:
        """A task or worker with its ETag (for If-Match), or a result saying why not."""
        fetched = await self._act("GET", f"{self._ws}/{resource}/{sid}")
        if isinstance(fetched, ActionResult):
            return fetched
        if fetched.status_code == 404:
            return ActionResult(ok=False, code="not_found", message=f"{what} no longer "
                                "exists")
        if fetched.status_code != 200:
            return self._refusal(fetched, f"reading {what}")
        try:
            doc = model.model_validate(self._client.parse_json(fetched))
        except (SourceError, ValidationError) as err:
            message = describe(err) if isinstance(err, ValidationError) else str(err)
            return ActionResult(ok=False, code="bad_response",
                                message=f"{what}: unreadable answer ({message}); not changed")
        return doc, fetched.headers.get("ETag")

    def _attrs_or_refuse(self, text: str | None, what: str) -> dict[str, Any] | ActionResult:
        if not text:
            return {}
        attrs = parse_attributes(text)
        if attrs is None:
            return ActionResult(ok=False, code="refused", message=f"{what}'s attributes are "
                                "not a JSON object; not changed")
        return attrs

    async def move_contact(self, contact_id: str, queue_id: str) -> ActionResult:
        """Re-route a waiting task by its attributes: TaskRouter has no "move" call, so the
        workflow must route on ``move_attribute`` (e.g. a filter ``transfer_queue ==
        "sales"``). Guarded by If-Match, so a task answered meanwhile is not touched."""
        attribute = self.settings.move_attribute
        if not attribute:
            return self._unsupported("move contacts (no move_attribute is configured)")
        if not _sid_ok("WT", contact_id):
            return ActionResult(ok=False, code="unknown_contact",
                                message=f"not a task SID: {clean(contact_id, 40)}")
        target = self._queues.get(queue_id)
        if target is None:
            return ActionResult(ok=False, code="unknown_queue",
                                message=f"no queue {clean(queue_id, 40)} in source {self.name}")
        what = f"task {contact_id}"
        fetched = await self._fetch("Tasks", contact_id, TaskDoc, what)
        if isinstance(fetched, ActionResult):
            return fetched
        task, etag = fetched
        if task.assignment_status != "pending":
            return ActionResult(ok=False, code="not_waiting", message=f"{what} not moved: "
                                f"{_STATUS_WORDS.get(task.assignment_status, 'not waiting')}")
        if task.task_queue_sid == queue_id:
            return ActionResult(ok=False, code="same_queue",
                                message=f"{what} is already in {target.name}")
        attrs = self._attrs_or_refuse(task.attributes, what)
        if isinstance(attrs, ActionResult):
            return attrs
        value = self.settings.routing_value(queue_id)
        try:
            attrs = set_path(attrs, attribute, value)
        except ValueError as err:
            return ActionResult(ok=False, code="refused", message=f"{what}: {err}; not moved")
        form: dict[str, str] = {"Attributes": json.dumps(attrs, separators=(",", ":"))}
        if self.settings.move_priority is not None:
            form["Priority"] = str(self.settings.move_priority)
        headers = {"If-Match": etag} if etag else {}
        sent = await self._act("POST", f"{self._ws}/Tasks/{contact_id}", data=form,
                               headers=headers)
        if isinstance(sent, ActionResult):
            return sent
        if sent.status_code == 412:
            return ActionResult(ok=False, code="changed", message=f"{what} changed meanwhile "
                                "(answered or updated by someone else); not moved")
        if sent.status_code == 404:
            return ActionResult(ok=False, code="not_found", message=f"{what} is gone "
                                "(completed or canceled); not moved")
        if sent.status_code != 200:
            return self._refusal(sent, f"moving {what}")
        try:
            after = TaskDoc.model_validate(self._client.parse_json(sent))
        except (SourceError, ValidationError):
            return ActionResult(ok=True, code="ok", message=f"{what}: {attribute}={value} "
                                "set; check the next snapshot for where it went")
        if after.task_queue_sid == queue_id:
            return ActionResult(ok=True, code="ok", message=f"{what} moved to {target.name}")
        return ActionResult(ok=True, code="ok", message=f"{what}: asked the workflow to route "
                            f"it to {target.name} ({attribute}={value}); the workflow decides "
                            "— check the next snapshot")

    async def set_agent_skills(self, agent_id: str, skills: Sequence[str]) -> ActionResult:
        """Write the queues' routing values into the worker attribute the queues' target
        expressions read; values of queues this source does not show are kept."""
        attribute = self.settings.agent_queues_attribute
        if not attribute:
            return self._unsupported("change agents' queues (no agent_queues_attribute)")
        if not _sid_ok("WK", agent_id):
            return ActionResult(ok=False, code="unknown_agent",
                                message=f"not a worker SID: {clean(agent_id, 40)}")
        unknown = [q for q in skills if q not in self._queues]
        if unknown:
            return ActionResult(ok=False, code="unknown_queue", message="no queue(s) "
                                f"{', '.join(clean(q, 40) for q in unknown[:3])}")
        what = f"worker {agent_id}"
        fetched = await self._fetch("Workers", agent_id, WorkerDoc, what)
        if isinstance(fetched, ActionResult):
            return fetched
        worker, etag = fetched
        what = f"{clean(worker.friendly_name or agent_id, 60)} ({agent_id})"
        attrs = self._attrs_or_refuse(worker.attributes, what)
        if isinstance(attrs, ActionResult):
            return attrs
        current = get_path(attrs, attribute)
        if current is None:
            current = []
        if not isinstance(current, list) or not all(isinstance(v, str) for v in current):
            return ActionResult(ok=False, code="refused", message=f"{what}: attribute "
                                f"{attribute} is not a list of strings; not changed")
        ours = {self.settings.routing_value(q) for q in self._queues}
        wanted = [self.settings.routing_value(q) for q in dict.fromkeys(skills)]
        values = [v for v in current if v not in ours] + wanted
        try:
            attrs = set_path(attrs, attribute, values)
        except ValueError as err:
            return ActionResult(ok=False, code="refused", message=f"{what}: {err}")
        headers = {"If-Match": etag} if etag else {}
        sent = await self._act("POST", f"{self._ws}/Workers/{agent_id}",
                               data={"Attributes": json.dumps(attrs, separators=(",", ":"))},
                               headers=headers)
        if isinstance(sent, ActionResult):
            return sent
        if sent.status_code == 412:
            return ActionResult(ok=False, code="changed", message=f"{what} changed meanwhile; "
                                "not changed — try again")
        if sent.status_code != 200:
            return self._refusal(sent, f"changing {what}")
        # Show it now; the queues' own view comes back with the next membership refresh.
        now = self._clock()
        changed = set(skills) ^ {q for q, c in self._members.items() if agent_id in c.value}
        for qid in changed:
            cached = self._members.get(qid)
            members = set(cached.value) if cached else set()
            members.symmetric_difference_update({agent_id})
            self._members[qid] = _Cached(now - timedelta(days=1), None, frozenset(members))
        names = ", ".join(self._queues[q].name for q in dict.fromkeys(skills)) or "none"
        return ActionResult(ok=True, code="ok", message=f"{what} now has {attribute} for: "
                            f"{names} (queues select workers by their own expressions)")

    async def _load_activities(self) -> ActionResult | None:
        if self._activities:
            return None
        try:
            listing = await self._list("Activities", {}, "activities")
        except SourceError as err:
            return ActionResult(ok=False, code="error", message=str(err))
        self._activities = {a.sid: a for a in listing.records}
        return None

    def _activity_for(self, state: str) -> ActivityDoc | None:
        wanted = state.strip().casefold()
        activities = list(self._activities.values())
        for a in activities:
            if a.friendly_name.strip().casefold() == wanted:
                return a
        try:
            kind = AgentStateKind(wanted)
        except ValueError:
            return None
        matches = [a for a in activities
                   if self._kinds.get(a.friendly_name.strip().casefold()) == kind]
        if kind == AgentStateKind.AVAILABLE:  # must really make the worker routable
            matches = [a for a in matches if a.available is not False]
        return matches[0] if matches else None

    async def set_agent_state(self, agent_id: str, state: str) -> ActionResult:
        """Put a worker into an activity: by its friendly name, or by one of our states
        (the first activity ``activity_map`` maps to it)."""
        if not self.settings.allow_agent_state:
            return self._unsupported("change agents' states (allow_agent_state = false)")
        if not _sid_ok("WK", agent_id):
            return ActionResult(ok=False, code="unknown_agent",
                                message=f"not a worker SID: {clean(agent_id, 40)}")
        failed = await self._load_activities()
        if failed is not None:
            return failed
        activity = self._activity_for(state)
        if activity is None:
            names = ", ".join(sorted(clean(a.friendly_name, 30)
                                     for a in self._activities.values())[:8]) or "none"
            return ActionResult(ok=False, code="unknown_state", message=f"no activity for "
                                f"{clean(state, 40)!r} in this workspace (has: {names})")
        sent = await self._act("POST", f"{self._ws}/Workers/{agent_id}",
                               data={"ActivitySid": activity.sid})
        if isinstance(sent, ActionResult):
            return sent
        if sent.status_code == 404:
            return ActionResult(ok=False, code="not_found",
                                message=f"worker {agent_id} no longer exists")
        if sent.status_code != 200:
            return self._refusal(sent, f"changing worker {agent_id}")
        try:
            worker = WorkerDoc.model_validate(self._client.parse_json(sent))
            who = clean(worker.friendly_name or agent_id, 60)
            now_in = clean(worker.activity_name or activity.friendly_name, 40)
        except (SourceError, ValidationError):
            who, now_in = agent_id, clean(activity.friendly_name, 40)
        return ActionResult(ok=True, code="ok", message=f"{who} is now {now_in}")
