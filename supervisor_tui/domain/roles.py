"""Roles, and how they rank (pure): who may look, act on the desk, or speak in a crisis.

One definition for every layer: config maps users to these, actions and crisis
communications require them (``supervisor_tui.roles`` lists what each permission needs).
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    VIEWER = "viewer"  # look only
    SUPERVISOR = "supervisor"  # escalations, reassign contacts, move agents
    ADMIN = "admin"  # and crisis communications


ROLE_RANK = {Role.VIEWER: 0, Role.SUPERVISOR: 1, Role.ADMIN: 2}
