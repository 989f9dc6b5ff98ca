"""Supervisor actions: permission -> audit -> source call -> audit.

No UI here. Every attempt — refused, failed or done — is written to the audit log,
and the intent is recorded *before* the source is called, so a crash mid-call still
leaves a trace. If the audit log cannot be written the action is not performed:
an unrecorded action is worse than a refused one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from supervisor_tui.config import ROLE_RANK, Role
from supervisor_tui.domain.model import ActionResult, Agent, Contact
from supervisor_tui.sources.base import Capability, Source

# The least role allowed to do each action.
REQUIRED_ROLE = {
    "reassign_contact": Role.SUPERVISOR,
    "assign_contact": Role.SUPERVISOR,
    "overflow": Role.SUPERVISOR,
    "move_agents": Role.SUPERVISOR,
    "escalation": Role.SUPERVISOR,
}
CAPABILITY = {
    "reassign_contact": Capability.REASSIGN_CONTACT,
    "assign_contact": Capability.REASSIGN_CONTACT,
    "overflow": Capability.REASSIGN_CONTACT,
    "move_agents": Capability.MOVE_AGENTS,
}


class AuditSink(Protocol):
    def append(self, *, user: str, role: str, action: str, subject: str,
               params: Mapping[str, Any], outcome: str, response: str) -> Any: ...


def current_user(config: Any = None) -> str:
    """Who acts: the OS account of this process (uid -> name), never ``$USER``; a
    service account's ``SUPERVISOR_TUI_USER`` only where ``config`` trusts it (see
    :mod:`supervisor_tui.identity`)."""
    from supervisor_tui.identity import identity_for, resolve_identity

    return (identity_for(config) if config is not None else resolve_identity()).user


class Actions:
    def __init__(self, sources: Sequence[Source], audit: AuditSink | None, user: str,
                 role: Role) -> None:
        self.sources = {s.name: s for s in sources}
        self.audit = audit
        self.user = user
        self.role = role

    # -- checks ------------------------------------------------------------------

    def refusal(self, action: str, source_name: str | None = None) -> str | None:
        """Why this user cannot do ``action`` (on that source), or None if they can."""
        needed = REQUIRED_ROLE[action]
        if ROLE_RANK[self.role] < ROLE_RANK[needed]:
            return (f"{self.user} is a {self.role.value}; "
                    f"{action.replace('_', ' ')} needs {needed.value}")
        if self.audit is None:
            return "the audit log is unavailable, so no action can be recorded"
        if source_name is not None:
            source = self.sources.get(source_name)
            if source is None:
                return f"source {source_name} is not connected"
            if not source.supports(CAPABILITY[action]):
                return f"source {source_name} cannot {action.replace('_', ' ')}"
        return None

    def _record(self, action: str, subject: str, params: Mapping[str, Any], outcome: str,
                response: str) -> None:
        if self.audit is not None:  # (None only on the refusal path: nothing to keep)
            self.audit.append(user=self.user, role=self.role.value, action=action,
                              subject=subject, params=dict(params), outcome=outcome,
                              response=response)

    async def _run(self, action: str, source_name: str, subject: str,
                   params: Mapping[str, Any], call: Any) -> ActionResult:
        why = self.refusal(action, source_name)
        if why is not None:
            result = ActionResult(ok=False, code="refused", message=why)
            try:
                self._record(action, subject, params, "refused", why)
            except Exception as err:  # refusing anyway; say the log failed too
                result = ActionResult(ok=False, code="refused",
                                      message=f"{why} (and the audit log failed: {err})")
            return result
        try:
            self._record(action, subject, params, "allowed", "")
        except Exception as err:
            return ActionResult(ok=False, code="audit_failed",
                                message=f"not done: cannot write the audit log ({err})")
        try:
            result = await call()
        except Exception as err:  # a source bug or network error: report, never crash
            result = ActionResult(ok=False, code="error",
                                  message=f"{type(err).__name__}: {err}")
        source = self.sources.get(source_name)
        if source is not None:  # an echoed credential is never shown nor audited
            message = source.redact(result.message)
            if message != result.message:
                result = result.model_copy(update={"message": message})
        try:
            self._record(action, subject, params, "done" if result.ok else "failed",
                         result.message)
        except Exception as err:
            result = result.model_copy(update={
                "message": f"{result.message} — WARNING: outcome not in audit log ({err})"})
        return result

    # -- actions -----------------------------------------------------------------

    async def reassign_contact(self, contact: Contact, to_queue_id: str,
                               source_name: str) -> ActionResult:
        source = self.sources.get(source_name)
        return await self._run(
            "reassign_contact", source_name, f"contact {contact.id}",
            {"from_queue": contact.queue_id, "to_queue": to_queue_id},
            lambda: source.move_contact(contact.id, to_queue_id),  # type: ignore[union-attr]
        )

    async def assign_contact(self, contact: Contact, agent: Agent,
                             source_name: str) -> ActionResult:
        source = self.sources.get(source_name)
        return await self._run(
            "assign_contact", source_name, f"contact {contact.id}",
            {"queue": contact.queue_id, "agent": agent.id},
            lambda: source.assign_contact(contact.id, agent.id),  # type: ignore[union-attr]
        )

    async def overflow(self, contacts: Sequence[Contact], to_queue_id: str,
                       source_name: str) -> list[ActionResult]:
        """Move each contact (oldest first) and report each outcome."""
        return [await self.reassign_contact(c, to_queue_id, source_name) for c in contacts]

    def escalation(self, store: Any, escalation_id: str, verb: str, now: Any,
                   note: str = "") -> ActionResult:
        """Acknowledge / take / resolve / reopen / note an escalation in the shared store."""
        from supervisor_tui.store import StoreError

        subject = f"escalation {escalation_id}"
        params = {"verb": verb, **({"note": note} if note else {})}
        why = self.refusal("escalation")
        try:
            if why is not None:
                self._record("escalation", subject, params, "refused", why)
                return ActionResult(ok=False, code="refused", message=why)
            if verb == "note":
                store.add_escalation_note(escalation_id, self.user, note, now)
                done, reason = True, ""
            else:
                done, reason = store.set_escalation_state(escalation_id, verb, self.user, now)
            message = f"{verb}: {escalation_id}" if done else reason
            self._record("escalation", subject, params, "done" if done else "failed", message)
        except StoreError as err:
            return ActionResult(ok=False, code="error", message=str(err))
        return ActionResult(ok=done, code="ok" if done else "conflict", message=message)

    async def move_agents(self, agents: Sequence[Agent], queue_id: str, add: bool,
                          source_name: str) -> list[ActionResult]:
        """Add (or remove) ``queue_id`` to each agent's skills."""
        source = self.sources.get(source_name)
        results = []
        for agent in agents:
            if add:
                skills = [*agent.skills, queue_id] if queue_id not in agent.skills \
                    else list(agent.skills)
            else:
                skills = [s for s in agent.skills if s != queue_id]
            results.append(await self._run(
                "move_agents", source_name, f"agent {agent.id}",
                {"queue": queue_id, "change": "add" if add else "remove",
                 "skills_before": list(agent.skills), "skills_after": skills},
                lambda a=agent, sk=skills: source.set_agent_skills(a.id, sk),  # type: ignore[union-attr]
            ))
        return results
