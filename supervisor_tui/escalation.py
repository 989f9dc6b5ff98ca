"""Escalation rules (pure): snapshot + rules -> escalations with stable ids.

``evaluate`` is stateless: the conditions true in one snapshot. ``EscalationTracker``
adds what one snapshot cannot know: when an escalation was first seen, hysteresis (a
condition must stay away ``clear_after_s`` of *snapshot* time before its escalation
clears, so nothing flaps), owned escalations that never clear by themselves, and how
long a queue has been under its service-level target.

Ids are stable across polls and are the keys of escalation state in the store::

    contact-wait:<source>:<contact_id>       longest-wait and tier rules (one per contact)
    flag:<flag>:<source>:<contact_id>        flags the source put on a contact
    queue-sl:<queue_id>   queue-abandon:<queue_id>
    agent-acw:<source>:<agent_id>   agent-away:<source>:<agent_id>

Contact and agent ids carry the source because two platforms may number them alike;
queue ids are already unique in a merged snapshot (they key its stats).

``reason`` embeds names from sources: escape it before it reaches Rich markup.

Speed: a 10,000-agent / 5,000-waiting snapshot in a meltdown yields thousands of
escalations per poll, so the hot loops compare datetimes against precomputed cutoffs
and build results with ``_trusted`` (no validation: every value is computed here).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from supervisor_tui.fmt import duration, pct
from supervisor_tui.metrics import abandon_rate, service_level
from supervisor_tui.model import (
    AgentStateKind,
    ContactFlag,
    ContactState,
    Frozen,
    SLFormula,
    Snapshot,
    Tier,
)


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


SEVERITY_RANK: dict[str, int] = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


class EscalationKind(StrEnum):
    CONTACT_WAIT = "contact_wait"  # over the queue's threshold x factor
    TIER_WAIT = "tier_wait"  # gold / vip over the tier limit
    CONTACT_FLAG = "contact_flag"
    QUEUE_SL = "queue_sl"
    QUEUE_ABANDON = "queue_abandon"
    AGENT_ACW = "agent_acw"
    AGENT_AWAY = "agent_away"


class SubjectType(StrEnum):
    CONTACT = "contact"
    QUEUE = "queue"
    AGENT = "agent"


Level = Severity | Literal["off"]  # TOML has no null: "off" disables a flag rule


class FlagSeverities(BaseModel):
    model_config = ConfigDict(extra="forbid")

    asked_for_supervisor: Level = Severity.CRITICAL
    complaint: Level = Severity.WARNING
    repeat_contact: Level = Severity.INFO


def _default_away_limits() -> dict[str, float]:
    return {"break": 900.0, "lunch": 3600.0, "training": 7200.0}


class EscalationRules(BaseModel):
    """The ``[escalations]`` config section."""

    model_config = ConfigDict(extra="forbid")

    # "threshold_factor" was this key's name before the rules existed; still accepted.
    contact_wait_factor: float = Field(
        1.0, gt=0, validation_alias=AliasChoices("contact_wait_factor", "threshold_factor"),
        description="waiting past queue threshold x factor: warning")
    contact_wait_factors: dict[str, float] = Field(
        default_factory=dict, description="per-queue factor overrides, queue id -> factor")
    critical_wait_multiple: float = Field(
        3.0, gt=1, description="past threshold x factor x this: critical")
    gold_wait_s: float = Field(60.0, gt=0, description="gold customer waiting: warning")
    vip_wait_s: float = Field(30.0, gt=0, description="vip customer waiting: critical")
    sl_breach_minutes: float = Field(
        5.0, ge=0, description="SL under target this long: warning")
    sl_critical_points: float = Field(
        15.0, ge=0, le=100, description="SL under target by more points than this: critical")
    abandon_limit: float = Field(0.1, gt=0, le=1, description="abandon rate over this: warning")
    min_contacts: int = Field(
        10, ge=1, description="SL and abandon rules wait for this many offered this interval")
    acw_limit_s: float = Field(120.0, gt=0, description="after-contact work longer: info")
    away_limit_s: float = Field(900.0, gt=0, description="away, any reason without its own")
    away_limits_s: dict[str, float] = Field(
        default_factory=_default_away_limits, description="away limit per reason")
    agent_warning_multiple: float = Field(
        2.0, gt=1, description="agent past limit x this: warning instead of info")
    flags: FlagSeverities = Field(default_factory=FlagSeverities)
    clear_after_s: float = Field(
        30.0, ge=0, description="a condition must be gone this long before it clears")

    def wait_factor(self, queue_id: str) -> float:
        return self.contact_wait_factors.get(queue_id, self.contact_wait_factor)

    def away_limit_for(self, reason: str | None) -> float:
        return self.away_limits_s.get(reason or "", self.away_limit_s)


class Escalation(Frozen):
    """Something that needs a human, as of ``last_seen``.

    ``first_seen`` is when the condition began as far as the snapshots show (a contact's
    wait passing its limit, an agent's state passing its limit), else when it was first
    observed. ``value`` / ``limit`` are the numbers behind it: seconds (waits, agent
    states) or fractions (service level vs target, abandon rate vs limit); ``limit`` is
    the base limit, critical being some multiple of it. An escalation held by the tracker
    after its condition went away keeps its last ``last_seen``.
    """

    id: str
    kind: EscalationKind
    severity: Severity
    reason: str
    subject_type: SubjectType
    subject_id: str
    queue_id: str | None = None
    source: str = ""
    first_seen: datetime
    last_seen: datetime
    value: float
    limit: float


_FIELDS_SET = set(Escalation.model_fields)  # shared: model_copy copies before mutating
_new = object.__new__
_set = object.__setattr__


def _trusted(values: dict) -> Escalation:
    # What model_construct does, minus its per-field defaulting (13 us -> ~1 us): every
    # value here is computed by this module. test_escalation checks it equals validation.
    esc = _new(Escalation)
    _set(esc, "__dict__", values)
    _set(esc, "__pydantic_fields_set__", _FIELDS_SET)
    _set(esc, "__pydantic_extra__", None)
    _set(esc, "__pydantic_private__", None)
    return esc


def severity_rank(severity: str) -> int:
    return SEVERITY_RANK[severity]


def sort_key(esc: Escalation) -> tuple[int, datetime, str]:
    """Most severe first, then oldest first (id breaks ties, for a stable screen)."""
    return (-SEVERITY_RANK[esc.severity], esc.first_seen, esc.id)


def sort_escalations(escalations: Iterable[Escalation]) -> list[Escalation]:
    return sorted(escalations, key=sort_key)


def count_by_severity(escalations: Iterable[Escalation]) -> dict[Severity, int]:
    counts = dict.fromkeys(Severity, 0)
    for esc in escalations:
        counts[esc.severity] += 1
    return counts


def _clock(seconds: float) -> str:
    # Hot path: most waits are under an hour; fmt.duration for the rest.
    s = int(seconds)
    if 0 <= s < 3600:
        return f"{s // 60}:{s % 60:02d}"
    return duration(seconds)


_FLAG_TEXT = {
    ContactFlag.ASKED_FOR_SUPERVISOR: "Customer asked for a supervisor",
    ContactFlag.COMPLAINT: "Complaint",
    ContactFlag.REPEAT_CONTACT: "Repeat contact",
}
_TIER_LABEL = {Tier.VIP: "VIP waiting ", Tier.GOLD: "Gold customer waiting "}
_WAITING = ContactState.WAITING
_WRAP_UP = ContactState.WRAP_UP
_ACW = AgentStateKind.AFTER_CONTACT_WORK
_AWAY = AgentStateKind.AWAY
_S = timedelta(seconds=1)


def evaluate(
    snapshot: Snapshot,
    rules: EscalationRules,
    *,
    sl_formula: SLFormula = SLFormula.ANSWERED_AND_ABANDONED_AFTER,
    sl_under_since: Mapping[str, datetime] | None = None,
) -> list[Escalation]:
    """Escalations whose conditions hold in ``snapshot`` (unsorted).

    A service-level breach must have lasted ``sl_breach_minutes``, which one snapshot
    cannot show: pass ``sl_under_since`` (queue id -> when it went under target, as the
    tracker keeps it); without it a breach counts from now.
    """
    return _evaluate(snapshot, rules, sl_formula, sl_under_since or {}, {})[0]


def _evaluate(
    snap: Snapshot,
    rules: EscalationRules,
    formula: SLFormula,
    under_since: Mapping[str, datetime],
    known: Mapping[str, datetime],
) -> tuple[list[Escalation], set[str]]:
    """One pass over queues, one over contacts, one over agents.

    ``known`` maps ids to a first_seen to keep (the tracker's), so results need no copy.
    Returns the escalations and the ids of queues under their SL target now.
    """
    now = snap.taken_at
    out: list[Escalation] = []
    add = out.append
    first = known.get
    under: set[str] = set()

    # Queues: SL and abandon rules, and per-queue cutoffs for the contact pass.
    breach_s = rules.sl_breach_minutes * 60
    crit_points = rules.sl_critical_points / 100
    crit_multiple = rules.critical_wait_multiple
    stats_of = snap.interval_stats.get
    qinfo: dict[str, tuple[str, str, float, datetime, datetime]] = {}
    for q in snap.queues:
        qid, name = q.id, q.name
        limit = q.threshold_s * rules.wait_factor(qid)
        qinfo[qid] = (name, q.source, limit, now - limit * _S, now - limit * crit_multiple * _S)
        stats = stats_of(qid)
        if stats is None or stats.offered < rules.min_contacts:
            continue
        sl = service_level(stats, formula)
        if sl is not None and sl < q.sl_target:
            under.add(qid)
            since = under_since.get(qid, now)
            lasted = (now - since).total_seconds()
            if lasted >= breach_s:
                eid = f"queue-sl:{qid}"
                add(_trusted({
                    "id": eid, "kind": EscalationKind.QUEUE_SL,
                    "severity": Severity.CRITICAL if q.sl_target - sl > crit_points + 1e-9
                    else Severity.WARNING,
                    "reason": f"{name} service level {pct(sl)} under target "
                              f"{pct(q.sl_target)} for {_clock(lasted)}",
                    "subject_type": SubjectType.QUEUE, "subject_id": qid, "queue_id": qid,
                    "source": q.source, "first_seen": first(eid) or since + breach_s * _S,
                    "last_seen": now, "value": sl, "limit": q.sl_target}))
        rate = abandon_rate(stats)
        counted = stats.offered - stats.abandoned_short
        if rate is not None and rate > rules.abandon_limit and counted >= rules.min_contacts:
            eid = f"queue-abandon:{qid}"
            lost = stats.abandoned - stats.abandoned_short
            add(_trusted({
                "id": eid, "kind": EscalationKind.QUEUE_ABANDON, "severity": Severity.WARNING,
                "reason": f"{name} abandon rate {pct(rate)} over limit "
                          f"{pct(rules.abandon_limit)} ({lost} of {counted})",
                "subject_type": SubjectType.QUEUE, "subject_id": qid, "queue_id": qid,
                "source": q.source, "first_seen": first(eid) or now, "last_seen": now,
                "value": rate, "limit": rules.abandon_limit}))

    # Contacts: wait and tier rules (waiting only; the worse one names the escalation)
    # and source flags (waiting or connected: a customer asking for a supervisor mid-call
    # is the classic case; after wrap-up there is nobody left to help).
    vip_s, gold_s = rules.vip_wait_s, rules.gold_wait_s
    tier_rule = {Tier.VIP: (vip_s, now - vip_s * _S, Severity.CRITICAL),
                 Tier.GOLD: (gold_s, now - gold_s * _S, Severity.WARNING)}
    fs = rules.flags
    flag_sev = {f: getattr(fs, f.value) for f in ContactFlag}
    no_queue = ("", "", 0.0, None, None)
    for c in snap.contacts:
        state = c.state
        if state == _WAITING:
            entered = c.entered_at
            qname, src, limit, warn_at, crit_at = qinfo.get(c.queue_id) or no_queue
            sev = None
            if warn_at is not None and entered < warn_at:
                sev = Severity.CRITICAL if entered < crit_at else Severity.WARNING
                kind, base, passed = EscalationKind.CONTACT_WAIT, limit, limit
            tier = tier_rule.get(c.tier)
            if tier is not None and entered < tier[1]:
                passed = tier[0] if sev is None else min(passed, tier[0])
                if sev is None or SEVERITY_RANK[tier[2]] >= SEVERITY_RANK[sev]:
                    sev, kind, base = tier[2], EscalationKind.TIER_WAIT, tier[0]
            if sev is not None:
                cid = c.id
                eid = f"contact-wait:{src}:{cid}"
                wait = (now - entered).total_seconds()
                label = _TIER_LABEL[c.tier] if kind is EscalationKind.TIER_WAIT else "Waiting "
                add(_trusted({
                    "id": eid, "kind": kind, "severity": sev,
                    "reason": f"{label}{_clock(wait)} in {qname or c.queue_id} "
                              f"(limit {_clock(base)})",
                    "subject_type": SubjectType.CONTACT, "subject_id": cid,
                    "queue_id": c.queue_id, "source": src,
                    "first_seen": first(eid) or entered + passed * _S,  # first limit passed
                    "last_seen": now, "value": wait, "limit": base}))
        if c.flags and state != _WRAP_UP:
            qname, src = (qinfo.get(c.queue_id) or no_queue)[:2]
            where = "waiting" if state == _WAITING else "connected"
            who = f": {c.customer}," if c.customer else ","
            for flag in c.flags:
                sev = flag_sev.get(flag, "off")
                if sev == "off":
                    continue
                eid = f"flag:{flag}:{src}:{c.id}"
                add(_trusted({
                    "id": eid, "kind": EscalationKind.CONTACT_FLAG, "severity": sev,
                    "reason": f"{_FLAG_TEXT.get(flag, flag)}{who} {where} in "
                              f"{qname or c.queue_id}",
                    "subject_type": SubjectType.CONTACT, "subject_id": c.id,
                    "queue_id": c.queue_id, "source": src, "first_seen": first(eid) or now,
                    "last_seen": now, "value": (now - c.entered_at).total_seconds(),
                    "limit": 0.0}))

    # Agents: after-contact work and away (per reason) past their limits.
    acw_s = rules.acw_limit_s
    warn_multiple = rules.agent_warning_multiple
    acw_cut = (now - acw_s * _S, now - acw_s * warn_multiple * _S)
    away_cuts: dict[str | None, tuple[float, datetime, datetime]] = {}
    for a in snap.agents:
        st = a.state
        kind_now = st.kind
        if kind_now == _ACW:
            limit, (info_at, warn_at) = acw_s, acw_cut
        elif kind_now == _AWAY:
            cut = away_cuts.get(st.reason)
            if cut is None:
                lim = rules.away_limit_for(st.reason)
                cut = away_cuts[st.reason] = (lim, now - lim * _S, now - lim * warn_multiple * _S)
            limit, info_at, warn_at = cut
        else:
            continue
        since = st.since
        if since >= info_at:
            continue
        in_state = (now - since).total_seconds()
        if kind_now == _ACW:
            eid, kind, what = f"agent-acw:{a.source}:{a.id}", EscalationKind.AGENT_ACW, \
                "in after-contact work"
        else:
            eid, kind = f"agent-away:{a.source}:{a.id}", EscalationKind.AGENT_AWAY
            what = f"away ({st.reason})" if st.reason else "away"
        add(_trusted({
            "id": eid, "kind": kind,
            "severity": Severity.WARNING if since < warn_at else Severity.INFO,
            "reason": f"{a.name} {what} {_clock(in_state)} (limit {_clock(limit)})",
            "subject_type": SubjectType.AGENT, "subject_id": a.id, "queue_id": a.queue_id,
            "source": a.source, "first_seen": first(eid) or since + limit * _S,
            "last_seen": now, "value": in_state, "limit": limit}))
    return out, under


@dataclass(frozen=True)
class TrackerResult:
    active: list[Escalation]  # sorted: severity, then age
    new: list[Escalation] = field(default_factory=list)  # active now, not before
    raised: list[Escalation] = field(default_factory=list)  # was active, severity went up
    cleared: list[Escalation] = field(default_factory=list)  # as last seen


class EscalationTracker:
    """Escalations across polls (pure; one per console, fed every merged snapshot).

    Time is snapshot time, so a stalled source (the same snapshot again) never clears
    anything, and a simulator at 10x clears ten times faster in wall time.
    """

    def __init__(self, sl_formula: SLFormula = SLFormula.ANSWERED_AND_ABANDONED_AFTER) -> None:
        self.sl_formula = sl_formula
        self._active: dict[str, Escalation] = {}
        self._first_seen: dict[str, datetime] = {}
        self._under_since: dict[str, datetime] = {}  # queue id -> went under SL target
        self._recovered_at: dict[str, datetime] = {}  # queue id -> back over target

    def get(self, escalation_id: str) -> Escalation | None:
        return self._active.get(escalation_id)

    @property
    def active(self) -> list[Escalation]:
        return sort_escalations(self._active.values())

    def update(
        self, snapshot: Snapshot, rules: EscalationRules, owned_ids: Set[str] = frozenset()
    ) -> TrackerResult:
        now = snapshot.taken_at
        found, under = _evaluate(snapshot, rules, self.sl_formula, self._under_since,
                                 self._first_seen)
        self._track_sl(now, under, rules.clear_after_s)

        previous, first_seen = self._active, self._first_seen
        current: dict[str, Escalation] = {}
        new: list[Escalation] = []
        raised: list[Escalation] = []
        rank = SEVERITY_RANK
        for esc in found:
            eid = esc.id
            before = previous.get(eid)
            if before is None:
                if eid not in current:
                    new.append(esc)
                    first_seen[eid] = esc.first_seen
            elif rank[esc.severity] > rank[before.severity]:
                raised.append(esc)
            current[eid] = esc
        cleared: list[Escalation] = []
        clear_after = rules.clear_after_s
        for eid, esc in previous.items():
            if eid in current:
                continue
            # Held until absent clear_after_s continuously; owned ones wait for a human.
            if eid not in owned_ids and (now - esc.last_seen).total_seconds() >= clear_after:
                cleared.append(esc)
                del first_seen[eid]
            else:
                current[eid] = esc
        self._active = current
        return TrackerResult(active=sort_escalations(current.values()), new=new,
                             raised=raised, cleared=cleared)

    def _track_sl(self, now: datetime, under: set[str], clear_after: float) -> None:
        # A blip back over target shorter than clear_after_s doesn't restart the breach
        # clock, for the same reason escalations don't flap.
        since, recovered = self._under_since, self._recovered_at
        for qid in under:
            since.setdefault(qid, now)
            recovered.pop(qid, None)
        for qid in [q for q in since if q not in under]:
            back = recovered.setdefault(qid, now)
            if (now - back).total_seconds() >= clear_after:
                del since[qid], recovered[qid]
