"""The app_queue state an AMI session keeps, fed by events, turned into snapshots.

No I/O here (the connection is in ``source.py``): messages in, a ``Snapshot`` out, so
the bookkeeping is tested and benchmarked without a socket. Three kinds of input:

- the roster from a ``QueueStatus`` resync (``QueueParams``, ``QueueMember``,
  ``QueueEntry``): ``begin_resync`` marks everything unseen, list events and live events
  mark what they name, ``finish_resync`` sweeps what nobody named (gone meanwhile);
- live events, kept incrementally: callers join and leave, members change state;
- the outcome events counted in the interval and day windows (package docstring).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.domain.model import (
    MAX_ABANDONED,
    MAX_THRESHOLD_S,
    AbandonedContact,
    Agent,
    AgentState,
    AgentStateKind,
    Contact,
    ContactState,
    Queue,
    QueueStats,
    Snapshot,
    Tier,
)
from supervisor_tui.domain.text import clean
from supervisor_tui.sources.asterisk.protocol import Message
from supervisor_tui.sources.asterisk.settings import AsteriskSettings

#: app_queue's default when queues.conf sets no servicelevel
DEFAULT_THRESHOLD_S = 20.0
#: longest plausible wait or talk time in an event (a day); longer is garbage
MAX_EVENT_SECONDS = 86_400
#: device states (QueueMember ``Status``, AST_DEVICE_*) -> what the member is doing
STATUS_NAMES = {0: "unknown", 1: "not in use", 2: "in use", 3: "busy", 4: "invalid",
                5: "unavailable", 6: "ringing", 7: "ringing, in use", 8: "on hold"}
_OFFLINE = frozenset({4, 5})  # INVALID, UNAVAILABLE: app_queue will not ring them
_BUSY = frozenset({2, 3, 6, 7, 8})  # on a call, being rung, or holding one
_EPOCH_MIN = datetime(2000, 1, 1, tzinfo=UTC).timestamp()


class Garbage(ValueError):
    """A field that cannot be what Asterisk sends: the event is ignored (and said)."""


def _text(message: Message, key: str, limit: int = 256) -> str:
    value = message.get(key, "")
    if not value or len(value) > limit:
        raise Garbage(f"{key} {'missing' if not value else 'too long'}")
    return value


def _int(message: Message, key: str, default: int | None = None, hi: int = 10**9) -> int:
    value = message.get(key, "").strip()
    if not value and default is not None:
        return default
    if not value.isascii() or not value.lstrip("-").isdigit() or len(value) > 12:
        raise Garbage(f"{key} is not a number: {clean(value, 30)!r}")
    number = int(value)
    if not 0 <= number <= hi:
        raise Garbage(f"{key} out of range: {number}")
    return number


def _flag(message: Message, key: str) -> bool:
    return message.get(key, "0").strip().casefold() in ("1", "true", "yes")


def _caller_text(value: str) -> str | None:
    """A caller id field as Asterisk fills it: "unknown" or "<unknown>" when unset."""
    value = clean(value, 80).strip()
    return None if value.casefold() in ("", "unknown", "<unknown>") else value


def _epoch(value: int, now: datetime) -> datetime | None:
    """An epoch-seconds field (LastCall, LastPause): None for 0, the past or garbage."""
    if value <= _EPOCH_MIN or value > now.timestamp() + 5:
        return None
    return datetime.fromtimestamp(value, UTC)


@dataclass
class Caller:
    """A caller waiting in a queue (``QueueEntry`` / ``QueueCallerJoin``)."""

    uniqueid: str
    queue: str
    channel: str  # the channel name Redirect needs
    entered_at: datetime
    customer: str | None
    number: str | None
    priority: int | None = None  # queue priority: only QueueEntry carries it
    seen: bool = True
    contact: Contact | None = None  # built once, kept while nothing changes


@dataclass
class Membership:
    """One member in one queue."""

    paused: bool = False
    reason: str = ""
    dynamic: bool = True  # static members cannot be removed (QueueRemove refuses)
    seen: bool = True


@dataclass
class Member:
    """A queue member (agent), keyed by its interface (``PJSIP/1001``)."""

    interface: str
    name: str
    status: int = 0
    queues: dict[str, Membership] = field(default_factory=dict)
    last_call: datetime | None = None
    last_pause: datetime | None = None
    last_queue: str | None = None  # queue of the last call (its wrap-up time applies)
    wrapup_s: float = 0.0  # the member's own Wrapuptime (0: the queue's)
    contact: str | None = None  # uniqueid of the caller it is connected to
    contact_queue: str | None = None
    connected_at: datetime | None = None
    contact_customer: str | None = None
    state_interface: str = ""
    contact_obj: Contact | None = None  # the connected contact, built once
    # what was shown last: kind, reason, since (kept across polls for time in state)
    shown: tuple[AgentStateKind, str | None, datetime] | None = None
    agent: Agent | None = None
    seen: bool = True


@dataclass
class Counts:
    """One queue's counters in one window (``QueueStats`` fields, mutable)."""

    offered: int = 0
    answered: int = 0
    answered_within_threshold: int = 0
    abandoned: int = 0
    abandoned_short: int = 0
    abandoned_after_threshold: int = 0
    wait_answered_s: float = 0.0
    handled: int = 0
    handle_s: float = 0.0
    flowed_out: int = 0


