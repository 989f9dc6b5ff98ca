"""Escalation rules (pure): snapshot + rules -> escalations with stable ids.

``evaluate`` gives the conditions true in one snapshot. ``EscalationTracker`` adds what
one snapshot cannot know: when an escalation began, hysteresis (a condition must stay
away ``clear_after_s`` of *snapshot* time before its escalation clears, so nothing
flaps), owned escalations that never clear by themselves, and how long a queue has been
under its service-level target.

Ids are stable across polls and are the keys of escalation state in the store::

    contact-wait:<source>:<contact_id>       longest-wait and tier rules (one per contact)
    flag:<flag>:<source>:<contact_id>        flags the source put on a contact
    queue-sl:<queue_id>   queue-abandon:<queue_id>
    agent-acw:<source>:<agent_id>   agent-away:<source>:<agent_id>

Contact and agent ids carry the source because two platforms may number them alike;
queue ids are already unique in a merged snapshot (they key its stats).

Escalations hold no ticking numbers: durations are ``since`` timestamps that screens
age at render time (``duration_s(now)``, ``describe(now)``), and ``last_seen`` is None
while the condition holds. So an escalation whose situation did not change is the
*same object* from poll to poll: a meltdown poll (thousands of escalations) builds
objects only for what changed, the tracker skips re-sorting when nothing did, and
screens can skip unchanged rows by identity. ``reason`` embeds names from sources:
escape it before Rich markup.

Speed (10,000 agents, 5,000+ waiting, on the 2-core reference VM): reading every
contact and agent once is already most of the cost (memory traffic over 25,000
scattered objects), so each entity is visited once, cutoffs are precomputed per queue,
and results are built without validation (``_trusted``).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Set
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import compress, islice
from operator import attrgetter, is_not
from typing import Literal, NamedTuple

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, PositiveFloat

from supervisor_tui.domain.index import SnapshotIndex, build_index
from supervisor_tui.domain.metrics import abandon_rate, service_level
from supervisor_tui.domain.model import (
    AgentStateKind,
    Channel,
    Contact,
    ContactFlag,
    ContactState,
    Frozen,
    Queue,
    QueueStats,
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
    AGENT_LONG_CONTACT = "agent_long_contact"  # on one contact > N x the queue's AHT
    AGENT_ADHERENCE = "agent_adherence"  # out of schedule adherence > N min (adherence.py)
    VIP_LOW_SCORE = "vip_low_score"  # a VIP's low survey score (survey_feed.py)


class SubjectType(StrEnum):
    CONTACT = "contact"
    QUEUE = "queue"
    AGENT = "agent"
    SURVEY = "survey"  # a survey response (tool:response id), not a live contact


Level = Severity | Literal["off"]  # TOML has no null: "off" disables a flag rule


class FlagSeverities(BaseModel):
    model_config = ConfigDict(extra="forbid")

    asked_for_supervisor: Level = Severity.CRITICAL
    complaint: Level = Severity.WARNING
    repeat_contact: Level = Severity.INFO


class TierLimits(BaseModel):
    model_config = ConfigDict(extra="forbid")

    gold: PositiveFloat
    vip: PositiveFloat


def _default_tier_limits() -> dict[Channel, TierLimits]:
    # Deferred channels are answered in minutes or hours: a tier limit in seconds
    # would put every VIP email on the desk.
    return {Channel.CHAT: TierLimits(gold=120, vip=60),
            Channel.EMAIL: TierLimits(gold=4 * 3600, vip=3600),
            Channel.SOCIAL: TierLimits(gold=3600, vip=1800)}


def _default_away_limits() -> dict[str, float]:
    return {"break": 900.0, "lunch": 3600.0, "training": 7200.0}


class EscalationRules(BaseModel):
    """The ``[escalations]`` config section."""

    model_config = ConfigDict(extra="forbid")

    # "threshold_factor" was this key's name before the rules existed; still accepted.
    contact_wait_factor: float = Field(
        1.0, gt=0, validation_alias=AliasChoices("contact_wait_factor", "threshold_factor"),
        description="waiting past queue threshold x factor: warning")
    contact_wait_factors: dict[str, PositiveFloat] = Field(
        default_factory=dict, description="per-queue factor overrides, queue id -> factor")
    critical_wait_multiple: float = Field(
        3.0, gt=1, description="past threshold x factor x this: critical")
    gold_wait_s: float = Field(60.0, gt=0, description="gold customer waiting: warning "
                               "(voice, and channels without their own tier limits)")
    vip_wait_s: float = Field(30.0, gt=0, description="vip customer waiting: critical "
                              "(voice, and channels without their own tier limits)")
    tier_wait_s: dict[Channel, TierLimits] = Field(
        default_factory=_default_tier_limits,
        description="per-channel gold/vip limits: a VIP email is not late after 30 s")
    sl_breach_minutes: float = Field(
        5.0, ge=0, description="SL under target this long: warning")
    sl_critical_points: float = Field(
        15.0, ge=0, le=100, description="SL under target by more points than this: critical")
    abandon_limit: float = Field(0.1, gt=0, le=1, description="abandon rate over this: warning")
    min_contacts: int = Field(
        10, ge=1, description="SL and abandon rules wait for this many offered this interval")
    acw_limit_s: float = Field(120.0, gt=0, description="after-contact work longer: info")
    away_limit_s: float = Field(900.0, gt=0, description="away, any reason without its own")
    away_limits_s: dict[str, PositiveFloat] = Field(
        default_factory=_default_away_limits, description="away limit per reason")
    agent_warning_multiple: float = Field(
        2.0, gt=1, description="agent past limit x this: warning instead of info")
    long_contact_aht_multiple: float = Field(
        3.0, ge=0, description="agent on one contact longer than this x the queue's AHT "
        "today (once min_contacts are handled): info; 0 turns it off")
    flags: FlagSeverities = Field(default_factory=FlagSeverities)
    clear_after_s: float = Field(
        30.0, ge=0, description="a condition must be gone this long before it clears")
    departed_show_s: float = Field(
        15.0, ge=0, description="a contact that left the queue stays on the desk, greyed "
        "and not counted, this many wall seconds (while someone owns it, until released)")
    snooze_minutes: float = Field(
        5.0, gt=0, description="z on the desk hides an escalation this long")

    def tier_limits(self, channel: str) -> tuple[float, float]:
        """(gold, vip) wait limits in seconds for a channel."""
        own = self.tier_wait_s.get(channel)  # type: ignore[call-overload]
        return (own.gold, own.vip) if own else (self.gold_wait_s, self.vip_wait_s)

    def away_limit_for(self, reason: str | None) -> float:
        return self.away_limits_s.get(reason or "", self.away_limit_s)

    @property
    def shortest_away_s(self) -> float:
        """The shortest away limit of any reason (no agent away less is past one)."""
        return min((self.away_limit_s, *self.away_limits_s.values()))


class Escalation(Frozen):
    """Something that needs a human.

    ``first_seen``: when the condition began, as far as the snapshots show (a wait or an
    agent state passing its limit, a breach passing sl_breach_minutes), else when first
    observed. ``since``: start of the measured duration (contact entered the queue,
    agent entered the state, queue went under target); None for flags and abandons.
    ``last_seen``: None while the condition holds; once it is gone (held by hysteresis
    or ownership), the last snapshot time it held. ``value``: the ratio behind queue
    rules (service level, abandon rate), None otherwise. ``limit``: the base limit,
    seconds or a fraction (critical is a multiple of it); None for flags.
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
    since: datetime | None = None
    last_seen: datetime | None = None
    value: float | None = None
    limit: float | None = None
    label: str = ""  # names the subject for a prompt: "c328 Dana Jensen (gold)", "queue Sales"
    ended: str | None = None  # the contact is gone: "answered", "left the queue", ...

    @property
    def present(self) -> bool:
        return self.last_seen is None

    def duration_s(self, now: datetime) -> float | None:
        """The wait / time in state / time under target, aged to ``now``; frozen at
        ``last_seen`` once the condition is gone (an answered call's wait ended)."""
        if self.since is None:
            return None
        end = now if self.last_seen is None or self.last_seen > now else self.last_seen
        return max((end - self.since).total_seconds(), 0.0)

    def age_s(self, now: datetime) -> float:
        return max((now - self.first_seen).total_seconds(), 0.0)

    def describe(self, now: datetime) -> str:
        """``reason`` with its duration as of ``now``: one line for a list or a bell."""
        d = self.duration_s(now)
        return self.reason if d is None else f"{self.reason} — {_clock(d)}"


