"""``[crisis]`` configuration: channels, templates, delivery policy.

Everything a send could trip over is checked when the file is loaded, not when the
phones are melting: a template naming an unknown channel or ``${variable}`` is a
config error. Secrets are never in the file: fields ending in ``_env`` name the
environment variable that holds them.
"""

from __future__ import annotations

import re
from enum import StrEnum
from string import Template
from typing import Annotated, Literal, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from supervisor_tui.domain.paging import PagingConfig

#: variables every template may use; values come from the incident unless given
BUILTIN_VARIABLES: dict[str, str] = {
    "title": "incident title",
    "severity": "critical / major / minor",
    "queues": "affected queues, comma separated",
    "impact": "what customers notice",
    "eta": "when the next update or the fix is expected",
    "incident_id": "the incident's number",
    "declared_at": "when the incident was declared (UTC, HH:MM)",
}

_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_CHANNEL_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,39}$")
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


class _Strict(BaseModel):
    # Same rule as supervisor_tui.config.strict.Strict (not imported: crisis knows no
    # config, tests/test_layers.py).
    model_config = ConfigDict(extra="forbid")


class Severity(StrEnum):
    """Statuspage's impact words, so one vocabulary reaches every channel."""

    CRITICAL = "critical"
    MAJOR = "major"
    MINOR = "minor"


class MessageKind(StrEnum):
    INITIAL = "initial"  # first notice: creates the Statuspage incident
    UPDATE = "update"  # follow-ups
    RESOLVED = "resolved"  # all clear: sending it resolves the incident


def _env_name(value: str) -> str:
    if not _ENV_NAME.match(value):
        # A pasted token (lower-case hex, dashes, ...) must not end up in a config file.
        raise ValueError("must name an environment variable (A-Z, 0-9, _), not hold the "
                         "secret itself")
    return value


def _http_url(value: str) -> str:
    if not value.startswith(("https://", "http://")):
        raise ValueError("must be an http:// or https:// URL")
    return value


EnvName = Annotated[str, AfterValidator(_env_name)]
HttpUrl = Annotated[str, AfterValidator(_http_url)]


class ChannelBase(_Strict):
    timeout_s: float = Field(10.0, gt=0, le=300, description="one delivery slower than this "
                             "is abandoned and retried")
    max_attempts: int | None = Field(None, ge=1, le=100, description="default: "
                                     "[crisis.delivery] max_attempts")
    ca_bundle: str | None = Field(None, description="CA file to trust (TLS is always verified)")
    max_in_flight: int | None = Field(None, ge=1, le=100, description="deliveries on this "
                                      "channel in flight at once per console (default: 4 "
                                      "for channels without server-side idempotency, "
                                      "else 20); a killed console leaves at most this many "
                                      "with an unknown outcome")

    def env_vars(self) -> list[str]:
        """Environment variables this channel needs at delivery time."""
        return [value for name, value in self if name.endswith("_env") and value]

    def recipients(self) -> list[str]:
        """One outbox row per recipient; "" = the channel itself."""
        return [""]

    @property
    def idempotent(self) -> bool:
        """Whether the receiver drops a repeat of a delivery key (so an attempt whose
        answer was lost may be re-sent at once)."""
        return getattr(self, "type", "") in IDEMPOTENT_TYPES

    @property
    def in_flight(self) -> int:
        return self.max_in_flight or (20 if self.idempotent else 4)


class _UrlChannel(ChannelBase):
    url: HttpUrl | None = None
    url_env: EnvName | None = Field(None, description="env var holding the URL (Slack and "
                                    "Teams webhook URLs are themselves the credential)")

    @model_validator(mode="after")
    def _one_url(self) -> _UrlChannel:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("set exactly one of url and url_env")
        return self


class WebhookChannel(_UrlChannel):
    """Our own JSON document POSTed to any HTTPS endpoint."""

    type: Literal["webhook"]
    headers: dict[str, str] = Field(default_factory=dict)
    auth: Literal["none", "bearer", "hmac"] = Field(
        "none", description="bearer: Authorization: Bearer <secret>; hmac: X-Signature-256 "
        "over timestamp and body")
    secret_env: EnvName | None = None
    max_chars: int = Field(10_000, gt=0)

    @model_validator(mode="after")
    def _check(self) -> WebhookChannel:
        if self.auth != "none" and not self.secret_env:
            raise ValueError(f"auth = {self.auth!r} needs secret_env")
        return self


class SlackChannel(_UrlChannel):
    """A Slack incoming webhook."""

    type: Literal["slack"]


