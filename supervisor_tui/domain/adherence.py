"""Real-time adherence, poll after poll (pure): today's schedule against what each agent
is seen doing (``domain.schedule`` defines the rule, the grace and the percentage).

The judgement is incremental, like ``agent_day``: per scheduled agent the book keeps
the seconds scheduled and out so far up to a checkpoint, the out stretch open there and
the state in force since; a state change (from the agent's own ``since`` timestamp)
closes the span before it. ``figures(now)`` adds the open span, so a poll costs one
identity check per unchanged scheduled agent plus one short walk over each agent's
entries. Unscheduled agents cost one lookup when first seen.

What the console did not observe is not judged: time before an agent's first sight
(their current state counts from its ``since``, clipped to the day), and time while
they were gone from the feed. A restarted console continues from the figures stored for
today (``seed``), from where they were written up to.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from supervisor_tui.domain.escalation import Escalation, EscalationKind, Severity, SubjectType
from supervisor_tui.domain.model import Agent, AgentStateKind
from supervisor_tui.domain.schedule import ADHERING, Adherence, Expected, ScheduleEntry

EXPECTED_LABEL: Mapping[Expected, str] = {Expected.ON_DUTY: "on duty", Expected.AWAY: "away",
                                          Expected.OFFLINE: "off"}
_STATE_WORD: Mapping[AgentStateKind, str] = {
    AgentStateKind.AVAILABLE: "available", AgentStateKind.ON_CONTACT: "on a contact",
    AgentStateKind.AFTER_CONTACT_WORK: "in after-contact work", AgentStateKind.AWAY: "away",
    AgentStateKind.OFFLINE: "logged off"}


# One piece of an agent's day: (start, end) as POSIX seconds, the states that adhere,
# what is expected and the activity's name. Floats: the per-poll walk does no datetime
# arithmetic (10,000 agents a poll).
_Span = tuple[float, float, frozenset[AgentStateKind], Expected, str]


def spans_of(entries: Sequence[ScheduleEntry]) -> tuple[_Span, ...]:
    """The entries as non-overlapping pieces, by the rule of ``schedule.advance``: where
    entries overlap, the one that starts later is in force."""
    if all(b.start >= a.end for a, b in pairwise(entries)):  # the usual day: no overlap
        return tuple((e.start.timestamp(), e.end.timestamp(), ADHERING[e.expected],
                      e.expected, e.activity) for e in entries)
    cuts = sorted({t for e in entries for t in (e.start, e.end)})
    out: list[_Span] = []
    for lo, hi in pairwise(cuts):
        cur = None
        for e in entries:  # sorted by start: the last one covering ``lo`` wins
            if e.start > lo:
                break
            if lo < e.end:
                cur = e
        if cur is None:
            continue
        s_ts, e_ts = lo.timestamp(), hi.timestamp()
        if out and out[-1][1] == s_ts and out[-1][4] == cur.activity and \
                out[-1][3] is cur.expected:
            prev = out.pop()
            s_ts = prev[0]
        out.append((s_ts, e_ts, ADHERING[cur.expected], cur.expected, cur.activity))
    return tuple(out)


def judge(spans: Sequence[_Span], kind: AgentStateKind, a: float, b: float, grace_s: float,
          run: float | None) -> tuple[float, float, float | None]:
    """``schedule.advance`` for one state held over [a, b] (seconds): (scheduled, out
    after grace, the out stretch open at ``b``). tests/test_adherence.py checks the two
    agree on random days."""
    sched = out = 0.0
    reached = a  # scheduled time is contiguous up to here
    for s, e, ok, _, _ in spans:
        if e <= a:
            continue
        if s >= b:
            break
        lo = s if s > a else a
        hi = e if e < b else b
        if hi <= lo:  # (an empty span judges nothing, as advance's)
            continue
        if lo > reached:
            run = None  # an unscheduled gap ends the stretch
        reached = hi
        sched += hi - lo
        if kind in ok:
            run = None
            continue
        if run is None:
            run = lo
        counted = run + grace_s
        if counted < lo:
            counted = lo
        if counted < hi:
            out += hi - counted
    if b > reached:
        run = None
    return sched, out, run


@dataclass(slots=True)
class _Judged:
    entries: tuple[ScheduleEntry, ...]
    spans: tuple[_Span, ...] = ()
    scheduled_s: float = 0.0
    out_s: float = 0.0
    until: datetime | None = None  # judged up to here; None: not observed yet
    until_ts: float = 0.0  # ``until`` as POSIX seconds (read every poll)
    run_ts: float | None = None  # an out stretch open at ``until`` (POSIX seconds)
    kind: AgentStateKind | None = None  # in force from ``until`` (None: not in the feed)
    since: datetime | None = None  # the source's ``since`` of that state (change check)
    first: datetime | None = None  # judged from here (first sight, or stored figures')


@dataclass(frozen=True, slots=True)
class SavedAdherence:
    """Figures written earlier today, continued from ``until``."""

    scheduled_s: float
    out_s: float
    until: datetime
    first: datetime  # judged from here


@dataclass(frozen=True, slots=True)
class Totals:
    """A group's adherence: adhering / scheduled seconds over its scheduled agents."""

    scheduled_s: float = 0.0
    adhering_s: float = 0.0
    agents: int = 0  # agents with an entry today
    judged: int = 0  # of them, with scheduled time observed so far
    out_now: int = 0  # out of adherence now (grace over)

    @property
    def percent(self) -> float | None:
        return None if self.scheduled_s <= 0 else 100.0 * self.adhering_s / self.scheduled_s

    def plus(self, a: Adherence | None, scheduled: bool) -> Totals:
        if a is None:
            return Totals(self.scheduled_s, self.adhering_s, self.agents + scheduled,
                          self.judged, self.out_now)
        return Totals(self.scheduled_s + a.scheduled_s, self.adhering_s + a.adhering_s,
                      self.agents + scheduled, self.judged + (a.scheduled_s > 0),
                      self.out_now + (a.in_adherence is False))


