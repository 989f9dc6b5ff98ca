"""The Source interface every platform adapter implements.

A source knows its platform and nothing of the UI: it turns the platform's state into
a ``model.Snapshot`` and (later) performs actions. It never touches the store.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from enum import StrEnum

from supervisor_tui.intervals import IntervalPolicy
from supervisor_tui.model import Snapshot


class Capability(StrEnum):
    SNAPSHOT = "snapshot"
    REASSIGN_CONTACT = "reassign_contact"
    MOVE_AGENTS = "move_agents"
    BROADCAST = "broadcast"


class SourceError(Exception):
    """A poll or action failed; ``str(err)`` is a one-line reason fit for the screen."""


class Source(ABC):
    """Base class for queue/agent-state sources."""

    #: what this source can do; screens hide or disable the rest
    capabilities: frozenset[Capability] = frozenset({Capability.SNAPSHOT})

    def __init__(self, name: str, policy: IntervalPolicy) -> None:
        self.name = name
        self.policy = policy

    @abstractmethod
    async def snapshot(self) -> Snapshot:
        """Return the platform's state now. Raise ``SourceError`` with a reason."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
