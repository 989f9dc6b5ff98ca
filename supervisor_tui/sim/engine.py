"""Discrete-event contact-centre engine.

Time is a float of seconds since ``epoch`` (datetimes are made only at the edges, for
bucketing and snapshots). One heap of events ``(time, seq, kind, obj, tag)``; ``seq``
keeps ties in scheduling order so a seed always replays the same run.

Routing is skills-based and work-conserving:

* a new contact goes to the longest-idle available agent who has its queue as a skill;
* an agent who frees up takes, across their skills, the highest-tier waiting contact
  (vip > gold > standard); between equal tiers their earlier skill wins (skill order is
  preference), and within a queue the longest-waiting contact.

No operation scans all agents: each queue keeps a heap of waiting contacts and a heap
of available agents, both with lazy deletion (an entry is valid only while its
``seq`` still matches the object's), compacted when stale entries pile up.

Counters follow ``model.QueueStats`` and the counting rule of docs/metrics.md: a contact
counts once per queue, in the interval in which it *left* that queue — answered,
abandoned, or flowed out (moved to another queue) — so offered = answered + abandoned +
flowed out in every window, and contacts still waiting are counted apart. Handled and
handle time count when after-contact work ends. Each lands in the bucket of the interval
(``IntervalPolicy``) in which it happened.

``journal``, when a list is given, receives one raw record per contact leaving a queue
(queue id, outcome, entered, left): tests recompute every window from it independently.
"""

from __future__ import annotations

import bisect
import heapq
import math
import os
import random
from collections import OrderedDict, deque
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

from supervisor_tui.domain.agent_control import AVAILABLE as AVAILABLE_
from supervisor_tui.domain.agent_control import END_ACW, LOGOUT, parse_state
from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.domain.model import (
    MAX_ABANDONED,
    ActionCode,
    AgentStateKind,
    Channel,
    ContactFlag,
    ContactState,
    Tier,
)
from supervisor_tui.sim.config import HandleTimeDist, QueueConfig, Scenario, SimulatorConfig

# Agent states as small ints on the hot path; AGENT_KINDS maps them to the model enum.
AVAILABLE, ON_CONTACT, ACW, AWAY, OFFLINE = range(5)
AGENT_KINDS = (AgentStateKind.AVAILABLE, AgentStateKind.ON_CONTACT,
               AgentStateKind.AFTER_CONTACT_WORK, AgentStateKind.AWAY, AgentStateKind.OFFLINE)

# Contact states; the first three map onto model.ContactState, the last two are ended.
WAITING, CONNECTED, WRAP_UP, DONE, ABANDONED = range(5)
CONTACT_STATES = (ContactState.WAITING, ContactState.CONNECTED, ContactState.WRAP_UP)

STANDARD, GOLD, VIP = range(3)
TIERS = (Tier.STANDARD, Tier.GOLD, Tier.VIP)

# Counter slots, in model.QueueStats field order.
(OFFERED, ANSWERED, ANSWERED_WITHIN, ABANDONED_, ABANDONED_SHORT, ABANDONED_AFTER,
 WAIT_ANSWERED_S, HANDLED, HANDLE_S, FLOWED_OUT) = range(10)
COUNTER_FIELDS = ("offered", "answered", "answered_within_threshold", "abandoned",
                  "abandoned_short", "abandoned_after_threshold", "wait_answered_s",
                  "handled", "handle_s", "flowed_out")
N_COUNTERS = len(COUNTER_FIELDS)

_ARRIVAL, _REDRAW, _ABANDON, _END_TALK, _END_ACW, _END_BREAK, _SEGMENT, _ROUTABLE = range(8)
_CURVE_STEP_S = 900.0  # the intraday curve is piecewise constant per quarter hour
_ENDED_MEMORY = 20_000  # ended contacts remembered, to explain a late action plainly


@dataclass(slots=True)
class SimAbandon:
    """One abandon of today: the contact, how long it waited, and the call-back made
    for it (``callback``: the new contact an agent will call the customer back on)."""

    contact: SimContact
    waited: float
    at: float
    short: bool
    callback: SimContact | None = None
    ver: int = 0
    model: Any = None
    model_ver: int = -1


class SimQueue:
    __slots__ = ("acw_s", "available", "base_rate", "channel", "defer_s", "gen", "gold", "id",
                 "idx",
                 "inv_talk", "lognormal", "mu", "n_skilled", "n_waiting", "name",
                 "patience_s", "rate", "short_abandon_s", "sigma", "sl_target",
                 "threshold_s", "vip", "waiting")

    def __init__(self, idx: int, cfg: QueueConfig) -> None:
        self.idx = idx
        self.id = cfg.id
        self.name = cfg.name
        self.channel: Channel = cfg.channel
        self.sl_target = cfg.sl_target
        self.threshold_s = cfg.threshold_s
        self.short_abandon_s = cfg.short_abandon_s
        self.base_rate = cfg.arrivals_per_hour / 3600.0
        self.rate = self.base_rate  # with the scenario factor, before the curve
        talk = cfg.aht_s - cfg.acw_s
        self.inv_talk = 1.0 / talk
        self.lognormal = cfg.handle_time == HandleTimeDist.LOGNORMAL
        # Lognormal with mean `talk` and coefficient of variation cv.
        self.sigma = math.sqrt(math.log1p(cfg.handle_time_cv ** 2))
        self.mu = math.log(talk) - self.sigma ** 2 / 2
        self.acw_s = cfg.acw_s
        self.patience_s = cfg.patience_s
        self.defer_s = cfg.defer_s
        self.vip = cfg.tiers.vip
        self.gold = cfg.tiers.gold
        self.gen = 0  # bumped when the arrival rate changes: stale arrival events skip
        # (-tier, entered, seq, contact): best tier first, then longest wait
        self.waiting: list[tuple[int, float, int, SimContact]] = []
        self.n_waiting = 0  # waiting in this queue, deferred ones included
        # (idle since, seq, agent): longest idle first
        self.available: list[tuple[float, int, SimAgent]] = []
        self.n_skilled = 0


