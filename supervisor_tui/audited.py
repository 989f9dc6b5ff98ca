"""One audited attempt, the same for supervisor actions, the escalation desk and crisis
communications: permission -> audit the intent -> do it -> audit the outcome.

Every attempt, refused or not, is in the audit log, and the intent is recorded *before*
anything changes, so a crash mid-call still leaves a trace. If the log cannot be written
nothing is done: an unrecorded action is worse than a refused one. Callers keep what
is theirs (which source may do what, how a failure is reported: ``ActionResult`` for
actions, ``CrisisError`` for crisis); the order and the wording live here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from supervisor_tui.domain.model import ActionCode
from supervisor_tui.domain.roles import Role, refusal_for
from supervisor_tui.domain.scope import CENTRE_WIDE, Scope


class AuditSink(Protocol):
    """Where attempts are recorded (``store.audit.AuditLog``; tests pass a list-like)."""

    def append(self, *, user: str, role: str, action: str, subject: str,
               params: Mapping[str, Any], outcome: str, response: str) -> Any: ...


@dataclass(frozen=True)
class Stop:
    """Why an attempt did not go ahead: refused (role, rule, no audit log), or the
    intent could not be recorded, so nothing was done."""

    code: ActionCode  # REFUSED or AUDIT_FAILED
    message: str


class Auditor:
    """Records one user's attempts under their role."""

    def __init__(self, audit: AuditSink | None, user: str, role: Role,
                 scope: Scope | None = None) -> None:
        self.audit = audit
        self.user = user
        self.role = role
        #: the queues this user sees ([roles.scopes]); None: the whole centre
        self.scope = scope

    def refusal(self, action: str, queues: Iterable[str | None] = ()) -> str | None:
        """Why this user may not ``action`` (on ``queues``) at all: role, scope (a queue
        outside it, or an action that reaches the whole centre), or no audit log."""
        why = refusal_for(self.user, self.role, action)
        if why is None and self.scope is not None:
            listed = tuple(queues)
            if listed or action in CENTRE_WIDE:
                why = self.scope.refusal(action, listed)
        if why is None and self.audit is None:
            return "the audit log is unavailable, so nothing can be recorded"
        return why

    def record(self, action: str, subject: str, params: Mapping[str, Any], outcome: str,
               response: str = "") -> None:
        """Append one record; raises what the sink raises (callers decide what it means)."""
        if self.audit is not None:  # (None only on the refusal path: nothing to keep)
            self.audit.append(user=self.user, role=self.role.value, action=action,
                              subject=subject, params=dict(params), outcome=outcome,
                              response=response)

    def refuse(self, action: str, subject: str, params: Mapping[str, Any], why: str) -> Stop:
        """Record a refusal (if the log can take it) and say why."""
        try:
            self.record(action, subject, params, "refused", why)
        except Exception as err:  # refusing anyway; say the log failed too
            why = f"{why} (and the audit log failed: {err})"
        return Stop(ActionCode.REFUSED, why)

    def begin(self, action: str, subject: str, params: Mapping[str, Any],
              refusal: str | None = None, queues: Iterable[str | None] = ()) -> Stop | None:
        """Check and record the intent. None: go ahead. ``refusal``: the caller's own
        reason to say no (e.g. the source cannot do it), recorded like a role's;
        ``queues``: those the action touches (a scoped user's must all be in scope)."""
        why = self.refusal(action, queues) or refusal
        if why is not None:
            return self.refuse(action, subject, params, why)
        try:
            self.record(action, subject, params, "allowed")
        except Exception as err:
            return Stop(ActionCode.AUDIT_FAILED, f"not done: cannot write the audit log ({err})")
        return None

    def finish(self, action: str, subject: str, params: Mapping[str, Any], ok: bool,
               response: str) -> str | None:
        """Record the outcome; a warning to show if it could not be recorded (the
        "allowed" record already shows the attempt)."""
        try:
            self.record(action, subject, params, "done" if ok else "failed", response)
        except Exception as err:
            return f"outcome not in audit log ({err})"
        return None
