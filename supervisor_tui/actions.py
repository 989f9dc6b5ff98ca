"""Supervisor actions on a source (reassign a contact, move agents, change an agent's
state): one audited attempt each (``audited.Auditor``: permission -> audit -> source
call -> audit).

No UI here. What is this module's own: which source may do what (capabilities), and
that a credential the source echoes back is neither shown nor audited.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from supervisor_tui.audited import Auditor, AuditSink
from supervisor_tui.domain.model import (
    AbandonedContact,
    ActionCode,
    ActionResult,
    Agent,
    Contact,
)
from supervisor_tui.domain.roles import Role
from supervisor_tui.domain.scope import Scope
from supervisor_tui.sources.base import Capability, Source

CAPABILITY = {
    "reassign_contact": Capability.REASSIGN_CONTACT,
    "assign_contact": Capability.REASSIGN_CONTACT,
    "overflow": Capability.REASSIGN_CONTACT,
    "move_agents": Capability.MOVE_AGENTS,
    "agent_state": Capability.AGENT_STATE,
    "emergency_group": Capability.EMERGENCY_GROUP,
    "callback": Capability.CALLBACK,
}
#: what a source that lacks the capability cannot do, in words (default: the action's)
CANNOT = {"agent_state": "change agents' states",
          "emergency_group": "switch an emergency group",
          "callback": "queue call-backs"}


class CallbackBook(Protocol):
    """Where call-backs a source cannot queue are tracked (``store.Store``): shared by
    every console on the store. Both return (the row, "") or (None, why not)."""

    def add_callback(self, *, abandoned_id: str, source: str, queue_id: str, customer: str,
                     number: str, user: str, now: datetime) -> tuple[Any, str]: ...

    def set_callback_state(self, callback_id: str, state: str, user: str,
                           now: datetime) -> tuple[Any, str]: ...


def current_user(config: Any = None) -> str:
    """Who acts: the OS account of this process (uid -> name), never ``$USER``; a
    service account's ``SUPERVISOR_TUI_USER`` only where ``config`` trusts it (see
    :mod:`supervisor_tui.identity`)."""
    from supervisor_tui.identity import identity_for, resolve_identity

    return (identity_for(config) if config is not None else resolve_identity()).user


class Actions:
    def __init__(self, sources: Sequence[Source], audit: AuditSink | None, user: str,
                 role: Role, scope: Scope | None = None) -> None:
        self.sources = {s.name: s for s in sources}
        self.auditor = Auditor(audit, user, role, scope)

    @property
    def user(self) -> str:
        return self.auditor.user

    @property
    def role(self) -> Role:
        return self.auditor.role

    # -- checks ------------------------------------------------------------------

    def refusal(self, action: str, source_name: str | None = None,
                queues: Sequence[str | None] = ()) -> str | None:
        """Why this user cannot do ``action`` (on that source, on those queues), or None
        if they can."""
        why = self.auditor.refusal(action, queues)
        if why is not None or source_name is None:
            return why
        source = self.sources.get(source_name)
        if source is None:
            return f"source {source_name} is not connected"
        if not source.supports(CAPABILITY[action]):
            return (f"source {source_name} cannot "
                    f"{CANNOT.get(action, action.replace('_', ' '))}")
        return None

    def agent_queues(self, agent: Agent) -> tuple[str | None, ...]:
        """The queues an action on ``agent`` is judged by for a scoped user: none when
        the agent serves (or is on a contact of) a queue in the scope, else the queue
        they are on (or their first skill), which is outside it."""
        scope = self.auditor.scope
        if scope is None:
            return ()
        mine = (agent.queue_id, *agent.skills)
        if any(scope.allows(q) for q in mine):
            return ()
        return (next((q for q in mine if q), None),)

    async def _run(self, action: str, source_name: str, subject: str,
                   params: Mapping[str, Any],
                   call: Callable[[Source], Awaitable[ActionResult]],
                   queues: Sequence[str | None] = ()) -> ActionResult:
        auditor = self.auditor
        stop = auditor.begin(action, subject, params,
                             refusal=self.refusal(action, source_name), queues=queues)
        if stop is not None:
            return ActionResult(ok=False, code=stop.code, message=stop.message)
        source = self.sources[source_name]  # (refusal checked it is connected)
        try:
            result = await call(source)
        except Exception as err:  # a source bug or network error: report, never crash
            result = ActionResult(ok=False, code=ActionCode.ERROR,
                                  message=f"{type(err).__name__}: {err}")
        message = source.redact(result.message)  # an echoed credential: never shown
        if message != result.message:
            result = result.model_copy(update={"message": message})
        return _finished(auditor, action, subject, params, result)

    # -- actions -----------------------------------------------------------------

    async def reassign_contact(self, contact: Contact, to_queue_id: str) -> ActionResult:
        """Move a waiting contact to another queue, on the source that reported it."""
        return await self._run(
            "reassign_contact", contact.source, f"contact {contact.id}",
            {"from_queue": contact.queue_id, "to_queue": to_queue_id},
            lambda source: source.move_contact(contact.id, to_queue_id),
            queues=(contact.queue_id, to_queue_id),
        )

    async def assign_contact(self, contact: Contact, agent: Agent) -> ActionResult:
        return await self._run(
            "assign_contact", contact.source, f"contact {contact.id}",
            {"queue": contact.queue_id, "agent": agent.id},
            lambda source: source.assign_contact(contact.id, agent.id),
            queues=(contact.queue_id, *self.agent_queues(agent)),
        )

    async def overflow(self, contacts: Sequence[Contact], to_queue_id: str
                       ) -> list[ActionResult]:
        """Move each contact (oldest first) and report each outcome."""
        return [await self.reassign_contact(c, to_queue_id) for c in contacts]

    async def move_agents(self, agents: Sequence[Agent], queue_id: str, add: bool
                          ) -> list[ActionResult]:
        """Add (or remove) ``queue_id`` to each agent's skills, on each agent's source."""
        return [await self._move_agent(agent, queue_id, add) for agent in agents]

    async def _move_agent(self, agent: Agent, queue_id: str, add: bool) -> ActionResult:
        if add:
            skills = [*agent.skills, queue_id] if queue_id not in agent.skills \
                else list(agent.skills)
        else:
            skills = [s for s in agent.skills if s != queue_id]
        return await self._run(
            "move_agents", agent.source, f"agent {agent.id}",
            {"queue": queue_id, "change": "add" if add else "remove",
             "skills_before": list(agent.skills), "skills_after": skills},
            lambda source: source.set_agent_skills(agent.id, skills),
            queues=(queue_id,),
        )

    async def set_agent_state(self, agents: Sequence[Agent], state: str
                              ) -> list[ActionResult]:
        """Put each agent into ``state`` (``domain.agent_control``: "available",
        "away:<reason>", "end_acw", "logout"), on each agent's source; one outcome each."""
        return [await self._set_state(agent, state) for agent in agents]

    def emergency_sources(self) -> list[str]:
        """Names of the connected sources that can switch an emergency group."""
        return [name for name, s in self.sources.items()
                if s.supports(Capability.EMERGENCY_GROUP)]

    async def set_emergency(self, source_name: str, active: bool, group: str = "emergency",
                            incident: int | None = None) -> ActionResult:
        """Switch the platform's emergency group on or off (during an incident: new voice
        calls hear the emergency message instead of queueing)."""
        params: dict[str, object] = {"group": group, "active": active}
        if incident is not None:
            params["incident"] = incident
        return await self._run(
            "emergency_group", source_name, f"emergency group on {source_name}", params,
            lambda source: source.set_emergency(group, active),
        )

    def callback_on_source(self, source_name: str) -> bool:
        """Whether a call-back for an item of ``source_name`` is queued on the source
        itself (else it is tracked in the shared store)."""
        source = self.sources.get(source_name)
        return source is not None and source.supports(Capability.CALLBACK)

    async def create_callback(self, abandoned: AbandonedContact, queue_id: str,
                              book: CallbackBook | None, now: datetime) -> ActionResult:
        """Call an abandoned customer back: queued on the contact's own source when it
        can (a task agents answer), else tracked in ``book`` for every console to see."""
        subject = f"abandoned {abandoned.id}"
        if self.callback_on_source(abandoned.source):
            return await self._run(
                "callback", abandoned.source, subject,
                {"queue": queue_id, "tier": abandoned.tier.value, "on": "source"},
                lambda source: source.create_callback(abandoned.id, queue_id),
                queues=(abandoned.queue_id, queue_id))
        return self._tracked(
            subject, {"queue": queue_id, "tier": abandoned.tier.value, "on": "store",
                      "source": abandoned.source}, book,
            lambda b: b.add_callback(
                abandoned_id=abandoned.id, source=abandoned.source, queue_id=queue_id,
                customer=abandoned.customer or "", number=abandoned.handle or "",
                user=self.user, now=now),
            f"call-back for {abandoned.customer or abandoned.id} tracked in the shared "
            f"store ({abandoned.source} cannot queue one): mark it done with D",
            queues=(abandoned.queue_id, queue_id))

    def mark_callback(self, callback_id: str, state: str, book: CallbackBook | None,
                      now: datetime) -> ActionResult:
        """Mark a tracked call-back done / no answer (audited like every action)."""
        return self._tracked(
            f"call-back {callback_id}", {"state": state}, book,
            lambda b: b.set_callback_state(callback_id, state, self.user, now),
            f"call-back marked {state.replace('_', ' ')}")

    def _tracked(self, subject: str, params: Mapping[str, Any], book: CallbackBook | None,
                 write: Callable[[CallbackBook], tuple[Any, str]], done: str,
                 queues: Sequence[str | None] = ()) -> ActionResult:
        auditor = self.auditor
        stop = auditor.begin("callback", subject, params, refusal=None if book is not None
                             else "no shared store to track call-backs in", queues=queues)
        if stop is not None:
            return ActionResult(ok=False, code=stop.code, message=stop.message)
        assert book is not None
        try:
            row, why = write(book)
        except Exception as err:  # a store that cannot be written: said, never a crash
            row, why = None, f"not saved: {err}"
        result = ActionResult(ok=True, code=ActionCode.OK, message=done) if row is not None \
            else ActionResult(ok=False, code=ActionCode.CONFLICT, message=why)
        return _finished(auditor, "callback", subject, params, result)

    async def _set_state(self, agent: Agent, state: str) -> ActionResult:
        return await self._run(
            "agent_state", agent.source, f"agent {agent.id}",
            {"state": state, "was": agent.state.kind.value},
            lambda source: source.set_agent_state(agent.id, state),
            queues=self.agent_queues(agent),
        )


def _finished(auditor: Auditor, action: str, subject: str, params: Mapping[str, Any],
              result: ActionResult) -> ActionResult:
    """Record the outcome; one that cannot be recorded is said with the result."""
    warning = auditor.finish(action, subject, params, result.ok, result.message)
    if warning is None:
        return result
    return result.model_copy(update={"message": f"{result.message} — WARNING: {warning}"})