class TeamsChannel(_UrlChannel):
    """A Teams Workflows webhook ("post to a channel when a webhook request is received")."""

    type: Literal["teams"]


class EmailChannel(ChannelBase):
    type: Literal["email"]
    host: str
    port: int | None = Field(None, gt=0, lt=65536, description="default: 465 for ssl, else 587")
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password_env: EnvName | None = None
    from_addr: str
    to: list[str] = Field(min_length=1)


    @field_validator("from_addr")
    @classmethod
    def _from(cls, value: str) -> str:
        if not _EMAIL.match(value):
            raise ValueError(f"not an email address: {value!r}")
        return value

    @field_validator("to")
    @classmethod
    def _to(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not _EMAIL.match(v)]
        if bad:
            raise ValueError(f"not email addresses: {', '.join(map(repr, bad))}")
        if len(set(value)) != len(value):
            raise ValueError("lists an address twice")
        return value

    @model_validator(mode="after")
    def _check(self) -> EmailChannel:
        if self.username and not self.password_env:
            raise ValueError("username needs password_env")
        return self

    @property
    def effective_port(self) -> int:
        return self.port or (465 if self.security == "ssl" else 587)

    def recipients(self) -> list[str]:
        # One message per address: customers never see each other, and each has a status.
        return list(self.to)


class SmsChannel(ChannelBase):
    """Twilio Programmable Messaging."""

    type: Literal["sms"]
    account_sid: str
    auth_token_env: EnvName
    from_number: str | None = None
    messaging_service_sid: str | None = None
    to: list[str] = Field(min_length=1)
    max_segments: int = Field(3, ge=1, le=10, description="refuse texts longer than this")
    base_url: HttpUrl = "https://api.twilio.com"


    @field_validator("account_sid")
    @classmethod
    def _sid(cls, value: str) -> str:
        if not re.fullmatch(r"AC[0-9a-fA-F]{32}", value):
            raise ValueError("not a Twilio account SID (AC + 32 hex digits)")
        return value

    @field_validator("to")
    @classmethod
    def _numbers(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not _E164.match(v)]
        if bad:
            raise ValueError(f"not E.164 numbers (+ country code, digits): "
                             f"{', '.join(map(repr, bad))}")
        if len(set(value)) != len(value):
            raise ValueError("lists a number twice")
        return value

    @model_validator(mode="after")
    def _check(self) -> SmsChannel:
        if (self.from_number is None) == (self.messaging_service_sid is None):
            raise ValueError("set exactly one of from_number and messaging_service_sid")
        if self.from_number is not None and not _E164.match(self.from_number):
            raise ValueError(f"from_number is not an E.164 number: {self.from_number!r}")
        return self

    def recipients(self) -> list[str]:
        return list(self.to)


class StatuspageChannel(ChannelBase):
    """An Atlassian Statuspage page: the first message creates an incident, later ones
    update it, the "resolved" template resolves it."""

    type: Literal["statuspage"]
    page_id: str = Field(min_length=1)
    api_key_env: EnvName
    component_ids: list[str] = Field(default_factory=list)
    deliver_notifications: bool = Field(True, description="let Statuspage notify subscribers")
    base_url: HttpUrl = "https://api.statuspage.io"



class AgentsChannel(ChannelBase):
    """A banner on every console on this host (through the store), and a broadcast to
    agents through each named source that supports it."""

    type: Literal["agents"]
    sources: list[str] = Field(default_factory=list, description="sources to broadcast "
                               "through (their `broadcast` capability)")
    max_chars: int = Field(500, gt=0, le=2000)

    def recipients(self) -> list[str]:
        return ["consoles", *(f"source:{name}" for name in self.sources)]


ChannelConfig = Annotated[
    Union[WebhookChannel, SlackChannel, TeamsChannel, EmailChannel,  # noqa: UP007
          SmsChannel, StatuspageChannel, AgentsChannel],
    Field(discriminator="type"),
]
CHANNEL_TYPES = ("webhook", "slack", "teams", "email", "sms", "statuspage", "agents")
#: Receivers that drop a repeated delivery key: our webhook document (Idempotency-Key),
#: Statuspage (we adopt the incident our earlier attempt created) and the agents banner
#: and broadcasts (keyed). SMS (Twilio), email and chat webhooks (Slack, Teams) keep
#: every copy: a re-send after an attempt with an unknown outcome may be a duplicate.
IDEMPOTENT_TYPES = frozenset({"webhook", "statuspage", "agents"})