_FIELDS_SET = set(Escalation.model_fields)  # shared: model_copy copies before mutating
_new = object.__new__
_slot = BaseModel.__dict__  # its __slots__ descriptors: cheaper than object.__setattr__
_set_dict = _slot["__dict__"].__set__
_set_fields_set = _slot["__pydantic_fields_set__"].__set__
_set_extra = _slot["__pydantic_extra__"].__set__
_set_private = _slot["__pydantic_private__"].__set__


def _trusted(values: dict) -> Escalation:
    """An Escalation from values computed by this module, without validation.

    What ``model_construct`` does minus its per-field defaulting (13 us -> ~1 us on this
    class of machine). Every field must be given. test_escalation checks the result
    equals a validated model, so a pydantic upgrade that breaks this fails there.
    """
    esc = _new(Escalation)
    _set_dict(esc, values)
    _set_fields_set(esc, _FIELDS_SET)
    _set_extra(esc, None)
    _set_private(esc, None)
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


def clock(seconds: float) -> str:
    """Compact wait/handle time: 0:07, 12:34, 1:02:03, 3d04h (as the screens write it)."""
    if seconds != seconds:  # NaN
        return "—"
    if seconds in (float("inf"), float("-inf")):
        return "∞"
    s = max(0, int(seconds))
    if s < 3600:
        return _MMSS[s]
    days, rest = divmod(s, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours:02d}h"
    return f"{hours}:{minutes:02d}:{secs:02d}"


_clock = clock


def contact_label(c: Contact) -> str:
    """How a prompt names a contact: "c328 Dana Jensen (gold)", "c9 (vip)", "c4"."""
    who = f"{c.id} {c.customer}" if c.customer else c.id
    return who if c.tier == Tier.STANDARD else f"{who} ({c.tier})"


def _pct(fraction: float) -> str:
    return f"{fraction * 100:.0f}%"  # fmt.pct minus its None/NaN guards: never either here


# Enum members as module constants: class attribute lookups cost ~100 ns each on this
# class of machine, and the hot loops would pay them several times per escalation.
_INFO, _WARNING, _CRITICAL = Severity.INFO, Severity.WARNING, Severity.CRITICAL
_K_WAIT, _K_TIER, _K_FLAG = (EscalationKind.CONTACT_WAIT, EscalationKind.TIER_WAIT,
                             EscalationKind.CONTACT_FLAG)
