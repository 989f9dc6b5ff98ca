"""Vendors and sites: which queues and agents are whose, and each vendor's KPIs against
its contract (pure).

Attribution, one rule (docs/vendors.md): **the configuration wins, the source fills in**.
A queue listed in a ``[vendors.X] queues`` is X's whatever its source says; otherwise a
queue's ``site`` (as its source reports it) names its vendor: a configured vendor when the
name is that vendor's key, display name or one of its ``sites``, else a vendor of that
name with no contract. Agents likewise: a configured team or agent id pattern first (the
first vendor in config order that matches), then the agent's own ``site``. A vendor with
no agent of its own (no team, pattern or site matched) counts the agents who serve its
queues.

KPIs are over the same window as the queue figures and follow the counting rule: a
vendor's counters are its queues' summed (each queue once: a queue belongs to one vendor),
and its SL is answered within threshold over the contract's formula's denominator (the
console's unless the contract names one), with the sample size beside it. SL is counted
at each queue's own threshold: where a queue's differs from the contract's, the row says
so rather than pretend.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from supervisor_tui.domain import metrics
from supervisor_tui.domain.board import Board, QueueRow, SLStatus, WindowMetrics, sl_status
from supervisor_tui.domain.groups import window_total
from supervisor_tui.domain.model import Agent, Queue, SLFormula
from supervisor_tui.domain.text import clean

#: a vendor's name on screen is at most this long
NAME_MAX = 40


@dataclass(frozen=True)
class Contract:
    sl_target: float = 0.8
    threshold_s: float = 20.0
    aht_max_s: float | None = None
    abandon_max: float | None = None
    adherence_min: float | None = None
    sl_formula: SLFormula = SLFormula.ANSWERED_AND_ABANDONED_AFTER


@dataclass(frozen=True)
class VendorRule:
    """One configured vendor: what is its, and its contract."""

    key: str
    name: str
    queues: frozenset[str] = frozenset()
    teams: frozenset[str] = frozenset()
    agent_patterns: tuple[str, ...] = ()
    sites: frozenset[str] = frozenset()  # source site names meaning this vendor
    contract: Contract | None = None

    def has_agent_rules(self) -> bool:
        return bool(self.teams or self.agent_patterns)

    def takes(self, team: str, agent_id: str) -> bool:
        """Whether an agent of ``team`` with ``agent_id`` is this vendor's by its agent
        rules (one at a time: a pass over many agents compiles them, see below)."""
        return team in self.teams or any(
            fnmatch.fnmatchcase(agent_id, p) for p in self.agent_patterns)


def _by_site(site: str | None, rules: Sequence[VendorRule]) -> str | None:
    if site is None or not site.strip():
        return None
    for rule in rules:
        if site in rule.sites:
            return rule.key
    return site  # a vendor no configuration names: known by the source's word only


def queue_vendor(queue: Queue, rules: Sequence[VendorRule]) -> str | None:
    """The key of ``queue``'s vendor (config first, then the source's site), or None."""
    for rule in rules:
        if queue.id in rule.queues:
            return rule.key
    return _by_site(queue.site, rules)


class AgentRules:
    """The rules' teams and id patterns compiled once (10,000 agents a poll): the first
    vendor in config order whose team or pattern takes the agent."""

    def __init__(self, rules: tuple[VendorRule, ...]) -> None:
        self.team_rank: dict[str, int] = {}
        for i, rule in enumerate(rules):
            for team in rule.teams:
                self.team_rank.setdefault(team, i)
        self.patterns = [(i, re.compile("|".join(fnmatch.translate(p)
                                                  for p in rule.agent_patterns)))
                         for i, rule in enumerate(rules) if rule.agent_patterns]
        self.keys = [r.key for r in rules]

    def rank(self, agent: Agent) -> int | None:
        best = self.team_rank.get(agent.team)
        for i, pattern in self.patterns:
            if best is not None and i >= best:
                break
            if pattern.match(agent.id):
                return i
        return best


def agent_vendor(agent: Agent, rules: Sequence[VendorRule],
                 compiled: AgentRules | None = None) -> str | None:
    """The key of ``agent``'s vendor (config's team/pattern first, then their site);
    ``compiled``: the rules' ``AgentRules`` when many agents are attributed."""
    if rules:
        compiled = compiled or AgentRules(tuple(rules))
        rank = compiled.rank(agent)
        if rank is not None:
            return compiled.keys[rank]
    return _by_site(agent.site, rules)


@dataclass(frozen=True)
class Attribution:
    """Every queue's and agent's vendor in one snapshot (agents by identity: two
    sources' agents with one id are two agents)."""

    queues: Mapping[str, str]  # queue id -> vendor key
    agents: Mapping[int, str]  # id(agent) -> vendor key
    order: tuple[str, ...]  # vendor keys: configured first (config order), then by name