class SimAgent:
    __slots__ = ("acct_since", "avail_seq", "break_seq", "contact", "id", "idx", "kind",
                 "model", "model_ver", "name", "off_shift", "outage", "reason", "since",
                 "skill_ids", "skills", "team", "ver")

    def __init__(self, idx: int, id: str, name: str, team: str,
                 skills: tuple[SimQueue, ...]) -> None:
        self.idx = idx
        self.id = id
        self.name = name
        self.team = team
        self.skills = skills
        self.skill_ids = tuple(q.id for q in skills)
        self.kind = OFFLINE
        self.since = 0.0
        self.acct_since = 0.0  # last time its state time was added to the totals
        self.reason: str | None = None
        self.contact: SimContact | None = None
        self.avail_seq = -1
        self.break_seq = 0
        self.outage = False  # picked to drop offline by the outage scenario
        self.off_shift = False  # rostered off while the intraday curve is low
        self.ver = 0  # bumped on every visible change; snapshot caches compare it
        self.model: Any = None  # cached model.Agent / model.Contact for snapshots
        self.model_ver = -1


class SimContact:
    __slots__ = ("abandon_scheduled", "agent", "answered_at", "arrived", "channel", "ended_at",
                 "entered", "flags", "heap_seq", "id", "model", "model_ver", "n", "origin",
                 "queue", "state", "tier", "ver")

    def __init__(self, n: int, queue: SimQueue, t: float, tier: int,
                 flags: tuple[ContactFlag, ...]) -> None:
        self.n = n
        self.id = f"c{n}"
        self.queue = queue
        self.channel = queue.channel  # a contact keeps its channel when moved
        self.tier = tier
        self.flags = flags
        self.arrived = t
        self.entered = t  # entered the current queue
        self.state = WAITING
        self.agent: SimAgent | None = None
        self.answered_at = 0.0
        self.ended_at = 0.0
        self.heap_seq = -1
        self.abandon_scheduled = False
        self.origin = n  # the customer's number: a call-back keeps its abandon's
        self.ver = 0
        self.model: Any = None  # cached model.Agent / model.Contact for snapshots
        self.model_ver = -1


@dataclass(frozen=True, slots=True)
class ActionOutcome:
    """What an action did, in words fit for the screen; ``code`` is for programs."""

    ok: bool
    code: ActionCode
    message: str


def quarter_hour_curve(hourly: Sequence[float]) -> list[float]:
    """96 quarter-hour factors, linear between hourly values taken at mid-hour."""
    curve = []
    for k in range(96):
        x = (k + 0.5) / 4 - 0.5  # hours past the first mid-hour point
        lo = math.floor(x)
        frac = x - lo
        curve.append(hourly[lo % 24] * (1 - frac) + hourly[(lo + 1) % 24] * frac)
    return curve


def _zeros(n: int) -> list[list[float]]:
    return [[0.0] * N_COUNTERS for _ in range(n)]


