"""Who may do what: the least role each permission needs, in one place.

The rules themselves live next to the code that enforces them (``actions.REQUIRED_ROLE``
for supervisor actions, ``crisis.service.REQUIRED_ROLE`` for crisis communications);
this is the one lookup screens use to hide what a role cannot do.
"""

from __future__ import annotations

from supervisor_tui.actions import REQUIRED_ROLE as ACTION_ROLES
from supervisor_tui.config import ROLE_RANK, Role
from supervisor_tui.crisis.service import REQUIRED_ROLE as CRISIS_ROLES

REQUIRED_ROLE: dict[str, Role] = {**ACTION_ROLES, **CRISIS_ROLES}


def role_may(role: Role, permission: str) -> bool:
    """Whether ``role`` is enough for ``permission`` (other checks, such as an audit log
    that cannot be written, still refuse with a reason when the key is pressed)."""
    return ROLE_RANK[role] >= ROLE_RANK[REQUIRED_ROLE[permission]]