def attribute(board: Board, rules: Sequence[VendorRule]) -> Attribution:
    queues: dict[str, str] = {}
    for row in board.rows:
        key = queue_vendor(row.queue, rules)
        if key is not None:
            queues[row.queue.id] = key
    agents: dict[int, str] = {}
    compiled = AgentRules(tuple(rules))
    for agent in board.snapshot.agents:
        key = agent_vendor(agent, rules, compiled)
        if key is not None:
            agents[id(agent)] = key
    configured = [r.key for r in rules]
    seen = set(configured)
    others = sorted({*queues.values(), *agents.values()} - seen, key=str.lower)
    return Attribution(queues, agents, (*configured, *others))


class Miss:
    """Which contract KPIs a vendor misses (names used as keys on screen)."""

    SL = "sl"
    AHT = "aht"
    ABANDON = "abandon"
    ADHERENCE = "adherence"


@dataclass(frozen=True)
class VendorFigures:
    """One vendor in one window of one poll."""

    key: str
    name: str
    contract: Contract | None
    rows: tuple[QueueRow, ...]
    figures: WindowMetrics | None  # its queues' counters summed (None: no queue / unknown)
    agents: metrics.AgentTally
    agents_from_queues: bool  # no agent of its own: those serving its queues are counted
    adherence: float | None  # None: no schedule loaded (or none of its agents scheduled)
    other_thresholds: tuple[str, ...] = ()  # queues counted at another threshold
    misses: frozenset[str] = field(default_factory=frozenset)

    @property
    def sl(self) -> float | None:
        return self.figures.service_level if self.figures else None

    @property
    def sl_n(self) -> int:
        return self.figures.sl_n if self.figures else 0

    @property
    def sl_status(self) -> SLStatus:
        target = self.contract.sl_target if self.contract else (
            sum(r.queue.sl_target for r in self.rows) / len(self.rows) if self.rows else 0.8)
        return sl_status(self.sl, target)


def _misses(contract: Contract | None, figures: WindowMetrics | None,
            adherence: float | None) -> frozenset[str]:
    """Contract KPIs missed, each judged on the figure as shown (a whole percent, whole
    seconds), as the SL status is."""
    if contract is None or figures is None:
        return frozenset()
    out: set[str] = set()
    if sl_status(figures.service_level, contract.sl_target) is SLStatus.MISSED:
        out.add(Miss.SL)
    if contract.aht_max_s is not None and figures.aht_s is not None and (
            round(figures.aht_s) > contract.aht_max_s):
        out.add(Miss.AHT)
    if contract.abandon_max is not None and figures.abandon_rate is not None and (
            round(figures.abandon_rate * 1000) > round(contract.abandon_max * 1000)):
        out.add(Miss.ABANDON)
    if contract.adherence_min is not None and adherence is not None and (
            round(adherence * 100) < round(contract.adherence_min * 100)):
        out.add(Miss.ADHERENCE)
    return frozenset(out)


def vendor_figures(board: Board, rules: Sequence[VendorRule], window: str,
                   adherence: Callable[[Iterable[Agent]], float | None] | None = None,
                   attribution: Attribution | None = None) -> tuple[VendorFigures, ...]:
    """Every vendor (configured ones first, even with nothing reported yet) over
    ``window``. ``adherence``: the group adherence of some agents (None: unknown)."""
    att = attribution or attribute(board, rules)
    rule_of = {r.key: r for r in rules}
    rows_of: dict[str, list[QueueRow]] = {k: [] for k in att.order}
    for row in board.rows:
        key = att.queues.get(row.queue.id)
        if key is not None:
            rows_of[key].append(row)
    agents_of: dict[str, list[Agent]] = {k: [] for k in att.order}
    for agent in board.snapshot.agents:
        key = att.agents.get(id(agent))
        if key is not None:
            agents_of[key].append(agent)
    out: list[VendorFigures] = []
    for key in att.order:
        rule = rule_of.get(key)
        contract = rule.contract if rule else None
        rows = tuple(rows_of[key])
        agents: Sequence[Agent] = agents_of[key]
        from_queues = False
        if not agents and rows:
            # No agent of its own: the distinct agents serving its queues.
            seen: dict[int, Agent] = {}
            for r in rows:
                for a in r.serving:
                    seen.setdefault(id(a), a)
            agents, from_queues = tuple(seen.values()), True
        figures: WindowMetrics | None = None
        if rows:
            total = window_total(board, window, rows)
            if total is not None:
                formula = contract.sl_formula if contract else board.formula
                figures = WindowMetrics.of(total.stats, formula)
        adh = adherence(agents) if adherence is not None and agents else None
        others = tuple(r.queue.id for r in rows if contract is not None
                       and abs(r.queue.threshold_s - contract.threshold_s) > 1e-9)
        out.append(VendorFigures(
            key=key, name=clean(rule.name if rule else key, NAME_MAX), contract=contract,
            rows=rows, figures=figures, agents=metrics.agent_counts(agents),
            agents_from_queues=from_queues, adherence=adh, other_thresholds=others,
            misses=_misses(contract, figures, adh)))
    return tuple(out)
