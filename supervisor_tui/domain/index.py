"""Per-poll index of a snapshot (pure): what the board, the agents screen and the
escalation rules all need, worked out once per poll and shared.

At 10,000 agents and 10,000+ live contacts, merely reading each object's fields costs
more than any rule applied to it: the objects are scattered in memory, so each visit
is several cache misses (measured: ~25 ms for one pass over both on the reference VM).
Sources hand out the *same* immutable object for a contact or agent that did not
change (the simulator does; frozen models make that safe), so the index is kept
incrementally: it compares object identities with the previous snapshot — which reads
only the snapshot's own arrays — and re-reads only the objects that are new. A source
that builds every object afresh each poll simply gets a full pass.

Everything handed out is immutable or never mutated after: lists of a queue that
changed are replaced, not edited, so an index given out earlier stays true to its
snapshot.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from itertools import chain, compress
from operator import attrgetter, is_not

from supervisor_tui.domain.changes import agents_since, contacts_since
from supervisor_tui.domain.model import Agent, AgentStateKind, Contact, ContactState, Snapshot, Tier

_WAITING = ContactState.WAITING
_WRAP_UP = ContactState.WRAP_UP
_STANDARD = Tier.STANDARD
_ON = AgentStateKind.ON_CONTACT
_entered = attrgetter("entered_at")
_since = attrgetter("state.since")
_team = attrgetter("team")
_skills = attrgetter("skills")
# States with a time limit (flags and escalations): their agents are kept by since.
_TIMED = frozenset({AgentStateKind.AFTER_CONTACT_WORK, AgentStateKind.AWAY,
                    AgentStateKind.ON_CONTACT})


@dataclass(frozen=True, slots=True)
class OnContact:
    """The agents on a contact by the queue of their contact, each queue's longest on it
    first, and when each queue's longest took it (epoch seconds). A long-contact limit
    is per queue: who is past it is a prefix of that queue's list, and a queue whose
    longest is not past it (most) is told by one float comparison (the agents screen's
    ⚑ count: datetime arithmetic for 1,250 queues was ~3 ms)."""

    by_queue: Mapping[str | None, list[Agent]]
    oldest_s: Mapping[str | None, float]


@dataclass(frozen=True)
class SnapshotIndex:
    waiting_by_queue: dict[str, list[Contact]]  # oldest first
    waiting: int
    flagged: tuple[Contact, ...]  # flags on a waiting or connected contact
    premium_waiting: tuple[Contact, ...]  # gold / vip, waiting
    agents_by_queue: dict[str, tuple[Agent, ...]]  # by skill
    agents_by_kind: dict[str, list[Agent]]  # AgentStateKind value -> agents
    teams: tuple[str, ...]
    _by_since: dict[str, list[Agent]] = field(default_factory=dict, compare=False,
                                              repr=False)
    #: the builder's kept list of a kind, while this is its newest index (else None)
    _kept_since: Callable[[str], list[Agent] | None] | None = field(
        default=None, compare=False, repr=False)
    #: the builder's kept agents on a contact by queue, while this is its newest index
    _kept_on_contact: Callable[[], OnContact | None] | None = field(
        default=None, compare=False, repr=False)
    _on_contact: list[OnContact] = field(default_factory=list, compare=False, repr=False)
    #: the builder's contacts by id, while this is its newest index (else None)
    _by_contact_id: Callable[[], Mapping[str, Contact] | None] | None = field(
        default=None, compare=False, repr=False)

    def contacts_by_id(self) -> Mapping[str, Contact] | None:
        """This snapshot's contacts by id, kept by the builder (no pass over them); None
        for an index a poll old, or when two contacts share an id: then look them up."""
        return self._by_contact_id() if self._by_contact_id is not None else None

    def count(self, kind: AgentStateKind) -> int:
        return len(self.agents_by_kind.get(kind, ()))

    def by_since(self, kind: AgentStateKind) -> list[Agent]:
        """The agents in ``kind``, longest in it first: who is past a time limit is then
        a prefix found by bisection, not a pass reading every agent. Kept poll to poll
        by the ``IndexBuilder`` (the agents that changed are taken out and put in at
        their place); sorted here only for an index built otherwise."""
        found = self._by_since.get(kind)
        if found is None and self._kept_since is not None:
            found = self._kept_since(kind)
        if found is None:
            found = sorted(self.agents_by_kind.get(kind, ()), key=_since)
        self._by_since[kind] = found
        return found

    def on_contact(self) -> OnContact:
        """The agents on a contact by the queue of their contact (``OnContact``). Kept
        poll to poll by the ``IndexBuilder`` as ``by_since``."""
        if self._on_contact:
            return self._on_contact[0]
        found = self._kept_on_contact() if self._kept_on_contact is not None else None
        if found is None:
            found = _grouped_on(self.by_since(_ON))
        self._on_contact.append(found)
        return found


class IndexBuilder:
    """Keeps the index of the last snapshot and moves it to the next one by identity."""

    def __init__(self) -> None:
        # Each contact by its id, for the escalation rules' "how did it end" without a
        # pass over every contact (while no two contacts share an id).
        self._by_contact_id: dict[str, Contact] = {}
        self._ids_unique = True
        self._contact_tuple: tuple[Contact, ...] = ()
        self._waiting: dict[str, dict[int, Contact]] = {}
        self._flagged: dict[int, Contact] = {}
        self._premium: dict[int, Contact] = {}
        self._agent_tuple: tuple[Agent, ...] = ()
        self._by_kind: dict[str, dict[int, Agent]] = {k: {} for k in AgentStateKind}
        self._by_queue: dict[str, dict[tuple[str, str], Agent]] = {}
        self._teams: Counter[str] = Counter()
        # Immutable views handed out, rebuilt only for what changed.
        self._waiting_lists: dict[str, list[Contact]] = {}
        self._queue_lists: dict[str, tuple[Agent, ...]] = {}
        self._kind_lists: dict[str, list[Agent]] = {k: [] for k in AgentStateKind}
        # The states with time limits, by since (``SnapshotIndex.by_since``), kept here,
        # moved on only when asked for (the escalation rules after the paint, the agents
        # screen's flag count), by the agents gone and new since: the dashboard paints
        # without that work.
        self._since_lists: dict[str, list[Agent]] = {k: [] for k in _TIMED}
        self._since_moves: dict[str, tuple[dict[int, Agent], dict[int, Agent]]] = {
            k: ({}, {}) for k in _TIMED}
        # The agents on a contact by queue (``SnapshotIndex.on_contact``), moved on the
        # same way; a queue's list that changes is copied, not edited. None: made afresh
        # when next asked for (a screen that never asks must not keep, in the moves,
        # every agent object replaced since: ~30 MB at 50,000 agents after a while).
        self._on_contact: OnContact | None = None
        self._on_moves: tuple[dict[int, Agent], dict[int, Agent]] = ({}, {})
        self._generation = 0
        self._snapshot: Snapshot | None = None
        self._index: SnapshotIndex | None = None
        #: agent and contact objects whose fields were read so far (new ones and the ones
        #: they replaced): what the benchmark shows follows change, not the centre's size
        self.reads = 0

    def index(self, snapshot: Snapshot) -> SnapshotIndex:
        if snapshot is self._snapshot and self._index is not None:
            return self._index
        dirty_queues = self._update_contacts(snapshot)
        dirty_skills, dirty_kinds, teams_changed = self._update_agents(snapshot)
        for qid in dirty_queues:
            members = self._waiting.get(qid)
            if members:
                self._waiting_lists[qid] = sorted(members.values(), key=_entered)
            else:
                self._waiting.pop(qid, None)
                self._waiting_lists.pop(qid, None)
        for skill in dirty_skills:
            agents = self._by_queue.get(skill)
            if agents:
                self._queue_lists[skill] = tuple(agents.values())
            else:
                self._by_queue.pop(skill, None)
                self._queue_lists.pop(skill, None)
        for kind in dirty_kinds:
            self._kind_lists[kind] = list(self._by_kind[kind].values())
        previous = self._index
        teams = (tuple(sorted(t for t, n in self._teams.items() if n > 0))
                 if teams_changed or previous is None else previous.teams)
        self._generation += 1
        generation = self._generation
        self._index = SnapshotIndex(
            _kept_since=lambda kind: self._kept_since(kind, generation),
            _kept_on_contact=lambda: self._kept_on_contact(generation),
            _by_contact_id=lambda: (self._by_contact_id if generation == self._generation
                                    and self._ids_unique else None),
            waiting_by_queue=dict(self._waiting_lists),
            waiting=sum(len(m) for m in self._waiting.values()),
            flagged=tuple(self._flagged.values()),
            premium_waiting=tuple(self._premium.values()),
            agents_by_queue=dict(self._queue_lists),
            agents_by_kind=dict(self._kind_lists),
            teams=teams,
        )
        self._snapshot = snapshot
        return self._index

    def _kept_since(self, kind: str, generation: int) -> list[Agent] | None:
        """The kept list of ``kind`` by since, moved on to the newest index (None when
        asked for an older one, or a kind without a time limit)."""
        if generation != self._generation or kind not in self._since_moves:
            return None
        gone, new = self._since_moves[kind]
        if gone or new:
            self._since_lists[kind] = _moved_by_since(
                self._since_lists[kind], list(gone.values()), list(new.values()))
            self._since_moves[kind] = ({}, {})
        return self._since_lists[kind]

    def _kept_on_contact(self, generation: int) -> OnContact | None:
        """The kept agents on a contact by queue, moved on to the newest index (None
        when asked for an older one)."""
        if generation != self._generation:
            return None
        gone, new = self._on_moves
        if self._on_contact is None:
            self._on_contact = _grouped_on(self._kept_since(_ON, generation) or [])
        elif gone or new:
            self._on_contact = _moved_by_queue(self._on_contact, gone.values(), new.values())
        self._on_moves = ({}, {})
        return self._on_contact

    def _update_contacts(self, snapshot: Snapshot) -> set[str]:
        contacts = snapshot.contacts
        said = contacts_since(snapshot, self._contact_tuple)
        if said is not None:  # the source says which objects went and came
            gone_ids = set(map(id, said[0]))
            new_ids = set(map(id, said[1]))
            removed = [c for c in said[0] if id(c) not in new_ids]
            added = [c for c in said[1] if id(c) not in gone_ids]
        else:
            # Identity sets: ``id`` reads no field, so unchanged contacts stay untouched.
            held = self._contact_tuple
            ids, held_ids = set(map(id, contacts)), set(map(id, held))
            removed = [c for c in held if id(c) not in ids]
            added = [c for c in contacts if id(c) not in held_ids]
        self._contact_tuple = contacts
        by_id = self._by_contact_id
        dirty: set[str] = set()
        self.reads += len(removed) + len(added)
        for c in removed:
            key = id(c)
            if by_id.get(c.id) is c:
                del by_id[c.id]
            self._flagged.pop(key, None)
            if self._premium.pop(key, None) is not None or c.state == _WAITING:
                members = self._waiting.get(c.queue_id)
                if members is not None and members.pop(key, None) is not None:
                    dirty.add(c.queue_id)
        for c in added:
            key = id(c)
            if c.id in by_id:  # two listed under one id (two sources): scans from now on
                self._ids_unique = False
            by_id[c.id] = c
            state = c.state  # ``==``: sources using model_construct may hold strings
            if c.flags and state != _WRAP_UP:
                self._flagged[key] = c
            if state == _WAITING:
                self._waiting.setdefault(c.queue_id, {})[key] = c
                dirty.add(c.queue_id)
                if c.tier != _STANDARD:
                    self._premium[key] = c
        return dirty

    def _update_agents(self, snapshot: Snapshot) -> tuple[set[str], set[str], bool]:
        agents = snapshot.agents
        old = self._agent_tuple
        said = agents_since(snapshot, old)
        if said is not None:  # the source says which objects went and came
            gone = {id(a): a for a in said[0]}
            new = {id(a): a for a in said[1]}
        elif len(old) == len(agents):  # the usual case: same agents, same order
            moved = list(compress(range(len(agents)), map(is_not, agents, old)))
            gone = {id(old[i]): old[i] for i in moved}
            new = {id(agents[i]): agents[i] for i in moved}
        else:
            old_ids, ids = set(map(id, old)), set(map(id, agents))
            gone = {id(a): a for a in old if id(a) not in ids}
            new = {id(a): a for a in agents if id(a) not in old_ids}
        same = gone.keys() & new.keys()  # reordered, not changed
        removed = [a for k, a in gone.items() if k not in same]
        added = [a for k, a in new.items() if k not in same]
        skills: set[str] = set()
        kinds: set[str] = set()
        teams = False
        self.reads += len(removed) + len(added)
        # Grouped by kind and team first, then each group applied in one C-level call:
        # the first poll of a big centre adds every agent (~0.1 s less at 50,000).
        gone_of = _by_kind_of(removed)
        new_of = _by_kind_of(added)
        for kind, group in gone_of.items():
            of_kind = self._by_kind.get(kind, {})
            for gone_id in map(id, group):
                of_kind.pop(gone_id, None)
        for kind, group in new_of.items():
            self._by_kind.setdefault(kind, {}).update(zip(map(id, group), group, strict=True))
        kinds.update(gone_of, new_of)
        counts = self._teams
        for team, n in Counter(map(_team, removed)).items():
            counts[team] -= n
            teams = teams or counts[team] == 0
        for team, n in Counter(map(_team, added)).items():
            teams = teams or counts[team] == 0
            counts[team] += n
        for timed in kinds & _TIMED:
            moves = self._since_moves[timed]
            _note_moves(moves, gone_of.get(timed, ()), new_of.get(timed, ()))
            if timed == _ON and self._on_contact is not None:
                _note_moves(self._on_moves, gone_of.get(timed, ()), new_of.get(timed, ()))
                if len(self._on_moves[0]) + len(self._on_moves[1]) > max(
                        64, len(self._by_kind[_ON]) // 8):  # (not asked for a while)
                    self._on_contact, self._on_moves = None, ({}, {})
        # Per queue, an agent keeps its place when its object is replaced (state change),
        # so lists shown in snapshot order do not shuffle: adds overwrite in place, then
        # removals delete only entries still holding the removed object.
        by_queue = self._by_queue
        for a in added:
            key = (a.source, a.id)  # one key per agent, not one per skill (memory)
            for skill in a.skills:
                # (not setdefault: its default dict would be made for every skill of
                # every agent, 150,000 of them on a big centre's first poll)
                try:
                    by_queue[skill][key] = a
                except KeyError:
                    by_queue[skill] = {key: a}
        skills.update(chain.from_iterable(map(_skills, added)))
        for a in removed:
            key = (a.source, a.id)
            for skill in a.skills:
                members = by_queue.get(skill)
                if members is not None and members.get(key) is a:
                    del members[key]
                    skills.add(skill)
        self._agent_tuple = agents
        return skills, kinds, teams


def _by_kind_of(agents: list[Agent]) -> dict[str, list[Agent]]:
    """``agents`` grouped by their state's kind, in order."""
    groups: dict[str, list[Agent]] = {}
    for a in agents:
        kind = a.state.kind
        try:
            groups[kind].append(a)
        except KeyError:
            groups[kind] = [a]
    return groups


