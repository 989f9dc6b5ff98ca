"""The ``[simulator]`` configuration section: enough knobs to model your own centre.

Every field has a default, and the defaults are the demo centre (:func:`default_centre`):
eight queues across voice, chat, email and social served by 60 agents in six teams,
staffed so that at any hour the board shows some queues comfortably green, one or two
stretched, and numbers that move every few seconds at speed 1.

Example (TOML)::

    [simulator]
    scenario = "surge"
    seed = 7

    [[simulator.queues]]
    id = "sales"
    name = "Sales"
    channel = "voice"
    arrivals_per_hour = 120
    aht_s = 300

    [simulator.agents]          # a generator; or [[simulator.agents]] for explicit agents
    count = 30
    teams = [{ name = "Sales", skills = ["sales"] }]
"""

from __future__ import annotations

import bisect
import math
from datetime import datetime
from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from supervisor_tui.domain.model import Channel


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Scenario(StrEnum):
    NORMAL = "normal"
    SURGE = "surge"  # arrivals x factor on some queues (a campaign, a storm)
    OUTAGE = "outage"  # agents drop offline, systems slow, customers chase: a crisis


class HandleTimeDist(StrEnum):
    EXPONENTIAL = "exponential"  # what Erlang C assumes
    LOGNORMAL = "lognormal"  # what real handle times look like (long right tail)


class TierMix(_Strict):
    """Share of contacts from premium customers; the rest are standard."""

    vip: float = Field(0.02, ge=0, le=1)
    gold: float = Field(0.12, ge=0, le=1)

    @model_validator(mode="after")
    def _at_most_one(self) -> Self:
        if self.vip + self.gold > 1:
            raise ValueError("vip + gold must not exceed 1")
        return self


class QueueConfig(_Strict):
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    channel: Channel = Channel.VOICE
    sl_target: float = Field(0.8, ge=0, le=1, description="fraction, e.g. 0.8")
    threshold_s: float = Field(20.0, ge=0)
    short_abandon_s: float = Field(5.0, ge=0)
    arrivals_per_hour: float = Field(60.0, ge=0, description="mean rate before the curve")
    aht_s: float = Field(300.0, gt=0, description="mean handle time incl. after-contact work")
    handle_time: HandleTimeDist = HandleTimeDist.LOGNORMAL
    handle_time_cv: float = Field(0.8, gt=0, description="std/mean for lognormal")
    acw_s: float = Field(30.0, ge=0, description="mean after-contact work, part of aht_s")
    patience_s: float | None = Field(
        120.0, gt=0, description="mean customer patience; None = nobody abandons"
    )
    defer_s: float = Field(
        0.0, ge=0, description="worked in batches: new contacts reach agents after this long"
    )
    tiers: TierMix = Field(default_factory=TierMix)

    @model_validator(mode="after")
    def _acw_inside_aht(self) -> Self:
        # aht_s is what reports call AHT (talk + hold + ACW), so ACW must leave talk time.
        if self.acw_s >= self.aht_s:
            raise ValueError("acw_s must be less than aht_s (AHT includes after-contact work)")
        return self


class AgentConfig(_Strict):
    id: str | None = Field(None, description="default a001, a002, ... in list order")
    name: str = Field(min_length=1)
    team: str = ""
    skills: list[str] = Field(default_factory=list, description="queue ids, preferred first")


class TeamConfig(_Strict):
    name: str = Field(min_length=1)
    skills: list[str] = Field(min_length=1, description="queue ids every member serves")
    weight: float = Field(1.0, gt=0, description="share of the generated agents")
    extra_skills: list[str] = Field(
        default_factory=list, description="also served, after the core skills, by some"
    )
    extra_share: float = Field(0.5, ge=0, le=1, description="fraction who have extra_skills")


class AgentGenerator(_Strict):
    count: int = Field(60, ge=0)
    teams: list[TeamConfig] = Field(min_length=1)


class BreakReason(_Strict):
    reason: str = Field(min_length=1)
    weight: float = Field(1.0, gt=0)
    mean_s: float = Field(600.0, gt=0, description="mean length (uniform +-25%)")


def _default_reasons() -> list[BreakReason]:
    return [
        BreakReason(reason="break", weight=0.55, mean_s=600),
        BreakReason(reason="lunch", weight=0.15, mean_s=1800),
        BreakReason(reason="meeting", weight=0.15, mean_s=900),
        BreakReason(reason="training", weight=0.15, mean_s=1200),
    ]


