"""Roles and permissions, in one place (pure): who may look, act on the desk, or speak
in a crisis.

Config maps users to a ``Role``; ``REQUIRED_ROLE`` gives the least role each permission
needs. ``audited.Auditor`` enforces it for every attempt (actions, desk, crisis), and
screens use ``role_may`` to leave out the keys a role cannot use.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    VIEWER = "viewer"  # look only
    SUPERVISOR = "supervisor"  # escalations, reassign contacts, move agents, agent state
    ADMIN = "admin"  # and crisis communications


ROLE_RANK = {Role.VIEWER: 0, Role.SUPERVISOR: 1, Role.ADMIN: 2}

#: the least role for each permission (delivering crisis messages already queued needs none)
REQUIRED_ROLE: dict[str, Role] = {
    "reassign_contact": Role.SUPERVISOR,
    "assign_contact": Role.SUPERVISOR,
    "overflow": Role.SUPERVISOR,
    "move_agents": Role.SUPERVISOR,
    "agent_state": Role.SUPERVISOR,
    "escalation": Role.SUPERVISOR,
    "callback": Role.SUPERVISOR,  # call back an abandoned contact; mark a tracked one done
    "emergency_group": Role.ADMIN,  # reroutes every voice call: a crisis decision
    "crisis_declare": Role.ADMIN,
    "crisis_resolve": Role.ADMIN,
    "crisis_message": Role.ADMIN,
    "crisis_requeue": Role.ADMIN,
    "crisis_note": Role.SUPERVISOR,
    # targets, escalation limits and notice policy for every console on the store
    "live_settings": Role.ADMIN,
    # today's schedule for every console on the store (adherence figures and escalations)
    "schedule_import": Role.SUPERVISOR,
    # today's forecast for every console on the store (intraday, "Need")
    "forecast_import": Role.SUPERVISOR,
}


def role_may(role: Role, permission: str) -> bool:
    """Whether ``role`` is enough for ``permission`` (other checks, such as an audit log
    that cannot be written, still refuse with a reason when the key is pressed)."""
    return ROLE_RANK[role] >= ROLE_RANK[REQUIRED_ROLE[permission]]


def refusal_for(user: str, role: Role, permission: str) -> str | None:
    """Why ``user`` may not ``permission`` by role, in words ("sam is a viewer; crisis
    declare needs admin"), or None."""
    if role_may(role, permission):
        return None
    needed = REQUIRED_ROLE[permission]
    return f"{user} is a {role.value}; {permission.replace('_', ' ')} needs {needed.value}"