def _note_moves(moves: tuple[dict[int, Agent], dict[int, Agent]], gone: Iterable[Agent],
                new: Iterable[Agent]) -> None:
    """Add a poll's agents gone and new to those not yet applied to a kept list."""
    gone_ids, new_ids = moves
    for a in gone:
        if new_ids.pop(id(a), None) is None:  # (new since the list was moved on)
            gone_ids[id(a)] = a
    for a in new:
        new_ids[id(a)] = a


def _grouped_on(on_contact: list[Agent]) -> OnContact:
    """``OnContact`` of the agents on a contact, given longest on it first."""
    grouped: dict[str | None, list[Agent]] = {}
    for a in on_contact:
        grouped.setdefault(a.queue_id, []).append(a)
    return OnContact(grouped, {q: m[0].state.since.timestamp() for q, m in grouped.items()})


def _moved_by_queue(on: OnContact, gone: Iterable[Agent], new: Iterable[Agent]) -> OnContact:
    """A new one (one handed out earlier stays true to its snapshot): ``on`` with
    ``gone`` taken out of, and ``new`` put in, their queue's list at their place by
    ``since``. Only the lists touched are copied (a few agents each)."""
    moved = dict(on.by_queue)
    oldest = dict(on.oldest_s)
    copied: set[str | None] = set()

    def own(queue_id: str | None) -> list[Agent]:
        if queue_id not in copied:
            copied.add(queue_id)
            moved[queue_id] = list(moved.get(queue_id, ()))
        return moved[queue_id]

    for a in gone:
        members = own(a.queue_id)
        i = _found(members, a)
        if i is not None:
            del members[i]
    for a in new:
        insort(own(a.queue_id), a, key=_since)
    for queue_id in copied:
        if moved[queue_id]:
            oldest[queue_id] = moved[queue_id][0].state.since.timestamp()
        else:
            del moved[queue_id], oldest[queue_id]
    return OnContact(moved, oldest)


