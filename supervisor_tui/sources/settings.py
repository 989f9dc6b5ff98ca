"""Config models every platform source shares (``[sources.NAME]`` in the TOML).

Each source module defines its own settings class deriving from ``SourceSettings``
with a literal ``type``; ``config.py`` joins them into one discriminated union so a
typo in ``type`` or a key is a config error naming the source, not a runtime crash.
Secrets are never in the file: settings name the environment variable that holds them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

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