_K_SL, _K_ABANDON = EscalationKind.QUEUE_SL, EscalationKind.QUEUE_ABANDON
_K_ACW, _K_AWAY = EscalationKind.AGENT_ACW, EscalationKind.AGENT_AWAY
_K_LONG = EscalationKind.AGENT_LONG_CONTACT
_ON_CONTACT = AgentStateKind.ON_CONTACT
_CONTACT, _QUEUE, _AGENT = SubjectType.CONTACT, SubjectType.QUEUE, SubjectType.AGENT
_WAITING, _WRAP_UP = ContactState.WAITING, ContactState.WRAP_UP
_ACW, _AWAY = AgentStateKind.AFTER_CONTACT_WORK, AgentStateKind.AWAY
_STANDARD, _VIP, _GOLD = Tier.STANDARD, Tier.VIP, Tier.GOLD
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
    previous: Mapping[str, Escalation] | None = None,
    index: SnapshotIndex | None = None,
) -> list[Escalation]:
    """Escalations whose conditions hold in ``snapshot`` (unsorted, ``last_seen`` None).

    A service-level breach must have lasted ``sl_breach_minutes``, which one snapshot
    cannot show: pass ``sl_under_since`` (queue id -> when it went under target, as the
    tracker keeps it); without it a breach counts from now. ``previous`` (id ->
    escalation, e.g. the last result) keeps first_seen and returns unchanged ones as
    the same objects. ``index``: the snapshot's index if the caller has one.
    """
    return _evaluate(snapshot, rules, sl_formula, sl_under_since or {}, previous or {},
                     idx=index)[0]


class _QueueInfo(NamedTuple):
    """Per queue, worked out once for the contact pass."""

    name: str
    source: str
    limit_s: float  # the wait limit: threshold x the configured factor
    limit_txt: str
    warn_before: datetime  # a contact that entered before this is past the limit
    crit_before: datetime  # ... and before this, past limit x critical_wait_multiple


class _QueueMemo(NamedTuple):
    """Per queue, remembered for the next poll: the same queue and stats objects with
    the same breach start give the same escalations."""

    queue: Queue
    stats: QueueStats | None
    breach_since: datetime | None  # the breach start the result was computed with
    under: bool  # under its SL target
    maturing: bool  # under target, but not yet for sl_breach_minutes
    found: list[Escalation]


class _TierCuts(NamedTuple):
    """Per channel: the VIP and gold wait limits and the entered_at cut-offs for them."""

    vip_s: float
    gold_s: float
    vip_before: datetime
    gold_before: datetime
    vip_txt: str
    gold_txt: str
    premium_before: datetime  # past neither tier limit if entered after this


def _evaluate(
    snap: Snapshot,
    rules: EscalationRules,
    formula: SLFormula,
    under_since: Mapping[str, datetime],
    previous: Mapping[str, Escalation],
    memo: _Memo | None = None,
    idx: SnapshotIndex | None = None,
) -> tuple[list[Escalation], set[str]]:
    """One pass over queues, one over contacts, one over agents. Each rule works out
    severity and reason, then returns the previous object if nothing differs (the
    common case). Also returns the ids of queues under their SL target now."""
    out: list[Escalation] = []
    if memo is None:
        memo = _Memo()
    # Results remembered from the last poll are valid only against the result they were
    # made with and the same rules.
    usable = memo.valid_for is previous and memo.rules is rules and bool(previous)
    memo.rules = rules
    if idx is None:
        idx = build_index(snap)
    qinfo, under = _queue_pass(snap, rules, formula, under_since, previous, out, memo, usable)
    _contact_pass(snap, idx, rules, qinfo, previous, out, memo, usable)
    _agent_pass(snap, idx, rules, previous, out)
    return out, under


def _queue_pass(
    snap: Snapshot,
    rules: EscalationRules,
    formula: SLFormula,
    under_since: Mapping[str, datetime],
    previous: Mapping[str, Escalation],
    out: list[Escalation],
    memo: _Memo,
    usable: bool,
) -> tuple[dict[str, _QueueInfo], set[str]]:
    now = snap.taken_at
    add, prev = out.append, previous.get
    under: set[str] = set()
    breach_s = rules.sl_breach_minutes * 60
    crit_points = rules.sl_critical_points / 100
    crit_multiple = rules.critical_wait_multiple
    factors, factor = rules.contact_wait_factors, rules.contact_wait_factor
    min_contacts, abandon_limit = rules.min_contacts, rules.abandon_limit
    limit_txt = _pct(abandon_limit)
    stats_of = snap.interval_stats.get
    cuts: dict[float, tuple[str, datetime, datetime]] = {}  # few distinct limits: share
    qinfo: dict[str, _QueueInfo] = {}
    old_queues = memo.queues if usable else {}
    queues: dict[str, _QueueMemo] = {}
    for q in snap.queues:
        qid, name, target = q.id, q.name, q.sl_target
        limit = q.threshold_s * (factors.get(qid, factor) if factors else factor)
        cut = cuts.get(limit)
        if cut is None:
            cut = cuts[limit] = (_clock(limit), now - limit * _S,
                                 now - limit * crit_multiple * _S)
        qinfo[qid] = _QueueInfo(name, q.source, limit, *cut)
        stats = stats_of(qid)
        # Same queue, same stats object (unchanged counters) and same breach start as
        # last poll: the same escalations, unless a breach was still maturing.
        known_since = under_since.get(qid)
        m = old_queues.get(qid)
        if (m is not None and m.queue is q and m.stats is stats
                and m.breach_since == known_since
                and (not m.maturing or (known_since is not None
                                        and (now - known_since).total_seconds() < breach_s))):
            if m.under:
                under.add(qid)
            out.extend(m.found)
            queues[qid] = m
            continue
        start = len(out)
        is_under = maturing = False
        if stats is None or stats.offered < min_contacts:
            queues[qid] = _QueueMemo(q, stats, known_since, False, False, [])
            continue  # a ratio over a handful of contacts is noise
        sl = service_level(stats, formula)
        if sl is not None and sl < target:
            under.add(qid)
            is_under = True
            since = under_since.get(qid, now)
            maturing = (now - since).total_seconds() < breach_s
            if not maturing:
                eid = f"queue-sl:{qid}"
                sev = _CRITICAL if target - sl > crit_points + 1e-9 else _WARNING
                reason = f"{name} service level {_pct(sl)} under target {_pct(target)}"
                p = prev(eid)
                if (p is not None and p.last_seen is None and p.severity == sev
                        and p.value == sl and p.since == since and p.reason == reason):
                    add(p)
                else:
                    add(_trusted({
                        "id": eid, "kind": _K_SL, "severity": sev, "reason": reason,
                        "subject_type": _QUEUE, "subject_id": qid, "queue_id": qid,
                        "source": q.source,
                        "first_seen": p.first_seen if p else since + breach_s * _S,
                        "since": since, "last_seen": None, "value": sl, "limit": target,
                        "label": f"queue {name}", "ended": None}))
        rate = abandon_rate(stats)
        counted = stats.offered - stats.abandoned_short
        if rate is not None and rate > abandon_limit and counted >= min_contacts:
            eid = f"queue-abandon:{qid}"
            reason = (f"{name} abandon rate {_pct(rate)} over limit {limit_txt} "
                      f"({stats.abandoned - stats.abandoned_short} of {counted})")
            p = prev(eid)
            if p is not None and p.last_seen is None and p.reason == reason:
                add(p)
            else:
                add(_trusted({
                    "id": eid, "kind": _K_ABANDON, "severity": _WARNING, "reason": reason,
                    "subject_type": _QUEUE, "subject_id": qid, "queue_id": qid,
                    "source": q.source, "first_seen": p.first_seen if p else now,
                    "since": None, "last_seen": None, "value": rate,
                    "limit": abandon_limit, "label": f"queue {name}", "ended": None}))
        queues[qid] = _QueueMemo(q, stats, known_since, is_under, maturing, out[start:])
    memo.queues = queues
    return qinfo, under


