"""The Source interface every platform adapter implements.

A source knows its platform and nothing of the UI: it turns the platform's state into
a ``model.Snapshot`` and (later) performs actions. It never touches the store.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Sequence
from enum import StrEnum
from typing import TYPE_CHECKING

from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.domain.model import ActionCode, ActionResult, Snapshot, SourceHealth

if TYPE_CHECKING:
    from supervisor_tui.sources.limits import RequestBudget, RequestStats


class Capability(StrEnum):
    SNAPSHOT = "snapshot"
    REASSIGN_CONTACT = "reassign_contact"
    MOVE_AGENTS = "move_agents"
    BROADCAST = "broadcast"  # a banner/message to agents (crisis communications)
    AGENT_STATE = "agent_state"  # change an agent's state/activity
    EMERGENCY_GROUP = "emergency_group"  # switch a platform emergency routing group on/off
    CALLBACK = "callback"  # queue a call-back task for an abandoned contact


class SourceError(Exception):
    """A poll or action failed; ``str(err)`` is a one-line reason fit for the screen."""


class Source(ABC):
    """Base class for queue/agent-state sources."""

    #: what this source can do; screens hide or disable the rest
    capabilities: frozenset[Capability] = frozenset({Capability.SNAPSHOT})
    #: seconds between polls of this source; None = the console's poll interval
    poll_interval_s: float | None = None
    #: "all", "queues" or "agents": what this source contributes to the merged view
    provides: str = "all"
    #: doubts about the last snapshot (records dropped as garbage, unmapped states...):
    #: shown with the source's health, never silently swallowed
    notes: tuple[str, ...] = ()
    #: set by a source told of new data between polls (the http source reading a
    #: collector's event stream): the poller then polls it at once, not at its interval
    pushed: asyncio.Event | None = None

    def __init__(self, name: str, policy: IntervalPolicy) -> None:
        self.name = name
        self.policy = policy

    @abstractmethod
    async def snapshot(self) -> Snapshot:
        """Return the platform's state now. Raise ``SourceError`` with a reason."""

    def poll_cost(self) -> int:
        """How many platform API requests one ``snapshot()`` makes (for the budget)."""
        return 1

    def redact(self, text: str) -> str:
        """``text`` without this source's credentials (in any encoding): applied to every
        error, note and action message before it reaches the screen or the audit log."""
        return text

    @property
    def budget(self) -> RequestBudget | None:
        """The platform's request budget, or None when requests are free (simulator)."""
        return None

    @property
    def request_stats(self) -> RequestStats | None:
        """Request counts and latencies for the sources screen (None if not HTTP)."""
        return None

    def upstream(self) -> tuple[SourceHealth, ...]:
        """The health of the sources behind this one, as of the last snapshot (an http
        source reading a collector: "genesys down"); the poller folds them into this
        source's own health, so data that is stale upstream is never shown as live."""
        return ()

    def supports(self, capability: Capability) -> bool:
        return capability in self.capabilities

    def _unsupported(self, what: str) -> ActionResult:
        return ActionResult(ok=False, code=ActionCode.UNSUPPORTED,
                            message=f"source {self.name} cannot {what}")

    # Actions. A source that can do one overrides it and lists the capability; the
    # result says plainly what happened, including races (answered meanwhile, ...).

    async def move_contact(self, contact_id: str, queue_id: str) -> ActionResult:
        """Move a waiting contact to another queue."""
        return self._unsupported("move contacts between queues")

    async def assign_contact(self, contact_id: str, agent_id: str) -> ActionResult:
        """Give a waiting contact to a specific available agent."""
        return self._unsupported("assign contacts to agents")

    async def set_agent_skills(self, agent_id: str, skills: Sequence[str]) -> ActionResult:
        """Replace the queues an agent serves (preferred first)."""
        return self._unsupported("change agents' queues")

    async def set_agent_state(self, agent_id: str, state: str) -> ActionResult:
        """Put an agent into a state of the shared vocabulary (``domain.agent_control``:
        "available", "away:<reason>", "end_acw", "logout"); refuse mid-contact."""
        return self._unsupported("change agents' states")

    async def broadcast(self, message: str, key: str | None = None) -> ActionResult:
        """Show a message to every agent (crisis communications). A repeated ``key``
        (a re-send after a crash) must not show the message twice."""
        return self._unsupported("broadcast to agents")

    async def set_emergency(self, group: str, active: bool) -> ActionResult:
        """Activate or deactivate a platform emergency group."""
        return self._unsupported("switch emergency groups")

    async def create_callback(self, abandoned_id: str, queue_id: str) -> ActionResult:
        """Queue a call-back for one of today's abandoned contacts in ``queue_id``: a
        task agents answer like a contact (the platform's own call-back feature)."""
        return self._unsupported("queue call-backs")

    async def begin(self) -> None:  # noqa: B027 - optional hook
        """Send the first read now, before the console is built; the first ``snapshot``
        takes its answer. A remote source's round trip (a collector serving a big
        centre answers a new console in ~0.2 s) then overlaps the console's own
        start-up. Returns once the request is on its way, never failing: a failed
        early read is that first ``snapshot``'s failure."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
