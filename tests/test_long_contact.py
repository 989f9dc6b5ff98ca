"""Long-contact flag (pure domain): an agent on one contact longer than N x the queue's
AHT today is an escalation (info, then warning past agent_warning_multiple), off at 0
and until the AHT rests on min_contacts handled contacts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from supervisor_tui.domain.escalation import (
    EscalationKind,
    EscalationRules,
    Severity,
    evaluate,
    long_contact_limit_s,
)
from supervisor_tui.domain.model import (
    Agent,
    AgentState,
    AgentStateKind,
    Queue,
    QueueStats,
    Snapshot,
)

T0 = datetime(2026, 11, 22, 10, 20, tzinfo=UTC)
S = timedelta(seconds=1)
SALES = Queue(id="sales", name="Sales", sl_target=0.8, threshold_s=20, source="pbx")
DAY = T0.replace(hour=0, minute=0)
RULES = EscalationRules(min_contacts=10, sl_breach_minutes=10_000)


def on_contact(aid: str, for_s: float, contact: str = "c1",
               kind: AgentStateKind = AgentStateKind.ON_CONTACT) -> Agent:
    return Agent(id=aid, name=f"Agent {aid}", source="pbx", contact_id=contact,
                 queue_id="sales", state=AgentState(kind=kind, since=T0 - for_s * S))


def snap(agents: tuple[Agent, ...], handled: int = 20, aht_s: float = 300) -> Snapshot:
    day = QueueStats(queue_id="sales", window_start=DAY, offered=handled, answered=handled,
                     answered_within_threshold=handled, handled=handled,
                     handle_s=handled * aht_s)
    return Snapshot(taken_at=T0, interval_start=T0.replace(minute=0), day_start=DAY,
                    queues=(SALES,), day_stats={"sales": day}, agents=agents)


def long_ones(s: Snapshot, rules: EscalationRules = RULES) -> dict[str, Severity]:
    return {e.id: e.severity for e in evaluate(s, rules)
            if e.kind is EscalationKind.AGENT_LONG_CONTACT}


def test_past_n_times_aht_is_info_then_warning() -> None:
    agents = (on_contact("a1", 899), on_contact("a2", 901, "c2"),  # limit 3 x 5:00 = 15:00
              on_contact("a3", 1801, "c3"),  # past 2 x the limit: warning
              on_contact("a4", 5000, "c4", AgentStateKind.AFTER_CONTACT_WORK))  # not talking
    found = {e.id: e for e in evaluate(snap(agents), RULES)
             if e.kind is EscalationKind.AGENT_LONG_CONTACT}
    assert {k: v.severity for k, v in found.items()} == {
        "agent-long:pbx:a2:c2": Severity.INFO, "agent-long:pbx:a3:c3": Severity.WARNING}
    esc = found["agent-long:pbx:a2:c2"]
    assert esc.reason == "Agent a2 on one contact c2 in Sales (limit 3× AHT = 15:00)"
    assert esc.describe(T0) == f"{esc.reason} — 15:01"
    assert (esc.subject_id, esc.queue_id, esc.limit) == ("a2", "sales", 900.0)
    assert esc.first_seen == T0 - 1 * S  # when it passed the limit


def test_a_new_contact_is_a_new_escalation() -> None:
    first = long_ones(snap((on_contact("a1", 1000, "c1"),)))
    second = long_ones(snap((on_contact("a1", 1000, "c7"),)))
    assert list(first) == ["agent-long:pbx:a1:c1"] and list(second) == ["agent-long:pbx:a1:c7"]


def test_off_at_zero_and_until_the_aht_has_its_sample() -> None:
    agents = (on_contact("a1", 10_000),)
    assert long_ones(snap(agents), RULES.model_copy(update={
        "long_contact_aht_multiple": 0})) == {}
    assert long_ones(snap(agents, handled=9)) == {}  # AHT of 9 contacts: not trusted
    assert long_contact_limit_s(snap(agents, handled=9), "sales", RULES) is None
    assert long_contact_limit_s(snap(agents), "sales", RULES) == 900.0
    assert long_contact_limit_s(snap(agents), None, RULES) is None
    assert long_contact_limit_s(snap(agents), "nowhere", RULES) is None
    assert EscalationRules().long_contact_aht_multiple == 3


def test_configurable_multiple() -> None:
    rules = RULES.model_copy(update={"long_contact_aht_multiple": 1.5})
    found = long_ones(snap((on_contact("a1", 451),)), rules)  # 1.5 x 5:00 = 7:30
    assert found == {"agent-long:pbx:a1:c1": Severity.INFO}
