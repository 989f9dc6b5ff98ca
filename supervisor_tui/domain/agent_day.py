"""Each agent's day as the console observes it (pure): contacts handled, handle time,
time in each state, and the recent state changes.

No platform we read reports per-agent daily totals in its live feed, so they are built
here from the agents' own state timestamps (``AgentState.since``), poll after poll:

- **Time in a state** runs from the state's ``since`` (as the source gives it, so it
  does not depend on the poll rate) to the next state's ``since``, clipped to the local
  day and to what was observed: time before the first sight of an agent, or while the
  console was not running, is not counted (``observed_s`` says how much was).
- **A contact handled** is counted when the agent is seen to finish it: the agent had
  it on contact (or in after-contact work after being seen on it) and is next seen in
  another state or on another contact. Its handle time runs from the start of the
  contact to the start of what followed, so it includes after-contact work (AHT =
  talk + hold + ACW). A contact first seen already in after-contact work is not
  counted: its talk time is unknown.
- States that begin and end between two polls are not seen; their time goes to the
  state seen before them. At a 2 s poll that is seconds a day.

Agents that do not change are the same objects from poll to poll (``sources/reuse``),
so an unchanged agent costs one identity check.
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import compress
from operator import is_not

from supervisor_tui.domain.deferred import Deferred
from supervisor_tui.domain.micros import from_micros, micros
from supervisor_tui.domain.model import Agent, AgentStateKind

HISTORY_KEPT = 20  # state changes remembered per agent, newest last

# A remembered change packed in one int: microseconds since the epoch x 8 + the kind.
# As objects (a StateChange and its datetime, ~100 B), 20 changes of 50,000 agents held
# ~100 MiB once every agent had changed 20 times (about an hour); packed, ~16 MiB.
_KINDS = tuple(AgentStateKind)
_KIND_CODE = {kind: code for code, kind in enumerate(_KINDS)}
assert len(_KINDS) <= 8


def agent_key(agent: Agent) -> str:
    """An agent id is only unique within its source."""
    return f"{agent.source}:{agent.id}"


@dataclass(frozen=True, slots=True)
class StateChange:
    kind: AgentStateKind
    reason: str | None
    since: datetime


@dataclass(slots=True)
class AgentDay:
    """One agent's totals for the day: closed states in ``seconds_in``, the current one
    timed from ``counted_from``; ``seconds_now`` adds them up to a moment.
    ``covered_until`` is set once the agent leaves the feed (their last sight) or from
    stored totals; while in the feed, ``AgentDayBook.covered_until`` says."""

    observed_since: datetime
    handled: int = 0
    handle_s: float = 0.0
    seconds_in: dict[AgentStateKind, float] = field(default_factory=dict)
    # The last HISTORY_KEPT changes, oldest first, packed (see _KINDS); their away
    # reasons beside them once the agent has had one (None until then).
    packed: array[int] = field(default_factory=lambda: array("q"), repr=False)
    reasons: list[str | None] | None = field(default=None, repr=False)
    covered_until: datetime | None = None
    # The state being timed: its kind, and since when it counts (clipped).
    current: AgentStateKind | None = None
    counted_from: datetime | None = None
    # The contact being worked: its id and when its handling began (None: not timed).
    work_contact: str | None = None
    work_began: datetime | None = None

    @property
    def history(self) -> list[StateChange]:
        """The remembered state changes, oldest first."""
        return [self._change(i) for i in range(len(self.packed))]

    def last_change(self) -> StateChange | None:
        return self._change(-1) if self.packed else None

    def _change(self, i: int) -> StateChange:
        value = self.packed[i]
        return StateChange(_KINDS[value & 7], None if self.reasons is None else self.reasons[i],
                           from_micros(value >> 3))

    @property
    def aht_s(self) -> float | None:
        return self.handle_s / self.handled if self.handled else None

    def seconds_now(self, now: datetime) -> dict[AgentStateKind, float]:
        """Time in each state today, the current one counted up to ``now``."""
        totals = dict(self.seconds_in)
        if self.current is not None and self.counted_from is not None:
            live = max(0.0, (now - self.counted_from).total_seconds())
            totals[self.current] = totals.get(self.current, 0.0) + live
        return totals

    def observed_s(self, now: datetime) -> float:
        return sum(self.seconds_now(now).values())

    def occupancy(self, now: datetime) -> float | None:
        """(on contact + ACW) / (on contact + ACW + available), None with no such time."""
        t = self.seconds_now(now)
        busy = t.get(AgentStateKind.ON_CONTACT, 0.0) + t.get(AgentStateKind.AFTER_CONTACT_WORK,
                                                             0.0)
        total = busy + t.get(AgentStateKind.AVAILABLE, 0.0)
        return busy / total if total > 0 else None


@dataclass(frozen=True, slots=True)
class SavedDay:
    """Totals written earlier today (by this console or another on the same store),
    continued from ``covered_until`` rather than counted again."""

    handled: int
    handle_s: float
    seconds_in: Mapping[AgentStateKind, float]
    observed_since: datetime
    covered_until: datetime


class AgentDayBook:
    """Every agent's day, moved on by each poll's agents."""

    def __init__(self, day_start: datetime | None = None) -> None:
        self.day_start = day_start
        self._days: dict[str, AgentDay] = {}
        self._info: dict[str, Agent] = {}  # as last seen, gone ones included
        self._in_feed: set[str] = set()  # of those, the ones in the last poll's feed
        # The last poll's agents: a new poll's are compared with them by identity
        # (held alive, so an id is never reused while it is compared).
        self._held: tuple[Agent, ...] = ()
        self._saved: dict[str, SavedDay] = {}
        #: when the last poll saw the agents in the feed
        self.seen_at: datetime | None = None
        #: agents whose totals changed since ``take_changed()`` was last called
        self._changed: set[str] = set()
        #: polls taken and not yet worked through (``catch_up``)
        self._pending: Deferred[tuple[tuple[Agent, ...], datetime, datetime,
                                      tuple[Sequence[Agent], Sequence[Agent]] | None]] = \
            Deferred(lambda poll: self._observe(*poll))

    def seed(self, saved: Mapping[str, SavedDay], now: datetime | None = None) -> None:
        """Totals already stored for today: agents first seen later continue from them.
        Not totals covering time after ``now``: they cannot be true yet (another
        console's clock ahead, or a simulator run at another speed on the same store)."""
        self.catch_up()
        self._saved.update(saved if now is None else
                           {k: v for k, v in saved.items() if v.covered_until <= now})

    def covered_until(self, key: str) -> datetime | None:
        """Up to when the figures of this agent are true: the last poll while they are in
        the feed, their last sight once gone."""
        self.catch_up()
        if key in self._in_feed:
            return self.seen_at
        day = self._days.get(key)
        return None if day is None else day.covered_until

    @property
    def held(self) -> tuple[Agent, ...]:
        """The agents of the last poll taken (what a source's changes must be from)."""
        pending = self._pending.items
        return pending[-1][0] if pending else self._held

    @property
    def days(self) -> dict[str, AgentDay]:
        """Today's figures per agent, keyed "source:id" (up to the last poll)."""
        self.catch_up()
        return self._days

    def observe(self, agents: Sequence[Agent], now: datetime, day_start: datetime,
                said: tuple[Sequence[Agent], Sequence[Agent]] | None = None) -> None:
        """Take one poll's agents. The work is done at the first read of the book or
        at ``catch_up`` (the console calls it once the poll is painted: no screen but
        the teams and an agent's detail reads these figures), each poll in turn, so
        the figures are the same as if done now. ``said``: (gone, new) objects from
        ``held`` to ``agents``, where the source says so (``changes.agents_since``):
        then not even identities are compared."""
        self._pending.add((agents if isinstance(agents, tuple) else tuple(agents), now,
                           day_start, said))

    def catch_up(self) -> None:
        """Do the polls taken since the last read."""
        self._pending.catch_up()

    def _observe(self, agents: Sequence[Agent], now: datetime, day_start: datetime,
                 said: tuple[Sequence[Agent], Sequence[Agent]] | None) -> None:
        if self.day_start != day_start:
            self._new_day(day_start)
        held = self._held
        if not held or len(held) != len(agents):
            self._observe_all(agents, now, day_start)
        elif said is None or not self._observe_said(said, now, day_start):
            # The usual poll: the same agents in the same order, a few of them new
            # objects. Only those are visited (an identity compare in C for the rest).
            self._observe_moved(agents, now, day_start)
        self._held = agents if isinstance(agents, tuple) else tuple(agents)
        self.seen_at = now

    def _observe_moved(self, agents: Sequence[Agent], now: datetime,
                       day_start: datetime) -> None:
        held = self._held
        moved = list(compress(range(len(agents)), map(is_not, agents, held)))
        if any(agents[i].id != held[i].id or agents[i].source != held[i].source
               for i in moved):  # someone left or the order changed: the general path
            self._observe_all(agents, now, day_start)
            return
        for i in moved:
            self._see(agents[i], now, day_start)

    def _observe_said(self, said: tuple[Sequence[Agent], Sequence[Agent]], now: datetime,
                      day_start: datetime) -> bool:
        """The agents the source says it replaced (new versions of the same agents);
        False, having done nothing, when someone left or joined instead."""
        gone, new = said
        if len(gone) != len(new) or {(a.source, a.id) for a in gone} != \
                {(a.source, a.id) for a in new}:
            return False
        for agent in new:
            self._see(agent, now, day_start)
        return True

    def _see(self, agent: Agent, now: datetime, day_start: datetime) -> str:
        """A new object for an agent: note what changed; its key."""
        key = agent_key(agent)
        info, in_feed = self._info, self._in_feed
        # (back in the feed after leaving it: a first sight again, not a change)
        before = info.get(key) if key in in_feed else None
        in_feed.add(key)
        # The newest object, even when equal: the one it replaces is then freed (after a
        # full re-fetch from a source, every agent would otherwise be held twice).
        info[key] = agent
        if before == agent:  # (a source building objects afresh)
            return key
        self._changed.add(key)
        day = self._days.get(key)
        if day is None:
            self._days[key] = self._first_sight(key, agent, now, day_start)
        elif before is None or before.state != agent.state or \
                before.contact_id != agent.contact_id:
            self._moved(day, agent, now, day_start)
        return key

    def _observe_all(self, agents: Sequence[Agent], now: datetime,
                     day_start: datetime) -> None:
        """Every agent by identity (the first poll, agents joining, leaving or
        reordered): an unchanged object costs one set lookup."""
        held = self._held
        held_ids = set(map(id, held))  # (the rare path: sets for it alone, not kept)
        replaced: list[str] = []
        for agent in agents:
            if id(agent) not in held_ids:  # (else the very object of the last poll)
                replaced.append(self._see(agent, now, day_start))
        now_ids = set(map(id, agents))
        if not held_ids <= now_ids:  # some of the last poll's are gone
            fresh, in_feed = set(replaced), self._in_feed
            for gone in held:
                key = agent_key(gone)
                if id(gone) in now_ids or key in fresh:
                    continue
                in_feed.discard(key)
                day = self._days.get(key)
                if day is not None and day.current is not None:
                    until = self.seen_at or now  # its last sight
                    self._close_state(day, until)
                    day.covered_until = until
                    day.current = day.counted_from = None
                    day.work_contact = day.work_began = None
                    self._changed.add(key)

    def agent(self, key: str) -> Agent | None:
        """The agent as last seen in the feed (gone ones too)."""
        self.catch_up()
        return self._info.get(key)

    def take_changed(self) -> list[str]:
        """The agents whose totals moved since the last call (what a store must write)."""
        self.catch_up()
        changed, self._changed = self._changed, set()
        return sorted(changed & self._days.keys())

    # -- inner steps ---------------------------------------------------------------

    def _new_day(self, day_start: datetime) -> None:
        self.day_start = day_start
        self._days.clear()
        self._info, self._in_feed, self._held = {}, set(), ()
        self._saved = {k: v for k, v in self._saved.items() if v.covered_until >= day_start}
        self._changed.clear()

    def _first_sight(self, key: str, agent: Agent, now: datetime,
                     day_start: datetime) -> AgentDay:
        saved = self._saved.pop(key, None)
        if saved is not None:
            day = AgentDay(observed_since=saved.observed_since, handled=saved.handled,
                           handle_s=saved.handle_s, seconds_in=dict(saved.seconds_in),
                           covered_until=saved.covered_until)
        else:
            day = AgentDay(observed_since=now)
        self._resume(day, agent, now, day_start)
        if saved is None:  # the source says since when: the current state counts from then
            day.observed_since = day.counted_from or now
        return day

    def _resume(self, day: AgentDay, agent: Agent, now: datetime, day_start: datetime) -> None:
        """Start timing an agent not timed until now: first seen, back in the feed, or
        continued from stored totals (what happened in between is not known)."""
        state = agent.state
        start = max(state.since, day_start)
        if day.covered_until is not None:
            start = max(start, day.covered_until)
        day.current = state.kind
        day.counted_from = min(start, now)
        _remember(day, state.kind, state.reason, state.since)
        ident = _contact_ident(agent)
        if state.kind is AgentStateKind.ON_CONTACT and ident is not None:
            day.work_contact, day.work_began = ident, state.since

    def _close_state(self, day: AgentDay, until: datetime) -> None:
        if day.current is None or day.counted_from is None:
            return
        spent = (until - day.counted_from).total_seconds()
        if spent > 0:
            day.seconds_in[day.current] = day.seconds_in.get(day.current, 0.0) + spent

    def _moved(self, day: AgentDay, agent: Agent, now: datetime, day_start: datetime) -> None:
        if day.current is None:  # was gone from the feed
            self._resume(day, agent, now, day_start)
            return
        state = agent.state
        # A source's clock may run behind ours or repeat a time: never count backwards.
        boundary = min(max(state.since, day.counted_from or state.since), now)
        last = day.last_change()
        if last is None or state.kind != last.kind or state.since != last.since or \
                state.reason != last.reason:
            self._close_state(day, boundary)
            day.current = state.kind
            day.counted_from = max(boundary, day_start)
            _remember(day, state.kind, state.reason, state.since)
        ident = _contact_ident(agent)
        if state.kind is AgentStateKind.ON_CONTACT:
            continuing = ident == day.work_contact
        elif state.kind is AgentStateKind.AFTER_CONTACT_WORK:
            continuing = agent.contact_id is None or agent.contact_id == day.work_contact
        else:
            continuing = False
        if day.work_contact is not None and not continuing:
            # Finished: handled from the contact's start to the start of what followed.
            if day.work_began is not None:
                day.handled += 1
                day.handle_s += max(0.0, (boundary - day.work_began).total_seconds())
            day.work_contact = day.work_began = None
        if state.kind is AgentStateKind.ON_CONTACT and not continuing and ident is not None:
            day.work_contact, day.work_began = ident, state.since


def _remember(day: AgentDay, kind: AgentStateKind, reason: str | None,
              since: datetime) -> None:
    packed = day.packed
    packed.append(micros(since) * 8 + _KIND_CODE[kind])
    reasons = day.reasons
    if reason is not None and reasons is None:
        reasons = day.reasons = [None] * (len(packed) - 1)
    if reasons is not None:
        reasons.append(reason)
    if len(packed) > HISTORY_KEPT:
        del packed[0]
        if reasons is not None:
            del reasons[0]


def _contact_ident(agent: Agent) -> str | None:
    """The contact an agent on contact works: its id, or (a source that gives none) the
    start of the contact, so two contacts in a row are still two."""
    if agent.contact_id is not None:
        return agent.contact_id
    if agent.state.kind is AgentStateKind.ON_CONTACT:
        return f"@{agent.state.since.isoformat()}"
    return None
