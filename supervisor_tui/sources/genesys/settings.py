"""Settings of the ``genesys`` source (``[sources.NAME]`` with ``type = "genesys"``).

No HTTP library here: the config imports this module to validate a file.
"""

from __future__ import annotations

import re
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from supervisor_tui.domain.model import AgentStateKind, Channel
from supervisor_tui.sources.settings import (  # is_uuid: also for documents
    SourceSettings,
    StateMap,
    is_uuid,
    platform_url,
    uuid_ids,
    uuid_keys,
)

_REGION = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)+$")
_MEDIA = re.compile(r"^[a-z]{2,30}$")

#: system presence (case-insensitive) of an off-queue agent -> our state; settings add
DEFAULT_PRESENCE_MAP: dict[str, AgentStateKind] = {
    "offline": AgentStateKind.OFFLINE,
    # Off queue means no queue contacts whatever the presence says.
    "available": AgentStateKind.AWAY,
    "on_queue": AgentStateKind.AWAY,
    "away": AgentStateKind.AWAY,
    "break": AgentStateKind.AWAY,
    "meal": AgentStateKind.AWAY,
    "meeting": AgentStateKind.AWAY,
    "training": AgentStateKind.AWAY,
    "busy": AgentStateKind.AWAY,
    "idle": AgentStateKind.AWAY,
}


class GenesysQueueSettings(BaseModel):
    """Per-queue settings (``[sources.NAME.queue_settings.QUEUE_ID]``)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=80, description="display name (default: the "
                             "queue's name in Genesys)")
    channel: Channel = Channel.VOICE
    media_types: list[str] | None = Field(None, description="Genesys media types to count "
                                          "(voice, callback, chat, email, message); "
                                          "default: all")
    sl_target: float = Field(0.8, ge=0, le=1)
    threshold_s: int = Field(20, ge=1, le=86_400, description="service-level threshold T")
    short_abandon_s: int = Field(5, ge=0, le=3_600, description="abandons under this are "
                                 "short (0: none are)")

    @field_validator("media_types")
    @classmethod
    def _media(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        value = [v.strip().lower() for v in value]
        bad = [v for v in value if not _MEDIA.match(v)]
        if bad or not value:
            raise ValueError(f"media types are lowercase words such as voice or chat, got "
                             f"{bad[:3] or 'none'}")
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _short_under_threshold(self) -> GenesysQueueSettings:
        if self.short_abandon_s > self.threshold_s:
            raise ValueError("short_abandon_s must not exceed threshold_s")
        return self


class GenesysSettings(SourceSettings):
    """``[sources.NAME]`` with ``type = "genesys"``: queues of one Genesys Cloud org."""

    type: Literal["genesys"] = "genesys"
    #: Genesys allows 300 requests a minute per OAuth client, then answers 429.
    default_budget: ClassVar[tuple[int, float] | None] = (300, 60.0)

    region: str = Field("mypurecloud.com", description="the org's region host: "
                        "mypurecloud.com, mypurecloud.ie, usw2.pure.cloud, ...")
    api_url: str | None = Field(None, description="default: https://api.{region}")
    login_url: str | None = Field(None, description="default: https://login.{region}")
    client_id_env: str = Field(description="environment variable holding the OAuth "
                               "client id (client credentials grant)")
    client_secret_env: str = Field(description="environment variable holding the OAuth "
                                   "client secret")
    ca_bundle: str | None = None
    queues: list[str] = Field(min_length=1, description="queue ids to show")
    queue_defaults: GenesysQueueSettings = Field(default_factory=GenesysQueueSettings)
    queue_settings: dict[str, GenesysQueueSettings] = Field(
        default_factory=dict, description="per queue id, replacing queue_defaults")
    presence_map: StateMap = Field(
        default_factory=dict, description="system presence (or presence definition id) of "
        "an off-queue agent -> offline or away (...); added to the defaults")
    emergency_group_id: str | None = Field(None, description="the emergency group this "
                                           "console may switch on and off")
    allow_transfers: bool = Field(True, description="offer blind transfers of waiting "
                                  "conversations (needs conversation:communication:"
                                  "blindTransfer)")
    allow_membership: bool = Field(True, description="offer adding/removing queue members "
                                   "(needs routing:queueMember:manage)")
    allow_agent_state: bool = Field(True, description="offer changing agents' states "
                                    "(presence and routing status: the OAuth client needs "
                                    "the users and presence scopes' edit rights and "
                                    "presence:presenceDefinition:view)")
    interval_refresh_s: float = Field(15.0, ge=1, le=1_800)
    day_stats: bool = Field(True, description="also read counters since local midnight")
    day_refresh_s: float = Field(300.0, ge=1, le=86_400)
    members_refresh_s: float = Field(0.0, ge=0, le=3_600, description="re-read queue "
                                     "members (agent states) this often; 0 = every poll")
    catalog_refresh_s: float = Field(3_600.0, ge=10, le=86_400)
    max_pages: int = Field(20, ge=1, le=1_000, description="member pages per queue")
    max_wait_s: float = Field(1_209_600.0, gt=0, description="a wait above this is garbage")
    max_clock_skew_s: float = Field(30.0, ge=0, le=3_600)
    max_concurrency: int = Field(4, ge=1, le=32)

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        value = value.strip().lower().removeprefix("api.").removeprefix("login.")
        if not _REGION.match(value):
            raise ValueError("must be a region host such as mypurecloud.com")
        return value

    @field_validator("api_url", "login_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else platform_url(value, appended="API")

    @field_validator("queues")
    @classmethod
    def _queue_ids(cls, value: list[str]) -> list[str]:
        return uuid_ids(value)

    @field_validator("queue_settings")
    @classmethod
    def _queue_keys(cls, value: dict[str, GenesysQueueSettings]
                    ) -> dict[str, GenesysQueueSettings]:
        return uuid_keys(value)

    @field_validator("emergency_group_id")
    @classmethod
    def _group(cls, value: str | None) -> str | None:
        if value is not None and not is_uuid(value):
            raise ValueError("must be an emergency group id (a UUID)")
        return value.lower() if value else value

    def queue(self, queue_id: str) -> GenesysQueueSettings:
        return self.queue_settings.get(queue_id, self.queue_defaults)

    def api(self) -> str:
        return self.api_url or f"https://api.{self.region}"

    def login(self) -> str:
        return self.login_url or f"https://login.{self.region}"

    def presence_kinds(self) -> dict[str, AgentStateKind]:
        return {**DEFAULT_PRESENCE_MAP, **self.presence_map}