class Engine:
    """A seeded, accelerable simulation of one contact centre."""

    def __init__(self, config: SimulatorConfig, policy: IntervalPolicy, epoch: datetime,
                 seed: int | None = None, *, initial_away: bool = True) -> None:
        if epoch.tzinfo is None:
            raise ValueError("epoch must be timezone-aware")
        seed = config.seed if seed is None else seed
        self.seed: int = int.from_bytes(os.urandom(4), "big") if seed is None else seed
        self.journal: list[tuple[str, str, float, float]] | None = None
        self.rng = random.Random(self.seed)
        self.config = config
        self.policy = policy
        self._zone = policy.zone
        self.epoch = epoch.astimezone(UTC)
        self.now = 0.0
        self.events_processed = 0
        self._heap: list[tuple[float, int, int, Any, int]] = []
        self._seq = count()
        self._contact_no = count(1)

        self.queues = [SimQueue(i, q) for i, q in enumerate(config.queues)]
        self.queue_by_id = {q.id: q for q in self.queues}
        self.agents: list[SimAgent] = []
        for i, spec in enumerate(config.expand_agents()):
            skills = tuple(self.queue_by_id[s] for s in dict.fromkeys(spec.skills))
            for q in skills:
                q.n_skilled += 1
            self.agents.append(SimAgent(i, spec.id or f"a{i + 1:03d}", spec.name, spec.team,
                                        skills))
        self.agent_by_id = {a.id: a for a in self.agents}
        self._live: dict[str, SimContact] = {}  # waiting and in progress
        # Agents (by index) and contacts changed since each snapshot builder last looked
        # (``watch``), so it rebuilds those instead of reading all 50,000 agents'
        # versions; nothing is kept without a builder (``simulate`` has none).
        self._agent_watch: list[set[int]] = []
        self._contact_watch: list[dict[str, SimContact]] = []
        self._ended: OrderedDict[str, SimContact] = OrderedDict()
        # Today's abandons, newest last: the last MAX_ABANDONED (cleared at midnight).
        self.abandons: deque[SimAbandon] = deque(maxlen=MAX_ABANDONED)
        self._abandon_by_id: dict[str, SimAbandon] = {}
        self.abandons_ver = 0  # bumped on any change to the list (snapshot cache)
        self.broadcasts: deque[tuple[float, str]] = deque(maxlen=100)
        self._broadcast_keys: dict[str, None] = {}  # insertion-ordered, bounded
        # A platform's emergency group (Genesys: Architect emergency groups): while it is
        # on, a new voice call hears the emergency message and ends in the IVR, never
        # entering a queue, so it is not offered to one (counted here instead).
        self.emergency_group: str | None = None
        self.emergency_since: float | None = None
        self.emergency_diverted = 0  # voice calls that heard the message since switched on

        # Agent time per state since the last reset_totals() (occupancy).
        self._state_time = [0.0] * len(AGENT_KINDS)

        # Counters: per-interval buckets of the current day; the current one is _cur.
        self._nq = len(self.queues)
        # Rows 0..nq-1 are the queues; row nq + 3*q + tier is queue q's contacts of that
        # tier (the same counting rule, so a queue's tiers add up to its row exactly).
        self._nrows = 4 * self._nq
        self.buckets: dict[datetime, list[list[float]]] = {}
        self._cur: list[list[float]] = _zeros(self._nrows)
        self._ival_key: datetime | None = None
        self._day_key: datetime | None = None
        self._day_closed = _zeros(self._nrows)  # closed intervals of the current day
        self._all_closed = _zeros(self._nrows)  # every closed interval (for totals)
        self._totals_base = _zeros(self._nrows)
        self._bucket_end = -math.inf
        self._day_end = -math.inf
        self.stats_ver = [0] * self._nq  # bumped per queue on any counter change
        # Contacts that found an agent on entering a queue (cumulative): P(wait) = 1 - this.
        self.answered_at_once = [0] * self._nq
        self._roll(0.0)

        prof = config.profile
        self._curve = quarter_hour_curve(prof)
        self._curve_on = any(f != 1.0 for f in prof)
        self._seg_end = -math.inf if self._curve_on else math.inf
        self._seg_factor = 1.0
        # Staff to the curve: the logged-in share follows it, so the centre is as busy
        # at 3 am as at 10 am. Members leave team by team in turn (stratified order).
        self._roster_on = config.staff_to_curve and self._curve_on
        self._peak = max(self._curve)
        self._on_shift = len(self.agents)
        teams: dict[str, list[SimAgent]] = {}
        for a in self.agents:
            teams.setdefault(a.team, []).append(a)
        keys = {a.idx: (k + self.rng.random()) / len(members)
                for members in teams.values() for k, a in enumerate(members)}
        self._shift_order = sorted(self.agents, key=lambda a: keys[a.idx])

        breaks = config.breaks
        self._break_p = breaks.probability if breaks.enabled else 0.0
        total_w = sum(r.weight for r in breaks.reasons)
        self._break_cum: list[float] = []
        acc = 0.0
        for r in breaks.reasons:
            acc += r.weight / total_w
            self._break_cum.append(acc)
        self._break_reasons = [(r.reason, r.mean_s) for r in breaks.reasons]

        self.scenario = Scenario.NORMAL
        self._handle_factor = 1.0
        self._flag_p = (0.0, 0.0, 0.0)
        self._apply_scenario(Scenario(config.scenario), initial=True)
        if self._curve_on:
            self._update_segment(0.0)
        for q in self.queues:
            self._schedule_arrival(q, 0.0)
        self._start_agents(initial_away)

    # ------------------------------------------------------------------ time

    def at(self, t: float) -> datetime:
        """The datetime (UTC) of engine time ``t``."""
        return self.epoch + timedelta(seconds=t)

    def seconds(self, when: datetime) -> float:
        return (when - self.epoch).total_seconds()

    @property
    def now_dt(self) -> datetime:
        return self.at(self.now)

    def advance(self, to: datetime) -> None:
        """Process every event up to ``to``; the clock never runs backwards."""
        self.run_until(self.seconds(to))

    def run_until(self, t_end: float) -> None:
        heap = self._heap
        pop = heapq.heappop
        processed = 0
        while heap and heap[0][0] <= t_end:
            t, _, kind, obj, tag = pop(heap)
            processed += 1
            self.now = t
            if t >= self._bucket_end:
                self._roll(t)
            # Most frequent kinds first; stale events (old rate, ended wait) are skipped.
            if kind == _END_TALK:
                self._end_talk(obj, t)
            elif kind == _ARRIVAL:
                if tag == obj.gen:
                    self._arrive(obj, t)
            elif kind == _ABANDON:
                if obj.state == WAITING:
                    self._abandon(obj, t)
            elif kind == _END_ACW:
                if obj.kind == ACW and obj.contact is not None and obj.contact.n == tag:
                    self._finish(obj, t)  # (else a supervisor ended this ACW already)
            elif kind == _REDRAW:
                if tag == obj.gen:
                    self._schedule_arrival(obj, t)
            elif kind == _END_BREAK:
                if obj.kind == AWAY and obj.break_seq == tag:
                    self._back_from_break(obj, t)
            elif kind == _ROUTABLE:
                if obj.state == WAITING and obj.heap_seq < 0 and obj.queue.idx == tag:
                    obj.queue.n_waiting -= 1
                    self._route_new(obj, obj.queue, t)
            elif t >= self._seg_end:  # _SEGMENT, unless an arrival already moved it on
                self._update_segment(t)
        self.events_processed += processed
        if t_end > self.now:
            self.now = t_end
            if t_end >= self._bucket_end:
                self._roll(t_end)

    def _push(self, t: float, kind: int, obj: object, tag: int = 0) -> None:
        heapq.heappush(self._heap, (t, next(self._seq), kind, obj, tag))

    # -------------------------------------------------------------- counters

    def _roll(self, t: float) -> None:
        """Move the counters to the interval (and day) that ``t`` falls in."""
        when = self.at(t)
        # Keys in UTC: two local datetimes of one zone compare equal across a DST fold
        # (Python ignores fold there), which would merge a repeated hour's intervals.
        ikey = self.policy.interval_start(when).astimezone(UTC)
        dkey = self.policy.day_start(when).astimezone(UTC)
        if dkey != self._day_key:
            # A new day: keep only today's buckets so memory stays bounded for weeks.
            self.buckets = {k: v for k, v in self.buckets.items() if k >= dkey}
            if self._day_key is not None:  # today's abandons only
                self.abandons.clear()
                self._abandon_by_id.clear()
                self.abandons_ver += 1
            self._day_closed = _zeros(self._nrows)
            self._day_key = dkey
            self._day_end = self.seconds(self.policy.day_start(dkey + timedelta(hours=26)))
        if ikey != self._ival_key:
            if self._ival_key is not None:
                _add_into(self._all_closed, self._cur)
                if self._ival_key >= dkey:
                    _add_into(self._day_closed, self._cur)
            cur = self.buckets.get(ikey)
            if cur is None:
                cur = self.buckets[ikey] = _zeros(self._nrows)
            else:
                # Re-entering a bucket (a repeated DST hour): it will be closed again.
                _sub_from(self._all_closed, cur)
                _sub_from(self._day_closed, cur)
            self._cur = cur
            self._ival_key = ikey
            for i in range(self._nq):
                self.stats_ver[i] += 1
        self._bucket_end = min(self.seconds(self._next_boundary(when, ikey)), self._day_end)

    def _next_boundary(self, when: datetime, ikey: datetime) -> datetime:
        """The first whole UTC minute after ``when`` in another interval than ``ikey``.
        Searched, not added: around a DST change an interval lasts longer or shorter than
        its minutes (Lord Howe's 01:00-02:00 lasts 90 minutes the night clocks go back
        30), and boundaries are always on whole minutes (every UTC offset is)."""
        u = when.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
        for _ in range(self.policy.minutes + 120):
            if self.policy.interval_start(u).astimezone(UTC) != ikey:
                return u
            u += timedelta(minutes=1)
        return u

    @property
    def interval_key(self) -> datetime:
        assert self._ival_key is not None
        return self._ival_key

    @property
    def day_key(self) -> datetime:
        assert self._day_key is not None
        return self._day_key

    def interval_counters(self, qidx: int) -> list[float]:
        """Live counters of queue ``qidx`` in the current interval (do not mutate)."""
        return self._cur[qidx]

    def day_counters(self, qidx: int) -> list[float]:
        closed, cur = self._day_closed[qidx], self._cur[qidx]
        return [a + b for a, b in zip(closed, cur, strict=True)]

    def tier_row(self, qidx: int, tier: int) -> int:
        """The counter row of queue ``qidx``'s contacts of ``tier`` (STANDARD/GOLD/VIP)."""
        return self._nq + 3 * qidx + tier

    def counters(self, queue_id: str, window: str = "interval") -> dict[str, float]:
        """Counters of one queue by name: window is "interval", "day" or "total"."""
        qidx = self.queue_by_id[queue_id].idx
        if window == "interval":
            values = list(self._cur[qidx])
        elif window == "day":
            values = self.day_counters(qidx)
        elif window == "total":
            values = self.totals()[qidx]
        else:
            raise ValueError(f"unknown window {window!r}")
        return dict(zip(COUNTER_FIELDS, values, strict=True))

    def totals(self) -> list[list[float]]:
        """Per-queue counters since the last ``reset_totals()`` (or the start)."""
        nq = self._nq  # (the queues' rows, not their tier rows)
        return [[c + u - b for c, u, b in zip(closed, cur, base, strict=True)]
                for closed, cur, base in zip(self._all_closed[:nq], self._cur[:nq],
                                             self._totals_base[:nq], strict=True)]

    def reset_totals(self) -> None:
        """Start measuring afresh from now (after a warm-up)."""
        self._totals_base = [[c + u for c, u in zip(closed, cur, strict=True)]
                             for closed, cur in zip(self._all_closed, self._cur, strict=True)]
        self._state_time = [0.0] * len(AGENT_KINDS)
        for a in self.agents:
            a.acct_since = self.now

    def agent_time(self) -> dict[AgentStateKind, float]:
        """Agent-seconds spent in each state since the last ``reset_totals()``."""
        spent = list(self._state_time)
        for a in self.agents:
            spent[a.kind] += self.now - a.acct_since
        return dict(zip(AGENT_KINDS, spent, strict=True))

    # --------------------------------------------------------------- arrivals

    def _schedule_arrival(self, q: SimQueue, t: float) -> None:
        if t >= self._seg_end:
            self._update_segment(t)
        rate = q.rate * self._seg_factor
        seg_end = self._seg_end
        if rate <= 0.0:
            if seg_end != math.inf:
                self._push(seg_end, _REDRAW, q, q.gen)
            return
        nxt = t + self.rng.expovariate(rate)
        # Past the end of this curve step the rate changes: redraw from there
        # (exact for a Poisson process, which has no memory).
        if nxt >= seg_end:
            self._push(seg_end, _REDRAW, q, q.gen)
        else:
            self._push(nxt, _ARRIVAL, q, q.gen)

    def _update_segment(self, t: float) -> None:
        local = self.at(t).astimezone(self._zone)
        minute = local.hour * 60 + local.minute
        into = (minute % 15) * 60 + local.second + local.microsecond / 1e6
        self._seg_end = t - into + _CURVE_STEP_S
        self._seg_factor = self._curve[minute // 15]
        self._push(self._seg_end, _SEGMENT, None)  # roster changes even with no arrivals
        if self._roster_on:
            self._roster(t)

    def _roster(self, t: float) -> None:
        # Smaller pools need relatively more staff (square-root staffing): hence ** 0.8.
        n = round(len(self.agents) * (self._seg_factor / self._peak) ** 0.8)
        old = self._on_shift
        for a in self._shift_order[n:old]:  # shift ends: idle agents log off now
            a.off_shift = True
            if a.kind == AVAILABLE:
                self._set_kind(a, OFFLINE, t)
        for a in self._shift_order[old:n]:  # shift starts
            a.off_shift = False
            if a.kind == OFFLINE and not a.outage:
                self._make_available(a, t)
        self._on_shift = n

    def _arrive(self, q: SimQueue, t: float) -> None:
        self._schedule_arrival(q, t)
        if self.emergency_group is not None and q.channel is Channel.VOICE:
            self.emergency_diverted += 1  # heard the emergency message in the IVR
            return
        self._route_new(self._new_contact(q, t), q, t, q.defer_s)

    def _new_contact(self, q: SimQueue, t: float) -> SimContact:
        rng = self.rng
        tier = STANDARD
        if q.vip or q.gold:
            r = rng.random()
            tier = VIP if r < q.vip else GOLD if r < q.vip + q.gold else STANDARD
        flags: tuple[ContactFlag, ...] = ()
        p_sup, p_rep, p_com = self._flag_p
        if p_sup or p_rep or p_com:
            if rng.random() < p_sup:
                flags += (ContactFlag.ASKED_FOR_SUPERVISOR,)
            if rng.random() < p_rep:
                flags += (ContactFlag.REPEAT_CONTACT,)
            if rng.random() < p_com:
                flags += (ContactFlag.COMPLAINT,)
        c = SimContact(next(self._contact_no), q, t, tier, flags)
        self._live[c.id] = c
        self._contact_new(c)
        return c  # counted as offered when it leaves the queue (see the module doc)

    def _route_new(self, c: SimContact, q: SimQueue, t: float, defer_s: float = 0.0) -> None:
        """A contact enters ``q``: straight to the longest-idle agent, else it waits.

        With ``defer_s`` it first sits unroutable that long (email worked in batches).
        """
        c.state = WAITING
        q.n_waiting += 1
        if defer_s:
            self._push(t + defer_s, _ROUTABLE, c, q.idx)
        else:
            a = self._pop_available(q)
            if a is not None:
                q.n_waiting -= 1
                if t == c.entered:
                    self.answered_at_once[q.idx] += 1
                self._start(a, c, t)
                return
            seq = next(self._seq)
            c.heap_seq = seq
            heapq.heappush(q.waiting, (-c.tier, c.entered, seq, c))
            if len(q.waiting) > 2 * q.n_waiting + 64:
                q.waiting = [e for e in q.waiting
                             if e[3].state == WAITING and e[3].heap_seq == e[2]]
                heapq.heapify(q.waiting)
        if q.patience_s is not None and not c.abandon_scheduled:
            # Patience belongs to the customer: moving them does not reset it.
            c.abandon_scheduled = True
            self._push(t + self.rng.expovariate(1.0 / q.patience_s), _ABANDON, c)

    def _pop_available(self, q: SimQueue) -> SimAgent | None:
        h = q.available
        while h:
            _, seq, a = heapq.heappop(h)
            if a.kind == AVAILABLE and a.avail_seq == seq:
                return a
        return None

    def _abandon(self, c: SimContact, t: float) -> None:
        q = c.queue
        q.n_waiting -= 1
        wait = t - c.entered
        if self.journal is not None:
            self.journal.append((q.id, "abandoned", c.entered, t))
        short = wait < q.short_abandon_s
        for ctr in (self._cur[q.idx], self._cur[self.tier_row(q.idx, c.tier)]):
            ctr[OFFERED] += 1
            ctr[ABANDONED_] += 1
            if short:  # excluded from every rate, so never also "after"
                ctr[ABANDONED_SHORT] += 1
            elif wait >= q.threshold_s:
                ctr[ABANDONED_AFTER] += 1
        self.stats_ver[q.idx] += 1
        self._end(c, ABANDONED, t)
        abandons = self.abandons
        if len(abandons) == abandons.maxlen:
            self._abandon_by_id.pop(abandons[0].contact.id, None)
        record = SimAbandon(c, wait, t, short)
        abandons.append(record)
        self._abandon_by_id[c.id] = record
        self.abandons_ver += 1

    def _end(self, c: SimContact, state: int, t: float) -> None:
        c.state = state
        c.ended_at = t
        self._contact_changed(c)
        c.model = None  # kept only to explain late actions: drop the snapshot object
        del self._live[c.id]
        ended = self._ended
        ended[c.id] = c
        if len(ended) > _ENDED_MEMORY:
            ended.popitem(last=False)

    # --------------------------------------------------------------- handling

    def _set_kind(self, a: SimAgent, kind: int, t: float, reason: str | None = None) -> None:
        self._state_time[a.kind] += t - a.acct_since
        a.acct_since = t
        a.kind = kind
        a.since = t
        a.reason = reason
        self._agent_changed(a)

    def _start(self, a: SimAgent, c: SimContact, t: float) -> None:
        q = c.queue
        wait = t - c.entered
        within = wait <= q.threshold_s
        for ctr in (self._cur[q.idx], self._cur[self.tier_row(q.idx, c.tier)]):
            ctr[OFFERED] += 1
            ctr[ANSWERED] += 1
            ctr[WAIT_ANSWERED_S] += wait
            if within:
                ctr[ANSWERED_WITHIN] += 1
        if self.journal is not None:
            self.journal.append((q.id, "answered", c.entered, t))
        self.stats_ver[q.idx] += 1
        c.state = CONNECTED
        c.agent = a
        c.answered_at = t
        c.heap_seq = -1
        self._contact_changed(c)
        self._set_kind(a, ON_CONTACT, t)
        a.contact = c
        rng = self.rng
        talk = rng.lognormvariate(q.mu, q.sigma) if q.lognormal else rng.expovariate(q.inv_talk)
        self._push(t + talk * self._handle_factor, _END_TALK, a)

    def _end_talk(self, a: SimAgent, t: float) -> None:
        c = a.contact
        assert c is not None
        acw = c.queue.acw_s
        if acw > 0.0:
            c.state = WRAP_UP
            self._contact_changed(c)
            self._set_kind(a, ACW, t)
            self._push(t + acw * (0.5 + self.rng.random()), _END_ACW, a, c.n)
        else:
            self._finish(a, t)

    def _finish(self, a: SimAgent, t: float) -> None:
        self._close_contact(a, t)
        if a.outage or a.off_shift:
            self._set_kind(a, OFFLINE, t)
        elif self._break_p and self.rng.random() < self._break_p:
            self._go_away(a, t)
        else:
            self._make_available(a, t)

    def _close_contact(self, a: SimAgent, t: float) -> SimContact:
        """Count ``a``'s contact as handled and end it (talk and ACW are over)."""
        c = a.contact
        assert c is not None
        q = c.queue
        for ctr in (self._cur[q.idx], self._cur[self.tier_row(q.idx, c.tier)]):
            ctr[HANDLED] += 1
            ctr[HANDLE_S] += t - c.answered_at
        self.stats_ver[q.idx] += 1
        self._end(c, DONE, t)
        a.contact = None
        return c

    def _go_away(self, a: SimAgent, t: float, remaining: float | None = None) -> None:
        i = bisect.bisect_left(self._break_cum, self.rng.random())
        reason, mean_s = self._break_reasons[min(i, len(self._break_reasons) - 1)]
        length = mean_s * (0.75 + 0.5 * self.rng.random())
        if remaining is not None:
            length *= remaining
        self._set_kind(a, AWAY, t, reason)
        a.break_seq += 1
        self._push(t + length, _END_BREAK, a, a.break_seq)

    def _back_from_break(self, a: SimAgent, t: float) -> None:
        if a.outage or a.off_shift:
            self._set_kind(a, OFFLINE, t)
        else:
            self._make_available(a, t)

    def _best_waiting(self, a: SimAgent) -> tuple[SimQueue, SimContact] | None:
        """The contact ``a`` should take next: best tier, then skill order, then wait."""
        best: tuple[int, float, int, SimContact] | None = None
        best_q: SimQueue | None = None
        for q in a.skills:
            if not q.n_waiting:
                continue
            h = q.waiting
            while h:
                e = h[0]
                if e[3].state == WAITING and e[3].heap_seq == e[2]:
                    if best is None or e[0] < best[0]:
                        best, best_q = e, q
                    break
                heapq.heappop(h)
        if best is None or best_q is None:
            return None
        return best_q, best[3]

    def _make_available(self, a: SimAgent, t: float) -> None:
        found = self._best_waiting(a)
        if found is not None:
            q, c = found
            heapq.heappop(q.waiting)  # it is the valid head _best_waiting looked at
            q.n_waiting -= 1
            self._start(a, c, t)
            return
        self._set_kind(a, AVAILABLE, t)
        a.contact = None
        self._push_available(a)

    def _push_available(self, a: SimAgent) -> None:
        seq = next(self._seq)
        a.avail_seq = seq
        entry = (a.since, seq, a)
        for q in a.skills:
            h = q.available
            heapq.heappush(h, entry)
            if len(h) > 2 * q.n_skilled + 64:
                q.available = [e for e in h if e[2].kind == AVAILABLE and e[2].avail_seq == e[1]]
                heapq.heapify(q.available)

    def _start_agents(self, initial_away: bool) -> None:
        """Everyone logs in at t=0; some already on a break so shrinkage starts right."""
        p_away = 0.0
        if initial_away and self._break_p:
            traffic = sum(q.arrivals_per_hour * q.aht_s for q in self.config.queues)
            calls = sum(q.arrivals_per_hour for q in self.config.queues)
            aht = traffic / calls if calls else 300.0
            # Steady-state share away: breaks start at r = p x contacts finished per agent
            # second (~85% busy / AHT) and last d on average.
            r = self._break_p * 0.85 / aht
            d = self.config.breaks.mean_s
            p_away = r * d / (1 + r * d)
        for a in self.agents:
            if a.outage or a.off_shift:  # not logged in at the start
                continue
            if p_away and self.rng.random() < p_away:
                self._go_away(a, 0.0, remaining=self.rng.random())
            else:
                self._make_available(a, 0.0)

    def prefill(self, queue_id: str, n: int) -> None:
        """Inject ``n`` arrivals now (used to start a measured run near steady state)."""
        q = self.queue_by_id[queue_id]
        for _ in range(n):
            self._route_new(self._new_contact(q, self.now), q, self.now)

    # -------------------------------------------------------------- scenarios

    def set_scenario(self, scenario: Scenario | str) -> ActionOutcome:
        """Switch scenario now: rates, handle times and outage staffing change at once."""
        try:
            new = Scenario(scenario)
        except ValueError:
            return ActionOutcome(False, ActionCode.UNKNOWN_SCENARIO,
                                 f"unknown scenario {scenario!r}")
        old = self.scenario
        self._apply_scenario(new)
        return ActionOutcome(True, ActionCode.OK, f"scenario {old} -> {new}")

    def _apply_scenario(self, new: Scenario, initial: bool = False) -> None:
        cfg = self.config
        t = self.now
        surge = set(cfg.surge_queue_ids()) if new == Scenario.SURGE else set()
        for q in self.queues:
            factor = 1.0
            if q.id in surge:
                factor = cfg.surge.factor
            elif new == Scenario.OUTAGE:
                factor = cfg.outage.arrival_factor
            rate = q.base_rate * factor
            if rate != q.rate or initial:
                q.rate = rate
                q.gen += 1  # the queued next arrival is at the old rate: discard it
                if not initial:
                    self._schedule_arrival(q, t)
        outage = new == Scenario.OUTAGE
        self._handle_factor = cfg.outage.handle_time_factor if outage else 1.0
        ff = cfg.outage.flag_factor if outage else 1.0
        f = cfg.flags
        self._flag_p = (min(1.0, f.asked_for_supervisor * ff), min(1.0, f.repeat_contact * ff),
                        min(1.0, f.complaint * ff))
        if outage and self.scenario != Scenario.OUTAGE:
            # A site / softphone fleet goes down: idle agents drop now, busy ones as
            # soon as their contact ends, those on a break don't come back.
            n = round(len(self.agents) * cfg.outage.offline_fraction)
            for a in self.rng.sample(self.agents, n):
                a.outage = True
                if a.kind == AVAILABLE:
                    self._set_kind(a, OFFLINE, t)
        elif not outage and self.scenario == Scenario.OUTAGE:
            for a in self.agents:
                if a.outage:
                    a.outage = False
                    if a.kind == OFFLINE and not a.off_shift:
                        self._make_available(a, t)
        self.scenario = new

    # ---------------------------------------------------------------- actions

    def live_contacts(self) -> Iterable[SimContact]:
        return self._live.values()

    def live_contact_ids(self) -> Container[str]:
        return self._live.keys()

    def _agent_changed(self, a: SimAgent) -> None:
        a.ver += 1
        for seen in self._agent_watch:  # (snapshot builders rebuild only these)
            seen.add(a.idx)

    def _contact_changed(self, c: SimContact) -> None:
        c.ver += 1
        self._contact_new(c)

    def _contact_new(self, c: SimContact) -> None:
        for changed in self._contact_watch:  # (snapshot builders rebuild only these)
            changed[c.id] = c

    def watch(self) -> tuple[set[int], dict[str, SimContact]]:
        """Collections the engine adds each changed agent's index and contact to from
        now on; the caller empties them when it has read them."""
        agents: set[int] = set()
        contacts: dict[str, SimContact] = {}
        self._agent_watch.append(agents)
        self._contact_watch.append(contacts)
        return agents, contacts

    def contact(self, contact_id: str) -> SimContact | None:
        """A live contact, or a recently ended one (state DONE / ABANDONED)."""
        return self._live.get(contact_id) or self._ended.get(contact_id)

    def _describe_gone(self, c: SimContact) -> str:
        t = self.now
        who = f"{c.agent.name} ({c.agent.id})" if c.agent else ""
        if c.state == CONNECTED:
            return (f"contact {c.id} is no longer waiting: {who} answered it "
                    f"{t - c.answered_at:.0f} s ago")
        if c.state == WRAP_UP:
            return f"contact {c.id} is no longer waiting: {who} has handled it (wrapping up)"
        if c.state == DONE:
            return (f"contact {c.id} is no longer waiting: {who} handled it and it ended "
                    f"{t - c.ended_at:.0f} s ago")
        return (f"contact {c.id} is no longer waiting: the customer abandoned "
                f"{t - c.ended_at:.0f} s ago after waiting {c.ended_at - c.entered:.0f} s")

    def _waiting_contact(self, contact_id: str) -> SimContact | ActionOutcome:
        c = self.contact(contact_id)
        if c is None:
            return ActionOutcome(False, ActionCode.UNKNOWN_CONTACT, f"no contact {contact_id!r}")
        if c.state != WAITING:
            return ActionOutcome(False, ActionCode.NOT_WAITING, self._describe_gone(c))
        return c

    def _leave_queue(self, c: SimContact) -> None:
        c.queue.n_waiting -= 1
        c.heap_seq = -1  # its heap entry is now stale

    def move_contact(self, contact_id: str, to_queue_id: str) -> ActionOutcome:
        """Move a waiting contact to another queue, where it is routed afresh.

        It counts in the old queue as offered and flowed out now, and in the new queue
        when it leaves that one; its wait there starts now (as platforms report a
        transfer); its customer's patience carries on.
        """
        found = self._waiting_contact(contact_id)
        if isinstance(found, ActionOutcome):
            return found
        c = found
        target = self.queue_by_id.get(to_queue_id)
        if target is None:
            return ActionOutcome(False, ActionCode.UNKNOWN_QUEUE, f"no queue {to_queue_id!r}")
        if target is c.queue:
            return ActionOutcome(False, ActionCode.SAME_QUEUE, f"contact {c.id} is already in "
                                 f"{target.name}")
        if target.channel != c.channel:
            return ActionOutcome(False, ActionCode.CHANNEL_MISMATCH, f"{target.name} is a "
                                 f"{target.channel} queue; contact {c.id} is {c.channel}")
        t = self.now
        source = c.queue
        self._leave_queue(c)
        for old in (self._cur[source.idx], self._cur[self.tier_row(source.idx, c.tier)]):
            old[OFFERED] += 1
            old[FLOWED_OUT] += 1
        self.stats_ver[source.idx] += 1
        if self.journal is not None:
            self.journal.append((source.id, "flowed_out", c.entered, t))
        c.queue = target
        c.entered = t
        self._contact_changed(c)
        self._route_new(c, target, t)
        if c.state == CONNECTED and c.agent is not None:
            where = f"answered at once by {c.agent.name} ({c.agent.id})"
        else:
            where = f"waiting ({target.n_waiting} in queue)"
        return ActionOutcome(True, ActionCode.OK, f"moved contact {c.id} from {source.name} to "
                             f"{target.name}: {where}")

    def assign_contact_to_agent(self, contact_id: str, agent_id: str) -> ActionOutcome:
        """Give a waiting contact straight to an available agent.

        "Has the skill" means the agent serves the contact's channel in some queue:
        routing is work-conserving, so an available agent never has the contact's own
        queue as a skill while it waits there; this is how a supervisor pulls in help.
        """
        found = self._waiting_contact(contact_id)
        if isinstance(found, ActionOutcome):
            return found
        c = found
        a = self.agent_by_id.get(agent_id)
        if a is None:
            return ActionOutcome(False, ActionCode.UNKNOWN_AGENT, f"no agent {agent_id!r}")
        if a.kind != AVAILABLE:
            state = AGENT_KINDS[a.kind].value.replace("_", " ")
            if a.reason:
                state += f" ({a.reason})"
            return ActionOutcome(False, ActionCode.AGENT_NOT_AVAILABLE,
                                 f"{a.name} ({a.id}) is not available: {state}")
        if not any(q.channel == c.channel for q in a.skills):
            return ActionOutcome(False, ActionCode.NO_SKILL,
                                 f"{a.name} ({a.id}) has no {c.channel} skill")
        self._leave_queue(c)
        self._start(a, c, self.now)
        return ActionOutcome(True, ActionCode.OK, f"contact {c.id} assigned to {a.name} ({a.id})")

    def set_agent_skills(self, agent_id: str, skills: Sequence[str]) -> ActionOutcome:
        """Replace an agent's skills (queue ids, preferred first); effective at once."""
        a = self.agent_by_id.get(agent_id)
        if a is None:
            return ActionOutcome(False, ActionCode.UNKNOWN_AGENT, f"no agent {agent_id!r}")
        unknown = [s for s in skills if s not in self.queue_by_id]
        if unknown:
            return ActionOutcome(False, ActionCode.UNKNOWN_QUEUE,
                                 f"no queue(s) {', '.join(map(repr, unknown))}")
        for q in a.skills:
            q.n_skilled -= 1
        a.skills = tuple(self.queue_by_id[s] for s in dict.fromkeys(skills))
        a.skill_ids = tuple(q.id for q in a.skills)
        for q in a.skills:
            q.n_skilled += 1
        self._agent_changed(a)
        note = ""
        if a.kind == AVAILABLE:
            found = self._best_waiting(a)
            if found is not None:
                q, c = found
                heapq.heappop(q.waiting)
                q.n_waiting -= 1
                self._start(a, c, self.now)
                note = f"; took contact {c.id} from {q.name}"
            else:
                self._push_available(a)  # new seq: the old queues' entries go stale
        names = ", ".join(q.name for q in a.skills) or "none"
        return ActionOutcome(True, ActionCode.OK, f"{a.name} ({a.id}) now serves {names}{note}")

    def set_agent_state(self, agent_id: str, state: str) -> ActionOutcome:
        """Put an agent into a state of the shared vocabulary (``domain.agent_control``):
        ``available``, ``away:<reason>``, ``end_acw``, ``logout``.

        An agent talking to a customer is never changed: refused with ON_CONTACT (a
        supervisor retries when it ends; applying it later would act on stale intent).
        In after-contact work, any change ends the work now (the contact counts as
        handled). A supervisor's away lasts like a break of that reason, then the agent
        comes back by themselves, as people do.
        """
        a = self.agent_by_id.get(agent_id)
        if a is None:
            return ActionOutcome(False, ActionCode.UNKNOWN_AGENT, f"no agent {agent_id!r}")
        req = parse_state(state)
        if req is None:
            return ActionOutcome(False, ActionCode.UNKNOWN_STATE,
                                 f"no state {state[:60]!r}: use available, away:<reason>, "
                                 "end_acw or logout")
        who = f"{a.name} ({a.id})"
        if a.kind == ON_CONTACT:
            c = a.contact
            return ActionOutcome(False, ActionCode.ON_CONTACT,
                                 f"{who} is on a contact with {c.id if c else '?'}; "
                                 "try when it ends")
        t = self.now
        if req.verb == END_ACW and a.kind != ACW:
            return ActionOutcome(False, ActionCode.NOT_IN_ACW,
                                 f"{who} is not in after-contact work "
                                 f"({AGENT_KINDS[a.kind].value.replace('_', ' ')})")
        ended = ""
        if a.kind == ACW:
            ended = f"ended after-contact work on {self._close_contact(a, t).id}; "
        a.break_seq += 1  # a break already scheduled to end no longer applies
        if req.verb in (AVAILABLE_, END_ACW):
            if a.kind == AVAILABLE:
                return ActionOutcome(True, ActionCode.OK, f"{who} was already available")
            a.off_shift = False  # called in by a supervisor: stays on until logged out
            self._make_available(a, t)
            took = f"; took contact {a.contact.id}" if a.contact is not None else ""
            return ActionOutcome(True, ActionCode.OK, f"{ended}{who} is now available{took}")
        if req.verb == LOGOUT:
            if a.kind == OFFLINE:
                return ActionOutcome(True, ActionCode.OK, f"{who} was already offline")
            self._set_kind(a, OFFLINE, t)
            return ActionOutcome(True, ActionCode.OK, f"{ended}{who} is now offline")
        reason = req.reason or "away"
        means = dict(self._break_reasons)
        mean_s = means.get(reason, self.config.breaks.mean_s)
        self._set_kind(a, AWAY, t, reason)
        self._push(t + mean_s * (0.75 + 0.5 * self.rng.random()), _END_BREAK, a, a.break_seq)
        return ActionOutcome(True, ActionCode.OK, f"{ended}{who} is now away ({reason})")

    def set_emergency(self, group: str, active: bool) -> ActionOutcome:
        """Switch the centre's emergency group on or off: while on, new voice calls hear
        the emergency message and are not queued (chat, email and social carry on)."""
        group = group.strip() or "emergency"
        if active:
            if self.emergency_group is not None:
                return ActionOutcome(True, ActionCode.OK,
                                     f"emergency group {self.emergency_group} was already on")
            self.emergency_group, self.emergency_since = group, self.now
            self.emergency_diverted = 0
            return ActionOutcome(True, ActionCode.OK, f"emergency group {group} on: new voice "
                                 "calls hear the emergency message and are not queued")
        if self.emergency_group is None:
            return ActionOutcome(True, ActionCode.OK, "emergency group was already off")
        was, diverted = self.emergency_group, self.emergency_diverted
        self.emergency_group = self.emergency_since = None
        return ActionOutcome(True, ActionCode.OK, f"emergency group {was} off: voice calls "
                             f"queue again ({diverted} heard the message while it was on)")

    def create_callback(self, abandoned_id: str, queue_id: str) -> ActionOutcome:
        """Queue a call-back for one of today's abandons: a new voice contact in
        ``queue_id`` (the customer's tier and flags carried over, waiting from now) that
        an agent answers like any other, so it counts in that queue when it leaves it."""
        record = self._abandon_by_id.get(abandoned_id)
        if record is None:
            return ActionOutcome(False, ActionCode.NOT_FOUND,
                                 f"no abandoned contact {abandoned_id!r} today")
        if record.callback is not None:
            return ActionOutcome(False, ActionCode.CONFLICT,
                                 f"a call-back for {abandoned_id} is already queued "
                                 f"(contact {record.callback.id})")
        q = self.queue_by_id.get(queue_id)
        if q is None:
            return ActionOutcome(False, ActionCode.UNKNOWN_QUEUE, f"no queue {queue_id!r}")
        if q.channel is not Channel.VOICE:
            return ActionOutcome(False, ActionCode.CHANNEL_MISMATCH,
                                 f"a call-back is a voice call; {q.name} is a {q.channel} queue")
        t = self.now
        old = record.contact
        c = SimContact(next(self._contact_no), q, t, old.tier, old.flags)
        c.origin = old.origin
        self._live[c.id] = c
        self._contact_new(c)
        record.callback = c
        record.ver += 1
        self.abandons_ver += 1
        self._route_new(c, q, t)
        if c.state == CONNECTED and c.agent is not None:
            where = f"answered at once by {c.agent.name} ({c.agent.id})"
        else:
            where = f"waiting in {q.name} ({q.n_waiting} in queue)"
        return ActionOutcome(True, ActionCode.OK,
                             f"call-back for {abandoned_id} queued as contact {c.id}: {where}")

    def broadcast(self, message: str, key: str | None = None) -> ActionOutcome:
        """Send a message to every logged-in agent (kept for drills and tests)."""
        if key is not None:
            if key in self._broadcast_keys:  # a re-send after a crash: shown once only
                return ActionOutcome(True, ActionCode.OK, "already sent (same idempotency key)")
            self._broadcast_keys[key] = None
            while len(self._broadcast_keys) > 1000:
                del self._broadcast_keys[next(iter(self._broadcast_keys))]
        self.broadcasts.append((self.now, message))
        reached = sum(1 for a in self.agents if a.kind != OFFLINE)
        return ActionOutcome(True, ActionCode.OK, f"message sent to {reached} agents")


def _add_into(acc: list[list[float]], rows: list[list[float]]) -> None:
    for a, r in zip(acc, rows, strict=True):
        for i in range(N_COUNTERS):
            a[i] += r[i]


def _sub_from(acc: list[list[float]], rows: list[list[float]]) -> None:
    for a, r in zip(acc, rows, strict=True):
        for i in range(N_COUNTERS):
            a[i] -= r[i]
