"""Rendering crisis templates: ``${variables}`` -> the exact text each channel sends.

Pure (no I/O): the preview a supervisor confirms is the text that goes out, so the
outbox stores what ``render`` returns, never re-renders it later. Every channel has
limits (SMS segments, Slack block size, banner length); breaking one is a *problem*
shown in the preview and the send is refused, rather than truncated behind the
sender's back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from string import Template

from supervisor_tui.crisis.config import (
    BUILTIN_VARIABLES,
    ChannelBase,
    CrisisConfig,
    SmsChannel,
    TemplateConfig,
)
from supervisor_tui.domain.text import clean

# GSM 03.38 default alphabet (without ESC), one septet each.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: ESC + one septet, so two septets each.
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")

GSM7_SINGLE, GSM7_MULTI = 160, 153  # septets: one segment / each of several (UDH)
UCS2_SINGLE, UCS2_MULTI = 70, 67  # UTF-16 code units
TWILIO_MAX_BODY = 1600  # characters Twilio accepts in one Body

# Per channel type: (max subject chars, max body chars); None = no limit of ours.
LIMITS: dict[str, tuple[int | None, int | None]] = {
    "slack": (150, 3000),  # header block plain_text / section block text
    "teams": (500, 20_000),  # well under the ~28 KB Teams accepts per message
    "email": (200, 100_000),
    "statuspage": (255, 10_000),
    "sms": (None, TWILIO_MAX_BODY),
    "webhook": (500, None),  # body: the channel's max_chars
    "agents": (None, None),  # body: the channel's max_chars
}
# Channel types whose messages have no subject line of their own.
NO_SUBJECT = frozenset({"sms", "agents"})


@dataclass(frozen=True)
class SmsInfo:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int
    per_segment: int  # capacity of each segment at this length

    def describe(self) -> str:
        unit = "septets" if self.encoding == "GSM-7" else "UTF-16 units"
        return (f"{self.encoding}, {self.units} {unit}, {self.segments} segment"
                f"{'s' if self.segments != 1 else ''}")


def sms_segments(text: str) -> SmsInfo:
    """How a carrier splits ``text``: GSM-7 (160, or 153 per part) when every character
    is in the GSM alphabet, else UCS-2 (70, or 67 per part). A character's units are
    never split across parts (an extension-table escape pair, a surrogate pair), which
    is why a greedy fill is needed rather than a plain division."""
    if all(c in GSM7_BASIC or c in GSM7_EXTENDED for c in text):
        sizes = [2 if c in GSM7_EXTENDED else 1 for c in text]
        return _pack("GSM-7", sizes, GSM7_SINGLE, GSM7_MULTI)
    sizes = [2 if ord(c) > 0xFFFF else 1 for c in text]
    return _pack("UCS-2", sizes, UCS2_SINGLE, UCS2_MULTI)


def _pack(encoding: str, sizes: list[int], single: int, multi: int) -> SmsInfo:
    total = sum(sizes)
    if total <= single:
        return SmsInfo(encoding, total, 1 if total else 0, single)
    segments, used = 1, 0
    for size in sizes:
        if used + size > multi:
            segments, used = segments + 1, 0
        used += size
    return SmsInfo(encoding, total, segments, multi)


@dataclass(frozen=True)
class ChannelPreview:
    """The exact text one channel will send, with its limits and any problems."""

    channel: str
    type: str
    subject: str
    body: str
    recipients: tuple[str, ...]
    limits: str  # e.g. "GSM-7, 142 septets, 1 segment (max 3)"
    problems: tuple[str, ...] = ()
    sms: SmsInfo | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class Preview:
    template: str
    kind: str
    variables: dict[str, str]
    channels: tuple[ChannelPreview, ...]
    problems: tuple[str, ...] = ()  # not tied to one channel (missing variables)

    @property
    def ok(self) -> bool:
        return not self.problems and all(c.ok for c in self.channels)

    def all_problems(self) -> list[str]:
        return [*self.problems, *(f"{c.channel}: {p}" for c in self.channels
                                  for p in c.problems)]


class TemplateError(ValueError):
    """Bad input for a template (unknown template or variable); the message is for humans."""


def template_variables(config: CrisisConfig, template: TemplateConfig) -> set[str]:
    """Every variable a caller may set for this template."""
    return set(BUILTIN_VARIABLES) | set(config.variables) | set(template.variables)


def resolve_variables(config: CrisisConfig, name: str, incident_values: Mapping[str, str],
                      given: Mapping[str, str]) -> dict[str, str]:
    """Values in increasing priority: config defaults, template defaults, the incident,
    what the sender typed. A typed name the template cannot use is an error."""
    template = get_template(config, name)
    allowed = template_variables(config, template)
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise TemplateError(f"template {name} has no variable(s) {', '.join(unknown)} "
                            f"(it takes: {', '.join(sorted(allowed))})")
    values: dict[str, str] = {}
    for layer in (config.variables, template.variables, incident_values, given):
        values.update({k: clean(v, 2000) for k, v in layer.items() if v is not None})
    return values


def get_template(config: CrisisConfig, name: str) -> TemplateConfig:
    try:
        return config.templates[name]
    except KeyError:
        known = ", ".join(sorted(config.templates)) or "none configured"
        raise TemplateError(f"no template {name!r} (known: {known})") from None


def _pick(template: TemplateConfig, channel: str, kind: str, part: str) -> str:
    """Override by channel name, then by channel type, then the template's own text."""
    for key in (channel, kind):
        over = template.overrides.get(key)
        if over is not None and getattr(over, part) is not None:
            return getattr(over, part)
    return getattr(template, part)


