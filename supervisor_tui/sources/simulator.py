"""The simulator as a Source: the default with no configuration at all.

Simulated time runs ``speed`` times faster than the wall clock from ``start``; each
snapshot advances the engine to "now" and reads it. Snapshot building reuses the
immutable model objects of every agent, contact and queue counter that did not change
since the last poll (the engine bumps a version on each change), so a poll of 10,000
agents builds only the few hundred objects that moved.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from supervisor_tui.domain.changes import SnapshotChanges, attach
from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.domain.model import (
    AbandonedContact,
    ActionResult,
    Agent,
    AgentState,
    Channel,
    Contact,
    Queue,
    QueueStats,
    Snapshot,
    Tier,
    TierStats,
)
from supervisor_tui.sim.config import Scenario, SimulatorConfig
from supervisor_tui.sim.engine import (
    AGENT_KINDS,
    CONTACT_STATES,
    GOLD,
    TIERS,
    VIP,
    WAITING,
    ActionOutcome,
    Engine,
    SimAbandon,
    SimAgent,
    SimContact,
)
from supervisor_tui.sources.base import Capability, Source

_FIRST = ("Alex", "Bianca", "Carlos", "Dana", "Emre", "Fatima", "George", "Hiro", "Irene",
          "Jamal", "Kira", "Luis", "Mei", "Noah", "Olga", "Pedro", "Rana", "Sven", "Tara",
          "Usman", "Valeria", "Wes", "Ximena", "Yuki", "Zaid")
_LAST = ("Adams", "Brown", "Costa", "Dubois", "Evans", "Fischer", "Garcia", "Haddad", "Ito",
         "Jensen", "Khan", "Lopez", "Muller", "Nowak", "Okafor", "Patel", "Rossi", "Silva",
         "Tanaka", "Urban", "Varga", "Weber", "Young")


def customer_name(n: int) -> str:
    # Derived from the contact number, not drawn from the RNG: free and reproducible.
    return f"{_FIRST[n * 7 % len(_FIRST)]} {_LAST[n * 11 % len(_LAST)]}"


def customer_handle(channel: Channel, n: int) -> str:
    """A plausible, masked number (voice) or address to call back on, from the
    customer's number: reproducible, and never a real person's."""
    if channel is Channel.VOICE:
        return f"+44 7700 9xx xx{n % 10}"
    first = _FIRST[n * 7 % len(_FIRST)].lower()
    return f"{first[0]}***{n % 100:02d}@example.net"


_Changed = tuple[tuple[Agent, ...], tuple[Agent, ...], tuple[Contact, ...], tuple[Contact, ...]]


class SnapshotBuilder:
    """Turns engine state into a ``model.Snapshot``, rebuilding only what changed."""

    def __init__(self, engine: Engine, source: str, clock_rate: float = 1.0) -> None:
        self.engine = engine
        self.source = source
        self.clock_rate = clock_rate
        self.queues = tuple(
            Queue.model_construct(id=q.id, name=q.name, channel=q.channel,
                                  sl_target=q.sl_target, threshold_s=q.threshold_s,
                                  short_abandon_s=q.short_abandon_s, source=source)
            for q in engine.queues)
        self._keys: tuple[datetime, datetime] | None = None
        n = len(engine.queues)
        self._stats_ver = [-1] * n
        # Counters by queue id, rebuilt only for queues whose counters changed.
        self._ival: dict[str, QueueStats] = {}
        self._day: dict[str, QueueStats] = {}
        self._tiers: dict[str, TierStats] = {}
        # Per queue, the gold and VIP interval counters its TierStats was built from.
        self._tier_seen: dict[str, tuple[float, ...]] = {}
        self._abandoned: tuple[AbandonedContact, ...] = ()
        self._abandoned_ver = -1
        # The last snapshot's agents (by engine index) and live contacts (in the engine's
        # order), moved on by what the engine says changed: a poll reads the changed
        # agents and contacts, not every agent's version (50,000 at a big centre).
        self._agent_models: list[Agent] | None = None
        self._contact_models: dict[str, Contact] = {}
        self._touched_agents, self._touched_contacts = engine.watch()
        self._last: tuple[tuple[Agent, ...], tuple[Contact, ...]] | None = None

    def build(self) -> Snapshot:
        e = self.engine
        ikey, dkey = e.interval_key, e.day_key
        if self._keys != (ikey, dkey):
            self._keys = (ikey, dkey)
            self._stats_ver = [-1] * len(e.queues)
            self._ival, self._day, self._tiers, self._tier_seen = {}, {}, {}, {}
        ival, day, seen, vers = self._ival, self._day, self._stats_ver, e.stats_ver
        tiers, tier_seen = self._tiers, self._tier_seen
        for i, q in enumerate(e.queues):
            if seen[i] != vers[i]:
                seen[i] = vers[i]
                # The engine counts from its epoch (start less warm-up): a window
                # never claims time it did not see, so rates use the true span.
                istart, dstart = max(ikey, e.epoch), max(dkey, e.epoch)
                ival[q.id] = _stats(q.id, istart, e.interval_counters(i))
                day[q.id] = _stats(q.id, dstart, e.day_counters(i))
                # Gold and VIP only (standard is the rest of the queue's counters, by
                # the domain's rule), rebuilt only when one of them moved this interval:
                # most contacts are standard.
                gold, vip = e.tier_row(i, GOLD), e.tier_row(i, VIP)
                gold_now, vip_now = e.interval_counters(gold), e.interval_counters(vip)
                seen_now = (*gold_now, *vip_now)
                if tier_seen.get(q.id) != seen_now:
                    tier_seen[q.id] = seen_now
                    tiers[q.id] = TierStats.model_construct(
                        interval={Tier.GOLD: _stats(q.id, istart, gold_now),
                                  Tier.VIP: _stats(q.id, istart, vip_now)},
                        day={Tier.GOLD: _stats(q.id, dstart, e.day_counters(gold)),
                             Tier.VIP: _stats(q.id, dstart, e.day_counters(vip))})
        base = self._last
        agents, contacts, changed = self._people()
        snapshot = Snapshot.model_construct(
            taken_at=e.now_dt, interval_start=ikey, day_start=dkey, queues=self.queues,
            interval_stats=dict(ival), day_stats=dict(day),
            agents=agents, contacts=contacts, health={}, clock_rate=self.clock_rate,
            abandoned=self._abandoned_now(), tier_stats=dict(tiers))
        self._last = (agents, contacts)
        if base is not None and changed is not None:  # said, so the console reads only these
            attach(snapshot, SnapshotChanges(base[0], base[1], agents, contacts, *changed))
        return snapshot

    def _people(self) -> tuple[tuple[Agent, ...], tuple[Contact, ...], _Changed | None]:
        """The agents and contacts now, and (after the first build) the objects that
        went and came since the last build: (agents gone, new, contacts gone, new)."""
        e = self.engine
        touched_agents, touched_contacts = self._touched_agents, self._touched_contacts
        models = self._agent_models
        changed: _Changed | None = None
        if models is None or len(models) != len(e.agents):  # the first build: everyone
            models = self._agent_models = [
                a.model if a.model_ver == a.ver else self._agent(a) for a in e.agents]
            self._contact_models = {c.id: c.model if c.model_ver == c.ver else self._contact(c)
                                    for c in e.live_contacts()}
        else:
            agents = e.agents
            agents_gone: list[Agent] = []
            agents_new: list[Agent] = []
            for i in touched_agents:
                a = agents[i]
                if a.model_ver != a.ver:
                    agents_gone.append(models[i])
                    models[i] = model = self._agent(a)
                    agents_new.append(model)
            live, known = e.live_contact_ids(), self._contact_models
            contacts_gone: list[Contact] = []
            contacts_new: list[Contact] = []
            for cid, c in touched_contacts.items():
                if cid not in live:  # ended (or never seen live between two builds)
                    if (old := known.pop(cid, None)) is not None:
                        contacts_gone.append(old)
                elif c.model_ver != c.ver or cid not in known:
                    # (a new contact goes in at the end, as in the engine's own order)
                    contact = c.model if c.model_ver == c.ver else self._contact(c)
                    old = known.get(cid)
                    if old is not contact:
                        if old is not None:
                            contacts_gone.append(old)
                        known[cid] = contact
                        contacts_new.append(contact)
            changed = (tuple(agents_gone), tuple(agents_new), tuple(contacts_gone),
                       tuple(contacts_new))
        touched_agents.clear()
        touched_contacts.clear()
        return tuple(models), tuple(self._contact_models.values()), changed

    def _abandoned_now(self) -> tuple[AbandonedContact, ...]:
        e = self.engine
        if self._abandoned_ver != e.abandons_ver:
            self._abandoned_ver = e.abandons_ver
            self._abandoned = tuple([r.model if r.model_ver == r.ver else self._abandon(r)
                                     for r in e.abandons])
        return self._abandoned

    def _abandon(self, r: SimAbandon) -> AbandonedContact:
        c = r.contact
        model = AbandonedContact.model_construct(
            id=c.id, queue_id=c.queue.id, channel=c.channel, tier=TIERS[c.tier],
            customer=customer_name(c.origin), handle=customer_handle(c.channel, c.origin),
            waited_s=r.waited, abandoned_at=self.engine.at(r.at), short=r.short,
            callback_id=r.callback.id if r.callback is not None else None,
            source=self.source)
        r.model, r.model_ver = model, r.ver
        return model

    def _agent(self, a: SimAgent) -> Agent:
        c = a.contact
        state = AgentState.trusted(kind=AGENT_KINDS[a.kind], since=self.engine.at(a.since),
                                   reason=a.reason)
        model = Agent.trusted(
            id=a.id, name=a.name, team=a.team, state=state, skills=a.skill_ids,
            contact_id=c.id if c else None, queue_id=c.queue.id if c else None,
            source=self.source)
        a.model, a.model_ver = model, a.ver
        return model

    def _contact(self, c: SimContact) -> Contact:
        agent = c.agent if c.state != WAITING else None
        model = Contact.trusted(
            id=c.id, queue_id=c.queue.id, channel=c.channel, tier=TIERS[c.tier],
            entered_at=self.engine.at(c.entered), state=CONTACT_STATES[c.state],
            agent_id=agent.id if agent else None, customer=customer_name(c.origin),
            flags=c.flags, source=self.source)
        c.model, c.model_ver = model, c.ver
        return model


def _stats(queue_id: str, start: datetime, v: list[float]) -> QueueStats:
    return QueueStats.trusted(
        queue_id=queue_id, window_start=start, offered=int(v[0]), answered=int(v[1]),
        answered_within_threshold=int(v[2]), abandoned=int(v[3]), abandoned_short=int(v[4]),
        abandoned_after_threshold=int(v[5]), wait_answered_s=max(0.0, v[6]),
        handled=int(v[7]), handle_s=max(0.0, v[8]), flowed_out=int(v[9]))


def _wall_now() -> datetime:
    return datetime.now(UTC)


class SimulatorSource(Source):
    """The built-in simulated centre; ``clock`` (wall time) is injectable for tests."""

    capabilities = frozenset({Capability.SNAPSHOT, Capability.REASSIGN_CONTACT,
                              Capability.MOVE_AGENTS, Capability.BROADCAST,
                              Capability.AGENT_STATE, Capability.EMERGENCY_GROUP,
                              Capability.CALLBACK})

    def __init__(self, name: str, policy: IntervalPolicy, config: SimulatorConfig | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        super().__init__(name, policy)
        self.config = config if config is not None else SimulatorConfig()
        self._clock = clock or _wall_now
        self.speed = float(self.config.speed)
        self._wall0 = self._clock()
        start = self.config.start or self._wall0
        if start.tzinfo is None:  # a TOML local datetime means the centre's own time
            start = start.replace(tzinfo=policy.zone)
        self.start = start
        # Warm up before `start` so the first snapshot already has queues and numbers.
        warmup = timedelta(minutes=self.config.warmup_minutes)
        self.engine = Engine(self.config, policy, start - warmup)
        self.engine.advance(start)
        self._builder = SnapshotBuilder(self.engine, name, self.speed)
        self._builder.build()  # fill the model caches now, not on the UI's first poll

    @property
    def seed(self) -> int:
        return self.engine.seed

    def sim_now(self) -> datetime:
        return self.start + (self._clock() - self._wall0) * self.speed

    def _catch_up(self) -> None:
        self.engine.advance(self.sim_now())

    async def snapshot(self) -> Snapshot:
        self._catch_up()
        engine = self.engine
        # Said on the sources screen while it lasts: those calls are in no queue's counts.
        self.notes = () if engine.emergency_group is None else (
            f"emergency group {engine.emergency_group} ON: {engine.emergency_diverted} voice "
            "call(s) heard the emergency message and were not queued",)
        return self._builder.build()

    # Actions: the engine really moves the contact / changes routing. Each catches the
    # engine up to "now" first, so races (answered meanwhile) are reported honestly.

    async def move_contact(self, contact_id: str, queue_id: str) -> ActionResult:
        self._catch_up()
        return _result(self.engine.move_contact(contact_id, queue_id))

    async def assign_contact(self, contact_id: str, agent_id: str) -> ActionResult:
        self._catch_up()
        return _result(self.engine.assign_contact_to_agent(contact_id, agent_id))

    async def set_agent_skills(self, agent_id: str, skills: Sequence[str]) -> ActionResult:
        self._catch_up()
        return _result(self.engine.set_agent_skills(agent_id, skills))

    async def set_agent_state(self, agent_id: str, state: str) -> ActionResult:
        self._catch_up()
        return _result(self.engine.set_agent_state(agent_id, state))

    async def broadcast(self, message: str, key: str | None = None) -> ActionResult:
        self._catch_up()
        return _result(self.engine.broadcast(message, key))

    async def set_emergency(self, group: str, active: bool) -> ActionResult:
        self._catch_up()
        return _result(self.engine.set_emergency(group, active))

    async def create_callback(self, abandoned_id: str, queue_id: str) -> ActionResult:
        self._catch_up()
        return _result(self.engine.create_callback(abandoned_id, queue_id))

    async def set_scenario(self, scenario: Scenario | str) -> ActionResult:
        self._catch_up()
        return _result(self.engine.set_scenario(scenario))


def _result(outcome: ActionOutcome) -> ActionResult:
    return ActionResult(ok=outcome.ok, code=outcome.code, message=outcome.message)
