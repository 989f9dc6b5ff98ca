"""A centre where a voice contact has somewhere to go: three more voice queues (one on
another platform) besides the chat queue of ``tests.helpers.centre``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from supervisor_tui.domain.model import (
    ActionResult,
    Agent,
    AgentState,
    AgentStateKind,
    Channel,
    Contact,
    Queue,
    QueueStats,
    Snapshot,
)
from supervisor_tui.sources.base import Capability
from tests.helpers import T0, ScriptedSource, centre


def voice_centre(now: datetime = T0, *, drop: Sequence[str] = (),
                 retention_waiting: int = 0) -> Snapshot:
    """``centre()`` plus voice queues Backup (alphabetically first, nobody free),
    Retention (2 agents free: the best target) and Partner (voice, but on another
    source). ``drop``: contact ids that are no longer waiting; ``retention_waiting``
    contacts waiting in Retention."""
    snap = centre(now)
    since = now - timedelta(seconds=30)
    extra = (
        Queue(id="backup", name="Backup", channel=Channel.VOICE, sl_target=0.8,
              threshold_s=20, source="pbx"),
        Queue(id="retention", name="Retention", channel=Channel.VOICE, sl_target=0.8,
              threshold_s=20, source="pbx"),
        Queue(id="partner", name="Partner", channel=Channel.VOICE, sl_target=0.8,
              threshold_s=20, source="partner"),
    )
    stats = {q.id: QueueStats(queue_id=q.id, window_start=snap.interval_start, offered=10,
                              answered=10, answered_within_threshold=9, wait_answered_s=60,
                              handled=10, handle_s=10 * 200) for q in extra}
    agents = (
        Agent(id="b1", source="pbx", name="Bea", team="Red", skills=("backup",),
              state=AgentState(kind=AgentStateKind.ON_CONTACT, since=since)),
        Agent(id="r1", source="pbx", name="Rui", team="Red", skills=("retention",),
              state=AgentState(kind=AgentStateKind.AVAILABLE, since=since)),
        Agent(id="r2", source="pbx", name="Rik", team="Red", skills=("retention",),
              state=AgentState(kind=AgentStateKind.AVAILABLE, since=since)),
        Agent(id="p1", source="partner", name="Pia", team="Red", skills=("partner",),
              state=AgentState(kind=AgentStateKind.AVAILABLE, since=since)),
    )
    contacts = tuple(c for c in snap.contacts if c.id not in drop) + tuple(
        Contact(id=f"r{i}", source="pbx", queue_id="retention", channel=Channel.VOICE,
                entered_at=now - timedelta(seconds=5)) for i in range(retention_waiting))
    return snap.model_copy(update={
        "queues": snap.queues + extra,
        "interval_stats": {**snap.interval_stats, **stats},
        "day_stats": {**snap.day_stats, **{k: v.model_copy(update={
            "window_start": snap.day_start}) for k, v in stats.items()}},
        "agents": snap.agents + agents,
        "contacts": contacts,
    })


class RecordingSource(ScriptedSource):
    """Can reassign and move agents; records every call and says it was done."""

    capabilities = frozenset({Capability.SNAPSHOT, Capability.REASSIGN_CONTACT,
                              Capability.MOVE_AGENTS})

    def __init__(self, snapshots: list[Snapshot]) -> None:
        super().__init__(snapshots)
        self.moves: list[tuple[str, str]] = []
        self.skill_changes: list[tuple[str, tuple[str, ...]]] = []

    async def move_contact(self, contact_id: str, queue_id: str) -> ActionResult:
        self.moves.append((contact_id, queue_id))
        return ActionResult(ok=True, code="ok", message=f"{contact_id} moved to {queue_id}")

    async def set_agent_skills(self, agent_id: str, skills: Sequence[str]) -> ActionResult:
        self.skill_changes.append((agent_id, tuple(skills)))
        return ActionResult(ok=True, code="ok", message=f"{agent_id} now serves {skills}")


class AgentStateSource(RecordingSource):
    """Can also change agents' states: records each change and applies it to the next
    snapshots (logout -> offline, available -> available, away:<r> -> away r)."""

    capabilities = RecordingSource.capabilities | {Capability.AGENT_STATE}

    def __init__(self, snapshots: list[Snapshot]) -> None:
        super().__init__(snapshots)
        self.state_changes: list[tuple[str, str]] = []

    async def set_agent_state(self, agent_id: str, state: str) -> ActionResult:
        self.state_changes.append((agent_id, state))
        kind, _, reason = state.partition(":")
        new = {"logout": AgentStateKind.OFFLINE, "away": AgentStateKind.AWAY}.get(
            kind, AgentStateKind.AVAILABLE)
        self.snapshots = [s.model_copy(update={"agents": tuple(
            a.model_copy(update={"state": AgentState(kind=new, since=s.taken_at,
                                                     reason=reason or None),
                                 "contact_id": None, "queue_id": None})
            if a.id == agent_id else a for a in s.agents)}) for s in self.snapshots]
        return ActionResult(ok=True, code="ok", message=f"{agent_id} is now {new.value}")