def _contact_pass(
    snap: Snapshot,
    idx: SnapshotIndex,
    rules: EscalationRules,
    qinfo: dict[str, _QueueInfo],
    previous: Mapping[str, Escalation],
    out: list[Escalation],
    memo: _Memo,
    usable: bool,
) -> None:
    """Source flags on waiting or connected contacts (a customer asking for a supervisor
    mid-call is the classic case; after wrap-up nobody is left to help), then wait and
    tier rules on waiting ones (one escalation per contact, named after the worse rule)."""
    now = snap.taken_at
    memo.flags = _flag_pass(idx, rules, qinfo, previous.get, out,
                            memo.flags if usable else {}, now)
    wait = _WaitRule(rules, previous.get, out.append, now)
    memo.waits = _wait_pass(idx, qinfo, wait, out, memo.waits if usable else {})


def _flag_pass(
    idx: SnapshotIndex, rules: EscalationRules, qinfo: dict[str, _QueueInfo],
    prev: Callable[[str], Escalation | None], out: list[Escalation],
    old_flags: dict[int, tuple[Contact, str, list[Escalation]]], now: datetime,
) -> dict[int, tuple[Contact, str, list[Escalation]]]:
    """Flag escalations of every flagged contact; returns the memo for the next poll.

    The same contact object (sources reuse unchanged ones) under the same queue name
    has the same flag escalations as last poll: they are reused without rebuilding ids
    and reasons (``old_flags`` is empty unless valid against ``prev``'s result)."""
    fs = rules.flags
    flag_rule = {f: (sev, _FLAG_TEXT[f]) for f in ContactFlag
                 if (sev := getattr(fs, f.value)) != "off"}
    add = out.append
    flags: dict[int, tuple[Contact, str, list[Escalation]]] = {}
    for c in idx.flagged:
        info = qinfo.get(c.queue_id)
        name = info.name if info is not None else ""
        key = id(c)
        flag_hit = old_flags.get(key)
        if flag_hit is not None and flag_hit[0] is c and flag_hit[1] == name:
            out.extend(flag_hit[2])
            flags[key] = flag_hit
            continue
        start = len(out)
        _flag_escalations(c, c.state, qinfo, flag_rule, now, prev, add)
        flags[key] = (c, name, out[start:])
    return flags


class _WaitRule:
    """The wait rule (past the queue's limit) and the tier rules (VIP, gold past their
    own limits) for one waiting contact; a tier rule that applies replaces a wait rule
    of no higher severity."""

    def __init__(self, rules: EscalationRules, prev: Callable[[str], Escalation | None],
                 add: Callable[[Escalation], None], now: datetime) -> None:
        self.prev, self.add = prev, add
        self.tier_cuts: dict[str, _TierCuts] = {}
        for channel in Channel:
            gold_s, vip_s = rules.tier_limits(channel)
            vip_at, gold_at = now - vip_s * _S, now - gold_s * _S
            self.tier_cuts[channel] = _TierCuts(vip_s, gold_s, vip_at, gold_at,
                                                _clock(vip_s), _clock(gold_s),
                                                max(vip_at, gold_at))
        self.voice_cuts = self.tier_cuts[Channel.VOICE]
        self._reason: dict[str, str] = {}  # the wait rule's text, once per queue

    def cuts(self, channel: str) -> _TierCuts:
        return self.tier_cuts.get(channel, self.voice_cuts)

    def __call__(self, c: Contact, qid: str, info: _QueueInfo | None) -> None:
        entered = c.entered_at
        sev = None
        if info is not None and entered < info.warn_before:
            sev = _CRITICAL if entered < info.crit_before else _WARNING
            kind, base = _K_WAIT, info.limit_s
            reason = self._reason.get(qid) or self._reason.setdefault(
                qid, f"Waiting in {info.name} (limit {info.limit_txt})")
            passed = base
        tier = c.tier
        if tier != _STANDARD:
            t = self.cuts(c.channel)
            where = info.name if info else qid
            if tier == _VIP and entered < t.vip_before:
                passed = t.vip_s if sev is None else min(passed, t.vip_s)
                sev, kind, base = _CRITICAL, _K_TIER, t.vip_s
                reason = f"VIP waiting in {where} (limit {t.vip_txt})"
            elif tier == _GOLD and entered < t.gold_before:
                passed = t.gold_s if sev is None else min(passed, t.gold_s)
                if sev is not _CRITICAL:
                    sev, kind, base = _WARNING, _K_TIER, t.gold_s
                    reason = f"Gold customer waiting in {where} (limit {t.gold_txt})"
        if sev is None:
            return
        src = info.source if info is not None else ""
        eid = f"contact-wait:{src}:{c.id}"
        p = self.prev(eid)
        label = contact_label(c)
        if (p is not None and p.last_seen is None and p.severity == sev
                and p.since == entered and p.reason == reason and p.label == label):
            self.add(p)
        else:
            self.add(_trusted({
                "id": eid, "kind": kind, "severity": sev, "reason": reason,
                "subject_type": _CONTACT, "subject_id": c.id, "queue_id": qid,
                "source": src,
                "first_seen": p.first_seen if p else entered + passed * _S,  # 1st limit
                "since": entered, "last_seen": None, "value": None, "limit": base,
                "label": label, "ended": None}))


