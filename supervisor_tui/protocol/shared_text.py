"""One object per distinct queue id, team and skill list in what a server sends (pure).

A snapshot decoded from JSON holds a new string for every occurrence of a queue id: in
each agent's skills (~3 each), in its current queue, in each contact's queue. At 5,000
queues and 50,000 agents that is ~120,000 copies of 5,000 strings and 50,000 tuples of
5,000 distinct skill lists: ~9 MiB of a ~90 MiB snapshot (issue 15: memory). Sharing them
is invisible to every reader (equal strings, equal tuples); only identity changes.

Queue ids, team, site and away-reason names are few, so they go through ``sys.intern``
(interned strings are freed with their last user). Agent and contact ids are not shared:
each is unique, and interning them would only grow the interpreter's table. Skill lists
are kept in a bounded pool: a source sending a new list for every agent forever cannot
grow it past ``most`` entries.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING

from supervisor_tui.domain.model import Agent, Contact

if TYPE_CHECKING:
    from supervisor_tui.protocol.documents import WireQueue

_intern = sys.intern
_set = object.__setattr__


class TextPool:
    """Shares the repeated texts of freshly validated records, in place.

    Only for records just validated and held by nothing else (as ``_rename`` in
    documents.py): frozen records are changed in place, each field to an
    equal value. Used from one thread at a time (a source's decode)."""

    def __init__(self, most: int = 65_536) -> None:
        self._skills: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._most = most

    def skills(self, skills: tuple[str, ...]) -> tuple[str, ...]:
        """The pool's tuple equal to ``skills`` (its entries interned)."""
        pool = self._skills
        kept = pool.get(skills)
        if kept is None:
            if len(pool) >= self._most:
                pool.clear()  # an endless stream of new lists: start again, stay bounded
            kept = tuple(map(_intern, skills))
            pool[kept] = kept  # (the key too: not the tuple it was given)
        return kept

    def __len__(self) -> int:
        return len(self._skills)

    def share(self, queues: Iterable[WireQueue], agents: Iterable[Agent],
              contacts: Iterable[Contact]) -> None:
        for q in queues:
            qid = _intern(q.id)
            q.__dict__["id"] = qid
            for stats in (q.interval, q.day):
                _set(stats, "queue_id", qid)
        skills = self.skills
        for a in agents:  # (frozen records: their own fields, set in place)
            _set(a, "skills", skills(a.skills))
            _set(a, "team", _intern(a.team))
            if a.queue_id is not None:
                _set(a, "queue_id", _intern(a.queue_id))
            if a.site is not None:
                _set(a, "site", _intern(a.site))
            reason = a.state.reason
            if reason is not None:
                _set(a.state, "reason", _intern(reason))
        for c in contacts:
            _set(c, "queue_id", _intern(c.queue_id))
