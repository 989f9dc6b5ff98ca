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

from supervisor_tui.fmt import duration
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


_MMSS = tuple(f"{m}:{s:02d}" for m in range(60) for s in range(60))


def _clock(seconds: float) -> str:
    # Hot path (thousands per poll): a table for under an hour, fmt.duration beyond.
    s = int(seconds)
    return _MMSS[s] if 0 <= s < 3600 else duration(seconds)


def _pct(fraction: float) -> str:
    return f"{fraction * 100:.0f}%"  # fmt.pct without its None/NaN guards: never either here


# Enum members as module constants: class attribute lookups cost ~100 ns each, and the
# hot loops would pay them several times per escalation.
_INFO, _WARNING, _CRITICAL = Severity.INFO, Severity.WARNING, Severity.CRITICAL
_K_WAIT, _K_TIER, _K_FLAG = (EscalationKind.CONTACT_WAIT, EscalationKind.TIER_WAIT,
                             EscalationKind.CONTACT_FLAG)
_K_SL, _K_ABANDON = EscalationKind.QUEUE_SL, EscalationKind.QUEUE_ABANDON
_K_ACW, _K_AWAY = EscalationKind.AGENT_ACW, EscalationKind.AGENT_AWAY
_CONTACT, _QUEUE, _AGENT = SubjectType.CONTACT, SubjectType.QUEUE, SubjectType.AGENT
_WAITING, _WRAP_UP = ContactState.WAITING, ContactState.WRAP_UP
_ACW, _AWAY = AgentStateKind.AFTER_CONTACT_WORK, AgentStateKind.AWAY
_VIP, _GOLD = Tier.VIP, Tier.GOLD
_S = timedelta(seconds=1)

_FLAG_TEXT = {
    ContactFlag.ASKED_FOR_SUPERVISOR: "Customer asked for a supervisor",
    ContactFlag.COMPLAINT: "Complaint",
    ContactFlag.REPEAT_CONTACT: "Repeat contact",
}


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


# Per queue, for the contact pass: name, source, wait limit, its text, and the
# entered_at cutoffs for warning and critical.
_QueueInfo = tuple[str, str, float, str, datetime, datetime]


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
    out: list[Escalation] = []
    qinfo, under = _queue_pass(snap, rules, formula, under_since, known, out)
    _contact_pass(snap, rules, qinfo, known, out)
    _agent_pass(snap, rules, known, out)
    return out, under


def _queue_pass(
    snap: Snapshot,
    rules: EscalationRules,
    formula: SLFormula,
    under_since: Mapping[str, datetime],
    known: Mapping[str, datetime],
    out: list[Escalation],
) -> tuple[dict[str, _QueueInfo], set[str]]:
    now = snap.taken_at
    add, first = out.append, known.get
    under: set[str] = set()
    breach_s = rules.sl_breach_minutes * 60
    crit_points = rules.sl_critical_points / 100
    crit_multiple = rules.critical_wait_multiple
    stats_of = snap.interval_stats.get
    factors, factor = rules.contact_wait_factors, rules.contact_wait_factor
    min_contacts, abandon_limit = rules.min_contacts, rules.abandon_limit
    cuts: dict[float, tuple[str, datetime, datetime]] = {}  # few distinct limits: share
    qinfo: dict[str, _QueueInfo] = {}
    for q in snap.queues:
        qid, name, target = q.id, q.name, q.sl_target
        limit = q.threshold_s * (factors.get(qid, factor) if factors else factor)
        cut = cuts.get(limit)
        if cut is None:
            cut = cuts[limit] = (_clock(limit), now - limit * _S,
                                 now - limit * crit_multiple * _S)
        qinfo[qid] = (name, q.source, limit, *cut)
        stats = stats_of(qid)
        if stats is None or stats.offered < min_contacts:
            continue  # a ratio over a handful of contacts is noise
        sl = service_level(stats, formula)
        if sl is not None and sl < target:
            under.add(qid)
            since = under_since.get(qid, now)
            lasted = (now - since).total_seconds()
            if lasted >= breach_s:
                eid = f"queue-sl:{qid}"
                add(_trusted({
                    "id": eid, "kind": _K_SL,
                    "severity": _CRITICAL if target - sl > crit_points + 1e-9 else _WARNING,
                    "reason": f"{name} service level {_pct(sl)} under target {_pct(target)} "
                              f"for {_clock(lasted)}",
                    "subject_type": _QUEUE, "subject_id": qid, "queue_id": qid,
                    "source": q.source, "first_seen": first(eid) or since + breach_s * _S,
                    "last_seen": now, "value": sl, "limit": target}))
        rate = abandon_rate(stats)
        counted = stats.offered - stats.abandoned_short
        if rate is not None and rate > abandon_limit and counted >= min_contacts:
            eid = f"queue-abandon:{qid}"
            lost = stats.abandoned - stats.abandoned_short
            add(_trusted({
                "id": eid, "kind": _K_ABANDON, "severity": _WARNING,
                "reason": f"{name} abandon rate {_pct(rate)} over limit "
                          f"{_pct(abandon_limit)} ({lost} of {counted})",
                "subject_type": _QUEUE, "subject_id": qid, "queue_id": qid,
                "source": q.source, "first_seen": first(eid) or now, "last_seen": now,
                "value": rate, "limit": abandon_limit}))
    return qinfo, under