def _wait_pass(
    idx: SnapshotIndex, qinfo: dict[str, _QueueInfo], wait: _WaitRule,
    out: list[Escalation], old_waits: dict[int, tuple[Contact, Escalation]],
) -> dict[int, tuple[Contact, Escalation]]:
    """Wait escalations of every queue's waiting list, then gold / VIP contacts under
    their queue's limit but past a tier limit; returns the memo for the next poll.

    Waiting lists are oldest first: each queue's walk stops at its first contact under
    the wait limit, so the cost follows the escalations, not the contacts. A standard
    contact still over its limit with the same severity as last poll has the same
    escalation: reused by contact identity (most of a meltdown)."""
    add = out.append
    waits: dict[int, tuple[Contact, Escalation]] = {}
    for qid, waiting in idx.waiting_by_queue.items():
        info = qinfo.get(qid)
        if info is None:
            continue  # a contact of an unknown queue: only tier rules can apply
        cut, crit, limit = info.warn_before, info.crit_before, info.limit_s
        for c in waiting:
            entered = c.entered_at
            if entered >= cut:
                break
            if c.tier == _STANDARD:
                key = id(c)
                wait_hit = old_waits.get(key)
                if (wait_hit is not None and wait_hit[0] is c
                        and wait_hit[1].limit == limit and wait_hit[1].severity == (
                            _CRITICAL if entered < crit else _WARNING)):
                    add(wait_hit[1])
                    waits[key] = wait_hit
                    continue
                wait(c, qid, info)
                waits[key] = (c, out[-1])
            else:
                wait(c, qid, info)
    for c in idx.premium_waiting:
        entered, qid = c.entered_at, c.queue_id
        info = qinfo.get(qid)
        if (entered < wait.cuts(c.channel).premium_before
                and not (info is not None and entered < info.warn_before)):
            wait(c, qid, info)
    return waits


def _flag_escalations(
    c: Contact, state: str, qinfo: dict[str, _QueueInfo],
    flag_rule: dict[ContactFlag, tuple[Severity, str]], now: datetime,
    prev: Callable[[str], Escalation | None], add: Callable[[Escalation], None],
) -> None:
    qid = c.queue_id
    info = qinfo.get(qid)
    src = info.source if info is not None else ""
    where = (" waiting in " if state == _WAITING else " connected in ") + (
        info.name if info is not None else qid)
    who = f": {c.customer}," if c.customer else ","
    for flag in c.flags:
        rule = flag_rule.get(flag)
        if rule is None:
            continue
        eid = f"flag:{flag}:{src}:{c.id}"
        reason = f"{rule[1]}{who}{where}"
        p = prev(eid)
        if p is not None and p.last_seen is None and p.severity == rule[0] \
                and p.reason == reason:
            add(p)
        else:
            add(_trusted({
                "id": eid, "kind": _K_FLAG, "severity": rule[0], "reason": reason,
                "subject_type": _CONTACT, "subject_id": c.id, "queue_id": qid,
                "source": src, "first_seen": p.first_seen if p else now,
                "since": None, "last_seen": None, "value": None, "limit": None,
                "label": contact_label(c), "ended": None}))


def long_contact_limit_s(snap: Snapshot, queue_id: str | None,
                         rules: EscalationRules) -> float | None:
    """How long one contact of ``queue_id`` may last before its agent is flagged:
    ``long_contact_aht_multiple`` x the queue's AHT today (handle time includes ACW, so
    talk alone past it is longer still). None when off, or the AHT rests on fewer than
    ``min_contacts`` handled (a guess would flag at random)."""
    multiple = rules.long_contact_aht_multiple
    if not multiple or queue_id is None:
        return None
    stats = snap.day_stats.get(queue_id)
    if stats is None or stats.handled < rules.min_contacts or stats.handle_s <= 0:
        return None
    return multiple * stats.handle_s / stats.handled


