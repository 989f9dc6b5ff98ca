"""The console on an Asterisk PBX (the loopback AMI server of tests/ami_fake.py), driven as
a supervisor would at 80x24: the queues and agents appear, an agent is put on a break
from the agent dialog (the QueuePause sent, the member's pause event shown back), and a
lost connection is shown as such on the sources screen, the numbers kept but not live."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from supervisor_tui.domain.model import AgentStateKind
from supervisor_tui.sources.asterisk.settings import AsteriskSettings
from supervisor_tui.sources.asterisk.source import AsteriskSource
from supervisor_tui.store import Store
from supervisor_tui.ui.app import SupervisorApp
from supervisor_tui.ui.screens.agent_detail import AgentDetailScreen
from supervisor_tui.ui.widgets.grid import Grid
from tests.ami_fake import SECRET, USER, FakeAsterisk
from tests.helpers import make_config, screen_text, screen_title, wait_for

SECRET_ENV = "SUPERVISOR_TUI_TEST_AMI_SECRET"


@pytest.fixture
async def fake() -> AsyncIterator[FakeAsterisk]:
    server = FakeAsterisk()
    await server.start()
    yield server
    await server.stop()


def text(app: SupervisorApp) -> str:
    return " ".join(screen_text(app).split())


async def test_a_supervisor_on_asterisk(fake: FakeAsterisk,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    settings = AsteriskSettings(type="asterisk", host="127.0.0.1", port=fake.port,
                                username=USER, secret_env=SECRET_ENV, timeout_s=3,
                                max_backoff_s=1)
    source = AsteriskSource("pbx", make_config().console.policy, settings)
    app = SupervisorApp(make_config(), [source], store=Store.open(None), user="sam")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.board is not None)
        await wait_for(pilot, lambda: "sales" in screen_text(app)
                       and "support" in screen_text(app))
        # the agents, and one of them sent on a break from the agent dialog
        await pilot.press("a")
        await wait_for(pilot, lambda: "Alice Martin" in screen_text(app))
        assert "Chen Wei" in screen_text(app)
        assert app.screen.query_one("#agents", Grid).move_to_key("pbx:PJSIP/1001")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, AgentDetailScreen))
        await pilot.press("b")
        await wait_for(pilot, lambda: "Away (break): Alice Martin?" in text(app))
        assert not fake.named("QueuePause")  # not before y
        await pilot.press("y")
        await wait_for(pilot, lambda: "1 of 1 changed" in text(app))
        sent = fake.named("QueuePause")
        assert [(a["Interface"], a["Paused"], a["Reason"]) for a in sent] == [
            ("PJSIP/1001", "true", "break")]

        def alice() -> AgentStateKind | None:
            assert app.board is not None
            return next(a.state.kind for a in app.board.snapshot.agents
                        if a.id == "PJSIP/1001")

        # Asterisk's QueueMemberPause events come back: shown away, like any change
        await wait_for(pilot, lambda: alice() is AgentStateKind.AWAY)
        await pilot.press("escape")
        # the PBX goes away: the sources screen says since when and why
        await fake.stop()
        await pilot.press("S")
        await wait_for(pilot, lambda: screen_title(app) == "Sources")
        await wait_for(pilot, lambda: "not live since" in text(app))
        assert "connection closed by Asterisk" in text(app) or "cannot connect" in text(app)
        assert app.board is not None and app.board.snapshot.queues  # kept, not live