def _contact_pass(
    snap: Snapshot,
    rules: EscalationRules,
    qinfo: dict[str, _QueueInfo],
    known: Mapping[str, datetime],
    out: list[Escalation],
) -> None:
    """Wait and tier rules on waiting contacts (one escalation per contact, named after
    the worse rule), and source flags on waiting or connected ones: a customer asking
    for a supervisor mid-call is the classic case; after wrap-up nobody is left to help."""
    now = snap.taken_at
    add, first = out.append, known.get
    vip_s, gold_s = rules.vip_wait_s, rules.gold_wait_s
    vip_at, gold_at = now - vip_s * _S, now - gold_s * _S
    vip_txt, gold_txt = _clock(vip_s), _clock(gold_s)
    fs = rules.flags
    flag_rule = {f: (sev, _FLAG_TEXT[f]) for f in ContactFlag
                 if (sev := getattr(fs, f.value)) != "off"}
    for c in snap.contacts:
        state = c.state
        if state == _WAITING:
            entered = c.entered_at
            info = qinfo.get(c.queue_id)
            sev = None
            if info is not None and entered < info[4]:
                sev = _CRITICAL if entered < info[5] else _WARNING
                kind, label, base, base_txt = _K_WAIT, "Waiting ", info[2], info[3]
                passed = base
            tier = c.tier
            # A tier rule that applies replaces a wait rule of no higher severity.
            if tier == _VIP and entered < vip_at:
                passed = vip_s if sev is None else min(passed, vip_s)
                sev, kind, label, base, base_txt = _CRITICAL, _K_TIER, "VIP waiting ", \
                    vip_s, vip_txt
            elif tier == _GOLD and entered < gold_at:
                passed = gold_s if sev is None else min(passed, gold_s)
                if sev is not _CRITICAL:
                    sev, kind, label, base, base_txt = _WARNING, _K_TIER, \
                        "Gold customer waiting ", gold_s, gold_txt
            if sev is not None:
                cid = c.id
                src = info[1] if info is not None else ""
                qname = info[0] if info is not None else c.queue_id
                eid = f"contact-wait:{src}:{cid}"
                wait = (now - entered).total_seconds()
                add(_trusted({
                    "id": eid, "kind": kind, "severity": sev,
                    "reason": f"{label}{_clock(wait)} in {qname} (limit {base_txt})",
                    "subject_type": _CONTACT, "subject_id": cid, "queue_id": c.queue_id,
                    "source": src,
                    "first_seen": first(eid) or entered + passed * _S,  # first limit passed
                    "last_seen": now, "value": wait, "limit": base}))
        if c.flags and state != _WRAP_UP:
            info = qinfo.get(c.queue_id)
            src = info[1] if info is not None else ""
            where = (" waiting in " if state == _WAITING else " connected in ") + (
                info[0] if info is not None else c.queue_id)
            who = f": {c.customer}," if c.customer else ","
            for flag in c.flags:
                rule = flag_rule.get(flag)
                if rule is None:
                    continue
                eid = f"flag:{flag}:{src}:{c.id}"
                add(_trusted({
                    "id": eid, "kind": _K_FLAG, "severity": rule[0],
                    "reason": f"{rule[1]}{who}{where}",
                    "subject_type": _CONTACT, "subject_id": c.id, "queue_id": c.queue_id,
                    "source": src, "first_seen": first(eid) or now, "last_seen": now,
                    "value": (now - c.entered_at).total_seconds(), "limit": 0.0}))


def _agent_pass(
    snap: Snapshot, rules: EscalationRules, known: Mapping[str, datetime],
    out: list[Escalation],
) -> None:
    """After-contact work and away (limit per reason): past the limit info, past
    limit x agent_warning_multiple warning."""
    now = snap.taken_at
    add, first = out.append, known.get
    multiple = rules.agent_warning_multiple
    acw_s = rules.acw_limit_s
    acw = (acw_s, _clock(acw_s), now - acw_s * _S, now - acw_s * multiple * _S)
    away: dict[str | None, tuple[float, str, datetime, datetime]] = {}
    for a in snap.agents:
        st = a.state
        kind_now = st.kind
        if kind_now == _ACW:
            limit, limit_txt, info_at, warn_at = acw
        elif kind_now == _AWAY:
            cut = away.get(st.reason)
            if cut is None:
                lim = rules.away_limit_for(st.reason)
                cut = away[st.reason] = (lim, _clock(lim), now - lim * _S,
                                         now - lim * multiple * _S)
            limit, limit_txt, info_at, warn_at = cut
        else:
            continue
        since = st.since
        if since >= info_at:
            continue
        in_state = (now - since).total_seconds()
        if kind_now == _ACW:
            eid, kind, what = f"agent-acw:{a.source}:{a.id}", _K_ACW, "in after-contact work"
        else:
            eid, kind = f"agent-away:{a.source}:{a.id}", _K_AWAY
            what = f"away ({st.reason})" if st.reason else "away"
        add(_trusted({
            "id": eid, "kind": kind, "severity": _WARNING if since < warn_at else _INFO,
            "reason": f"{a.name} {what} {_clock(in_state)} (limit {limit_txt})",
            "subject_type": _AGENT, "subject_id": a.id, "queue_id": a.queue_id,
            "source": a.source, "first_seen": first(eid) or since + limit * _S,
            "last_seen": now, "value": in_state, "limit": limit}))


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
