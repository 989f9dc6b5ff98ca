"""Settings of the ``zendesk`` source (``[sources.NAME]`` with ``type = "zendesk"``).

No HTTP library here: the config imports this module to validate a file.
"""

from __future__ import annotations

import re
from typing import ClassVar, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator, model_validator

from supervisor_tui.domain.model import AgentStateKind
from supervisor_tui.sources.settings import SourceSettings, StateMap, platform_url

_SUBDOMAIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")

#: ``agent_state`` values -> our states; ``call_status`` on_call / wrap_up win over these
DEFAULT_STATE_MAP: dict[str, AgentStateKind] = {
    "online": AgentStateKind.AVAILABLE,
    "away": AgentStateKind.AWAY,
    "transfers_only": AgentStateKind.AWAY,  # takes transfers, not queue calls
    "offline": AgentStateKind.OFFLINE,
}


class ZendeskSettings(SourceSettings):
    """``[sources.NAME]`` with ``type = "zendesk"``: one Zendesk account's Talk queue."""

    type: Literal["zendesk"] = "zendesk"
    #: The plan-wide Support API limit binds before Talk's own (15,000 / 5 min) and the
    #: current queue activity one (2,500 / 5 min): 200 a minute is the smallest plan's
    #: (Suite Team), i.e. at most 1,000 queue-activity requests in any 5 minutes.
    default_budget: ClassVar[tuple[int, float] | None] = (200, 60.0)

    subdomain: str | None = Field(None, description="the account, as in "
                                  "https://SUBDOMAIN.zendesk.com")
    base_url: str | None = Field(None, description="instead of subdomain: the API's base "
                                 "URL (a host-mapped domain, or a mock server in tests)")
    email: str | None = Field(None, max_length=254, description="the agent or admin whose "
                              "API token token_env holds (Basic {email}/token:{token})")
    token_env: str | None = Field(None, description="environment variable holding an API "
                                  "token (with email)")
    oauth_token_env: str | None = Field(None, description="environment variable holding an "
                                        "OAuth access token (instead of email + token_env)")
    ca_bundle: str | None = None
    queue_id: str = Field("talk", min_length=1, max_length=64)
    queue_name: str = Field("Talk", min_length=1, max_length=80)
    sl_target: float = Field(0.8, ge=0, le=1)
    threshold_s: float = Field(20.0, gt=0, le=86_400)
    short_abandon_s: float = Field(5.0, ge=0, le=3_600)
    account_tz: str = Field("UTC", description="the Zendesk account's time zone: its "
                            "stats count from midnight there")
    state_map: StateMap = Field(
        default_factory=dict, description="agent_state (online, away, transfers_only, "
        "offline) -> available, on_contact, after_contact_work, away or offline; added to "
        "the defaults")
    overview_refresh_s: float = Field(60.0, ge=5, le=3_600, description="the day's totals "
                                      "change slowly: read them this often")
    max_pages: int = Field(50, ge=1, le=1_000, description="agents_activity pages per poll "
                           "(100 agents a page)")
    max_wait_s: float = Field(86_400.0, gt=0, description="a longest wait above this is "
                              "garbage")

    @field_validator("subdomain")
    @classmethod
    def _subdomain(cls, value: str | None) -> str | None:
        if value is not None and not _SUBDOMAIN.match(value):
            raise ValueError("must be the account's subdomain, e.g. 'acme' for "
                             "acme.zendesk.com")
        return value.lower() if value else value

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else platform_url(value, appended="/api/v2")

    @field_validator("account_tz")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ValueError, KeyError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @model_validator(mode="after")
    def _where_and_who(self) -> ZendeskSettings:
        if bool(self.subdomain) == bool(self.base_url):
            raise ValueError("set exactly one of subdomain or base_url")
        token_auth = bool(self.email or self.token_env)
        if token_auth == bool(self.oauth_token_env):
            raise ValueError("set either email + token_env (API token) or oauth_token_env")
        if token_auth and not (self.email and self.token_env):
            raise ValueError("email and token_env go together")
        if self.short_abandon_s > self.threshold_s:
            raise ValueError("short_abandon_s must not exceed threshold_s")
        return self

    def url(self) -> str:
        return self.base_url or f"https://{self.subdomain}.zendesk.com"

    def state_kinds(self) -> dict[str, AgentStateKind]:
        return {**DEFAULT_STATE_MAP, **self.state_map}