class BreakPolicy(_Strict):
    enabled: bool = True
    # Chance that an agent goes away on finishing a contact rather than taking the next:
    # with ~10 contacts an hour this gives the usual 8-10% shrinkage.
    probability: float = Field(0.04, ge=0, le=1)
    reasons: list[BreakReason] = Field(default_factory=_default_reasons, min_length=1)

    @property
    def mean_s(self) -> float:
        total = sum(r.weight for r in self.reasons)
        return sum(r.weight * r.mean_s for r in self.reasons) / total


class FlagProbabilities(_Strict):
    """Chance that a new contact carries each flag (things a platform would know)."""

    asked_for_supervisor: float = Field(0.01, ge=0, le=1)
    repeat_contact: float = Field(0.08, ge=0, le=1)
    complaint: float = Field(0.02, ge=0, le=1)


class SurgeConfig(_Strict):
    factor: float = Field(1.8, ge=1, description="arrivals x factor on the surge queues")
    queues: list[str] | None = Field(None, description="None = every other queue")


class OutageConfig(_Strict):
    offline_fraction: float = Field(0.35, ge=0, le=1, description="agents who drop offline")
    handle_time_factor: float = Field(1.5, ge=1, description="slow systems: longer contacts")
    arrival_factor: float = Field(1.3, ge=1, description="customers chase what is broken")
    flag_factor: float = Field(3.0, ge=1, description="more complaints and escalations")


# Hourly arrival factors, local time, mean ~1. Mild (0.84-1.14), and with staff_to_curve
# the logged-in staff follow it, so the demo is busy at any hour; set your own profile.
DEFAULT_PROFILE: tuple[float, ...] = (
    0.86, 0.85, 0.84, 0.84, 0.85, 0.88, 0.93, 0.99, 1.06, 1.11, 1.14, 1.12,
    1.07, 1.08, 1.12, 1.13, 1.10, 1.05, 1.01, 0.98, 0.95, 0.92, 0.90, 0.88,
)  # fmt: skip


class SimulatorConfig(_Strict):
    scenario: Scenario = Scenario.NORMAL
    seed: int | None = Field(None, description="None = different every run")
    speed: float = Field(1.0, gt=0, description="simulated seconds per wall-clock second")
    warmup_minutes: float = Field(30.0, ge=0, le=24 * 60)
    start: datetime | None = Field(
        None, description="simulated start; None = now; no offset = console time zone"
    )
    queues: list[QueueConfig] = Field(default_factory=lambda: default_queues(), min_length=1)
    agents: list[AgentConfig] | AgentGenerator = Field(
        default_factory=lambda: default_agents(),
        description="explicit agents, or a generator (count + teams)",
    )
    breaks: BreakPolicy = Field(default_factory=BreakPolicy)
    intraday_curve: bool = True
    intraday_profile: list[float] | None = Field(
        None, min_length=24, max_length=24, description="24 hourly factors; None = built-in"
    )
    staff_to_curve: bool = Field(
        True, description="agents log off as the curve dips, so every hour is busy"
    )
    flags: FlagProbabilities = Field(default_factory=FlagProbabilities)
    surge: SurgeConfig = Field(default_factory=SurgeConfig)
    outage: OutageConfig = Field(default_factory=OutageConfig)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        ids = [q.id for q in self.queues]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate queue id(s): {', '.join(dupes)}")
        if "queues" in self.model_fields_set and "agents" not in self.model_fields_set:
            # The default agents serve the default queues; staff the user's queues instead.
            self.agents = auto_staff(self.queues)
        known = set(ids)
        if isinstance(self.agents, AgentGenerator):
            for team in self.agents.teams:
                _check_skills(known, team.skills + team.extra_skills, f"team {team.name!r}")
        else:
            for i, agent in enumerate(self.agents):
                _check_skills(known, agent.skills, f"agent {agent.name!r}")
                if agent.id is None:
                    agent.id = f"a{i + 1:03d}"
            agent_ids = [a.id for a in self.agents]
            if len(set(agent_ids)) != len(agent_ids):
                raise ValueError("agent ids must be unique")
        for qid in self.surge.queues or ():
            _check_skills(known, [qid], "surge.queues")
        if self.intraday_profile is not None and any(f < 0 for f in self.intraday_profile):
            raise ValueError("intraday_profile factors cannot be negative")
        return self

    @classmethod
    def default_centre(cls) -> SimulatorConfig:
        return default_centre()

    @property
    def profile(self) -> tuple[float, ...]:
        """Hourly arrival factors in force (all 1.0 with the curve off)."""
        if not self.intraday_curve:
            return (1.0,) * 24
        return tuple(self.intraday_profile) if self.intraday_profile else DEFAULT_PROFILE

    def surge_queue_ids(self) -> list[str]:
        if self.surge.queues is not None:
            return list(self.surge.queues)
        return [q.id for q in self.queues[::2]]

    def expand_agents(self) -> list[AgentConfig]:
        """Explicit agents, generating them (deterministically) from teams if needed."""
        if isinstance(self.agents, list):
            return list(self.agents)
        return generate_agents(self.agents)


