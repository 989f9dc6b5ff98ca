"""SVG snapshots of the crisis screen and of the dashboard under an incident banner, at
SSH size (80x24) and wall size (200x60).

The store is prepared before the app starts, with the clock frozen and canned channel
outcomes (delivered, refused for good, retrying later, waiting for a source), so every
state and the banner's broadcast line render identically on every run. Update with
``pytest --snapshot-update`` after an intended change, and look at the report first.
"""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

import pytest

from supervisor_tui.config import Role, RolesConfig
from supervisor_tui.crisis.channels import AgentsSender, Delivery, Sender, SendResult
from supervisor_tui.crisis.incidents import IncidentStore
from supervisor_tui.crisis.service import CrisisService
from supervisor_tui.store import Store
from supervisor_tui.ui.app import SupervisorApp
from tests.crisis_helpers import ENV, FakeClock, crisis_config
from tests.helpers import T0, ScriptedSource, centre, make_config, still

SIZES = [(80, 24), (200, 60)]


class Canned(Sender):
    """Answers every delivery the same way, without a network."""

    def __init__(self, name: str, result: SendResult) -> None:
        super().__init__(name, None)  # type: ignore[arg-type]
        self.result = result

    async def send(self, delivery: Delivery) -> SendResult:
        return self.result


def prepared_app() -> SupervisorApp:
    # The agents channel also broadcasts through source "pbx", which this console
    # cannot reach: that row waits (for a console connected to it).
    crisis = crisis_config("http://127.0.0.1:9", channels={
        "floor": {"type": "agents", "sources": ["pbx"]}},
        # The retry falls due after the frozen "now": the console leaves it alone.
        delivery={"backoff_base_s": 600, "backoff_max_s": 600})
    store = Store.open(None)
    clock = FakeClock(T0 - timedelta(minutes=12, seconds=34))
    floor = AgentsSender("floor", crisis.channels["floor"], IncidentStore(store.db), {},
                         clock)  # type: ignore[arg-type]
    senders = {
        "hook": Canned("hook", SendResult.delivered("delivered (HTTP 200)", http_status=200)),
        "ops_slack": Canned("ops_slack", SendResult.fail("HTTP 403: invalid_token",
                                                         http_status=403)),
        "ops_teams": Canned("ops_teams", SendResult.retry("HTTP 503: Service Unavailable",
                                                          http_status=503)),
        "status": Canned("status", SendResult.delivered("delivered (HTTP 201)",
                                                        http_status=201, external_id="sp1")),
        "customers_sms": Canned("customers_sms", SendResult.delivered(
            "delivered (HTTP 201)", http_status=201, external_id="SM0123")),
        "floor": floor,
    }
    prep = CrisisService(crisis, store.db, user="sam", role=Role.ADMIN,
                         audit=_NullAudit(), env=ENV, clock=clock, sleep=clock.sleep,
                         rng=random.Random(7), senders=senders)
    prep.declare("Payments IVR down", "critical", ["Sales", "Billing"],
                 "calls to payments fail", "11:30")
    clock.now = T0 - timedelta(minutes=1)
    asyncio.run(prep.send("outage", {}, wait_s=0))
    config = make_config(poll_interval_s=3600).model_copy(update={
        "crisis": crisis, "roles": RolesConfig(users={"sam": Role.ADMIN})})
    return SupervisorApp(config, [ScriptedSource([centre()])], store=store,
                         clock=lambda: T0, monotonic=lambda: 1000.0, user="sam")


class _NullAudit:
    def append(self, **_: object) -> None:
        pass


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """The console has every channel's secret (no "cannot send here" line)."""
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)


async def _settle(pilot) -> None:  # type: ignore[no-untyped-def]
    await pilot.pause(0.3)
    await still(pilot)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_crisis_screen(snap_compare, size: tuple[int, int], secrets: None) -> None:  # type: ignore[no-untyped-def]
    async def go(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settle(pilot)
        await pilot.press("c")
        await _settle(pilot)

    assert snap_compare(prepared_app(), terminal_size=size, run_before=go)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_dashboard_with_incident_banner(snap_compare, size: tuple[int, int], secrets: None) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(prepared_app(), terminal_size=size, run_before=_settle)