class TemplateText(_Strict):
    """A per-channel override of a template's text and/or subject."""

    text: str | None = None
    subject: str | None = None


class TemplateConfig(_Strict):
    description: str = ""
    kind: MessageKind = MessageKind.UPDATE
    channels: list[str] = Field(min_length=1)
    subject: str = Field("[${severity}] ${title}", description="email subject, Slack/Teams "
                         "heading, Statuspage incident name")
    text: str = Field(min_length=1)
    variables: dict[str, str] = Field(default_factory=dict, description="extra variables "
                                      "with their default values")
    statuspage_status: Literal["investigating", "identified", "monitoring", "resolved"] | None \
        = Field(None, description="default: investigating (initial), identified (update), "
                "resolved (resolved)")
    overrides: dict[str, TemplateText] = Field(
        default_factory=dict, description="by channel name or channel type, e.g. a short "
        "text for sms")

    def texts(self) -> list[tuple[str, str]]:
        """(where, template text) for every text this template holds."""
        found = [("subject", self.subject), ("text", self.text)]
        for key, over in self.overrides.items():
            found += [(f"overrides.{key}.{part}", value)
                      for part, value in (("subject", over.subject), ("text", over.text))
                      if value is not None]
        return found


class DeliveryConfig(_Strict):
    max_attempts: int = Field(8, ge=1, le=100, description="then a delivery fails for good")
    backoff_base_s: float = Field(2.0, gt=0, description="first retry after about this")
    backoff_max_s: float = Field(300.0, gt=0, description="retries never wait longer "
                                 "(except when the receiver's Retry-After says so)")
    retry_after_max_s: float = Field(3600.0, gt=0, description="cap on a receiver's Retry-After")
    send_wait_s: float = Field(120.0, gt=0, description="how long `crisis send` keeps retrying "
                               "before leaving the rest to `crisis deliver` / a console")
    poll_s: float = Field(2.0, gt=0, description="how often a console looks for due deliveries")
    unknown_outcome_wait_s: float = Field(
        900.0, ge=0, description="after an attempt whose outcome is unknown (no answer in "
        "time, a dropped connection, a console killed mid-send), channels without "
        "server-side idempotency (sms, email, slack, teams) wait this long before sending "
        "again: the first copy may well have arrived")


class CrisisConfig(_Strict):
    channels: dict[str, ChannelConfig] = Field(default_factory=dict)
    templates: dict[str, TemplateConfig] = Field(default_factory=dict)
    variables: dict[str, str] = Field(default_factory=dict, description="variables every "
                                      "template may use, with their default values")
    delivery: DeliveryConfig = Field(default_factory=DeliveryConfig)
    all_clear_banner_s: float = Field(300.0, ge=0, description="a resolved incident stays on "
                                      "every console's banner as ALL CLEAR this long")
    builtin_floor: bool = Field(True, description="add the built-in floor broadcast: an "
                                "agents channel (when none is configured) and the floor "
                                "templates (free text and a notice), which need no config")
    paging: PagingConfig = Field(default_factory=PagingConfig, description="page the "
                                 "on-call supervisor about unowned escalations")
    # Names of the channels and templates added by builtin_floor (not TOML keys).
    _builtin: frozenset[str] = PrivateAttr(default_factory=frozenset)

    @field_validator("channels")
    @classmethod
    def _channel_names(cls, value: dict[str, ChannelBase]) -> dict[str, ChannelBase]:
        bad = [name for name in value if not _CHANNEL_NAME.match(name)]
        if bad:
            raise ValueError(f"channel names must be letters, digits, _ or - (start with a "
                             f"letter, at most 40): {', '.join(map(repr, bad))}")
        return value

    @model_validator(mode="after")
    def _check_templates(self) -> CrisisConfig:
        problems: list[str] = []
        clash = sorted(set(self.variables) & set(BUILTIN_VARIABLES))
        if clash:
            problems.append(f"crisis.variables: {', '.join(clash)} come from the incident "
                            "(pass them with --var to override)")
        for name, template in self.templates.items():
            problems += _template_problems(name, template, self)
        if problems:
            raise ValueError("\n    ".join(problems))  # one problem per line
        if self.builtin_floor:
            self._add_builtin_floor()
        return self

    @model_validator(mode="after")
    def _check_paging(self) -> CrisisConfig:
        problems = _paging_problems(self.paging, self)
        if problems:
            raise ValueError("\n    ".join(problems))
        return self

    def _add_builtin_floor(self) -> None:
        """Something that can always be sent, with no config at all: a banner on every
        console on the host (the agents channel) with free text or the incident's facts."""
        added: set[str] = set()
        floor = next((n for n, c in self.channels.items() if isinstance(c, AgentsChannel)),
                     None)
        if floor is None:
            floor = "floor" if "floor" not in self.channels else "floor_builtin"
            self.channels[floor] = AgentsChannel(type="agents")
            added.add(floor)
        for name, template in builtin_templates(floor).items():
            if name not in self.templates:
                self.templates[name] = template
                added.add(name)
        self._builtin = frozenset(added)

    def is_builtin(self, name: str) -> bool:
        """True for a channel or template added by builtin_floor, not from the file."""
        return name in self._builtin


