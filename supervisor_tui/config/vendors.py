"""The ``[vendors]``, ``[tiers]`` and ``[roles.scopes]`` configuration sections.

Example (TOML)::

    [vendors.acme]                       # an outsourcing vendor (BPO) or a site
    name = "Acme BPO"                    # shown on screen (default: the key)
    queues = ["sales", "support"]        # its queues
    teams = ["Red"]                      # its agents: by team...
    agents = ["acme-*"]                  # ...and/or agent id patterns (shell-style)
    sites = ["Manila"]                   # a source's site names that mean this vendor
    [vendors.acme.contract]
    sl_target = 0.8
    threshold_s = 20
    aht_max_s = 360
    abandon_max = 0.05
    adherence_min = 0.9

    [tiers.vip]                          # per customer tier (standard, gold, vip)
    sl_target = 0.9
    threshold_s = 10

    [roles.scopes]                       # a user sees (and acts on) only these queues
    alice = ["vendor:acme"]              # a vendor's queues
    bob = ["group:phones", "sales"]      # a [groups] group's, or a queue id

Kept apart from ``config/__init__.py`` so the domain's attribution and the screens can
use it without the whole configuration.
"""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator

from supervisor_tui.config.groups import _bad_name, listed_twice
from supervisor_tui.config.strict import Strict
from supervisor_tui.domain.model import SLFormula, Tier
from supervisor_tui.domain.tiers import DEFAULT_TARGETS, TierTarget
from supervisor_tui.domain.vendors import Contract, VendorRule


class ContractConfig(Strict):
    sl_target: float = Field(0.8, ge=0, le=1, description="SL the contract asks, e.g. 0.8")
    threshold_s: float = Field(
        20.0, gt=0, le=30 * 86400, description="the contract's answer threshold: compared "
        "with each queue's own (SL is counted at the queue's threshold; a difference is said)")
    aht_max_s: float | None = Field(None, gt=0, description="AHT above this misses")
    abandon_max: float | None = Field(None, ge=0, le=1, description="abandon rate above "
                                      "this misses, e.g. 0.05")
    adherence_min: float | None = Field(None, ge=0, le=1, description="schedule adherence "
                                        "below this misses, e.g. 0.9")
    sl_formula: SLFormula | None = Field(
        None, description="the contract's SL formula (default: [console] sl_formula)")


class VendorConfig(Strict):
    name: str | None = Field(None, description="shown on screen (default: the key)")
    queues: list[str] = Field(default_factory=list, description="queue ids it runs")
    teams: list[str] = Field(default_factory=list, description="teams (as the sources "
                             "name them) whose agents are the vendor's")
    agents: list[str] = Field(default_factory=list, description="agent id patterns "
                              "(fnmatch: acme-*, ?, [0-9]) of the vendor's agents")
    sites: list[str] = Field(default_factory=list, description="site names a source "
                             "reports that mean this vendor")
    contract: ContractConfig = Field(default_factory=ContractConfig)

    @model_validator(mode="after")
    def _sane(self) -> Self:
        problems: list[str] = []
        if self.name is not None:
            why = _bad_name(self.name)
            if why:
                problems.append(f"name {self.name!r} {why}")
        for field in ("queues", "teams", "agents", "sites"):
            values: list[str] = getattr(self, field)
            if any(not v.strip() for v in values):
                problems.append(f"{field} has an empty entry")
            twice = listed_twice(values)
            if twice:
                problems.append(f"{field} lists {twice} more than once")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class TierTargetConfig(Strict):
    sl_target: float | None = Field(None, ge=0, le=1, description="this tier's SL target "
                                    "(default: vip 0.9, gold 0.85, standard the queue's)")
    threshold_s: float | None = Field(
        None, gt=0, le=30 * 86400, description="the wait this tier should be answered in "
        "(default: the queue's); said when a source counts the tier at another")


def check_vendors(vendors: dict[str, VendorConfig]) -> dict[str, VendorConfig]:
    """Every problem across vendors in one message: a queue may belong to one vendor
    only (its counters would otherwise count twice in the totals)."""
    problems: list[str] = []
    owner: dict[str, str] = {}
    for key, vendor in vendors.items():
        why = _bad_name(key)
        if why:
            problems.append(f"vendor key {key!r} {why}")
        for q in vendor.queues:
            if q in owner:
                problems.append(f"queue {q!r} is in both {owner[q]!r} and {key!r}")
            owner.setdefault(q, key)
    if problems:
        raise ValueError("; ".join(problems))
    return vendors


def check_tiers(tiers: dict[str, TierTargetConfig]) -> dict[str, TierTargetConfig]:
    known = {t.value for t in Tier}
    unknown = sorted(set(tiers) - known)
    if unknown:
        raise ValueError(f"unknown tier(s) {', '.join(map(repr, unknown))}: the tiers are "
                         f"{', '.join(sorted(known))}")
    return tiers


def check_scopes(scopes: dict[str, list[str]]) -> dict[str, list[str]]:
    problems: list[str] = []
    for user, entries in scopes.items():
        if not entries:
            problems.append(f"{user!r} has an empty scope (leave them out to see everything)")
        for entry in entries:
            kind, _, name = entry.partition(":")
            if not entry.strip() or (name == "" and ":" in entry):
                problems.append(f"{user!r}: empty scope entry {entry!r}")
            elif ":" in entry and kind not in ("vendor", "group", "queue"):
                problems.append(f"{user!r}: {entry!r} is not vendor:NAME, group:NAME, "
                                "queue:ID or a queue id")
    if problems:
        raise ValueError("; ".join(problems))
    return scopes


def vendor_rules(vendors: dict[str, VendorConfig], formula: SLFormula
                 ) -> tuple[VendorRule, ...]:
    """The configured vendors as the domain's attribution rules, in config order."""
    return tuple(
        VendorRule(
            key=key, name=v.name or key, queues=frozenset(v.queues),
            teams=frozenset(v.teams), agent_patterns=tuple(v.agents),
            sites=frozenset({key, v.name or key, *v.sites}),
            contract=Contract(
                sl_target=v.contract.sl_target, threshold_s=v.contract.threshold_s,
                aht_max_s=v.contract.aht_max_s, abandon_max=v.contract.abandon_max,
                adherence_min=v.contract.adherence_min,
                sl_formula=v.contract.sl_formula or formula))
        for key, v in vendors.items())


def tier_targets(tiers: dict[str, TierTargetConfig]) -> dict[Tier, TierTarget]:
    """Each tier's target: configured values over the documented defaults."""
    out: dict[Tier, TierTarget] = {}
    for tier in Tier:
        base = DEFAULT_TARGETS[tier]
        got = tiers.get(tier.value)
        out[tier] = base if got is None else TierTarget(
            got.sl_target if got.sl_target is not None else base.sl_target,
            got.threshold_s if got.threshold_s is not None else base.threshold_s)
    return out