def _check_skills(known: set[str], skills: list[str], where: str) -> None:
    unknown = [s for s in skills if s not in known]
    if unknown:
        raise ValueError(f"{where}: unknown queue id(s) {', '.join(map(repr, unknown))}")


_FIRST = (
    "Ana", "Ben", "Chloe", "Dev", "Elif", "Farid", "Grace", "Hugo", "Ines", "Jon", "Kemi",
    "Liam", "Maya", "Nico", "Olu", "Priya", "Quinn", "Rosa", "Sam", "Tariq", "Uma", "Vik",
    "Wen", "Xena", "Yusuf", "Zoe", "Aiko", "Bruno", "Carla", "Dmitri", "Eva", "Femi",
    "Gus", "Hana", "Ivan", "Jade", "Kai", "Lena", "Marco", "Nadia", "Omar", "Pia", "Raj",
    "Sara", "Tom", "Ula", "Vera", "Will", "Yara", "Zack", "Amir", "Bea", "Cole", "Dina",
    "Emil", "Fay", "Gil", "Heidi", "Ilan", "Joy",
)  # fmt: skip
_LAST = "ABCDEFGHJKLMNOPRSTVWZ"


def agent_name(i: int) -> str:
    """A readable, unique-enough name for generated agent number ``i``."""
    first = _FIRST[i % len(_FIRST)]
    last = _LAST[(i + i // len(_FIRST)) % len(_LAST)]  # one-to-one for 60*21 agents
    lap = i // (len(_FIRST) * len(_LAST))
    return f"{first} {last}." if lap == 0 else f"{first} {last}. {lap + 1}"


def generate_agents(gen: AgentGenerator) -> list[AgentConfig]:
    """Split ``count`` agents over the teams by weight (largest remainder), in order."""
    total = sum(t.weight for t in gen.teams)
    exact = [gen.count * t.weight / total for t in gen.teams]
    sizes = [math.floor(x) for x in exact]
    by_remainder = sorted(range(len(exact)), key=lambda i: sizes[i] - exact[i])
    for i in by_remainder[: gen.count - sum(sizes)]:
        sizes[i] += 1
    agents: list[AgentConfig] = []
    for team, size in zip(gen.teams, sizes, strict=True):
        with_extra = round(size * team.extra_share)
        for k in range(size):
            # Spread the extra skills evenly through the team rather than its first members.
            has_extra = (k * with_extra) // size != ((k + 1) * with_extra) // size
            extra = team.extra_skills if has_extra else []
            n = len(agents)
            agents.append(AgentConfig(id=f"a{n + 1:03d}", name=agent_name(n), team=team.name,
                                      skills=[*team.skills, *extra]))
    return agents


def auto_staff(queues: list[QueueConfig], occupancy: float = 0.85) -> AgentGenerator:
    """One team per queue, sized for its traffic at ``occupancy`` plus break shrinkage."""
    teams = []
    counts = []
    for q in queues:
        traffic = q.arrivals_per_hour * q.aht_s / 3600
        counts.append(max(1, math.ceil(traffic / occupancy * 1.1)))
        same_channel = [o.id for o in queues if o.channel == q.channel and o.id != q.id]
        teams.append(TeamConfig(name=q.name, skills=[q.id], weight=counts[-1],
                                extra_skills=same_channel[:1], extra_share=0.3))
    return AgentGenerator(count=sum(counts), teams=teams)


def default_queues() -> list[QueueConfig]:
    def q(id: str, name: str, channel: Channel, target: float, threshold: float,
          rate: float, aht: float, acw: float, patience: float | None, **kw: object) -> QueueConfig:
        return QueueConfig(id=id, name=name, channel=channel, sl_target=target,
                           threshold_s=threshold, arrivals_per_hour=rate, aht_s=aht,
                           acw_s=acw, patience_s=patience, **kw)  # type: ignore[arg-type]

    voice, chat, email, social = Channel.VOICE, Channel.CHAT, Channel.EMAIL, Channel.SOCIAL
    premium = TierMix(vip=0.35, gold=0.65)
    # Traffic (Erlangs) is tuned against the teams below: support is the stretched queue,
    # sales runs close to target, premier/chat/email/social stay comfortably green.
    return [
        q("sales", "Sales", voice, 0.8, 20, 108, 300, 30, 150),
        q("support", "Tech Support", voice, 0.8, 20, 110, 420, 45, 240,
          handle_time_cv=1.0),
        q("billing", "Billing", voice, 0.8, 20, 72, 330, 40, 180),
        q("premier", "Premier Line", voice, 0.9, 15, 24, 360, 40, 300, tiers=premium),
        q("chat_sales", "Sales Chat", chat, 0.9, 60, 36, 420, 20, 300, short_abandon_s=15),
        q("chat_support", "Support Chat", chat, 0.9, 60, 36, 540, 30, 360,
          short_abandon_s=15),
        # Email and social are worked in batches (defer_s), so a backlog always shows.
        q("email", "Email", email, 0.9, 3600, 22, 420, 30, None, short_abandon_s=0,
          handle_time=HandleTimeDist.EXPONENTIAL, defer_s=600),
        q("social", "Social", social, 0.85, 900, 16, 360, 30, None, short_abandon_s=0,
          defer_s=120),
    ]


def default_agents() -> AgentGenerator:
    # Voice teams blend into chat; email and social sit with a small back office (plus
    # Digital for social) so a visible backlog is normal there, as on a real floor.
    return AgentGenerator(count=60, teams=[
        TeamConfig(name="Sales", weight=15, skills=["sales", "chat_sales"],
                   extra_skills=["premier"], extra_share=0.3),
        TeamConfig(name="Support", weight=15, skills=["support", "chat_support"],
                   extra_skills=["billing"], extra_share=0.4),
        TeamConfig(name="Billing", weight=10, skills=["billing"],
                   extra_skills=["support"], extra_share=0.3),
        TeamConfig(name="Digital", weight=10, skills=["chat_sales", "chat_support", "social"]),
        TeamConfig(name="Premier", weight=6, skills=["premier"],
                   extra_skills=["billing"], extra_share=0.35),
        TeamConfig(name="Back Office", weight=4, skills=["email", "social"]),
    ])


def default_centre() -> SimulatorConfig:
    """The demo centre used when there is no configuration at all."""
    return SimulatorConfig()


_CHANNEL_CYCLE = (Channel.VOICE, Channel.VOICE, Channel.CHAT, Channel.VOICE, Channel.EMAIL,
                  Channel.VOICE, Channel.CHAT, Channel.SOCIAL, Channel.VOICE, Channel.CHAT)
_CHANNEL_SHAPE = {  # target, threshold, aht, acw, patience
    Channel.VOICE: (0.8, 20.0, 300.0, 30.0, 150.0),
    Channel.CHAT: (0.9, 60.0, 420.0, 20.0, 300.0),
    Channel.EMAIL: (0.9, 3600.0, 420.0, 30.0, None),
    Channel.SOCIAL: (0.85, 900.0, 360.0, 30.0, None),
}


def scaled_centre(queues: int, agents: int, occupancy: float = 0.88,
                  seed: int | None = 1) -> SimulatorConfig:
    """A big synthetic centre for benchmarks: ``agents`` spread over ``queues``.

    Agent ``i`` serves queue ``i % queues`` first and its two neighbours of the same
    channel after, so queues pool their staff in overlapping rings like real multi-skill
    floors, and each queue's arrivals are set for ``occupancy`` of its share of agents.
    """
    if queues < 1 or agents < 1:
        raise ValueError("need at least one queue and one agent")
    qcfgs = []
    by_channel: dict[Channel, list[int]] = {}
    per_queue = agents / queues * (1 - 0.08)  # ~8% away on breaks at any moment
    for i in range(queues):
        channel = _CHANNEL_CYCLE[i % len(_CHANNEL_CYCLE)]
        target, threshold, aht, acw, patience = _CHANNEL_SHAPE[channel]
        rate = per_queue * occupancy * 3600 / aht
        qcfgs.append(QueueConfig(id=f"q{i:04d}", name=f"Queue {i:04d}", channel=channel,
                                 sl_target=target, threshold_s=threshold,
                                 arrivals_per_hour=round(rate, 3), aht_s=aht, acw_s=acw,
                                 patience_s=patience))
        by_channel.setdefault(channel, []).append(i)
    agent_cfgs = []
    for n in range(agents):
        home = n % queues
        ring = by_channel[qcfgs[home].channel]
        pos = bisect.bisect_left(ring, home)  # rings are built in order, so sorted
        skills = [qcfgs[home].id]
        for step in (1, -1):
            other = ring[(pos + step) % len(ring)]
            if qcfgs[other].id not in skills:
                skills.append(qcfgs[other].id)
        agent_cfgs.append(AgentConfig(id=f"a{n + 1:05d}", name=agent_name(n),
                                      team=f"Team {home // 10 + 1}", skills=skills))
    return SimulatorConfig(seed=seed, queues=qcfgs, agents=agent_cfgs, warmup_minutes=10)