class LongLimits:
    """Long-contact limits per queue for one snapshot (``long_contact_limit_s``'s rule),
    worked out in one pass over the counters. Given the last snapshot's (``before``,
    same rules), a queue whose day counters are the same object keeps its limit: at
    5,000 queues a few hundred move a poll, and reading every queue's counters cost
    ~3 ms a poll."""

    def __init__(self, snapshot: Snapshot, rules: EscalationRules,
                 before: LongLimits | None = None) -> None:
        self.snapshot = snapshot
        self.rules = rules
        self._each: dict[str | None, float] | None = None  # each queue with a limit: its own
        same = before is not None and before.rules is rules
        self._then_stats = before.snapshot.day_stats if same and before else None
        self._then_each = before._each if same and before else None

    def of(self, queue_id: str | None) -> float | None:
        return None if queue_id is None else self.each().get(queue_id)

    def shortest(self) -> float | None:
        """The shortest of every queue's limit."""
        return min(self.each().values(), default=None)

    def each(self) -> dict[str | None, float]:
        """Every queue's limit, by id (none: no limit, so no flag)."""
        if self._each is not None:
            return self._each
        rules = self.rules
        multiple, least = rules.long_contact_aht_multiple, rules.min_contacts
        each: dict[str | None, float] = {}
        if multiple:
            stats = self.snapshot.day_stats
            then_each, then_stats = self._then_each, self._then_stats
            if then_each is not None and then_stats is not None and \
                    then_stats.keys() == stats.keys():
                # The same queues: last poll's limits, with those of the queues whose
                # counters are new objects worked out again (found in C, not read).
                each = dict(then_each)
                moved: Iterable[str] = compress(stats, map(
                    is_not, stats.values(), map(then_stats.__getitem__, stats)))
            else:
                moved = stats
            for qid in moved:
                s = stats[qid]
                if s.handled >= least and s.handle_s > 0:  # (long_contact_limit_s)
                    each[qid] = multiple * s.handle_s / s.handled
                else:
                    each.pop(qid, None)
        self._each = each
        self._then_each = self._then_stats = None  # (the last poll's, no longer needed)
        return each


_last_limits: list[LongLimits] = []  # the last snapshot's (one entry)


def long_limits(snapshot: Snapshot, rules: EscalationRules) -> LongLimits:
    """The long-contact limits of ``snapshot`` under ``rules``, kept while both are the
    same objects (immutable): the agents screen counts again each second between polls, and the
    escalation rules ask for the same snapshot's after the paint."""
    last = _last_limits[0] if _last_limits else None
    if last is not None and last.snapshot is snapshot and last.rules is rules:
        return last
    limits = LongLimits(snapshot, rules, last)
    _last_limits[:] = [limits]
    return limits


def _agent_pass(
    snap: Snapshot, idx: SnapshotIndex, rules: EscalationRules,
    previous: Mapping[str, Escalation], out: list[Escalation],
) -> None:
    """After-contact work and away (limit per reason): past the limit info, past
    limit x agent_warning_multiple warning."""
    now = snap.taken_at
    add, prev = out.append, previous.get
    multiple = rules.agent_warning_multiple
    acw_s = rules.acw_limit_s
    acw = (acw_s, _clock(acw_s), now - acw_s * _S, now - acw_s * multiple * _S)
    away: dict[str | None, tuple[float, str, datetime, datetime]] = {}
    # Only agents in the state longer than its shortest limit can be past one: with
    # the agents by ``since`` they are a prefix (the rest are never read).
    acw_list, away_list = idx.by_since(_ACW), idx.by_since(_AWAY)
    away_cut = now - rules.shortest_away_s * _S
    past = (*islice(acw_list, bisect_left(acw_list, acw[2], key=_since)),
            *islice(away_list, bisect_left(away_list, away_cut, key=_since)))
    for a in past:
        st = a.state
        kind_now = st.kind
        if kind_now == _ACW:
            limit, limit_txt, info_at, warn_at = acw
        else:
            cut = away.get(st.reason)
            if cut is None:
                lim = rules.away_limit_for(st.reason)
                cut = away[st.reason] = (lim, _clock(lim), now - lim * _S,
                                         now - lim * multiple * _S)
            limit, limit_txt, info_at, warn_at = cut
        since = st.since
        if since >= info_at:
            continue
        if kind_now == _ACW:
            eid, kind, what = f"agent-acw:{a.source}:{a.id}", _K_ACW, "in after-contact work"
        else:
            eid, kind = f"agent-away:{a.source}:{a.id}", _K_AWAY
            what = f"away ({st.reason})" if st.reason else "away"
        sev = _WARNING if since < warn_at else _INFO
        reason = f"{a.name} {what} (limit {limit_txt})"
        p = prev(eid)
        if (p is not None and p.last_seen is None and p.severity == sev and p.since == since
                and p.reason == reason and p.queue_id == a.queue_id):
            add(p)
        else:
            add(_trusted({
                "id": eid, "kind": kind, "severity": sev, "reason": reason,
                "subject_type": _AGENT, "subject_id": a.id, "queue_id": a.queue_id,
                "source": a.source, "first_seen": p.first_seen if p else since + limit * _S,
                "since": since, "last_seen": None, "value": None, "limit": limit,
                "label": f"agent {a.name}", "ended": None}))
    if rules.long_contact_aht_multiple:
        _long_contact_pass(snap, idx, rules, previous, out)


