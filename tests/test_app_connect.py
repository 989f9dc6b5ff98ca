"""An Amazon Connect instance on the console, driven as a supervisor would at 80x24: its
queues on the dashboard (waiting counts from Connect's real-time metrics), its health and
budget on the sources screen, and an agent put back to Available through PutUserStatus.

The SDK client is an in-process stand-in answering with the shapes the Stubber-validated
tests (``test_connect_source.py``) check against botocore's model; it also records the
actions sent."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from supervisor_tui.domain.model import Channel
from supervisor_tui.sources.connect.settings import ConnectQueueSettings, ConnectSettings
from supervisor_tui.sources.connect.source import ConnectSource
from supervisor_tui.store import Store
from supervisor_tui.ui.app import SupervisorApp
from supervisor_tui.ui.screens.agent_detail import AgentDetailScreen
from supervisor_tui.ui.widgets.grid import Grid
from tests import test_connect_source as t
from tests.helpers import make_config, screen_text, wait_for


class Client:
    """Answers every poll from a ``Centre``; records PutUserStatus."""

    def __init__(self, centre: t.Centre) -> None:
        self.centre = centre
        self.sent: list[dict[str, Any]] = []

    def list_queues(self, **_: Any) -> dict[str, Any]:
        return {"QueueSummaryList": [{"Id": q, "Name": n, "QueueType": "STANDARD"}
                                     for q, n in self.centre.queues]}

    def list_agent_statuses(self, **_: Any) -> dict[str, Any]:
        return {"AgentStatusSummaryList": [{"Id": s, "Name": n, "Type": k}
                                           for s, n, k in self.centre.statuses]}

    def list_routing_profiles(self, **_: Any) -> dict[str, Any]:
        return {"RoutingProfileSummaryList": [{"Id": p, "Name": n}
                                              for p, (n, _) in self.centre.profiles.items()]}

    def list_users(self, **_: Any) -> dict[str, Any]:
        return {"UserSummaryList": [{"Id": u, "Username": n} for u, n in self.centre.users]}

    def list_routing_profile_queues(self, RoutingProfileId: str, **_: Any) -> dict[str, Any]:
        queues = self.centre.profiles[RoutingProfileId][1]
        return {"RoutingProfileQueueConfigSummaryList": [
            {"QueueId": q, "Priority": n + 1} for n, q in enumerate(queues)]}

    def get_current_metric_data(self, **_: Any) -> dict[str, Any]:
        return {"MetricResults": self.centre.live()}

    def get_metric_data_v2(self, Metrics: list[dict[str, Any]], **_: Any) -> dict[str, Any]:
        key = (20, 5) if len(Metrics) > 8 else (60, 0)
        return {"MetricResults": self.centre.v2("interval")[key]}

    def get_current_user_data(self, **_: Any) -> dict[str, Any]:
        return {"UserDataList": self.centre.user_list()}

    def put_user_status(self, **params: Any) -> dict[str, Any]:
        self.sent.append(params)
        return {}


def console() -> tuple[SupervisorApp, Client]:
    clock = t.Clock(datetime.now(UTC).replace(microsecond=0))
    client = Client(t.Centre(clock))
    support = ConnectQueueSettings(channel=Channel.CHAT, threshold_s=60, short_abandon_s=0)
    settings = ConnectSettings(instance_arn=t.ARN, queue_settings={t.Q2: support},
                               day_stats=False)
    source = ConnectSource("connect", t.POLICY, settings, client=client)
    return SupervisorApp(make_config(), [source], store=Store.open(None), user="sam"), client


async def test_a_connect_instance_on_the_console_at_80x24() -> None:
    app, client = console()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.board is not None)
        await wait_for(pilot, lambda: "Sales" in screen_text(app))
        dashboard = screen_text(app)
        assert "Billing" in dashboard and "Support" in dashboard
        assert "\x1b" not in dashboard  # the queue named with escape sequences, cleaned
        sales = next(line for line in dashboard.splitlines() if line.startswith("Sales"))
        # three waiting for 1:15 (CONTACTS_IN_QUEUE, OLDEST_CONTACT_AGE in seconds); SL
        # 30 answered in 20 s / (40 answered + 2 abandoned after 20 s)
        waiting, oldest, mark = sales.split()[1:4]
        assert (waiting, mark) == ("3", "✗") and "71%" in sales
        assert re.fullmatch(r"1:1[5-9]", oldest)  # ages on screen as the seconds pass

        await pilot.press("S")
        await wait_for(pilot, lambda: "connect" in screen_text(app)
                       and "● ok" in screen_text(app))
        assert "0 failed" in screen_text(app)
        assert "connect: can agent_state, move_agents, snapshot" in screen_text(app)

        await pilot.press("a")
        await wait_for(pilot, lambda: "dan" in screen_text(app))
        grid = app.screen.query_one("#agents", Grid)
        assert grid.move_to_key(f"connect:{t.U4}")  # dan, away (lunch)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, AgentDetailScreen))
        await pilot.press("v")
        await wait_for(pilot, lambda: "Available: dan?" in " ".join(screen_text(app).split()))
        assert client.sent == []  # not before y
        await pilot.press("y")
        await wait_for(pilot, lambda: client.sent != [])
        assert client.sent == [{"InstanceId": t.INST, "UserId": t.U4,
                                "AgentStatusId": t.AVAIL}]
        await wait_for(pilot, lambda: "dan set to Available" in " ".join(
            screen_text(app).split()))