@dataclass
class Window:
    """A reporting window (interval or day) and how much of it the events covered."""

    start: datetime
    covered_from: datetime | None  # None: not listening at any moment of it yet
    gaps: list[tuple[datetime, datetime]] = field(default_factory=list)
    lost_callers: int = 0  # left while events were missed: outcome unknown, not counted
    counts: dict[str, Counts] = field(default_factory=dict)
    # the QueueStats last handed out, rebuilt only for queues whose counts changed
    built: dict[str, QueueStats] = field(default_factory=dict)
    built_from: datetime | None = None
    changed: set[str] = field(default_factory=set)

    def counter(self, queue: str) -> Counts:
        self.changed.add(queue)
        counts = self.counts.get(queue)
        if counts is None:
            counts = self.counts[queue] = Counts()
        return counts


@dataclass
class QueueInfo:
    name: str
    service_level_s: int = 0  # QueueParams ServiceLevel (0: not set in queues.conf)
    seen: bool = True
    queue: Queue | None = None


@dataclass
class _Left:
    """A caller who left the queue with no outcome yet (QueueCallerLeave comes before
    AgentConnect: app_queue leaves the queue first, then bridges)."""

    queue: str
    left_at: datetime


class AmiState:
    """Everything one AMI session knows; ``snapshot(now)`` renders it."""

    def __init__(self, name: str, policy: IntervalPolicy, settings: AsteriskSettings,
                 now: datetime) -> None:
        self.name = name
        self.policy = policy
        self.settings = settings
        self._wanted = set(settings.queues) if settings.queues is not None else None
        self.queues: dict[str, QueueInfo] = {}
        self.members: dict[str, Member] = {}
        self.callers: dict[str, Caller] = {}
        self._left: dict[str, _Left] = {}
        #: outcomes already counted, by uniqueid (an abandon is followed by its leave)
        self._settled: dict[str, datetime] = {}
        #: callers this console redirected: Asterisk may report them as abandoned
        self.moved: dict[str, datetime] = {}
        self.abandoned: deque[AbandonedContact] = deque(maxlen=MAX_ABANDONED)
        self.interval = Window(policy.interval_start(now), None)
        self._roll_until = now
        self.day = Window(policy.day_start(now), None)
        self.listening = False
        self.lost_at: datetime | None = None
        self.resyncing = False
        self._left_in_resync: set[str] = set()
        self.garbage = 0
        self.first_garbage = ""
        self._acw_until: dict[str, datetime] = {}
        self._dirty: set[str] = set()
        self._agents: dict[str, Agent] = {}
        self._queue_objs: tuple[Queue, ...] | None = None  # None: a queue changed
        self._handlers: dict[str, Callable[[Message, datetime], None]] = {
            "queuecallerjoin": self._join, "queuecallerleave": self._leave,
            "queuecallerabandon": self._abandon, "agentconnect": self._connect,
            "agentcomplete": self._complete, "agentdump": self._dump,
            "queuememberstatus": self._member_event, "queuememberpause": self._member_event,
            "queuememberpenalty": self._member_event,
            "queuememberringinuse": self._member_event,
            "queuememberadded": self._member_event, "queuememberremoved": self._removed,
            "queueparams": self._params, "queuemember": self._member_listed,
            "queueentry": self._entry,
        }

    # -- the connection's life ----------------------------------------------------------

    def begin_resync(self) -> None:
        """A QueueStatus is on its way: whatever it (or a live event) does not name by
        ``finish_resync`` is gone."""
        self.resyncing = True
        self._left_in_resync = set()
        for collection in (self.queues, self.members, self.callers):
            for item in collection.values():
                item.seen = False
        for member in self.members.values():
            for membership in member.queues.values():
                membership.seen = False

    def finish_resync(self, now: datetime) -> None:
        self.resyncing = False
        gone = [u for u, c in self.callers.items() if not c.seen]
        if not self.listening:
            # these left while no event could tell us how: their outcome is unknown
            self._lost_callers(len(gone))
        for uniqueid in gone:
            del self.callers[uniqueid]
        for qname in [q for q, info in self.queues.items() if not info.seen]:
            del self.queues[qname]
            self._queue_objs = None
        for member in list(self.members.values()):
            for qname in [q for q, m in member.queues.items() if not m.seen]:
                del member.queues[qname]
            if not member.seen or not member.queues:
                self._forget(member.interface)
            else:
                self._dirty.add(member.interface)
        self._start_listening(now)

    def connection_lost(self, now: datetime) -> None:
        """Events stop here: the data is stale until the next resync finishes."""
        if self.listening:
            self.lost_at = now
        self.listening = False
        self.resyncing = False
        # callers who left with no outcome yet may have been answered (the AgentConnect
        # was lost with the socket): not counted, like those who leave from here on
        self._lost_callers(len(self._left))
        self._left.clear()

    def _lost_callers(self, n: int) -> None:
        self.interval.lost_callers += n
        self.day.lost_callers += n

    def _start_listening(self, now: datetime) -> None:
        self._roll(now)
        for window in (self.interval, self.day):
            if window.covered_from is None:
                window.covered_from = now
            elif self.lost_at is not None and not self.listening:
                window.gaps.append((max(self.lost_at, window.start), now))
        self.listening = True
        self.lost_at = None

    # -- events -------------------------------------------------------------------------

    def apply(self, message: Message, now: datetime) -> None:
        """One AMI event (list or live). Garbage fields ignore the event and are
        counted (``notes``); unknown events are ignored."""
        handler = self._handlers.get(message.get("event", "").casefold())
        if handler is None:
            return
        queue = message.get("queue")
        if queue is not None and self._wanted is not None and queue not in self._wanted:
            return
        self._roll(now)
        try:
            handler(message, now)
        except Garbage as err:
            self.garbage += 1
            if not self.first_garbage:
                self.first_garbage = (f"{clean(message.get('event', '?'), 30)}: "
                                      f"{clean(str(err), 80)}")

    def _params(self, m: Message, now: datetime) -> None:
        name = _text(m, "queue", 80)
        info = self.queues.get(name)
        level = _int(m, "servicelevel", 0, hi=int(MAX_THRESHOLD_S))
        if info is None or info.service_level_s != level:
            info = self.queues[name] = QueueInfo(name, level)
            self._queue_objs = None
        info.seen = True

    def _ensure_queue(self, name: str) -> None:
        """A queue first heard of from a live event (added by a reload meanwhile)."""
        if name not in self.queues:
            self.queues[name] = QueueInfo(name)
            self._queue_objs = None
        self.queues[name].seen = True

    def _entry(self, m: Message, now: datetime) -> None:
        uniqueid = _text(m, "uniqueid")
        if uniqueid in self._left_in_resync:
            return  # it left (live) before this list item was read
        queue = _text(m, "queue", 80)
        wait = _int(m, "wait", 0, hi=MAX_EVENT_SECONDS)
        priority = _int(m, "priority", 0, hi=10**6)
        self._ensure_queue(queue)
        known = self.callers.get(uniqueid)
        if known is not None and known.queue == queue:
            known.seen = True
            if known.priority != priority:
                known.priority, known.contact = priority, None
            return
        self.callers[uniqueid] = Caller(
            uniqueid, queue, _text(m, "channel"), now - timedelta(seconds=wait),
            _caller_text(m.get("calleridname", "")), _caller_text(m.get("calleridnum", "")),
            priority)

    def _join(self, m: Message, now: datetime) -> None:
        uniqueid, queue = _text(m, "uniqueid"), _text(m, "queue", 80)
        self._ensure_queue(queue)
        self._left_in_resync.discard(uniqueid)
        # the same call in another queue (the dialplan went on to Queue(other), or this
        # console moved it): it flowed out of the first, and is a new caller here
        left = self._left.pop(uniqueid, None)
        if left is not None:
            self._count(left.queue, "flowed", 0.0)
        self._settled.pop(uniqueid, None)
        self.moved.pop(uniqueid, None)
        self.callers[uniqueid] = Caller(
            uniqueid, queue, _text(m, "channel"), now,
            _caller_text(m.get("calleridname", "")), _caller_text(m.get("calleridnum", "")))

    def _leave(self, m: Message, now: datetime) -> None:
        uniqueid, queue = _text(m, "uniqueid"), _text(m, "queue", 80)
        self.callers.pop(uniqueid, None)
        if self.resyncing:
            self._left_in_resync.add(uniqueid)
        if uniqueid not in self._settled:
            self._left[uniqueid] = _Left(queue, now)

    def _abandon(self, m: Message, now: datetime) -> None:
        uniqueid, queue = _text(m, "uniqueid"), _text(m, "queue", 80)
        wait = float(_int(m, "holdtime", hi=MAX_EVENT_SECONDS))
        caller = self.callers.pop(uniqueid, None)
        self._left.pop(uniqueid, None)
        if uniqueid in self._settled:
            return
        self._settled[uniqueid] = now
        if uniqueid in self.moved:
            # Redirect ends Queue() the way a hang-up does: app_queue calls it abandoned
            self._count(queue, "flowed", 0.0)
            return
        self._count(queue, "abandoned", wait)
        settings = self.settings.queue(queue)
        number = caller.number if caller else _caller_text(m.get("calleridnum", ""))
        customer = caller.customer if caller else _caller_text(m.get("calleridname", ""))
        self.abandoned.append(AbandonedContact(
            id=uniqueid, queue_id=queue, channel=settings.channel,
            tier=self._tier(caller.priority if caller else None), customer=customer,
            handle=number, waited_s=min(wait, MAX_THRESHOLD_S), abandoned_at=now,
            short=wait < settings.short_abandon_s, source=self.name))

    def _connect(self, m: Message, now: datetime) -> None:
        uniqueid, queue = _text(m, "uniqueid"), _text(m, "queue", 80)
        interface = _text(m, "interface")
        wait = float(_int(m, "holdtime", hi=MAX_EVENT_SECONDS))
        caller = self.callers.pop(uniqueid, None)
        self._left.pop(uniqueid, None)
        if uniqueid not in self._settled:
            self._settled[uniqueid] = now
            self._count(queue, "answered", wait)
        member = self.members.get(interface)
        if member is not None:
            member.contact, member.contact_queue, member.connected_at = uniqueid, queue, now
            member.contact_obj = None
            member.contact_customer = (caller.customer or caller.number) if caller else \
                _caller_text(m.get("calleridname", "")) or _caller_text(
                    m.get("calleridnum", ""))
            self._dirty.add(interface)

    def _complete(self, m: Message, now: datetime) -> None:
        queue, interface = _text(m, "queue", 80), _text(m, "interface")
        talk = float(_int(m, "talktime", hi=MAX_EVENT_SECONDS))
        for window in (self.interval, self.day):
            counts = window.counter(queue)
            counts.handled += 1
            counts.handle_s += talk
        self._end_call(interface, queue, now)

    def _dump(self, m: Message, now: datetime) -> None:
        self._end_call(_text(m, "interface"), _text(m, "queue", 80), now)

    def _end_call(self, interface: str, queue: str, now: datetime) -> None:
        member = self.members.get(interface)
        if member is None:
            return
        member.contact = member.contact_queue = member.connected_at = None
        member.contact_customer, member.contact_obj = None, None
        member.last_call, member.last_queue = now, queue
        self._dirty.add(interface)

    def _member_event(self, m: Message, now: datetime) -> None:
        self._member(m, now, m.get("membername", ""), _text(m, "interface"))

    def _member_listed(self, m: Message, now: datetime) -> None:
        # QueueStatus's QueueMember names them Name and Location
        self._member(m, now, m.get("name", ""), _text(m, "location"))

    def _member(self, m: Message, now: datetime, name: str, interface: str) -> None:
        queue = _text(m, "queue", 80)
        status = _int(m, "status", 0, hi=99)
        paused = _flag(m, "paused")
        wrapup = _int(m, "wrapuptime", 0, hi=MAX_EVENT_SECONDS)
        last_call = _epoch(_int(m, "lastcall", 0, hi=2**40), now)
        last_pause = _epoch(_int(m, "lastpause", 0, hi=2**40), now)
        self._ensure_queue(queue)
        member = self.members.get(interface)
        if member is None:
            member = self.members[interface] = Member(interface, clean(name or interface, 80))
        member.seen = True
        member.name = clean(name or interface, 80)
        member.status, member.wrapup_s = status, float(wrapup)
        if last_call is not None and (member.last_call is None or last_call > member.last_call):
            member.last_call = last_call
        if last_pause is not None:
            member.last_pause = last_pause
        member.state_interface = clean(m.get("stateinterface", ""), 256)
        if member.contact is not None and status not in _BUSY and self.resyncing:
            # the call ended while events were missed
            member.contact = member.contact_queue = member.connected_at = None
            member.contact_obj = None
        membership = member.queues.setdefault(queue, Membership())
        membership.seen = True
        membership.paused = paused
        membership.reason = clean(m.get("pausedreason", ""), 40).strip() if paused else ""
        membership.dynamic = m.get("membership", "dynamic").casefold() != "static"
        self._dirty.add(interface)

    def _removed(self, m: Message, now: datetime) -> None:
        queue, interface = _text(m, "queue", 80), _text(m, "interface")
        member = self.members.get(interface)
        if member is None:
            return
        member.queues.pop(queue, None)
        if member.queues:
            self._dirty.add(interface)
        else:
            self._forget(interface)

    def _forget(self, interface: str) -> None:
        self.members.pop(interface, None)
        self._agents.pop(interface, None)
        self._acw_until.pop(interface, None)
        self._dirty.discard(interface)

    # -- counting -----------------------------------------------------------------------

    def threshold(self, queue: str) -> float:
        configured = self.settings.queue(queue).threshold_s
        if configured is not None:
            return configured
        info = self.queues.get(queue)
        return float(info.service_level_s) if info and info.service_level_s else \
            DEFAULT_THRESHOLD_S

    def _count(self, queue: str, outcome: str, wait: float) -> None:
        """One caller left ``queue``: answered, abandoned or flowed out, in both windows
        (offered = answered + abandoned + flowed out, by construction)."""
        threshold = self.threshold(queue)
        short_s = self.settings.queue(queue).short_abandon_s
        for window in (self.interval, self.day):
            c = window.counter(queue)
            c.offered += 1
            if outcome == "answered":
                c.answered += 1
                c.wait_answered_s += wait
                c.answered_within_threshold += wait <= threshold
            elif outcome == "abandoned":
                c.abandoned += 1
                short = wait < short_s
                c.abandoned_short += short
                c.abandoned_after_threshold += (not short) and wait > threshold
            else:
                c.flowed_out += 1

    def _settle_left(self, now: datetime) -> None:
        """Callers who left with no answer or abandon within settle_s: flowed out
        (timeout, exit key, leavewhenempty, a Redirect elsewhere)."""
        cutoff = now - timedelta(seconds=self.settings.settle_s)
        for uniqueid, left in list(self._left.items()):
            if left.left_at <= cutoff:
                del self._left[uniqueid]
                self._settled[uniqueid] = now
                self._count(left.queue, "flowed", 0.0)
        # an outcome is followed by its other events within seconds: forget old ones
        horizon = now - timedelta(seconds=max(60.0, 4 * self.settings.settle_s))
        if len(self._settled) > 1000:
            self._settled = {u: t for u, t in self._settled.items() if t > horizon}
        if len(self.moved) > 100:
            self.moved = {u: t for u, t in self.moved.items() if t > horizon}

    def _roll(self, now: datetime) -> None:
        # every event asks: the zone arithmetic runs at most once a second, and at once
        # when the interval's (real-time) length has passed
        if now < self._roll_until:
            return
        self._roll_until = min(now + timedelta(seconds=1),
                               self.interval.start + timedelta(minutes=self.policy.minutes))
        start = self.policy.interval_start(now)
        if start != self.interval.start:
            self.interval = Window(start, start if self.listening else None)
        day = self.policy.day_start(now)
        if day != self.day.start:
            self.day = Window(day, day if self.listening else None)
            self.garbage, self.first_garbage = 0, ""  # notes speak of today

    # -- rendering ----------------------------------------------------------------------

    def _tier(self, priority: int | None) -> Tier:
        if priority is None:
            return Tier.STANDARD
        best = Tier.STANDARD
        for tier in (Tier.GOLD, Tier.VIP):
            floor = self.settings.tier_by_priority.get(tier)
            if floor is not None and priority >= floor:
                best = tier
        return best

    def _agent_state(self, member: Member, now: datetime
                     ) -> tuple[AgentStateKind, str | None, datetime | None]:
        """(kind, reason, since if the events say) for a member, from its device state,
        its pauses (in every queue: away; in some only: still routable) and wrap-up."""
        if member.status in _OFFLINE:
            return AgentStateKind.OFFLINE, None, None
        if member.contact is not None or member.status in _BUSY:
            return AgentStateKind.ON_CONTACT, None, member.connected_at
        memberships = member.queues.values()
        if memberships and all(m.paused for m in memberships):
            reason = next((m.reason for m in memberships if m.reason), "") or "paused"
            return AgentStateKind.AWAY, reason, member.last_pause
        wrapup = member.wrapup_s or (self.settings.queue(member.last_queue).wrapup_s
                                     if member.last_queue else 0.0)
        if wrapup and member.last_call is not None:
            until = member.last_call + timedelta(seconds=wrapup)
            if now < until:
                self._acw_until[member.interface] = until
                return AgentStateKind.AFTER_CONTACT_WORK, None, member.last_call
        return AgentStateKind.AVAILABLE, None, None

    def _agent(self, member: Member, now: datetime) -> Agent:
        kind, reason, since = self._agent_state(member, now)
        shown = member.shown
        if since is None:
            # no event says since when: from when this state was first shown
            since = shown[2] if shown is not None and shown[:2] == (kind, reason) else now
        member.shown = (kind, reason, since)
        contact = member.contact if kind == AgentStateKind.ON_CONTACT else None
        previous = member.agent
        if previous is not None and previous.name == member.name \
                and previous.state.kind == kind and previous.state.reason == reason \
                and previous.state.since == since and previous.contact_id == contact \
                and previous.skills == tuple(member.queues) \
                and previous.queue_id == (member.contact_queue if contact else None):
            return previous  # unchanged: the same object (the console's index skips it)
        member.agent = Agent(id=member.interface, name=member.name,
                             state=AgentState(kind=kind, since=since, reason=reason),
                             skills=tuple(member.queues), contact_id=contact,
                             queue_id=member.contact_queue if contact else None,
                             source=self.name)
        return member.agent

    def _queue(self, info: QueueInfo) -> Queue:
        settings = self.settings.queue(info.name)
        threshold = self.threshold(info.name)
        if info.queue is None or info.queue.threshold_s != threshold:
            info.queue = Queue(id=info.name, name=clean(settings.name or info.name, 80),
                               channel=settings.channel, sl_target=settings.sl_target,
                               threshold_s=threshold,
                               short_abandon_s=min(settings.short_abandon_s, threshold),
                               source=self.name)
        return info.queue

    def _queues(self) -> tuple[Queue, ...]:
        if self._queue_objs is None:
            self._queue_objs = tuple(self._queue(q) for q in self.queues.values())
        return self._queue_objs

    def _contact(self, caller: Caller) -> Contact:
        if caller.contact is None:
            caller.contact = Contact(
                id=caller.uniqueid, queue_id=caller.queue,
                channel=self.settings.queue(caller.queue).channel,
                tier=self._tier(caller.priority), entered_at=caller.entered_at,
                customer=caller.customer or caller.number, source=self.name)
        return caller.contact

    def _stats(self, window: Window) -> dict[str, QueueStats]:
        if window.covered_from is None:
            return {}
        start = max(window.start, window.covered_from)
        if start != window.built_from:
            window.built, window.built_from = {}, start
        built = window.built
        zero = Counts()
        # every queue, zeros included: a quiet queue heard for the whole window had no
        # calls, which is not the same as no data
        for q in self.queues:
            if q in window.changed or q not in built:
                built[q] = QueueStats.trusted(
                    queue_id=q, window_start=start, **vars(window.counts.get(q, zero)))
        window.changed.clear()
        if len(built) != len(self.queues):
            for q in [q for q in built if q not in self.queues]:
                del built[q]
        return dict(built)  # a copy: a snapshot never changes after it is handed out

    def snapshot(self, now: datetime) -> Snapshot:
        """The state now (raise nothing: the source decides whether it is live)."""
        self._roll(now)
        self._settle_left(now)
        for interface, until in list(self._acw_until.items()):
            if until <= now:
                del self._acw_until[interface]
                self._dirty.add(interface)
        for interface in self._dirty:
            member = self.members.get(interface)
            if member is not None:
                self._agents[interface] = self._agent(member, now)
        self._dirty.clear()
        day_start = self.day.start
        connected = [self._connected_contact(m) for m in self.members.values()
                     if m.contact is not None and m.connected_at is not None]
        return Snapshot.model_construct(
            taken_at=now, interval_start=self.interval.start, day_start=day_start,
            queues=self._queues(),
            interval_stats=self._stats(self.interval), day_stats=self._stats(self.day),
            agents=tuple(self._agents.values()),
            contacts=tuple(self._contact(c) for c in self.callers.values()) + tuple(connected),
            queue_live={}, health={}, clock_rate=1.0,
            abandoned=tuple(a for a in self.abandoned if a.abandoned_at >= day_start))

    def _connected_contact(self, member: Member) -> Contact:
        if member.contact_obj is None:
            queue = member.contact_queue or ""
            assert member.contact is not None and member.connected_at is not None
            member.contact_obj = Contact(
                id=member.contact, queue_id=queue, channel=self.settings.queue(queue).channel,
                entered_at=member.connected_at, state=ContactState.CONNECTED,
                agent_id=member.interface, customer=member.contact_customer,
                source=self.name)
        return member.contact_obj

    # -- what the console should know ---------------------------------------------------

    def coverage_notes(self) -> list[str]:
        """How much of the interval and the day the counts cover (a sample otherwise)."""
        notes = []
        zone = self.policy.zone
        for label, window in (("interval", self.interval), ("day", self.day)):
            if window.covered_from is None:
                continue
            if window.covered_from > window.start:
                notes.append(f"{label} counts from {window.covered_from.astimezone(zone):%H:%M:%S}"
                             " only (connected mid-" + label + "): a sample")
            if window.gaps:
                missed = sum((b - a).total_seconds() for a, b in window.gaps)
                first = window.gaps[0][0].astimezone(zone)
                notes.append(f"{label} counts miss {math.ceil(missed)} s of events (AMI "
                             f"disconnected, first at {first:%H:%M:%S}): a sample")
            if window.lost_callers:
                notes.append(f"{label}: {window.lost_callers} caller(s) left while events "
                             "were missed: outcome unknown, not counted")
        return notes

    def moved_caller(self, uniqueid: str, now: datetime) -> None:
        """This console redirected the caller: its coming 'abandon' is a flow out."""
        self.moved[uniqueid] = now
