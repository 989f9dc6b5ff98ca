"""What a source says changed between two of its snapshots (pure).

A source that knows which agents and contacts it rebuilt (the simulator's engine tells
its snapshot builder) can hand that on with the snapshot, so the console's index and
contact log visit only those objects instead of comparing 85,000 identities a poll.
Sources that do not know leave it out, and every consumer falls back to its full
identity pass.

The changes ride in the snapshot's ``__dict__`` beside its fields, not as a field: a
snapshot's equality, validation and wire form (protocol v1) stay exactly the fields,
and a snapshot that was narrowed, merged or restricted (new agent or contact tuples)
no longer matches the tuples the changes describe, so they are ignored there. Each
consumer also checks the base: the changes are used only by one that last saw exactly
the tuples they were computed from (a skipped or repeated poll gets a full pass).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from supervisor_tui.domain.model import Agent, Contact, Snapshot

_KEY = "_source_changes"


@dataclass(frozen=True, eq=False)
class SnapshotChanges:
    """``agents``/``contacts`` (the new snapshot's own tuples) differ from
    ``base_agents``/``base_contacts`` (the previous snapshot's) exactly by the objects
    in ``*_gone`` taken out and those in ``*_new`` put in (a replaced object is in
    both: its old version gone, its new one new)."""

    base_agents: tuple[Agent, ...]
    base_contacts: tuple[Contact, ...]
    agents: tuple[Agent, ...]
    contacts: tuple[Contact, ...]
    agents_gone: tuple[Agent, ...]
    agents_new: tuple[Agent, ...]
    contacts_gone: tuple[Contact, ...]
    contacts_new: tuple[Contact, ...]


def attach(snapshot: Snapshot, changes: SnapshotChanges) -> Snapshot:
    """``snapshot`` carrying ``changes`` (for the source that built it, before anyone
    else holds it)."""
    snapshot.__dict__[_KEY] = changes
    return snapshot


def agents_since(snapshot: Snapshot, base: tuple[Agent, ...]
                 ) -> tuple[tuple[Agent, ...], tuple[Agent, ...]] | None:
    """(gone, new) agents from ``base`` to this snapshot's agents, when the source said
    so for exactly these two tuples; None: compare identities."""
    if base is snapshot.agents:  # the same tuple again (a source's 304, re-stamped)
        return (), ()
    c = snapshot.__dict__.get(_KEY)
    if (not isinstance(c, SnapshotChanges) or c.agents is not snapshot.agents
            or c.base_agents is not base):
        return None
    return c.agents_gone, c.agents_new


def contacts_since(snapshot: Snapshot, base: tuple[Contact, ...]
                   ) -> tuple[tuple[Contact, ...], tuple[Contact, ...]] | None:
    """(gone, new) contacts from ``base`` to this snapshot's contacts, as ``agents_since``."""
    if base is snapshot.contacts:
        return (), ()
    c = snapshot.__dict__.get(_KEY)
    if (not isinstance(c, SnapshotChanges) or c.contacts is not snapshot.contacts
            or c.base_contacts is not base):
        return None
    return c.contacts_gone, c.contacts_new


def by_ids(base: Snapshot, snapshot: Snapshot,
           agents: tuple[Mapping[str, Agent], Mapping[str, Agent], Iterable[str]],
           contacts: tuple[Mapping[str, Contact], Mapping[str, Contact], Iterable[str]],
           ) -> SnapshotChanges | None:
    """The changes from ``base`` to ``snapshot`` of a source that keeps its records by id
    and knows which ids it touched (a delta's): for agents and for contacts, (records
    before, records after, ids touched). Every other id must hold the same object in
    both. None when the tuples are not exactly the records (duplicate ids) or the counts
    do not add up: then nothing is said and consumers compare identities."""
    found: list[tuple[tuple[Any, ...], tuple[Any, ...]]] = []
    for (before, after, touched), old, new in ((agents, base.agents, snapshot.agents),
                                               (contacts, base.contacts, snapshot.contacts)):
        if len(old) != len(before) or len(new) != len(after):
            return None
        gone, came = [], []
        for key in set(touched):
            was, now = before.get(key), after.get(key)
            if was is not now:
                if was is not None:
                    gone.append(was)
                if now is not None:
                    came.append(now)
        if len(new) != len(old) - len(gone) + len(came):
            return None
        found.append((tuple(gone), tuple(came)))
    (agents_gone, agents_new), (contacts_gone, contacts_new) = found
    return SnapshotChanges(base.agents, base.contacts, snapshot.agents, snapshot.contacts,
                           agents_gone, agents_new, contacts_gone, contacts_new)
