"""Crisis config validation, template rendering, per-channel limits, SMS segments."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from supervisor_tui.crisis.config import CrisisConfig
from supervisor_tui.crisis.templates import (
    TemplateError,
    render,
    resolve_variables,
    sms_segments,
)
from tests.crisis_helpers import SID, crisis_config

INCIDENT = {"title": "Payments down", "severity": "critical", "queues": "sales, billing",
            "impact": "long waits", "eta": "11:00", "incident_id": "1",
            "declared_at": "10:00 UTC"}


def config_with(template: dict[str, Any], **channels: Any) -> CrisisConfig:
    return CrisisConfig.model_validate({
        "channels": {"hook": {"type": "webhook", "url": "https://example.com/h"}, **channels},
        "templates": {"t": template},
    })


# -- SMS segments ---------------------------------------------------------------------


@pytest.mark.parametrize(("text", "encoding", "units", "segments"), [
    ("", "GSM-7", 0, 0),
    ("a" * 160, "GSM-7", 160, 1),
    ("a" * 161, "GSM-7", 161, 2),
    ("a" * 306, "GSM-7", 306, 2),
    ("a" * 307, "GSM-7", 307, 3),
    ("€" * 80, "GSM-7", 160, 1),  # extension table: two septets each
    ("€" * 81, "GSM-7", 162, 2),
    ("Größe é ñ ü à £", "GSM-7", 15, 1),  # accented letters in the GSM alphabet
    ("ć" * 70, "UCS-2", 70, 1),  # one character outside GSM-7 switches the whole text
    ("ć" * 71, "UCS-2", 71, 2),
    ("ć" * 134, "UCS-2", 134, 2),
    ("ć" * 135, "UCS-2", 135, 3),
    ("😀" * 35, "UCS-2", 70, 1),  # a surrogate pair counts two units
])
def test_sms_segments(text: str, encoding: str, units: int, segments: int) -> None:
    info = sms_segments(text)
    assert (info.encoding, info.units, info.segments) == (encoding, units, segments)


def test_sms_segment_boundaries_never_split_a_character() -> None:
    # 152 plain septets + one escape pair: the pair cannot straddle 153, so a 2nd part
    # starts early; the same text is 154 septets, which also plainly needs 2 parts.
    assert sms_segments("a" * 152 + "€" + "a" * 152).segments == 3  # 152 | 2+151 | 1
    assert sms_segments("a" * 153 + "a" * 153).segments == 2
    # 66 UCS-2 units, then an emoji (2 units) does not fit the 67-unit part.
    assert sms_segments("ć" * 66 + "😀" + "ć" * 66).segments == 3


# -- rendering and limits -------------------------------------------------------------------


def test_render_uses_overrides_by_channel_name_then_type() -> None:
    config = crisis_config("http://127.0.0.1:9")
    values = resolve_variables(config, "outage", INCIDENT, {"eta": "11:30"})
    preview = render(config, "outage", values)
    by = {c.channel: c for c in preview.channels}
    assert preview.ok
    assert by["hook"].subject == "[critical] Payments down"
    assert by["hook"].body == ("We are seeing long waits on sales, billing. Next update by "
                               "11:30. Status: https://status.example.com")
    assert by["customers_sms"].body == "Payments down: long waits. Update by 11:30."  # type
    assert by["customers_sms"].subject == ""  # SMS has no subject
    assert by["customers_sms"].recipients == ("+447700900001", "+447700900002")
    assert "GSM-7" in by["customers_sms"].limits
    assert by["floor"].body == "OUTAGE Payments down: tell callers long waits"  # by name
    assert by["floor"].recipients == ("consoles",)


def test_sender_values_beat_incident_and_defaults() -> None:
    config = crisis_config("http://127.0.0.1:9")
    values = resolve_variables(config, "outage", INCIDENT,
                               {"status_url": "https://s.example", "title": "Card payments"})
    assert values["status_url"] == "https://s.example" and values["title"] == "Card payments"
    assert values["impact"] == "long waits"


def test_unknown_variable_at_send_time_is_refused() -> None:
    config = crisis_config("http://127.0.0.1:9")
    with pytest.raises(TemplateError, match=r"no variable.*colour"):
        resolve_variables(config, "outage", INCIDENT, {"colour": "red"})
    with pytest.raises(TemplateError, match="no template 'nope'"):
        resolve_variables(config, "nope", INCIDENT, {})


def test_missing_value_is_a_preview_problem() -> None:
    config = crisis_config("http://127.0.0.1:9")
    values = resolve_variables(config, "outage", {**INCIDENT, "eta": ""}, {})
    preview = render(config, "outage", values)
    assert not preview.ok
    assert preview.problems == ("no value for ${eta} (pass --var eta=...)",)


def test_sms_over_its_segment_limit_is_refused_not_truncated() -> None:
    config = crisis_config("http://127.0.0.1:9")
    values = resolve_variables(config, "outage", {**INCIDENT, "impact": "x" * 500}, {})
    preview = render(config, "outage", values)
    sms = next(c for c in preview.channels if c.channel == "customers_sms")
    assert not sms.ok and "4 SMS segments (GSM-7); the limit is 3" in sms.problems[0]
    assert len(sms.body) > 480  # the full text is shown, not silently cut
    values = resolve_variables(config, "outage", {**INCIDENT, "impact": "pannes ⚡" * 25}, {})
    sms = next(c for c in render(config, "outage", values).channels
               if c.channel == "customers_sms")
    assert "UCS-2" in sms.problems[0] and "avoid characters outside GSM-7" in sms.problems[0]


def test_slack_and_banner_limits() -> None:
    config = config_with(
        {"channels": ["slack", "floor"], "text": "${impact}", "subject": "${title}"},
        slack={"type": "slack", "url_env": "SLACK_URL"},
        floor={"type": "agents", "max_chars": 40})
    values = {**INCIDENT, "impact": "y" * 3001, "title": "t" * 151}
    by = {c.channel: c for c in render(config, "t", values).channels}
    assert by["slack"].problems == ("subject is 151 characters; the limit is 150",
                                    "text is 3001 characters; the limit is 3000")
    assert by["floor"].problems == ("text is 3001 characters; the limit is 40",)


# -- config validation -----------------------------------------------------------------------


def problems_of(data: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as info:
        CrisisConfig.model_validate(data)
    return str(info.value)


def test_unknown_variable_in_a_template_is_a_config_error() -> None:
    message = problems_of({"channels": {"hook": {"type": "webhook", "url": "https://x.io"}},
                           "templates": {"t": {"channels": ["hook"],
                                               "text": "ETA ${etaa} for ${title}"}}})
    assert "template t.text: unknown variable(s) ${etaa}" in message


def test_unknown_variable_in_an_override_is_a_config_error() -> None:
    message = problems_of({"channels": {"hook": {"type": "webhook", "url": "https://x.io"}},
                           "templates": {"t": {"channels": ["hook"], "text": "ok",
                                               "overrides": {"webhook": {"subject": "$who"}}}}})
    assert "template t.overrides.webhook.subject: unknown variable(s) ${who}" in message


def test_unknown_channel_in_a_template_is_a_config_error() -> None:
    message = problems_of({"channels": {"hook": {"type": "webhook", "url": "https://x.io"}},
                           "templates": {"t": {"channels": ["hook", "pager"], "text": "x"}}})
    assert "template t: unknown channel(s) pager (known: hook)" in message


def test_template_variables_and_literal_dollars() -> None:
    config = config_with({"channels": ["hook"], "text": "Refunds of $$5 at ${portal}",
                          "variables": {"portal": "https://p.example"}})
    values = resolve_variables(config, "t", INCIDENT, {})
    assert render(config, "t", values).channels[0].body == "Refunds of $5 at https://p.example"
    message = problems_of({"channels": {"hook": {"type": "webhook", "url": "https://x.io"}},
                           "templates": {"t": {"channels": ["hook"], "text": "costs $5"}}})
    assert "write $$ for a literal dollar" in message


def test_bad_override_key_and_unknown_type_are_config_errors() -> None:
    message = problems_of({"channels": {"hook": {"type": "webhook", "url": "https://x.io"}},
                           "templates": {"t": {"channels": ["hook"], "text": "x",
                                               "overrides": {"pager": {"text": "y"}}}}})
    assert "override 'pager' is neither a channel name nor a channel type" in message
    message = problems_of({"channels": {"p": {"type": "pager", "url": "https://x.io"}}})
    assert "pager" in message and "webhook" in message


@pytest.mark.parametrize(("channel", "fragment"), [
    ({"type": "webhook"}, "set exactly one of url and url_env"),
    ({"type": "webhook", "url": "ftp://x"}, "http:// or https:// URL"),
    ({"type": "webhook", "url": "https://x.io", "auth": "bearer"}, "needs secret_env"),
    ({"type": "slack", "url_env": "xoxb-1234-abcd"}, "must name an environment variable"),
    ({"type": "sms", "account_sid": SID, "auth_token_env": "T", "from_number": "+15005550006",
      "to": ["07700 900001"]}, "not E.164"),
    ({"type": "sms", "account_sid": "AC12", "auth_token_env": "T",
      "from_number": "+15005550006", "to": ["+447700900001"]}, "account SID"),
    ({"type": "sms", "account_sid": SID, "auth_token_env": "T", "to": ["+447700900001"]},
     "exactly one of from_number and messaging_service_sid"),
    ({"type": "email", "host": "smtp.x.io", "from_addr": "ops@x.io", "to": ["not-an-address"]},
     "not email addresses"),
    ({"type": "email", "host": "smtp.x.io", "from_addr": "ops@x.io", "to": ["a@x.io"],
      "username": "ops"}, "username needs password_env"),
    ({"type": "statuspage", "page_id": "p", "api_key_env": "K", "colour": "red"},
     "Extra inputs are not permitted"),
])
def test_channel_validation(channel: dict[str, Any], fragment: str) -> None:
    assert fragment in problems_of({"channels": {"c": channel}})


def test_the_example_config_is_valid() -> None:
    import tomllib
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "docs" / "crisis.example.toml"
    config = CrisisConfig.model_validate(tomllib.loads(path.read_text())["crisis"])
    assert config.templates and config.channels
