"""A user's scope: the queues they see and may act on (pure).

``[roles.scopes] alice = ["vendor:acme"]`` limits alice to Acme's queues; entries are
``vendor:KEY`` (the vendor's queues by the attribution rule of domain/vendors.py),
``group:NAME`` (a ``[groups]`` group's), ``queue:ID`` or a bare queue id. A user with no
entry sees everything.

One place does it: the console narrows each snapshot to the scope before the board is
built (``narrow``), so every screen, export and escalation rule sees only those queues,
their contacts, their abandoned contacts and the agents who serve them (or are the
scoped vendor's); and ``audited.Auditor`` refuses any action on a queue outside the
scope, and the actions that reach the whole centre (crisis, emergency group, live
thresholds), the same way it refuses one the role does not allow.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from supervisor_tui.domain.model import Agent, Snapshot
from supervisor_tui.domain.vendors import AgentRules, VendorRule, agent_vendor, queue_vendor

#: actions that act on the whole centre rather than on a queue: never for a scoped user
CENTRE_WIDE = frozenset({"emergency_group", "crisis_declare", "crisis_resolve",
                         "crisis_message", "crisis_requeue", "crisis_note", "live_settings"})


@dataclass
class Scope:
    """Who is scoped, to what (as configured), and the queue ids that resolves to now."""

    user: str
    entries: tuple[str, ...]
    queue_ids: frozenset[str] = frozenset()
    vendors: frozenset[str] = frozenset()
    unknown: tuple[str, ...] = field(default=())  # entries naming nothing configured

    @property
    def label(self) -> str:
        return ", ".join(self.entries)

    def allows(self, queue_id: str | None) -> bool:
        return queue_id is not None and queue_id in self.queue_ids

    def refusal(self, action: str, queues: Iterable[str | None]) -> str | None:
        """Why this scope forbids ``action`` on ``queues`` (None: it does not)."""
        if action in CENTRE_WIDE:
            return (f"{self.user} sees {self.label} only; "
                    f"{action.replace('_', ' ')} reaches the whole centre")
        outside = sorted({q or "(no queue)" for q in queues if not self.allows(q)})
        if outside:
            return (f"{self.user} sees {self.label} only; "
                    f"{', '.join(outside[:3])} {'is' if len(outside) == 1 else 'are'} "
                    "outside it")
        return None

    def resolve(self, snapshot: Snapshot, rules: Sequence[VendorRule],
                groups: Mapping[str, Sequence[str]]) -> None:
        """Work out the queue ids (a vendor's may be named by its source: per poll)."""
        ids: set[str] = set()
        vendors: set[str] = set()
        unknown: list[str] = []
        keys = {r.key for r in rules}
        for entry in self.entries:
            kind, sep, name = entry.partition(":")
            if not sep:
                kind, name = "queue", entry
            if kind == "vendor":
                vendors.add(name)
                if name in keys:
                    ids.update(next(r for r in rules if r.key == name).queues)
                found = [q.id for q in snapshot.queues if queue_vendor(q, rules) == name]
                ids.update(found)
                if name not in keys and not found:
                    unknown.append(entry)
            elif kind == "group":
                if name in groups:
                    ids.update(groups[name])
                else:
                    unknown.append(entry)
            else:
                ids.add(name)
        self.queue_ids = frozenset(ids)
        self.vendors = frozenset(vendors)
        self.unknown = tuple(unknown)

    def sees_agent(self, agent: Agent, rules: Sequence[VendorRule],
                   compiled: AgentRules | None = None) -> bool:
        if agent.queue_id is not None and agent.queue_id in self.queue_ids:
            return True
        if any(s in self.queue_ids for s in agent.skills):
            return True
        return bool(self.vendors) and agent_vendor(agent, rules, compiled) in self.vendors


def narrow(snapshot: Snapshot, scope: Scope, rules: Sequence[VendorRule]) -> Snapshot:
    """``snapshot`` with only what ``scope`` sees (health is kept: sources are not
    anyone's queues). The kept objects are the snapshot's own, so the per-poll index
    still reads only the changed ones."""
    ids = scope.queue_ids
    compiled = AgentRules(tuple(rules))
    return snapshot.model_copy(update={
        "queues": tuple(q for q in snapshot.queues if q.id in ids),
        "interval_stats": {k: v for k, v in snapshot.interval_stats.items() if k in ids},
        "day_stats": {k: v for k, v in snapshot.day_stats.items() if k in ids},
        "queue_live": {k: v for k, v in snapshot.queue_live.items() if k in ids},
        "tier_stats": {k: v for k, v in snapshot.tier_stats.items() if k in ids},
        "contacts": tuple(c for c in snapshot.contacts if c.queue_id in ids),
        "abandoned": tuple(a for a in snapshot.abandoned if a.queue_id in ids),
        "agents": tuple(a for a in snapshot.agents
                        if scope.sees_agent(a, rules, compiled)),
    })