def _long_contact_pass(
    snap: Snapshot, idx: SnapshotIndex, rules: EscalationRules,
    previous: Mapping[str, Escalation], out: list[Escalation],
) -> None:
    """Agents on one contact longer than N x their queue's AHT: info, past it x
    agent_warning_multiple warning. Thousands of agents are on a contact at once: one
    cut-off (the shortest limit) skips nearly all of them with a single comparison."""
    now = snap.taken_at
    add, prev = out.append, previous.get
    long = long_limits(snap, rules)  # (kept from the last poll where counters are)
    limits, shortest = long.each(), long.shortest()
    if shortest is None:
        return
    latest = now - shortest * _S  # started after this: under every limit
    multiple = rules.agent_warning_multiple
    cuts: dict[str, tuple[float, str, datetime, datetime]] = {}
    names: dict[str, str] | None = None  # (only once someone is past a limit)
    times = f"{rules.long_contact_aht_multiple:g}×"
    on_contact = idx.by_since(_ON_CONTACT)
    for a in islice(on_contact, bisect_left(on_contact, latest, key=_since)):
        since = a.state.since
        qid = a.queue_id
        if qid is None or qid not in limits:
            continue
        cut = cuts.get(qid)
        if cut is None:
            lim = limits[qid]
            cut = cuts[qid] = (lim, _clock(lim), now - lim * _S, now - lim * multiple * _S)
        limit, limit_txt, info_at, warn_at = cut
        if since >= info_at:
            continue
        sev = _WARNING if since < warn_at else _INFO
        if names is None:
            names = {q.id: q.name for q in snap.queues}
        eid = f"agent-long:{a.source}:{a.id}:{a.contact_id or ''}"
        on = f" {a.contact_id}" if a.contact_id else ""
        reason = (f"{a.name} on one contact{on} in {names.get(qid, qid)} "
                  f"(limit {times} AHT = {limit_txt})")
        p = prev(eid)
        if (p is not None and p.last_seen is None and p.severity == sev and p.since == since
                and p.reason == reason):
            add(p)
        else:
            add(_trusted({
                "id": eid, "kind": _K_LONG, "severity": sev, "reason": reason,
                "subject_type": _AGENT, "subject_id": a.id, "queue_id": qid,
                "source": a.source, "first_seen": p.first_seen if p else since + limit * _S,
                "since": since, "last_seen": None, "value": None, "limit": limit,
                "label": f"agent {a.name}", "ended": None}))


_contact_id = attrgetter("id")
_since = attrgetter("state.since")


def _endings(snap: Snapshot, gone: list[Escalation],
             by_id: Mapping[str, Contact] | None = None) -> dict[str, str]:
    """How each contact escalation that stopped holding ended, by escalation id: the
    contact was answered, left (abandoned, or answered and done within a poll: the
    snapshot cannot tell), or moved queue. None (absent) where the contact is still
    there as it was (a rule or limit changed): those clear by hysteresis as before.
    ``by_id``: the snapshot's contacts by id (the index's), else one pass over them."""
    wanted = {esc.subject_id for esc in gone}
    if by_id is not None:
        where = {cid: c for cid in wanted if (c := by_id.get(cid)) is not None}
    else:  # one pass at C speed (reading 40,000 ids at 50,000 agents: ~10 ms)
        contacts = snap.contacts
        where = {c.id: c for c in compress(contacts, map(wanted.__contains__,
                                                         map(_contact_id, contacts)))}
    out: dict[str, str] = {}
    names: dict[str, str] | None = None  # (only when a contact moved queue: rare)
    for esc in gone:
        c = where.get(esc.subject_id)
        if esc.kind == _K_FLAG:
            if c is None or c.state == _WRAP_UP:
                out[esc.id] = "contact ended"
        elif c is None:
            out[esc.id] = "left the queue"
        elif c.state != _WAITING:
            out[esc.id] = "answered"
        elif c.queue_id != esc.queue_id:
            if names is None:
                names = {q.id: q.name for q in snap.queues}
            out[esc.id] = f"moved to {names.get(c.queue_id, c.queue_id)}"
    return out


# Rules whose start is an observation by this console (a flag has no timestamp, an SL
# breach starts when a poll first shows it): exact to a poll only if the console was
# already watching before it began.
_OBSERVED = frozenset({EscalationKind.CONTACT_FLAG, EscalationKind.QUEUE_ABANDON,
                       EscalationKind.QUEUE_SL})


def started_at(esc: Escalation) -> datetime:
    """When the situation began: the contact entered the queue, the agent entered the
    state, the queue went under target; for flags and abandons, first seen."""
    return esc.since if esc.since is not None else esc.first_seen


def start_known(esc: Escalation, observing_since: datetime | None) -> bool:
    """Is ``started_at`` the truth (a source timestamp, or a start this console saw
    happen), rather than only the console's first sight of it?"""
    if esc.kind not in _OBSERVED:
        return True
    return observing_since is not None and started_at(esc) > observing_since


def age_text(esc: Escalation, now: datetime, observing_since: datetime | None,
             frozen: bool = False) -> str:
    """The situation's age as the desk shows it: "1:42", or "≥ 1:42" when the start is
    only the console's first sight or the data is stale (``frozen``: ``now`` is the
    last data's time and the real age is larger). Stops at ``last_seen`` once gone."""
    end = now if esc.last_seen is None or esc.last_seen > now else esc.last_seen
    text = clock(max((end - started_at(esc)).total_seconds(), 0.0))
    if (frozen and esc.last_seen is None) or not start_known(esc, observing_since):
        return f"≥ {text}"
    return text


def ended_text(esc: Escalation) -> str | None:
    """"answered after 1:39": how a departed contact's wait ended (None while present)."""
    if esc.ended is None:
        return None
    if esc.since is None or esc.last_seen is None or esc.kind == EscalationKind.CONTACT_FLAG:
        return esc.ended
    return f"{esc.ended} after {clock(esc.duration_s(esc.last_seen) or 0.0)}"


