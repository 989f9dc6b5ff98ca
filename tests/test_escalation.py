"""Escalation rules and the tracker: hand-built snapshots with known answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from supervisor_tui.domain.escalation import (
    Escalation,
    EscalationKind,
    EscalationRules,
    EscalationTracker,
    Severity,
    SubjectType,
    count_by_severity,
    evaluate,
    severity_rank,
    sort_escalations,
)
from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.domain.model import (
    Agent,
    AgentState,
    AgentStateKind,
    Channel,
    Contact,
    ContactFlag,
    ContactState,
    Queue,
    QueueStats,
    Snapshot,
    Tier,
)
from supervisor_tui.sim.config import SimulatorConfig
from supervisor_tui.sources.simulator import SimulatorSource
from tests.helpers import centre

T0 = datetime(2026, 11, 22, 10, 20, tzinfo=UTC)
S = timedelta(seconds=1)
QUIET = EscalationRules(min_contacts=10_000)  # no queue-level rules unless a test wants them

SALES = Queue(id="sales", name="Sales", sl_target=0.8, threshold_s=20, source="pbx")
SUPPORT = Queue(id="support", name="Support", channel=Channel.CHAT, sl_target=0.9,
                threshold_s=120, source="pbx")


def snap(now: datetime = T0, contacts: tuple[Contact, ...] = (),
         agents: tuple[Agent, ...] = (), stats: dict[str, QueueStats] | None = None,
         queues: tuple[Queue, ...] = (SALES, SUPPORT)) -> Snapshot:
    return Snapshot(taken_at=now, interval_start=now.replace(minute=0), day_start=now.replace(
        hour=0, minute=0), queues=queues, interval_stats=stats or {}, agents=agents,
        contacts=contacts)


def waiting(cid: str, wait_s: float, queue: str = "sales", tier: Tier = Tier.STANDARD,
            now: datetime = T0, **kw: object) -> Contact:
    return Contact(id=cid, queue_id=queue, channel=Channel.VOICE, tier=tier,
                   entered_at=now - wait_s * S, **kw)  # type: ignore[arg-type]


def agent(aid: str, kind: AgentStateKind, for_s: float, reason: str | None = None,
          now: datetime = T0) -> Agent:
    return Agent(id=aid, name=f"Agent {aid}", source="pbx",
                 state=AgentState(kind=kind, since=now - for_s * S, reason=reason))


def stats(offered: int, answered: int, within: int, abandoned: int = 0, short: int = 0,
          after: int = 0, queue: str = "sales") -> dict[str, QueueStats]:
    return {queue: QueueStats(queue_id=queue, window_start=T0.replace(minute=0),
                              offered=offered, answered=answered,
                              answered_within_threshold=within, abandoned=abandoned,
                              abandoned_short=short, abandoned_after_threshold=after)}


def by_id(escalations: list[Escalation]) -> dict[str, Escalation]:
    ids = [e.id for e in escalations]
    assert len(ids) == len(set(ids)), "ids must be unique"
    return {e.id: e for e in escalations}


# --- contact wait and tier rules -----------------------------------------------------


def test_contact_wait_warning_then_critical_at_three_times() -> None:
    found = by_id(evaluate(snap(contacts=(
        waiting("c1", 19), waiting("c2", 21), waiting("c3", 61))), QUIET))
    assert "contact-wait:pbx:c1" not in found
    warn, crit = found["contact-wait:pbx:c2"], found["contact-wait:pbx:c3"]
    assert (warn.severity, crit.severity) == (Severity.WARNING, Severity.CRITICAL)
    assert warn.kind is EscalationKind.CONTACT_WAIT
    assert warn.reason == "Waiting in Sales (limit 0:20)"
    assert (warn.subject_type, warn.subject_id, warn.queue_id, warn.source) == (
        SubjectType.CONTACT, "c2", "sales", "pbx")
    assert (warn.value, warn.limit, warn.since) == (None, 20, T0 - 21 * S)
    assert warn.first_seen == T0 - 1 * S  # when the wait passed its limit
    assert warn.last_seen is None and warn.present
    # Durations are aged at render time, not frozen at poll time.
    assert warn.duration_s(T0 + 4 * S) == 25 and warn.age_s(T0 + 4 * S) == 5
    assert warn.describe(T0 + 4 * S) == "Waiting in Sales (limit 0:20) — 0:25"


def test_per_queue_factor_overrides_the_default() -> None:
    rules = QUIET.model_copy(update={"contact_wait_factors": {"sales": 2.0}})
    found = by_id(evaluate(snap(contacts=(waiting("c1", 30), waiting("c2", 45))), rules))
    assert list(found) == ["contact-wait:pbx:c2"]
    assert found["contact-wait:pbx:c2"].limit == 40


def test_only_waiting_contacts_count_for_waits() -> None:
    talking = waiting("c1", 500, state=ContactState.CONNECTED, agent_id="a1")
    assert evaluate(snap(contacts=(talking,)), QUIET) == []


def test_vip_and_gold_tier_limits() -> None:
    found = by_id(evaluate(snap(contacts=(
        waiting("v1", 35, "support", Tier.VIP),
        waiting("g1", 65, "support", Tier.GOLD),
        waiting("g2", 55, "support", Tier.GOLD),
        waiting("s1", 65, "support"))), QUIET))
    assert set(found) == {"contact-wait:pbx:v1", "contact-wait:pbx:g1"}
    vip, gold = found["contact-wait:pbx:v1"], found["contact-wait:pbx:g1"]
    assert (vip.kind, vip.severity) == (EscalationKind.TIER_WAIT, Severity.CRITICAL)
    assert vip.reason == "VIP waiting in Support (limit 0:30)"
    assert (gold.kind, gold.severity) == (EscalationKind.TIER_WAIT, Severity.WARNING)
    assert gold.describe(T0) == "Gold customer waiting in Support (limit 1:00) — 1:05"


def test_tier_limits_follow_the_channel() -> None:
    email = Queue(id="mail", name="Mail", channel=Channel.EMAIL, threshold_s=4 * 3600,
                  source="pbx")

    def vip(cid: str, wait_s: float, queue: str, channel: Channel) -> Contact:
        return waiting(cid, wait_s, queue, Tier.VIP).model_copy(update={"channel": channel})

    found = by_id(evaluate(snap(queues=(SALES, SUPPORT, email), contacts=(
        vip("mail-young", 20 * 60, "mail", Channel.EMAIL),  # 20 minutes: fine for email
        vip("mail-old", 2 * 3600, "mail", Channel.EMAIL),  # past the 1 h VIP email limit
        vip("chat-young", 45, "support", Channel.CHAT),  # chat VIPs get 60 s
        vip("chat-old", 75, "support", Channel.CHAT),
        vip("voice", 35, "sales", Channel.VOICE))), QUIET))
    assert set(found) == {"contact-wait:pbx:mail-old", "contact-wait:pbx:chat-old",
                          "contact-wait:pbx:voice", }
    assert found["contact-wait:pbx:mail-old"].reason == "VIP waiting in Mail (limit 1:00:00)"
    assert found["contact-wait:pbx:chat-old"].limit == 60
    # Configurable per channel; channels not listed use gold_wait_s / vip_wait_s.
    rules = EscalationRules.model_validate(
        {"min_contacts": 10_000, "tier_wait_s": {"email": {"gold": 600, "vip": 300}}})
    found = by_id(evaluate(snap(queues=(SALES, SUPPORT, email), contacts=(
        vip("mail-young", 20 * 60, "mail", Channel.EMAIL),
        vip("chat-young", 45, "support", Channel.CHAT))), rules))
    assert set(found) == {"contact-wait:pbx:mail-young", "contact-wait:pbx:chat-young"}


def test_one_escalation_per_contact_named_after_the_worse_rule() -> None:
    found = by_id(evaluate(snap(contacts=(
        waiting("g1", 70, "sales", Tier.GOLD),  # wait rule critical (>60) beats gold warning
        waiting("v1", 25, "sales", Tier.VIP),  # wait warning, vip not yet
        waiting("v2", 95, "sales", Tier.VIP))), QUIET))  # both critical: the tier names it
    assert found["contact-wait:pbx:g1"].kind is EscalationKind.CONTACT_WAIT
    assert found["contact-wait:pbx:g1"].severity is Severity.CRITICAL
    assert found["contact-wait:pbx:v1"].kind is EscalationKind.CONTACT_WAIT
    v2 = found["contact-wait:pbx:v2"]
    assert (v2.kind, v2.severity) == (EscalationKind.TIER_WAIT, Severity.CRITICAL)
    assert v2.describe(T0) == "VIP waiting in Sales (limit 0:30) — 1:35"
    assert v2.first_seen == T0 - 75 * S  # the first limit passed: Sales' 20 s


def test_contact_in_an_unknown_queue_still_gets_tier_rules() -> None:
    found = evaluate(snap(contacts=(waiting("v1", 40, "nowhere", Tier.VIP),)), QUIET)
    assert [(e.id, e.reason) for e in found] == [
        ("contact-wait::v1", "VIP waiting in nowhere (limit 0:30)")]


# --- flags -----------------------------------------------------------------------------


def test_flags_on_waiting_and_connected_contacts() -> None:
    contacts = (
        waiting("c1", 5, flags=(ContactFlag.ASKED_FOR_SUPERVISOR,), customer="Dana Costa"),
        waiting("c2", 5, state=ContactState.CONNECTED, agent_id="a1",
                flags=(ContactFlag.COMPLAINT, ContactFlag.REPEAT_CONTACT)),
        waiting("c3", 5, state=ContactState.WRAP_UP, agent_id="a2",
                flags=(ContactFlag.COMPLAINT,)),
    )
    found = by_id(evaluate(snap(contacts=contacts), QUIET))
    assert {k: v.severity for k, v in found.items()} == {
        "flag:asked_for_supervisor:pbx:c1": Severity.CRITICAL,
        "flag:complaint:pbx:c2": Severity.WARNING,
        "flag:repeat_contact:pbx:c2": Severity.INFO,
    }
    assert found["flag:asked_for_supervisor:pbx:c1"].reason == (
        "Customer asked for a supervisor: Dana Costa, waiting in Sales")
    assert found["flag:complaint:pbx:c2"].reason == "Complaint, connected in Sales"
    assert all(e.kind is EscalationKind.CONTACT_FLAG for e in found.values())


def test_flag_rules_can_be_turned_off_and_retuned() -> None:
    rules = EscalationRules.model_validate(
        {"min_contacts": 10_000, "flags": {"repeat_contact": "off", "complaint": "critical"}})
    contacts = (waiting("c1", 5, flags=(ContactFlag.COMPLAINT, ContactFlag.REPEAT_CONTACT)),)
    found = evaluate(snap(contacts=contacts), rules)
    assert [(e.id, e.severity) for e in found] == [
        ("flag:complaint:pbx:c1", Severity.CRITICAL)]


# --- queues ------------------------------------------------------------------------------


def test_service_level_breach_warning_and_critical() -> None:
    rules = EscalationRules(sl_breach_minutes=0)
    # 14 of 20 within threshold = 70%: 10 points under 80% -> warning
    warn = evaluate(snap(stats=stats(20, 20, 14)), rules)
    assert [(e.id, e.severity, e.value, e.limit) for e in warn] == [
        ("queue-sl:sales", Severity.WARNING, 0.7, 0.8)]
    assert warn[0].reason == "Sales service level 70% under target 80%"
    assert warn[0].since == T0
    # exactly 15 points under is still a warning; more is critical
    assert evaluate(snap(stats=stats(20, 20, 13)), rules)[0].severity is Severity.WARNING
    assert evaluate(snap(stats=stats(20, 20, 12)), rules)[0].severity is Severity.CRITICAL
    assert evaluate(snap(stats=stats(20, 20, 16)), rules) == []  # on target


def test_ratios_over_few_contacts_do_not_escalate() -> None:
    rules = EscalationRules(sl_breach_minutes=0)
    assert evaluate(snap(stats=stats(5, 2, 0, abandoned=3)), rules) == []


def test_sl_breach_counts_from_now_without_history() -> None:
    assert evaluate(snap(stats=stats(20, 20, 10)), EscalationRules()) == []
    under_since = {"sales": T0 - timedelta(minutes=6)}
    found = evaluate(snap(stats=stats(20, 20, 10)), EscalationRules(),
                     sl_under_since=under_since)
    assert [e.id for e in found] == ["queue-sl:sales"]
    assert found[0].first_seen == T0 - timedelta(minutes=1)
    assert found[0].describe(T0).endswith("80% — 6:00")


def test_abandon_rate_over_limit() -> None:
    # 6 abandoned, 2 of them short: 4 / 38 = 10.5% > 10%
    found = evaluate(snap(stats=stats(40, 34, 34, abandoned=6, short=2)), EscalationRules())
    assert [(e.id, e.kind, e.severity) for e in found] == [
        ("queue-abandon:sales", EscalationKind.QUEUE_ABANDON, Severity.WARNING)]
    assert found[0].reason == "Sales abandon rate 11% over limit 10% (4 of 38)"
    assert evaluate(snap(stats=stats(40, 36, 36, abandoned=4, short=2)),
                    EscalationRules()) == []  # 2 / 38 = 5%


# --- agents ------------------------------------------------------------------------------


def test_agent_acw_and_away_limits() -> None:
    agents = (
        agent("a1", AgentStateKind.AFTER_CONTACT_WORK, 119),
        agent("a2", AgentStateKind.AFTER_CONTACT_WORK, 150),
        agent("a3", AgentStateKind.AFTER_CONTACT_WORK, 250),  # > 2 x 120
        agent("a4", AgentStateKind.AWAY, 1200, "break"),  # 900 limit
        agent("a5", AgentStateKind.AWAY, 1200, "lunch"),  # 3600 limit
        agent("a6", AgentStateKind.AWAY, 950, "coffee"),  # unknown reason: 900
        agent("a7", AgentStateKind.AWAY, 2000, None),
        agent("a8", AgentStateKind.ON_CONTACT, 9000),
        agent("a9", AgentStateKind.OFFLINE, 9000),
    )
    found = by_id(evaluate(snap(agents=agents), QUIET))
    assert {k: v.severity for k, v in found.items()} == {
        "agent-acw:pbx:a2": Severity.INFO,
        "agent-acw:pbx:a3": Severity.WARNING,
        "agent-away:pbx:a4": Severity.INFO,
        "agent-away:pbx:a6": Severity.INFO,
        "agent-away:pbx:a7": Severity.WARNING,
    }
    assert found["agent-acw:pbx:a2"].describe(T0) == (
        "Agent a2 in after-contact work (limit 2:00) — 2:30")
    assert found["agent-away:pbx:a4"].reason == "Agent a4 away (break) (limit 15:00)"
    assert found["agent-away:pbx:a7"].describe(T0) == "Agent a7 away (limit 15:00) — 33:20"
    assert found["agent-away:pbx:a4"].first_seen == T0 - 300 * S
    assert found["agent-away:pbx:a4"].subject_type is SubjectType.AGENT


# --- model, config, helpers ------------------------------------------------------------------


def test_fast_built_escalations_equal_validated_ones() -> None:
    found = evaluate(centre(), EscalationRules(sl_breach_minutes=0))
    assert {e.kind for e in found} >= {EscalationKind.TIER_WAIT, EscalationKind.QUEUE_SL,
                                       EscalationKind.AGENT_ACW}
    for esc in found:
        assert Escalation.model_validate(esc.model_dump()) == esc
        assert Escalation.model_validate_json(esc.model_dump_json()) == esc
        assert hash(esc) == hash(Escalation.model_validate(esc.model_dump()))
        with pytest.raises(ValidationError):
            esc.reason = "changed"  # type: ignore[misc]
        copy = esc.model_copy(update={"reason": "edited"})
        assert (copy.reason, esc.reason) != ("edited", "edited")


def test_rules_config_validation() -> None:
    assert EscalationRules.model_validate({"threshold_factor": 1.5}).contact_wait_factor == 1.5
    with pytest.raises(ValidationError, match="extra"):
        EscalationRules.model_validate({"contact_wait_factr": 1.5})
    with pytest.raises(ValidationError):
        EscalationRules.model_validate({"contact_wait_factors": {"sales": 0}})
    with pytest.raises(ValidationError):
        EscalationRules.model_validate({"flags": {"complaint": "loud"}})
    rules = EscalationRules()
    assert (rules.away_limit_for("lunch"), rules.away_limit_for("x"),
            rules.away_limit_for(None)) == (3600, 900, 900)


def test_sorting_and_counting() -> None:
    def esc(eid: str, severity: Severity, age_s: float) -> Escalation:
        return Escalation(id=eid, kind=EscalationKind.CONTACT_FLAG, severity=severity,
                          reason="r", subject_type=SubjectType.CONTACT, subject_id=eid,
                          first_seen=T0 - age_s * S, last_seen=T0, value=0, limit=0)

    items = [esc("a", Severity.INFO, 500), esc("b", Severity.CRITICAL, 5),
             esc("c", Severity.WARNING, 50), esc("d", Severity.CRITICAL, 60)]
    assert [e.id for e in sort_escalations(items)] == ["d", "b", "c", "a"]
    assert count_by_severity(items) == {Severity.INFO: 1, Severity.WARNING: 1,
                                        Severity.CRITICAL: 2}
    assert severity_rank("info") < severity_rank("warning") < severity_rank("critical")


def test_ids_are_stable_across_polls() -> None:
    contacts = (waiting("c1", 30, tier=Tier.VIP, flags=(ContactFlag.COMPLAINT,)),)
    agents = (agent("a1", AgentStateKind.AFTER_CONTACT_WORK, 300),)
    ids = [sorted(e.id for e in evaluate(snap(T0 + k * S, contacts, agents), QUIET))
           for k in range(3)]
    assert ids[0] == ids[1] == ids[2] and len(ids[0]) == 3


async def test_simulator_snapshot_escalations_are_valid_and_unique() -> None:
    source = SimulatorSource("simulator", IntervalPolicy(tz="UTC"), SimulatorConfig(seed=1))
    snapshot = await source.snapshot()
    found = evaluate(snapshot, EscalationRules(sl_breach_minutes=0))
    by_id(found)
    for esc in found:
        assert Escalation.model_validate(esc.model_dump()) == esc
        assert esc.source == "simulator" or esc.subject_type is SubjectType.QUEUE


# --- tracker -----------------------------------------------------------------------------


def flagged(now: datetime, present: bool) -> Snapshot:
    """A connected contact with a complaint flag, or (``present`` False) the same contact
    with the flag gone: the condition went away while the contact is still there."""
    contact = waiting("c1", 5, now=now, state=ContactState.CONNECTED, agent_id="a1",
                      flags=(ContactFlag.COMPLAINT,) if present else ())
    return snap(now, contacts=(contact,))


FLAG_ID = "flag:complaint:pbx:c1"


def test_tracker_keeps_first_seen_and_reports_new_once() -> None:
    tracker = EscalationTracker()
    first = tracker.update(flagged(T0, True), QUIET)
    assert [e.id for e in first.new] == [FLAG_ID] and first.active[0].first_seen == T0
    second = tracker.update(flagged(T0 + 2 * S, True), QUIET)
    assert second.new == () and second.active[0].first_seen == T0
    assert second.active[0].last_seen is None


def test_tracker_hysteresis_and_return_within_window() -> None:
    tracker = EscalationTracker()
    tracker.update(flagged(T0, True), QUIET)
    gone = tracker.update(flagged(T0 + 29 * S, False), QUIET)  # 29 s < 30 s: held
    assert [e.id for e in gone.active] == [FLAG_ID] and gone.cleared == ()
    assert gone.active[0].last_seen == T0  # held: last seen when it was last true
    back = tracker.update(flagged(T0 + 31 * S, True), QUIET)
    assert back.new == () and back.active[0].first_seen == T0
    assert back.active[0].last_seen is None
    tracker.update(flagged(T0 + 60 * S, False), QUIET)
    cleared = tracker.update(flagged(T0 + 61 * S, False), QUIET)  # 30 s since last seen
    assert [e.id for e in cleared.cleared] == [FLAG_ID] and cleared.active == ()
    again = tracker.update(flagged(T0 + 62 * S, True), QUIET)
    assert [e.id for e in again.new] == [FLAG_ID] and again.new[0].first_seen == T0 + 62 * S


def test_owned_escalations_never_clear_by_themselves() -> None:
    tracker = EscalationTracker()
    tracker.update(flagged(T0, True), QUIET)
    held = tracker.update(flagged(T0 + timedelta(hours=5), False), QUIET, owned_ids={FLAG_ID})
    assert [e.id for e in held.active] == [FLAG_ID] and held.cleared == ()
    released = tracker.update(flagged(T0 + timedelta(hours=5, seconds=1), False), QUIET)
    assert [e.id for e in released.cleared] == [FLAG_ID]


def test_a_stalled_source_clears_nothing() -> None:
    tracker = EscalationTracker()
    tracker.update(flagged(T0, True), QUIET)
    for _ in range(3):
        result = tracker.update(flagged(T0, False), QUIET)  # snapshot time stands still
    assert [e.id for e in result.active] == [FLAG_ID]


def test_raised_when_severity_goes_up() -> None:
    tracker = EscalationTracker()
    contact = waiting("c1", 0, now=T0)
    assert tracker.update(snap(T0 + 25 * S, (contact,)), QUIET).new[0].severity is (
        Severity.WARNING)
    result = tracker.update(snap(T0 + 61 * S, (contact,)), QUIET)
    assert [e.severity for e in result.raised] == [Severity.CRITICAL] and result.new == ()
    assert result.active[0].first_seen == T0 + 20 * S


def test_sl_breach_needs_to_persist() -> None:
    tracker = EscalationTracker()
    rules = EscalationRules(sl_breach_minutes=5)
    under, over = stats(20, 20, 14), stats(20, 20, 19)

    def at(minutes: float, s: dict[str, QueueStats]) -> tuple[Escalation, ...]:
        return tracker.update(snap(T0 + timedelta(minutes=minutes), stats=s), rules).active

    assert at(0, under) == () and at(4.9, under) == ()
    assert at(5.0 - 10 / 60, over) == ()  # a 10 s blip over target ...
    [esc] = at(5, under)  # ... doesn't restart the breach clock
    assert (esc.id, esc.first_seen, esc.since) == (
        "queue-sl:sales", T0 + timedelta(minutes=5), T0)
    [held] = at(5 + 20 / 60, over)  # recovered: held for clear_after_s
    assert held.id == esc.id and held.last_seen == T0 + timedelta(minutes=5)
    assert at(6, over) == ()
    assert at(8, under) == ()  # a new breach starts its clock again


@settings(max_examples=150, deadline=None)
@given(
    pattern=st.lists(st.booleans(), min_size=1, max_size=80),
    clear_after=st.integers(min_value=0, max_value=12),
    owned=st.booleans(),
)
def test_hysteresis_never_flaps(pattern: list[bool], clear_after: int, owned: bool) -> None:
    """Sampled every second: active exactly while the condition holds or was seen less
    than clear_after_s ago (or ever, if owned); new once per episode; first_seen kept."""
    rules = QUIET.model_copy(update={"clear_after_s": float(clear_after)})
    tracker = EscalationTracker()
    owned_ids = {FLAG_ID} if owned else set()
    last_on: int | None = None
    episode_start: int | None = None
    for t, present in enumerate(pattern):
        result = tracker.update(flagged(T0 + t * S, present), rules, owned_ids)
        was_active = episode_start is not None
        if present:
            last_on = t
        expected = present or (last_on is not None and (owned or t - last_on < clear_after))
        active = {e.id: e for e in result.active}
        assert (FLAG_ID in active) == expected, (t, pattern[: t + 1])
        if expected and not was_active:
            episode_start = t
            assert [e.id for e in result.new] == [FLAG_ID]
        else:
            assert result.new == ()
        if was_active and not expected:
            assert last_on is not None and t - last_on >= clear_after and not owned
            assert [e.id for e in result.cleared] == [FLAG_ID]
            episode_start = None
        else:
            assert result.cleared == ()
        if expected:
            esc = active[FLAG_ID]
            assert esc.first_seen == T0 + episode_start * S  # type: ignore[operator]
            assert esc.last_seen == (None if present else T0 + last_on * S)  # type: ignore[operator]


def test_unchanged_escalations_are_the_same_objects_next_poll() -> None:
    contacts = (waiting("c1", 30), waiting("c2", 5, flags=(ContactFlag.COMPLAINT,)))
    agents = (agent("a1", AgentStateKind.AFTER_CONTACT_WORK, 300),)
    rules = EscalationRules(sl_breach_minutes=0)
    under, since = stats(20, 20, 14), {"sales": T0}
    first = by_id(evaluate(snap(T0, contacts, agents, under), rules, sl_under_since=since))
    assert len(first) == 4
    later = by_id(evaluate(snap(T0 + 5 * S, contacts, agents, under), rules,
                           sl_under_since=since, previous=first))
    assert all(later[k] is first[k] for k in first)
    # The wait passes 3x its limit: a new object, same id and first_seen.
    critical = by_id(evaluate(snap(T0 + 31 * S, contacts, agents, under), rules,
                              previous=later))
    wait = critical["contact-wait:pbx:c1"]
    assert wait is not later["contact-wait:pbx:c1"] and wait.severity is Severity.CRITICAL
    assert wait.first_seen == first["contact-wait:pbx:c1"].first_seen
    assert critical["flag:complaint:pbx:c2"] is first["flag:complaint:pbx:c2"]


def test_tracker_keeps_its_sorted_tuple_when_nothing_changed() -> None:
    tracker = EscalationTracker()
    contacts = (waiting("c1", 30), waiting("c2", 95, tier=Tier.VIP))
    one = tracker.update(snap(T0, contacts), QUIET)
    two = tracker.update(snap(T0 + S, contacts), QUIET)
    assert two.active is one.active and two.new == two.raised == two.cleared == ()
    assert [e.subject_id for e in two.active] == ["c2", "c1"]  # critical first


@settings(max_examples=200, deadline=None)
@given(
    waits=st.lists(st.floats(min_value=0, max_value=400, allow_nan=False), min_size=2,
                   max_size=2),
    tier=st.sampled_from(list(Tier)),
    factor=st.floats(min_value=0.5, max_value=4),
)
def test_a_longer_wait_is_never_less_severe(waits: list[float], tier: Tier,
                                            factor: float) -> None:
    rules = QUIET.model_copy(update={"contact_wait_factor": factor})
    rank = {None: -1} | {s: severity_rank(s) for s in Severity}

    def severity(wait: float) -> Severity | None:
        found = evaluate(snap(contacts=(waiting("c1", wait, tier=tier),)), rules)
        return found[0].severity if found else None

    short, long = sorted(waits)
    assert rank[severity(short)] <= rank[severity(long)]
    limit = 20 * factor
    tier_limit = {Tier.VIP: 30, Tier.GOLD: 60}.get(tier, float("inf"))
    assume(abs(long - limit) > 1e-5 and abs(long - tier_limit) > 1e-5)  # microsecond clock
    assert (severity(long) is None) == (long <= limit and long <= tier_limit)


def test_tracker_reuse_by_identity_matches_a_fresh_evaluation() -> None:
    """The tracker skips rebuilding escalations of unchanged contacts and queues; what it
    reports must always equal the rules applied afresh to the same snapshot."""
    from supervisor_tui.sim.config import scaled_centre

    wall = [datetime(2026, 5, 5, 10, 0, tzinfo=UTC)]
    source = SimulatorSource("sim", IntervalPolicy(30, "UTC"),
                             scaled_centre(30, 200, occupancy=1.2), clock=lambda: wall[0])
    rules = EscalationRules(sl_breach_minutes=1, min_contacts=3)
    tracker = EscalationTracker()
    kinds: set[str] = set()
    for step in range(90):
        wall[0] += timedelta(seconds=5 if step % 3 else 20)
        source.engine.advance(source.sim_now())
        snapshot = source._builder.build()
        under_before = dict(tracker._under_since)
        result = tracker.update(snapshot, rules)
        fresh = evaluate(snapshot, rules, sl_under_since=under_before)

        def shape(escs: object) -> dict[str, tuple]:
            return {e.id: (e.severity, e.reason, e.since, e.limit) for e in escs}  # type: ignore[attr-defined]

        present = [e for e in result.by_id.values() if e.last_seen is None]
        assert shape(present) == shape(fresh), f"step {step}"
        kinds |= {e.kind.value for e in present}
    assert {"contact_wait", "queue_sl", "contact_flag"} <= kinds  # the reuse paths ran


# -- contacts that leave the queue stop counting at once (issue 11.5) ----------------

VIP_ID = "contact-wait:pbx:c1"


def vip(now: datetime, wait_s: float = 99, **kw: object) -> Contact:
    return waiting("c1", wait_s, tier=Tier.VIP, now=now, customer="Dana Jensen", **kw)


def test_answered_contact_leaves_active_at_once_then_goes() -> None:
    from supervisor_tui.domain.escalation import ended_text

    tracker = EscalationTracker()
    first = tracker.update(snap(T0, (vip(T0),)), QUIET)
    [esc] = first.active
    assert esc.label == "c1 Dana Jensen (vip)"
    # Answered: connected to an agent, 2 s later. Not active, not counted: departed.
    answered = vip(T0, state=ContactState.CONNECTED, agent_id="a1")
    result = tracker.update(snap(T0 + 2 * S, (answered,)), QUIET)
    assert result.active == () and count_by_severity(result.active)[Severity.CRITICAL] == 0
    [gone] = result.departed
    assert (gone.id, gone.ended, gone.last_seen) == (VIP_ID, "answered", T0)
    assert ended_text(gone) == "answered after 1:39"
    assert gone.duration_s(T0 + 60 * S) == 99  # frozen: the wait ended
    # Still shown (greyed) for departed_show_s of snapshot time from when it was found
    # gone, then gone for good.
    assert [e.id for e in tracker.update(snap(T0 + 14 * S, (answered,)), QUIET).departed] \
        == [VIP_ID]
    last = tracker.update(snap(T0 + 17 * S, (answered,)), QUIET)
    assert last.departed == () and [e.id for e in last.cleared] == [VIP_ID]


def test_how_a_contact_left_is_named() -> None:
    tracker = EscalationTracker()
    c2 = waiting("c2", 70, now=T0)
    c3 = waiting("c3", 70, now=T0)
    tracker.update(snap(T0, (vip(T0), c2, c3)), QUIET)
    moved = c3.model_copy(update={"queue_id": "support", "entered_at": T0})
    result = tracker.update(snap(T0 + S, (moved,)), QUIET)
    ended = {e.subject_id: e.ended for e in result.departed}
    assert ended == {"c1": "left the queue", "c2": "left the queue", "c3": "moved to Support"}


def test_owned_departed_contact_stays_for_its_owner_and_a_blip_is_not_new() -> None:
    tracker = EscalationTracker()
    tracker.update(snap(T0, (vip(T0),)), QUIET)
    held = tracker.update(snap(T0 + 600 * S, ()), QUIET, owned_ids={VIP_ID})
    assert held.active == () and [e.id for e in held.departed] == [VIP_ID]
    # Listed again (a short contact list, one poll): back, and not announced as new.
    back = tracker.update(snap(T0 + 601 * S, (vip(T0, wait_s=99),)), QUIET)
    assert back.new == () and [e.id for e in back.active] == [VIP_ID]
    assert back.departed == ()


def test_ages_say_when_only_the_first_sight_is_known() -> None:
    from supervisor_tui.domain.escalation import age_text

    tracker = EscalationTracker()
    # At start-up: a flag already raised and a VIP waiting 1:42 by the source's clock.
    flag = waiting("c2", 5, now=T0, state=ContactState.CONNECTED, agent_id="a1",
                   flags=(ContactFlag.COMPLAINT,))
    result = tracker.update(snap(T0, (vip(T0, wait_s=102), flag)), QUIET)
    seen = tracker.observing_since
    esc = {e.kind: e for e in result.active}
    now = T0 + 10 * S
    assert age_text(esc[EscalationKind.TIER_WAIT], now, seen) == "1:52"
    assert age_text(esc[EscalationKind.CONTACT_FLAG], now, seen) == "≥ 0:10"
    # Stale data: ``now`` is the last data's time, and waits read as a bound.
    assert age_text(esc[EscalationKind.TIER_WAIT], T0, seen, frozen=True) == "≥ 1:42"
    # A flag raised while the console watched is timed from the poll that showed it.
    later = flag.model_copy(update={"flags": (ContactFlag.COMPLAINT,
                                              ContactFlag.ASKED_FOR_SUPERVISOR)})
    result = tracker.update(snap(T0 + 5 * S, (vip(T0, wait_s=102), later)), QUIET)
    [asked] = [e for e in result.new]
    assert age_text(asked, now, seen) == "0:05"


def test_departed_linger_is_wall_time_for_an_accelerated_source() -> None:
    tracker = EscalationTracker()

    def fast(now: datetime, contacts: tuple[Contact, ...]) -> Snapshot:
        return snap(now, contacts).model_copy(update={"clock_rate": 30.0})

    tracker.update(fast(T0, (vip(T0),)), QUIET)
    tracker.update(fast(T0 + 15 * S, ()), QUIET)  # gone: 0.5 s of wall time at 30x
    assert [e.id for e in tracker.update(fast(T0 + 300 * S, ()), QUIET).departed] == [VIP_ID]
    assert tracker.update(fast(T0 + 470 * S, ()), QUIET).departed == ()  # 15 wall seconds


@settings(max_examples=120, deadline=None)
@given(steps=st.lists(st.lists(st.sampled_from(["absent", "waiting", "connected", "moved"]),
                               min_size=4, max_size=4), min_size=1, max_size=25),
       show_s=st.integers(min_value=0, max_value=6))
def test_a_contact_counts_exactly_while_it_waits(steps: list[list[str]], show_s: int) -> None:
    """Four VIPs (long past their limit) churn between waiting, answered, moved to
    another queue (where their wait starts again) and gone, one poll a second: an
    escalation is active exactly while its contact waits in its queue; a departed one
    is never also active, says how it left, and is kept exactly show_s seconds from
    when it left (unless it comes back)."""
    rules = QUIET.model_copy(update={"departed_show_s": float(show_s)})
    tracker = EscalationTracker()
    left_at: dict[str, int] = {}
    for t, states in enumerate(steps):
        now = T0 + t * S
        contacts = []
        for i, state in enumerate(states):
            cid = f"c{i}"
            base = waiting(cid, 100 + t, tier=Tier.VIP, now=now)
            if state == "waiting":
                contacts.append(base)
            elif state == "connected":
                contacts.append(base.model_copy(update={"state": ContactState.CONNECTED}))
            elif state == "moved":
                contacts.append(base.model_copy(update={"queue_id": "support",
                                                        "entered_at": now}))
        result = tracker.update(snap(now, tuple(contacts)), rules)
        active = {e.subject_id for e in result.active if e.queue_id == "sales"}
        departed = {e.subject_id: e for e in result.departed}
        for i, state in enumerate(states):
            cid = f"c{i}"
            if state == "waiting":
                left_at.pop(cid, None)
                assert cid in active and cid not in departed
                continue
            assert cid not in active
            if t > 0 and steps[t - 1][i] == "waiting" and cid not in left_at:
                left_at[cid] = t
            if cid in left_at and t - left_at[cid] < show_s:
                assert cid in departed, (t, cid)
                assert departed[cid].ended == {"absent": "left the queue",
                                               "connected": "answered",
                                               "moved": "moved to Support"}[
                    steps[left_at[cid]][i]]
            else:
                assert cid not in departed, (t, cid)
        assert count_by_severity(result.active)[Severity.CRITICAL] == states.count("waiting")