def _fill(text: str, values: Mapping[str, str]) -> tuple[str, list[str]]:
    template = Template(text)
    missing = [v for v in template.get_identifiers() if not values.get(v)]
    return template.safe_substitute(values).strip(), missing


def render(config: CrisisConfig, name: str, values: Mapping[str, str]) -> Preview:
    """Every channel's exact subject and body for template ``name`` with ``values``."""
    template = get_template(config, name)
    missing: set[str] = set()
    previews = []
    for channel_name in template.channels:
        channel = config.channels[channel_name]
        kind = channel.type
        subject, miss_s = _fill(_pick(template, channel_name, kind, "subject"), values)
        body, miss_b = _fill(_pick(template, channel_name, kind, "text"), values)
        if kind in NO_SUBJECT:
            subject, miss_s = "", []
        missing.update(miss_s, miss_b)
        previews.append(_check_limits(channel_name, channel, subject, body))
    problems = tuple(f"no value for ${{{v}}} (pass --var {v}=...)" for v in sorted(missing))
    return Preview(template=name, kind=template.kind.value, variables=dict(values),
                   channels=tuple(previews), problems=problems)


def _check_limits(name: str, channel: ChannelBase, subject: str, body: str) -> ChannelPreview:
    kind: str = channel.type  # type: ignore[attr-defined]
    max_subject, max_body = LIMITS[kind]
    if max_body is None:
        max_body = channel.max_chars  # type: ignore[attr-defined]
    problems = []
    if not body:
        problems.append("the text is empty")
    if max_subject is not None and len(subject) > max_subject:
        problems.append(f"subject is {len(subject)} characters; the limit is {max_subject}")
    if "\n" in subject or "\r" in subject:
        problems.append("subject must be one line")
    if len(body) > max_body:
        problems.append(f"text is {len(body)} characters; the limit is {max_body}")
    sms = None
    limits = f"{len(body)}/{max_body} characters"
    if isinstance(channel, SmsChannel):
        sms = sms_segments(body)
        limits = f"{sms.describe()} (max {channel.max_segments})"
        if sms.segments > channel.max_segments:
            problems.append(f"{sms.segments} SMS segments ({sms.encoding}); the limit is "
                            f"{channel.max_segments} — shorten the sms override"
                            + (" or avoid characters outside GSM-7" if sms.encoding == "UCS-2"
                               else ""))
        limits += f", {sms.segments * len(channel.recipients())} segment(s) to all recipients"
    return ChannelPreview(channel=name, type=kind, subject=subject, body=body,
                          recipients=tuple(channel.recipients()), limits=limits,
                          problems=tuple(problems), sms=sms)