@dataclass(frozen=True)
class AdherenceNow:
    """One poll's adherence: per agent key ("source:id"), the centre and each team."""

    at: datetime
    by_agent: Mapping[str, Adherence]
    centre: Totals
    teams: Mapping[str, Totals]
    observed_since: datetime | None  # the earliest time judged (the figures' start)

    def out_for_s(self, key: str) -> float | None:
        """How long this agent has been out of adherence now (None: in, or unscheduled)."""
        a = self.by_agent.get(key)
        if a is None or a.in_adherence is not False or a.out_since is None:
            return None
        return max((self.at - a.out_since).total_seconds(), 0.0)


def _at(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


EMPTY = AdherenceNow(datetime.min, {}, Totals(), {}, None)


@dataclass
class AdherenceBook:
    """Every scheduled agent's adherence today, moved on by each poll's agents."""

    grace_s: float = 300.0
    day_start: datetime | None = None
    _by_label: dict[str, tuple[ScheduleEntry, ...]] = field(default_factory=dict)
    _by_name: dict[str, tuple[ScheduleEntry, ...]] = field(default_factory=dict)
    _judged: dict[str, _Judged] = field(default_factory=dict)
    _unscheduled: set[str] = field(default_factory=set)
    _last: dict[str, Agent] = field(default_factory=dict)  # scheduled, as last seen
    _key_of: dict[int, str | None] = field(default_factory=dict)  # last poll's objects
    _held: tuple[Agent, ...] = ()
    _saved: dict[str, SavedAdherence] = field(default_factory=dict)
    seen_at: datetime | None = None

    # -- the schedule ----------------------------------------------------------------

    def set_schedule(self, entries: Iterable[ScheduleEntry]) -> None:
        """A new schedule for today; agents are matched again (by id, else name) at the
        next poll. An agent whose entries did not change keeps the figures so far; one
        whose entries changed is judged afresh from their current state (the console
        keeps no full state timeline to judge the earlier day again)."""
        by_label: dict[str, list[ScheduleEntry]] = {}
        for e in entries:
            by_label.setdefault(e.agent, []).append(e)
        self._by_label = {k: tuple(sorted(v, key=lambda e: e.start))
                          for k, v in by_label.items()}
        self._by_name = {k.casefold(): v for k, v in self._by_label.items()}
        for key in list(self._judged):
            agent = self._last.get(key)
            if agent is None or self.entries_for(agent) != self._judged[key].entries:
                del self._judged[key]
                self._last.pop(key, None)
        self._unscheduled.clear()
        self._key_of.clear()  # every agent looked at again at the next poll

    @property
    def has_schedule(self) -> bool:
        return bool(self._by_label)

    def entries_for(self, agent: Agent) -> tuple[ScheduleEntry, ...]:
        """The agent's entries: by id, else by name (case-insensitive)."""
        return self._by_label.get(agent.id) or self._by_name.get(agent.name.casefold()) or ()

    def matched(self) -> tuple[set[str], list[str]]:
        """(the schedule's labels matched to an agent seen today, those not matched)."""
        hit = {j.entries[0].agent for j in self._judged.values()}
        return hit, sorted(k for k in self._by_label if k not in hit)

    def seed(self, saved: Mapping[str, SavedAdherence]) -> None:
        """Figures stored for today: agents first seen later continue from them."""
        self._saved.update(saved)

    # -- polls ---------------------------------------------------------------------

    def observe(self, agents: Sequence[Agent], now: datetime, day_start: datetime) -> None:
        if self.day_start != day_start:
            self.day_start = day_start
            self._judged.clear()
            self._unscheduled.clear()
            self._key_of.clear()
            self._last.clear()
            self._saved = {k: v for k, v in self._saved.items() if v.until >= day_start}
        if not self._by_label:
            self.seen_at = now
            return
        prev = self._key_of
        key_of: dict[int, str | None] = {}  # this poll's objects: key, None unscheduled
        for agent in agents:
            oid = id(agent)
            if oid in prev:  # the same object as last poll: nothing changed
                key_of[oid] = prev[oid]
                continue
            key = f"{agent.source}:{agent.id}"
            if key in self._unscheduled:
                key_of[oid] = None
                continue
            j = self._judged.get(key)
            if j is None:
                entries = self.entries_for(agent)
                if not entries:
                    self._unscheduled.add(key)
                    key_of[oid] = None
                    continue
                j = self._judged[key] = _Judged(entries, spans_of(entries))
            key_of[oid] = key
            self._last[key] = agent
            self._step(j, key, agent, now, day_start)
        # Scheduled agents gone from the feed: judged up to their last sight, then not.
        in_feed = {k for k in key_of.values() if k is not None}
        for key, j in self._judged.items():
            if j.kind is not None and key not in in_feed:
                self._close(j, self.seen_at or now)
                j.kind = j.since = None
        # (the objects are held, so an id is never reused while it is looked up)
        self._key_of, self._held = key_of, tuple(agents)
        self.seen_at = now

    def _step(self, j: _Judged, key: str, agent: Agent, now: datetime,
              day_start: datetime) -> None:
        st = agent.state
        if j.kind is None:  # first sight (or back in the feed): judged from here
            start = max(st.since, day_start)
            saved = self._saved.pop(key, None) if j.until is None else None
            if saved is not None:
                j.scheduled_s, j.out_s = saved.scheduled_s, saved.out_s
                start = max(start, saved.until)
            if j.until is not None:
                start = max(start, j.until)
            j.until, j.kind, j.since = min(start, now), st.kind, st.since
            j.until_ts, j.run_ts = j.until.timestamp(), None
            if j.first is None:
                j.first = j.until if saved is None else min(j.until, saved.first)
            return
        if st.kind == j.kind and st.since == j.since:
            return
        # A source's clock may run behind ours or repeat a time: never judge backwards.
        assert j.until is not None
        boundary = min(max(st.since, j.until), now)
        self._close(j, boundary)
        j.kind, j.since = st.kind, st.since

    def _close(self, j: _Judged, until: datetime) -> None:
        if j.until is None or j.kind is None or until <= j.until:
            return
        sched, out, run = judge(j.spans, j.kind, j.until_ts, until.timestamp(),
                                self.grace_s, j.run_ts)
        j.run_ts = run
        j.scheduled_s += sched
        j.out_s += out
        j.until, j.until_ts = until, until.timestamp()

    def figures(self, now: datetime, teams: Mapping[str, str] | None = None) -> AdherenceNow:
        """Everyone's adherence at ``now`` (the open span added, not committed) with the
        centre's and each team's totals. ``teams``: agent key -> team (else the team
        the agent was last seen in)."""
        by_agent: dict[str, Adherence] = {}
        # per team: [scheduled, adhering, agents, judged, out now]
        acc: dict[str, list[float]] = {}
        earliest: datetime | None = None
        now_ts, grace = now.timestamp(), self.grace_s
        teams = teams or {}
        last = self._last
        for key, j in self._judged.items():
            sched, out, run, kind = j.scheduled_s, j.out_s, j.run_ts, j.kind
            if kind is not None and now_ts > j.until_ts:
                s2, o2, run = judge(j.spans, kind, j.until_ts, now_ts, grace, run)
                sched, out = sched + s2, out + o2
            span = None
            for sp in j.spans:  # (a loop, not next(genexpr): 10,000 agents a poll)
                if sp[0] <= now_ts < sp[1]:
                    span = sp
                    break
            if span is None or kind is None:
                a = Adherence(sched, out, None if span is None else span[3],
                              None if span is None else span[4], None, None)
            else:
                ok = kind in span[2]
                grace_over = run is not None and now_ts - run > grace
                a = Adherence(sched, out, span[3], span[4], ok or not grace_over,
                              None if ok or run is None else _at(run))
            by_agent[key] = a
            agent = last.get(key)
            team = teams.get(key, agent.team if agent is not None else "")
            t = acc.get(team)
            if t is None:
                t = acc[team] = [0.0, 0.0, 0, 0, 0]
            t[0] += sched
            t[1] += sched - out
            t[2] += 1
            t[3] += sched > 0
            t[4] += a.in_adherence is False
            if j.first is not None and (earliest is None or j.first < earliest):
                earliest = j.first
        per_team = {team: Totals(t[0], t[1], int(t[2]), int(t[3]), int(t[4]))
                    for team, t in acc.items()}
        centre = Totals(sum(t.scheduled_s for t in per_team.values()),
                        sum(t.adhering_s for t in per_team.values()),
                        sum(t.agents for t in per_team.values()),
                        sum(t.judged for t in per_team.values()),
                        sum(t.out_now for t in per_team.values()))
        return AdherenceNow(now, by_agent, centre, per_team, earliest)

    def agent(self, key: str) -> Agent | None:
        return self._last.get(key)

    def checkpoints(self) -> dict[str, SavedAdherence]:
        """What a store keeps so a restarted console continues: the closed figures and
        up to when (the current state's span is added up to the last poll)."""
        out: dict[str, SavedAdherence] = {}
        until = self.seen_at
        for key, j in self._judged.items():
            if j.until is None:
                continue
            sched, o, end = j.scheduled_s, j.out_s, j.until
            if j.kind is not None and until is not None and until > j.until:
                s2, o2, _ = judge(j.spans, j.kind, j.until_ts, until.timestamp(),
                                  self.grace_s, j.run_ts)
                sched, o, end = sched + s2, o + o2, until
            out[key] = SavedAdherence(sched, o, end, j.first or end)
        return out


def adherence_escalations(now: AdherenceNow, book: AdherenceBook, escalate_after_s: float,
                          previous: Mapping[str, Escalation]) -> list[Escalation]:
    """One warning per agent out of adherence for ``escalate_after_s`` or more (from the
    start of the stretch, grace included); the same object while nothing changed."""
    out: list[Escalation] = []
    limit = timedelta(seconds=escalate_after_s)
    minutes = f"{escalate_after_s / 60:g} min"
    for key, a in now.by_agent.items():
        if a.in_adherence is not False or a.out_since is None:
            continue
        if now.at - a.out_since < limit:
            continue
        agent = book.agent(key)
        if agent is None:
            continue
        expected = EXPECTED_LABEL[a.expected] if a.expected is not None else "?"
        reason = (f"{agent.name} out of adherence: scheduled {a.activity} ({expected}), "
                  f"is {_STATE_WORD[agent.state.kind]} (limit {minutes})")
        eid = f"agent-adherence:{key}"
        p = previous.get(eid)
        if p is not None and p.last_seen is None and p.since == a.out_since \
                and p.reason == reason:
            out.append(p)
            continue
        out.append(Escalation(
            id=eid, kind=EscalationKind.AGENT_ADHERENCE, severity=Severity.WARNING,
            reason=reason, subject_type=SubjectType.AGENT, subject_id=agent.id,
            queue_id=agent.queue_id, source=agent.source,
            first_seen=p.first_seen if p is not None and p.since == a.out_since
            else a.out_since + limit,
            since=a.out_since, limit=escalate_after_s, label=f"agent {agent.name}"))
    return out
