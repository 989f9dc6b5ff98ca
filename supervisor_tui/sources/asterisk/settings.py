"""Settings of the ``asterisk`` source (``[sources.NAME]`` with ``type = "asterisk"``).

No socket code here: the config imports this module to validate a file, and a console
that only runs the simulator never loads the AMI client.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from supervisor_tui.domain.model import Channel, Tier
from supervisor_tui.protocol.documents import is_loopback
from supervisor_tui.sources.settings import SourceSettings

#: what AMI accepts in a header value we send: no line breaks (they would end the
#: header, or the whole action, and let a value inject another action)
_HEADER_VALUE = re.compile(r"^[^\r\n\x00]*$")
#: dialplan context / extension names (queues.conf and extensions.conf words)
_DIALPLAN_WORD = re.compile(r"^[A-Za-z0-9_+*#.\-]{1,80}$")
#: app_queue queue names: what queues.conf allows in a [section] name, bounded
_QUEUE_NAME = re.compile(r"^[^\r\n\x00\[\]]{1,80}$")


def header_value(value: str) -> str:
    if not _HEADER_VALUE.match(value):
        raise ValueError("must not contain line breaks or NUL")
    return value


class AsteriskQueueSettings(BaseModel):
    """Per-queue reporting settings (``[sources.NAME.queue_settings.QUEUE]``)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=80, description="display name (default: the "
                             "app_queue queue name)")
    channel: Channel = Channel.VOICE
    sl_target: float = Field(0.8, ge=0, le=1)
    threshold_s: float | None = Field(None, gt=0, le=86_400, description="service-level "
                                      "threshold T (default: the queue's servicelevel from "
                                      "queues.conf, else 20 s)")
    short_abandon_s: float = Field(5.0, ge=0, le=3_600, description="abandons under this "
                                   "are short (0: none are)")
    move_exten: str | None = Field(None, description="the extension in move_context that "
                                   "runs Queue(this queue): where a moved caller is sent "
                                   "(default: the queue name)")
    wrapup_s: float = Field(0.0, ge=0, le=3_600, description="the queue's wrapuptime "
                            "(queues.conf): QueueStatus does not report it, and a member "
                            "after a call is shown in after-contact work this long")

    @field_validator("move_exten")
    @classmethod
    def _exten(cls, value: str | None) -> str | None:
        if value is not None and not _DIALPLAN_WORD.match(value):
            raise ValueError("must be a dialplan extension (letters, digits, _+*#.-)")
        return value


class AsteriskSettings(SourceSettings):
    """``[sources.NAME]`` with ``type = "asterisk"``: one Asterisk's app_queue over AMI."""

    type: Literal["asterisk"] = "asterisk"

    host: str = Field(min_length=1, max_length=253, description="the Asterisk host (AMI "
                      "listens on port 5038, manager.conf)")
    port: int = Field(5038, ge=1, le=65_535)
    username: str = Field(min_length=1, max_length=80, description="the manager.conf user "
                          "([section] name); needs read = agent,system and write = agent "
                          "(QueueAdd/Remove/Pause) and call (Redirect) for actions")
    secret_env: str = Field(description="environment variable holding the user's secret")
    auth: Literal["md5", "plain"] = Field(
        "md5", description="md5: challenge-response, the secret never crosses the network; "
        "plain: the secret is sent as is (loopback or tls only)")
    tls: bool = Field(False, description="AMI over TLS (manager.conf tlsenable, usually "
                      "port 5039); the certificate is always verified")
    ca_bundle: str | None = Field(None, description="PEM file of CAs to trust for the "
                                  "PBX's certificate (default: the system's)")
    queues: list[str] | None = Field(None, description="app_queue queue names to show "
                                     "(default: every queue QueueStatus lists)")
    queue_defaults: AsteriskQueueSettings = Field(default_factory=AsteriskQueueSettings)
    queue_settings: dict[str, AsteriskQueueSettings] = Field(
        default_factory=dict, description="per queue name, replacing queue_defaults")
    move_context: str | None = Field(None, description="dialplan context holding one "
                                     "extension per queue that runs Queue(); enables moving "
                                     "waiting callers (Redirect)")
    tier_by_priority: dict[Tier, int] = Field(
        default_factory=dict, description="queue priority at or above which a caller is this "
        "tier (e.g. { vip = 10, gold = 5 })")
    resync_every_s: float = Field(600.0, ge=30, le=86_400, description="one QueueStatus this "
                                  "often corrects any drift; events keep the state between")
    ping_every_s: float = Field(20.0, ge=2, le=600, description="an AMI Ping this long after "
                                "the last message: a silent, dead connection is found")
    settle_s: float = Field(5.0, ge=0.5, le=60, description="a caller who left the queue "
                            "without an answer or an abandon within this is counted as "
                            "flowed out (timeout, exit key, moved)")
    max_backoff_s: float = Field(60.0, ge=1, le=900, description="longest wait between "
                                 "reconnection attempts")
    max_message_kib: int = Field(64, ge=4, le=4096, description="an AMI message larger than "
                                 "this is refused and the connection dropped")

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        value = value.strip()
        if not value or any(c in value for c in "/@ \t\r\n"):
            raise ValueError("must be a host name or address, without scheme or port")
        return value

    @field_validator("username")
    @classmethod
    def _user(cls, value: str) -> str:
        return header_value(value)

    @field_validator("queues")
    @classmethod
    def _queue_list(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        bad = [q for q in value if not _QUEUE_NAME.match(q)]
        if bad:
            raise ValueError(f"not queue names: {bad[:3]}")
        return list(dict.fromkeys(value))

    @field_validator("queue_settings")
    @classmethod
    def _queue_keys(cls, value: dict[str, AsteriskQueueSettings]
                    ) -> dict[str, AsteriskQueueSettings]:
        bad = [q for q in value if not _QUEUE_NAME.match(q)]
        if bad:
            raise ValueError(f"keys must be queue names: {bad[:3]}")
        return value

    @field_validator("move_context")
    @classmethod
    def _context(cls, value: str | None) -> str | None:
        if value is not None and not _DIALPLAN_WORD.match(value):
            raise ValueError("must be a dialplan context name (letters, digits, _+*#.-)")
        return value

    @model_validator(mode="after")
    def _checks(self) -> AsteriskSettings:
        if self.auth == "plain" and not self.tls and not is_loopback(self.host):
            raise ValueError(f"auth = 'plain' would send the secret in clear text to "
                             f"{self.host}: use auth = 'md5' (challenge-response) or tls")
        if self.ca_bundle and not self.tls:
            raise ValueError("ca_bundle is for tls = true")
        for name, queue in {"queue_defaults": self.queue_defaults,
                            **self.queue_settings}.items():
            if queue.threshold_s is not None and queue.short_abandon_s > queue.threshold_s:
                raise ValueError(f"{name}: short_abandon_s must not exceed threshold_s")
        return self

    def queue(self, name: str) -> AsteriskQueueSettings:
        return self.queue_settings.get(name, self.queue_defaults)

    def move_exten(self, name: str) -> str:
        return self.queue(name).move_exten or name