@dataclass(frozen=True)
class TrackerResult:
    by_id: Mapping[str, Escalation]  # every active escalation, present or held
    new: tuple[Escalation, ...] = ()  # active now, not before
    raised: tuple[Escalation, ...] = ()  # was active, severity went up
    cleared: tuple[Escalation, ...] = ()  # as last held
    # Contacts that left the queue (answered, abandoned, moved): ``ended`` says how,
    # ``last_seen`` when they were last seen waiting. Not in ``by_id``, never counted;
    # shown greyed for ``departed_show_s`` (owned ones until a human acts).
    departed: tuple[Escalation, ...] = ()
    # Shared by results of polls where nothing changed, so they sort once.
    _sorted: list[tuple[Escalation, ...]] = field(default_factory=list, repr=False,
                                                  compare=False)

    @property
    def active(self) -> tuple[Escalation, ...]:
        """Sorted by severity, then age; on first use, so a poll whose consumers only
        count or look up by id skips a sort of thousands."""
        if not self._sorted:
            self._sorted.append(tuple(sort_escalations(self.by_id.values())))
        return self._sorted[0]


@dataclass
class _Memo:
    """What the tracker remembers between polls to skip rebuilding unchanged results."""

    valid_for: Mapping[str, Escalation] | None = None  # the result it was made with
    rules: EscalationRules | None = None
    flags: dict[int, tuple[Contact, str, list[Escalation]]] = field(default_factory=dict)
    waits: dict[int, tuple[Contact, Escalation]] = field(default_factory=dict)
    queues: dict[str, _QueueMemo] = field(default_factory=dict)


class EscalationTracker:
    """Escalations across polls (pure; one per console, fed every merged snapshot).

    Time is snapshot time, so a stalled source (the same snapshot again) never clears
    anything, and a simulator at 10x clears ten times faster in wall time.
    """

    def __init__(self, sl_formula: SLFormula = SLFormula.ANSWERED_AND_ABANDONED_AFTER) -> None:
        self.sl_formula = sl_formula
        self._result = TrackerResult(by_id={})
        self._time: datetime | None = None  # snapshot time of the last update
        self._under_since: dict[str, datetime] = {}  # queue id -> went under SL target
        self._recovered_at: dict[str, datetime] = {}  # queue id -> back over target
        self._memo = _Memo()
        self._departed: dict[str, Escalation] = {}
        self._departed_at: dict[str, datetime] = {}  # snapshot time it was found gone
        # Snapshot time of the first update: a start time observed then (a flag, an SL
        # breach) is only the console's first sight, a bound rather than the truth.
        self.observing_since: datetime | None = None

    @property
    def result(self) -> TrackerResult:
        return self._result

    def update(
        self, snapshot: Snapshot, rules: EscalationRules, owned_ids: Set[str] = frozenset(),
        index: SnapshotIndex | None = None,
        extra: Callable[[Mapping[str, Escalation]], Iterable[Escalation]] | None = None,
    ) -> TrackerResult:
        """``index``: the snapshot's index if the caller has one (the board's), so the
        poll reads every contact and agent once; otherwise a full pass here. ``extra``:
        rules that need more than the snapshot (schedule adherence), given the previous
        result so they return the same objects while nothing changed."""
        now = snapshot.taken_at
        previous = self._result.by_id
        found, under = _evaluate(snapshot, rules, self.sl_formula, self._under_since,
                                 previous, self._memo, index)
        if extra is not None:
            found.extend(extra(previous))
        self._track_sl(now, under, rules.clear_after_s)

        current: dict[str, Escalation] = {}
        new: list[Escalation] = []
        raised: list[Escalation] = []
        changed = False
        rank = SEVERITY_RANK
        departed = self._departed
        departed_changed = False
        if self.observing_since is None:
            self.observing_since = now
        for esc in found:
            eid = esc.id
            before = previous.get(eid)
            if before is not esc:
                changed = True
                if before is None:
                    back = departed.pop(eid, None)
                    if back is not None:  # gone for a poll (a short list?), back again
                        departed_changed = True
                    elif eid not in current:
                        new.append(esc)
                elif rank[esc.severity] > rank[before.severity]:
                    raised.append(esc)
            current[eid] = esc
        cleared: list[Escalation] = []
        clear_after = rules.clear_after_s
        missing = [(eid, esc) for eid, esc in previous.items() if eid not in current]
        gone = [esc for _, esc in missing if esc.subject_type == _CONTACT and esc.ended is None]
        endings = _endings(snapshot, gone, index.contacts_by_id() if index is not None
                           else None) if gone else {}
        for eid, esc in missing:
            last_seen = esc.last_seen
            if last_seen is None:  # present at the last update, gone now
                last_seen = self._time or now
                esc = _trusted({**esc.__dict__, "last_seen": last_seen})
                changed = True
            ended = endings.get(eid)
            if ended is not None:  # the contact left: stop counting it at once
                departed[eid] = _trusted({**esc.__dict__, "ended": ended})
                self._departed_at[eid] = now
                changed = departed_changed = True
                continue
            # Held until absent clear_after_s continuously; owned ones wait for a human.
            if eid not in owned_ids and (now - last_seen).total_seconds() >= clear_after:
                cleared.append(esc)
                changed = True
            else:
                current[eid] = esc
        # A display time, for people: wall seconds (a simulator at 30x would flash it).
        show_s = rules.departed_show_s * snapshot.clock_rate
        at = self._departed_at
        for eid in [eid for eid in departed if eid not in owned_ids
                    and (now - at[eid]).total_seconds() >= show_s]:
            cleared.append(departed.pop(eid))
            changed = departed_changed = True
        for eid in [eid for eid in at if eid not in departed]:
            del at[eid]
        self._time = now
        if changed:
            gone_now = (tuple(sort_escalations(departed.values())) if departed_changed
                        else self._result.departed)
            self._result = TrackerResult(by_id=current, new=tuple(new), raised=tuple(raised),
                                         cleared=tuple(cleared), departed=gone_now)
        else:  # the same objects as last time: share its (maybe already done) sort
            self._result = TrackerResult(by_id=previous, _sorted=self._result._sorted,
                                         departed=self._result.departed)
        self._memo.valid_for = self._result.by_id
        return self._result

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