#: channel types a page may go through: to people, not the floor or the public
PAGING_TYPES = ("webhook", "slack", "teams", "email", "sms")


def _paging_problems(paging: PagingConfig, config: CrisisConfig) -> list[str]:
    where = "paging"
    problems = []
    if paging.enabled and not paging.who:
        problems.append(f"{where}.who: name the on-call supervisor the pages are for")
    if paging.enabled and not paging.channels:
        problems.append(f"{where}.channels: name at least one [crisis.channels] channel to "
                        "page through")
    for name in paging.channels:
        channel = config.channels.get(name)
        if channel is None:
            known = ", ".join(sorted(config.channels)) or "none configured"
            problems.append(f"{where}.channels: unknown channel {name!r} (known: {known})")
        elif channel.type not in PAGING_TYPES:
            problems.append(f"{where}.channels: {name} ({channel.type}) reaches the floor "
                            f"or the public, not a person; page through "
                            f"{', '.join(PAGING_TYPES)} channels")
    for name, chosen in paging.recipients.items():
        if name not in paging.channels:
            problems.append(f"{where}.recipients.{name}: not one of paging.channels")
            continue
        channel = config.channels.get(name)
        if channel is None:
            continue
        own = channel.recipients()
        if own == [""]:
            problems.append(f"{where}.recipients.{name}: {name} ({channel.type}) posts to "
                            "one place: there are no recipients to choose from")
            continue
        unknown = [r for r in chosen if r not in own]
        if unknown or not chosen:
            problems.append(f"{where}.recipients.{name}: "
                            + (f"not in the channel's list: {', '.join(map(repr, unknown))} "
                               f"(it has {', '.join(own)})" if unknown else "empty"))
    return problems


def builtin_templates(channel: str) -> dict[str, TemplateConfig]:
    return {
        "floor_message": TemplateConfig(
            description="Free text to the floor: the banner on every console (built in)",
            kind=MessageKind.UPDATE, channels=[channel], text="${message}",
            variables={"message": ""}),
        "floor_notice": TemplateConfig(
            description="The incident's facts to the floor (built in)",
            kind=MessageKind.INITIAL, channels=[channel],
            text="${title}: ${impact}. Next update by ${eta}."),
    }


def placeholders(text: str) -> tuple[list[str], bool]:
    """(variable names used, whether every ``$`` is a valid placeholder or ``$$``)."""
    template = Template(text)
    return template.get_identifiers(), template.is_valid()


def _template_problems(name: str, template: TemplateConfig, config: CrisisConfig) -> list[str]:
    where = f"template {name}"
    problems = []
    unknown = [c for c in template.channels if c not in config.channels]
    if unknown:
        known = ", ".join(sorted(config.channels)) or "none configured"
        problems.append(f"{where}: unknown channel(s) {', '.join(unknown)} (known: {known})")
    if len(set(template.channels)) != len(template.channels):
        problems.append(f"{where}: lists a channel twice")
    for key in template.overrides:
        if key not in config.channels and key not in CHANNEL_TYPES:
            problems.append(f"{where}: override {key!r} is neither a channel name nor a "
                            f"channel type ({', '.join(CHANNEL_TYPES)})")
    known_vars = set(BUILTIN_VARIABLES) | set(config.variables) | set(template.variables)
    for part, text in template.texts():
        used, valid = placeholders(text)
        if not valid:
            problems.append(f"{where}.{part}: a '$' that is not ${{name}} (write $$ for a "
                            "literal dollar)")
        missing = [v for v in used if v not in known_vars]
        if missing:
            problems.append(f"{where}.{part}: unknown variable(s) "
                            f"{', '.join('${' + v + '}' for v in missing)} (known: "
                            f"{', '.join(sorted(known_vars))})")
    return problems
