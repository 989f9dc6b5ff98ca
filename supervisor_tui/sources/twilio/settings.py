"""Settings of the ``twilio`` source (``[sources.NAME]`` with ``type = "twilio"``).

No HTTP library here: the config imports this module to validate a file, and a console
that only runs the simulator never pays for httpx.
"""

from __future__ import annotations

import re
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from supervisor_tui.domain.model import AgentStateKind, Channel, Tier
from supervisor_tui.sources.settings import SourceSettings, StateMap, platform_url

#: TaskRouter's own ceiling on a task's life (the Timeout of a new task), seconds
MAX_TASK_TTL_S = 1_209_600

_SID_RE = {p: re.compile(rf"^{p}[0-9a-fA-F]{{32}}$") for p in ("AC", "WS", "WQ", "WK", "WT",
                                                                    "WA", "SK")}
_ATTR_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)*$")

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


def sid_ok(prefix: str, value: object) -> bool:
    return isinstance(value, str) and bool(_SID_RE[prefix].match(value))


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
    activity_map: StateMap = Field(
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
        if not sid_ok("WS", value):
            raise ValueError("must be a workspace SID: WS followed by 32 hex digits")
        return value

    @field_validator("account_sid")
    @classmethod
    def _ac(cls, value: str | None) -> str | None:
        if value is not None and not sid_ok("AC", value):
            raise ValueError("must be an account SID: AC followed by 32 hex digits")
        return value

    @field_validator("queues")
    @classmethod
    def _wq_list(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        bad = [v for v in value if not sid_ok("WQ", v)]
        if bad:
            raise ValueError(f"not TaskQueue SIDs (WQ + 32 hex digits): {bad[:3]}")
        return list(dict.fromkeys(value))

    @field_validator("queue_settings")
    @classmethod
    def _wq_keys(cls, value: dict[str, TwilioQueueSettings]) -> dict[str, TwilioQueueSettings]:
        bad = [k for k in value if not sid_ok("WQ", k)]
        if bad:
            raise ValueError(f"keys must be TaskQueue SIDs: {bad[:3]}")
        return value

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
        return platform_url(value)

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
