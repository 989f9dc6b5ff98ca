"""Settings of the ``connect`` source (``[sources.NAME]`` with ``type = "connect"``).

No AWS SDK here: the config imports this module to validate a file, and a console that
only runs the simulator never pays for boto3.
"""

from __future__ import annotations

import re
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from supervisor_tui.domain.model import Channel
from supervisor_tui.sources.settings import (  # is_uuid: also for documents
    SourceSettings,
    is_uuid,
    platform_url,
    uuid_ids,
    uuid_keys,
)

#: arn:PARTITION:connect:REGION:ACCOUNT:instance/INSTANCE_ID
_INSTANCE_ARN = re.compile(r"^arn:(aws[a-z-]*):connect:([a-z]{2}(-[a-z]+)+-\d):(\d{12}):"
                           r"instance/([0-9a-fA-F-]{36})$")
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_PROFILE = re.compile(r"^[A-Za-z0-9_.@+=,-]{1,64}$")
#: GetMetricDataV2 takes thresholds from 1 to 604,800 s (one week)
MAX_V2_THRESHOLD_S = 604_800


class ConnectQueueSettings(BaseModel):
    """Per-queue reporting settings (``[sources.NAME.queue_settings.QUEUE_ID]``)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=80, description="display name (default: the "
                             "queue's name in Amazon Connect)")
    channel: Channel = Channel.VOICE
    sl_target: float = Field(0.8, ge=0, le=1)
    threshold_s: int = Field(20, ge=1, le=86_400, description="service-level threshold T, "
                             "sent as the threshold of SUM_CONTACTS_ANSWERED_IN_X")
    short_abandon_s: int = Field(5, ge=0, le=3_600, description="abandons under this are "
                                 "short (0: none are); sent as a SUM_CONTACTS_ABANDONED_IN_X "
                                 "threshold")

    @model_validator(mode="after")
    def _short_under_threshold(self) -> ConnectQueueSettings:
        if self.short_abandon_s > self.threshold_s:
            raise ValueError("short_abandon_s must not exceed threshold_s")
        return self


class ConnectSettings(SourceSettings):
    """``[sources.NAME]`` with ``type = "connect"``: queues of one Amazon Connect instance."""

    type: Literal["connect"] = "connect"
    #: GetCurrentMetricData's documented rate is 5 requests a second (burst 8), per API and
    #: account; the poll's other APIs allow no more (2 a second for the List* catalog
    #: calls, paced separately). A sliding second keeps every burst under 8.
    default_budget: ClassVar[tuple[int, float] | None] = (5, 1.0)

    instance_arn: str = Field(description="the instance's ARN: arn:aws:connect:REGION:"
                              "ACCOUNT:instance/ID (region and instance id are read from it)")
    endpoint_url: str | None = Field(None, description="default: the region's public "
                                     "endpoint (set for a VPC endpoint)")
    profile: str | None = Field(None, description="AWS shared-config profile to use; "
                                "default: the SDK's chain (environment, SSO, instance role)")
    access_key_id_env: str | None = Field(None, description="environment variable holding "
                                          "an access key id (with secret_access_key_env)")
    secret_access_key_env: str | None = None
    session_token_env: str | None = None
    queues: list[str] = Field(default_factory=list, description="queue ids to show; "
                              "empty: every standard queue of the instance")
    max_queues: int = Field(2_000, ge=1, le=20_000, description="refuse an instance with "
                            "more standard queues than this when queues is empty")
    queue_defaults: ConnectQueueSettings = Field(default_factory=ConnectQueueSettings)
    queue_settings: dict[str, ConnectQueueSettings] = Field(
        default_factory=dict, description="per queue id, replacing queue_defaults")
    transfer_flow_id: str | None = Field(None, description="the transfer-to-queue flow "
                                         "TransferContact runs (needed to move task and "
                                         "email contacts; none: moves are not offered)")
    allow_state_changes: bool = Field(True, description="offer agent state changes "
                                      "(PutUserStatus; needs connect:PutUserStatus)")
    allow_profile_moves: bool = Field(True, description="offer moving agents to the "
                                      "routing profile that serves the chosen queues "
                                      "(UpdateUserRoutingProfile)")
    interval_refresh_s: float = Field(60.0, ge=5, le=1_800, description="re-read the "
                                      "interval counters (GetMetricDataV2) this often")
    day_stats: bool = Field(True, description="also read counters since local midnight")
    day_refresh_s: float = Field(300.0, ge=5, le=86_400)
    catalog_refresh_s: float = Field(3_600.0, ge=60, le=86_400, description="re-read "
                                     "queues, routing profiles, agent statuses and users")
    max_poll_requests: int = Field(30, ge=5, le=1_000, description="requests one poll "
                                   "may send (30 at 5 a second: ~5 s, within the default "
                                   "poll_timeout_s); agent states of a large centre are "
                                   "read in turns across polls beyond it")
    max_users: int = Field(20_000, ge=1, le=100_000, description="refuse an instance with "
                           "more users than this")
    max_wait_s: float = Field(1_209_600.0, gt=0, description="a wait above this is garbage")
    max_clock_skew_s: float = Field(30.0, ge=0, le=3_600)
    max_concurrency: int = Field(4, ge=1, le=16)

    @field_validator("instance_arn")
    @classmethod
    def _arn(cls, value: str) -> str:
        value = value.strip()
        if not _INSTANCE_ARN.match(value):
            raise ValueError("must be an instance ARN: arn:aws:connect:REGION:ACCOUNT:"
                             "instance/INSTANCE_ID")
        return value

    @field_validator("endpoint_url")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        return None if value is None else platform_url(value, appended="API")

    @field_validator("access_key_id_env", "secret_access_key_env", "session_token_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is not None and not _ENV.match(value):
            raise ValueError("must be the name of an environment variable, not a secret")
        return value

    @field_validator("profile")
    @classmethod
    def _profile(cls, value: str | None) -> str | None:
        if value is not None and not _PROFILE.match(value):
            raise ValueError("not a profile name")
        return value

    @field_validator("queues")
    @classmethod
    def _queue_ids(cls, value: list[str]) -> list[str]:
        return uuid_ids(value)

    @field_validator("queue_settings")
    @classmethod
    def _queue_keys(cls, value: dict[str, ConnectQueueSettings]
                    ) -> dict[str, ConnectQueueSettings]:
        return uuid_keys(value)

    @field_validator("transfer_flow_id")
    @classmethod
    def _flow(cls, value: str | None) -> str | None:
        if value is not None and not is_uuid(value):
            raise ValueError("must be a flow id (a UUID)")
        return value.lower() if value else value

    @model_validator(mode="after")
    def _keys_in_pairs(self) -> ConnectSettings:
        if (self.access_key_id_env is None) != (self.secret_access_key_env is None):
            raise ValueError("access_key_id_env and secret_access_key_env go together")
        if self.session_token_env and not self.access_key_id_env:
            raise ValueError("session_token_env needs access_key_id_env")
        if self.profile and self.access_key_id_env:
            raise ValueError("give either profile or access_key_id_env, not both")
        return self

    def _arn_part(self, group: int) -> str:
        match = _INSTANCE_ARN.match(self.instance_arn)
        assert match is not None  # validated
        return match.group(group)

    @property
    def region(self) -> str:
        return self._arn_part(2)

    @property
    def instance_id(self) -> str:
        return self._arn_part(5).lower()

    def queue(self, queue_id: str) -> ConnectQueueSettings:
        return self.queue_settings.get(queue_id, self.queue_defaults)
