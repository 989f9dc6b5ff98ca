"""Live thresholds (pure, no storage): config values an admin changes while running.

The store keeps key -> JSON text (``live_settings``); this module says which keys exist,
validates a value with the config models' own field definitions (the same limits as the
TOML file, never a second copy), and builds the effective configuration every console
uses. The config file stays the default: a key not set, or cleared, is the file's value.

Keys::

    queue.<id>.sl_target        queue.<id>.threshold_s     (display: SL status, wait colours)
    escalations.<field>         escalations.away_limits_s.<reason>
    notify.<field>

Queue keys change what the console shows and the rules compare with, never what the
source counts (its "answered within threshold" stays the platform's own).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError

from supervisor_tui.config import Config
from supervisor_tui.domain.escalation import EscalationRules
from supervisor_tui.domain.model import Queue
from supervisor_tui.notices import NotifyConfig

QUEUE_FIELDS = ("sl_target", "threshold_s")
#: scalar escalation limits offered live (nested tables other than away limits stay in
#: the file: a tier table is not one number)
ESCALATION_FIELDS = (
    "contact_wait_factor", "critical_wait_multiple", "gold_wait_s", "vip_wait_s",
    "sl_breach_minutes", "sl_critical_points", "abandon_limit", "min_contacts",
    "acw_limit_s", "away_limit_s", "agent_warning_multiple", "long_contact_aht_multiple",
    "clear_after_s", "departed_show_s", "snooze_minutes")
NOTIFY_FIELDS = ("every_s", "timeout_s", "mute", "bell", "snooze_minutes")
SECTIONS: dict[str, type[BaseModel]] = {"escalations": EscalationRules,
                                        "notify": NotifyConfig}


class LiveSettingError(ValueError):
    """A key or value that cannot be used; the message is for humans."""


def _field_adapter(model: type[BaseModel], name: str) -> TypeAdapter[Any]:
    info = model.model_fields[name]
    return TypeAdapter(Annotated[info.annotation, info])  # type: ignore[arg-type]


def _error_text(err: ValidationError) -> str:
    # (the value refused, not the whole section it was checked in)
    return "; ".join(f"{e['msg']} (not {e['input']!r})" if not isinstance(e["input"], dict)
                     else e["msg"] for e in err.errors())


def keys_for(config: Config, queues: Iterable[Queue]) -> list[str]:
    """Every key that can be set, in screen order: queues, escalations, notices."""
    keys = [f"queue.{q.id}.{f}" for q in queues for f in QUEUE_FIELDS]
    keys += [f"escalations.{f}" for f in ESCALATION_FIELDS]
    keys += [f"escalations.away_limits_s.{r}" for r in sorted(config.escalations.away_limits_s)]
    keys += [f"notify.{f}" for f in NOTIFY_FIELDS]
    return keys


def _split(key: str) -> tuple[str, str, str]:
    """(section, field, item): ("queue", "sl_target", id), ("escalations", name, reason)."""
    parts = key.split(".")
    if parts[0] == "queue" and len(parts) >= 3 and parts[-1] in QUEUE_FIELDS:
        return "queue", parts[-1], ".".join(parts[1:-1])
    if parts[0] == "escalations" and len(parts) >= 3 and parts[1] == "away_limits_s":
        return "escalations", "away_limits_s", ".".join(parts[2:])
    if len(parts) == 2 and ((parts[0] == "escalations" and parts[1] in ESCALATION_FIELDS)
                            or (parts[0] == "notify" and parts[1] in NOTIFY_FIELDS)):
        return parts[0], parts[1], ""
    raise LiveSettingError(f"{key}: not a live setting")


def config_value(config: Config, queues: Mapping[str, Queue], key: str) -> Any:
    """What the config file (or the source, for a queue) says for ``key``."""
    section, name, item = _split(key)
    if section == "queue":
        queue = queues.get(item)
        return getattr(queue, name) if queue is not None else None
    value = getattr(getattr(config, section), name)
    if item:
        return value.get(item, config.escalations.away_limit_s)
    return list(value) if isinstance(value, list) else value


def parse_text(key: str, text: str) -> Any:
    """What the person typed -> a value to validate: JSON, "85%" for a target, a comma
    list for a list setting, else the text itself (pydantic converts "120")."""
    text = text.strip()
    section, name, _ = _split(key)
    if name == "sl_target" and text.endswith("%"):
        try:
            return float(text[:-1]) / 100
        except ValueError:
            raise LiveSettingError(f"{key}: {text!r} is not a percentage") from None
    try:
        return json.loads(text)
    except ValueError:
        pass
    model = Queue if section == "queue" else SECTIONS[section]
    if get_origin(model.model_fields[name].annotation) is list:
        return [part.strip() for part in text.split(",") if part.strip()]
    return text


def validate(config: Config, key: str, value: Any) -> Any:
    """``value`` checked against the config models' own field (and model) validators:
    the value to store (JSON-able), or ``LiveSettingError`` saying why not."""
    section, name, item = _split(key)
    try:
        if section == "queue":
            return _field_adapter(Queue, name).validate_python(value)
        model = SECTIONS[section]
        data = getattr(config, section).model_dump()
        if item:
            data[name] = {**data[name], item: value}
        else:
            data[name] = value
        checked = getattr(model.model_validate(data), name)
    except ValidationError as err:
        raise LiveSettingError(f"{key}: {_error_text(err)}") from None
    if item:
        return checked[item]
    return [str(v) for v in checked] if isinstance(checked, list) else checked


def encode(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


@dataclass(frozen=True)
class Effective:
    """The configuration in force: the file's, with the live settings that validate."""

    config: Config
    #: queue id -> {"sl_target": 0.9, "threshold_s": 30.0}: overrides of the source's
    queues: dict[str, dict[str, float]] = field(default_factory=dict)
    #: key -> value of every live setting applied
    applied: dict[str, Any] = field(default_factory=dict)
    #: key -> why a stored value was not applied (a newer config, a hand-edited store)
    ignored: dict[str, str] = field(default_factory=dict)


def effective(base: Config, stored: Mapping[str, str | None]) -> Effective:
    """``base`` with every stored value (JSON text; None: cleared) applied, each checked
    on its own so one bad row never hides the others."""
    queues: dict[str, dict[str, float]] = {}
    applied: dict[str, Any] = {}
    ignored: dict[str, str] = {}
    config = base
    for key in sorted(stored):
        text = stored[key]
        if text is None:
            continue
        try:
            section, name, item = _split(key)
            value = validate(config, key, json.loads(text))
        except (LiveSettingError, ValueError) as err:
            ignored[key] = str(err)
            continue
        applied[key] = value
        if section == "queue":
            queues.setdefault(item, {})[name] = value
            continue
        current = getattr(config, section)
        new = {**getattr(current, name), item: value} if item else value
        # validated above with the same data: model_validate again keeps enums typed
        section_model = SECTIONS[section].model_validate({**current.model_dump(), name: new})
        config = config.model_copy(update={section: section_model})
    return Effective(config, queues, applied, ignored)