def _found(agents: list[Agent], agent: Agent) -> int | None:
    """Where ``agent`` itself is in ``agents`` (by since), by bisection on its own
    ``since``; None if not there."""
    since, n = agent.state.since, len(agents)
    i = bisect_left(agents, since, key=_since)
    while i < n and agents[i] is not agent and agents[i].state.since == since:
        i += 1  # (others that entered a state at the same moment)
    return i if i < n and agents[i] is agent else None


def _moved_by_since(agents: list[Agent], gone: list[Agent], new: list[Agent]) -> list[Agent]:
    """A new list (one handed out earlier stays true to its snapshot): ``agents`` less
    ``gone``, with ``new`` put in at their places by ``since``. Each agent is found by
    bisection on its own ``since``; new states start now, so nearly all go in at the
    end and little is moved."""
    if len(new) + len(gone) > len(agents) // 8:  # the first poll, or a big change: one sort
        gone_ids = set(map(id, gone))
        kept = [a for a in agents if id(a) not in gone_ids]
        kept.extend(new)
        kept.sort(key=_since)
        return kept
    # The gone are found first and dropped in one pass (C): deleting each from the
    # middle of a list of 30,000 moved half of it every time (~4 ms a poll at 50,000).
    keep: bytearray | None = None
    n = len(agents)
    for a in gone:
        i = _found(agents, a)
        if i is not None:
            if keep is None:
                keep = bytearray(b"\x01") * n
            keep[i] = 0
    kept = agents.copy() if keep is None else list(compress(agents, keep))
    came = sorted(new, key=_since)
    # Those not before the last one kept go on the end as they are (nearly all: a new
    # state starts now); the rest are put in at their places.
    cut = bisect_left(came, kept[-1].state.since, key=_since) if kept else 0
    for a in came[:cut]:
        insort(kept, a, key=_since)
    kept.extend(came[cut:])
    return kept


def build_index(snapshot: Snapshot) -> SnapshotIndex:
    """A full pass, no history (tests, one-off use)."""
    return IndexBuilder().index(snapshot)
