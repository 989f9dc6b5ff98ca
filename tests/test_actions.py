"""Supervisor actions: each goes to the source that reported the contact or agent, and is
one audited attempt (intent recorded before the call, outcome after; refused or
unrecordable attempts never reach a source)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from supervisor_tui.actions import Actions
from supervisor_tui.domain.roles import Role
from tests.dialog_helpers import AgentStateSource, RecordingSource
from tests.helpers import centre


class Sink:
    """An audit log in a list; ``fail_on`` makes the append of that outcome raise."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.records: list[dict[str, Any]] = []
        self.fail_on = fail_on

    def append(self, *, user: str, role: str, action: str, subject: str,
               params: Mapping[str, Any], outcome: str, response: str) -> None:
        if outcome == self.fail_on:
            raise OSError("disk full")
        self.records.append({"user": user, "role": role, "action": action,
                             "subject": subject, "outcome": outcome})


def two_sources() -> tuple[RecordingSource, RecordingSource]:
    pbx, chat = RecordingSource([centre()]), RecordingSource([centre()])
    chat.name = "chat"
    return pbx, chat


async def test_a_contact_moves_on_the_source_that_reported_it() -> None:
    pbx, chat = two_sources()
    sink = Sink()
    actions = Actions([pbx, chat], sink, "ann", Role.SUPERVISOR)
    contact = centre().contacts[0].model_copy(update={"source": "chat"})
    result = await actions.reassign_contact(contact, "support")
    assert result.ok, result.message
    assert chat.moves == [(contact.id, "support")] and pbx.moves == []
    assert [r["outcome"] for r in sink.records] == ["allowed", "done"]
    assert sink.records[0] == {"user": "ann", "role": "supervisor",
                               "action": "reassign_contact",
                               "subject": f"contact {contact.id}", "outcome": "allowed"}


async def test_agents_of_two_sources_each_change_on_their_own() -> None:
    pbx, chat = two_sources()
    actions = Actions([pbx, chat], Sink(), "ann", Role.SUPERVISOR)
    a1, a3 = centre().agents[0], centre().agents[2].model_copy(update={"source": "chat"})
    results = await actions.move_agents([a1, a3], "billing", add=True)
    assert all(r.ok for r in results)
    assert pbx.skill_changes == [(a1.id, (*a1.skills, "billing"))]
    assert chat.skill_changes == [(a3.id, (*a3.skills, "billing"))]


async def test_a_contact_of_a_source_not_connected_is_refused_and_recorded() -> None:
    pbx, _ = two_sources()
    sink = Sink()
    actions = Actions([pbx], sink, "ann", Role.SUPERVISOR)
    contact = centre().contacts[0].model_copy(update={"source": "gone"})
    result = await actions.reassign_contact(contact, "support")
    assert (result.ok, result.code) == (False, "refused")
    assert "source gone is not connected" in result.message
    assert pbx.moves == [] and [r["outcome"] for r in sink.records] == ["refused"]


async def test_a_viewer_is_refused_before_any_source_is_called() -> None:
    pbx, _ = two_sources()
    sink = Sink()
    actions = Actions([pbx], sink, "val", Role.VIEWER)
    result = await actions.reassign_contact(centre().contacts[0], "support")
    assert result.message == "val is a viewer; reassign contact needs supervisor"
    assert pbx.moves == [] and [r["outcome"] for r in sink.records] == ["refused"]


async def test_nothing_is_done_when_the_intent_cannot_be_recorded() -> None:
    pbx, _ = two_sources()
    actions = Actions([pbx], Sink(fail_on="allowed"), "ann", Role.SUPERVISOR)
    result = await actions.reassign_contact(centre().contacts[0], "support")
    assert (result.ok, result.code) == (False, "audit_failed")
    assert "disk full" in result.message and pbx.moves == []


async def test_an_outcome_that_cannot_be_recorded_is_said_with_the_result() -> None:
    pbx, _ = two_sources()
    actions = Actions([pbx], Sink(fail_on="done"), "ann", Role.SUPERVISOR)
    result = await actions.reassign_contact(centre().contacts[0], "support")
    assert result.ok and pbx.moves  # done: the source did it
    assert "WARNING: outcome not in audit log (disk full)" in result.message


# -- agent state ---------------------------------------------------------------------


def state_sources() -> tuple[AgentStateSource, AgentStateSource]:
    pbx, chat = AgentStateSource([centre()]), AgentStateSource([centre()])
    chat.name = "chat"
    return pbx, chat


async def test_agent_states_change_each_on_its_own_source_audited() -> None:
    pbx, chat = state_sources()
    sink = Sink()
    actions = Actions([pbx, chat], sink, "ann", Role.SUPERVISOR)
    a1, a3 = centre().agents[0], centre().agents[2].model_copy(update={"source": "chat"})
    results = await actions.set_agent_state([a1, a3], "logout")
    assert [r.ok for r in results] == [True, True]
    assert pbx.state_changes == [(a1.id, "logout")] and chat.state_changes == [(a3.id, "logout")]
    assert [(r["action"], r["subject"], r["outcome"]) for r in sink.records] == [
        ("agent_state", f"agent {a1.id}", "allowed"), ("agent_state", f"agent {a1.id}", "done"),
        ("agent_state", f"agent {a3.id}", "allowed"), ("agent_state", f"agent {a3.id}", "done")]


async def test_agent_state_needs_a_supervisor() -> None:
    pbx, _ = state_sources()
    sink = Sink()
    actions = Actions([pbx], sink, "val", Role.VIEWER)
    (result,) = await actions.set_agent_state([centre().agents[0]], "available")
    assert (result.ok, result.code) == (False, "refused")
    assert result.message == "val is a viewer; agent state needs supervisor"
    assert pbx.state_changes == [] and [r["outcome"] for r in sink.records] == ["refused"]


async def test_agent_state_on_a_source_that_cannot_is_refused_with_the_reason() -> None:
    pbx = RecordingSource([centre()])  # no AGENT_STATE
    sink = Sink()
    actions = Actions([pbx], sink, "ann", Role.SUPERVISOR)
    assert actions.refusal("agent_state", "pbx") == "source pbx cannot change agents' states"
    (result,) = await actions.set_agent_state([centre().agents[0]], "away:lunch")
    assert (result.ok, result.code) == (False, "refused")
    assert result.message == "source pbx cannot change agents' states"
    assert [r["outcome"] for r in sink.records] == ["refused"]
