"""Config models every platform source shares (``[sources.NAME]`` in the TOML).

Each source module defines its own settings class deriving from ``SourceSettings``
with a literal ``type``; ``config.py`` joins them into one discriminated union so a
typo in ``type`` or a key is a config error naming the source, not a runtime crash.
Secrets are never in the file: settings name the environment variable that holds them.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, ClassVar, TypeVar
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from supervisor_tui.domain.model import AgentStateKind
from supervisor_tui.protocol.documents import is_loopback
from supervisor_tui.sources.limits import RequestBudget


class Provides(StrEnum):
    ALL = "all"
    QUEUES = "queues"  # queues, their stats and waiting contacts; agents come from elsewhere
    AGENTS = "agents"  # agent states only


class SourceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str
    enabled: bool = True
    poll_interval_s: float | None = Field(
        None, gt=0, description="seconds between polls; default: [console] poll_interval_s")
    timeout_s: float = Field(10.0, gt=0, le=300, description="one request slower than this fails")
    provides: Provides = Field(Provides.ALL, description="what this source contributes "
                               "when several are combined")
    max_requests: int | None = Field(None, gt=0, description="API budget: at most this many "
                                     "requests per budget_window_s (default: the platform's)")
    budget_window_s: float = Field(60.0, gt=0)

    #: the platform's documented limit, used when max_requests is not set
    default_budget: ClassVar[tuple[int, float] | None] = None

    def make_budget(self) -> RequestBudget | None:
        if self.max_requests is not None:
            return RequestBudget(self.max_requests, self.budget_window_s)
        if self.default_budget is not None:
            return RequestBudget(*self.default_budget)
        return None


def _casefold_keys(value: dict[str, AgentStateKind]) -> dict[str, AgentStateKind]:
    return {k.strip().casefold(): v for k, v in value.items()}


#: a platform's state names (matched case-insensitively) -> our agent states
StateMap = Annotated[dict[str, AgentStateKind], AfterValidator(_casefold_keys)]


_T = TypeVar("_T")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                   r"[0-9a-fA-F]{12}$")


def is_uuid(value: object) -> bool:
    return isinstance(value, str) and bool(_UUID.match(value))


def uuid_ids(value: list[str]) -> list[str]:
    """Queue ids of a platform that names them by UUID: checked, lower-cased, once each."""
    bad = [v for v in value if not is_uuid(v)]
    if bad:
        raise ValueError(f"not queue ids (UUIDs): {bad[:3]}")
    return list(dict.fromkeys(v.lower() for v in value))


def uuid_keys(value: dict[str, _T]) -> dict[str, _T]:
    """Per-queue settings keyed by UUID queue ids: checked and lower-cased."""
    bad = [k for k in value if not is_uuid(k)]
    if bad:
        raise ValueError(f"keys must be queue ids (UUIDs): {bad[:3]}")
    return {k.lower(): v for k, v in value.items()}


def platform_url(value: str, appended: str | None = None) -> str:
    """A platform's base URL, checked: http(s) with a host, without credentials, query
    or fragment; plain http only to a loopback address, since the credentials go with
    every request. ``appended``: the API paths added to it, so it must have no path."""
    value = value.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http(s) URL with a host")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError("must not carry credentials, a ?query or a #fragment")
    if parts.path and appended:
        raise ValueError(f"must be scheme://host[:port] only (the {appended} paths are "
                         "appended)")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ValueError("plain http:// is only allowed to a loopback address")
    return value
