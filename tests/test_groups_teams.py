"""Queue groups and teams: the pure figures, worked out by hand on tests.helpers.centre(),
and the [groups] / [teams] configuration."""

from __future__ import annotations

from datetime import timedelta

import pytest

from supervisor_tui.config import ConfigError, parse_config
from supervisor_tui.domain.agent_day import AgentDay
from supervisor_tui.domain.board import DAY, INTERVAL, LIVE, SLStatus, build_board
from supervisor_tui.domain.groups import group_band, group_bands
from supervisor_tui.domain.model import (
    Agent,
    AgentState,
    AgentStateKind,
    Channel,
    Queue,
    QueueStats,
    Snapshot,
)
from supervisor_tui.domain.teams import team_figures
from tests.helpers import T0, centre


def with_more_queues() -> Snapshot:
    """centre() plus a second 80%/20 s voice queue and an email queue (90% in 1 h).

    Sales 2: 10 offered, 10 answered, 6 within 20 s, 40 s of waits, 10 handled in 2,000 s.
    Email: 5 offered, 5 answered within the hour, 3,000 s of waits, 5 handled in 2,000 s.
    """
    snap = centre()
    start = snap.interval_start
    queues = (*snap.queues,
              Queue(id="sales2", name="Sales 2", channel=Channel.VOICE, sl_target=0.8,
                    threshold_s=20, source="pbx"),
              Queue(id="email", name="Email", channel=Channel.EMAIL, sl_target=0.9,
                    threshold_s=3600, source="pbx"))
    interval = {
        **snap.interval_stats,
        "sales2": QueueStats(queue_id="sales2", window_start=start, offered=10, answered=10,
                             answered_within_threshold=6, wait_answered_s=40, handled=10,
                             handle_s=2000),
        "email": QueueStats(queue_id="email", window_start=start, offered=5, answered=5,
                            answered_within_threshold=5, wait_answered_s=3000, handled=5,
                            handle_s=2000),
    }
    day = {k: v.model_copy(update={"window_start": snap.day_start}) for k, v in interval.items()}
    return snap.model_copy(update={"queues": queues, "interval_stats": interval,
                                   "day_stats": day})


def test_a_group_adds_up_its_queues_and_names_the_missing_ones() -> None:
    board = build_board(centre())
    band = group_band(board, "floor", ["sales", "support", "ghost"], INTERVAL)
    assert [r.queue.id for r in band.rows] == ["sales", "support"]
    assert band.missing == ("ghost",)
    assert band.totals is not None
    assert (band.totals.stats.offered, band.totals.stats.answered) == (40 + 10, 30 + 10)
    # Waiting: c1, c2 in Sales and c3 in Support; c1 (95 s on 20 s) is past its threshold.
    assert (band.waiting, band.over_threshold) == (3, 1)
    assert band.waiting == sum(board.rows_by_id[q].waiting for q in ("sales", "support"))
    # Two targets (80%/20 s, 90%/60 s): two service levels, never one blend.
    assert [(p.target, p.threshold_s, p.n) for p in band.sl] == [(0.8, 20, 32), (0.9, 60, 10)]
    assert band.sl[0].value == pytest.approx(24 / 32) and band.sl[0].status is SLStatus.AT_RISK
    assert band.sl[1].value == 1.0 and band.sl[1].status is SLStatus.OK
    assert band.worst_sl is band.sl[0]
    # Voice and chat are both live: ASA over the whole group, (300 + 50) s / 40 answered.
    assert band.timing_channel == LIVE and not band.timing_mixed
    assert band.timing is not None and band.timing.asa_s == pytest.approx(350 / 40)
    # Abandon: 6 abandoned less 2 short, of 50 offered less 2 short.
    assert band.totals.abandon_rate == pytest.approx(4 / 48)
    # Agents: Ana, Bo (sales), Bo again, Cy, Di (support): Bo is one agent.
    assert (band.agents.available, band.agents.on_contact, band.agents.after_contact_work,
            band.agents.away) == (1, 1, 1, 1)
    row, wait = band.worst_wait(T0 + timedelta(seconds=5))  # type: ignore[misc]
    assert (row.queue.id, wait) == ("sales", 100.0)


def test_same_target_queues_share_one_sl_and_email_keeps_its_own() -> None:
    board = build_board(with_more_queues())
    band = group_band(board, "voice+email", ["sales", "sales2", "email", "sales"], DAY)
    assert band.queue_ids == ("sales", "sales2", "email")  # listed twice, counted once
    # Sales + Sales 2 share 80%/20 s: (24 + 6) / (32 + 10); email is apart at 90%/1 h.
    assert [(p.queue_ids, p.n) for p in band.sl] == [(("sales", "sales2"), 42),
                                                     (("email",), 5)]
    assert band.sl[0].value == pytest.approx(30 / 42)
    assert band.sl[0].status is SLStatus.MISSED  # 71% against 80%
    assert band.worst_sl is band.sl[0]
    # Live and email mixed: ASA over the live queues only, (300 + 40) s / 40 answered.
    assert band.timing_mixed and band.timing_channel == LIVE
    assert band.timing is not None and band.timing.asa_s == pytest.approx(340 / 40)
    assert band.totals is not None and band.totals.stats.offered == 40 + 10 + 5


def test_an_email_only_group_and_the_order_of_bands() -> None:
    board = build_board(with_more_queues())
    bands = group_bands(board, {"z": ["email"], "a": ["sales"]}, INTERVAL)
    assert [b.name for b in bands] == ["z", "a"]  # the configuration's order
    email = bands[0]
    assert email.timing_channel == "deferred" and not email.timing_mixed
    assert email.timing is not None and email.timing.asa_s == 600
    assert email.agents.staffed == 0 and email.waiting == 0
    assert email.worst_wait(T0) is None


def test_a_group_of_only_unknown_queues_has_no_figures_but_does_not_fail() -> None:
    band = group_band(build_board(centre()), "gone", ["nope"], INTERVAL)
    assert band.rows == () and band.missing == ("nope",)
    assert band.sl == () and band.worst_sl is None
    assert band.totals is not None and band.totals.stats.offered == 0
    assert band.totals.service_level is None  # no contacts: not 0%, not 100%


def agent(id: str, team: str, kind: AgentStateKind, minutes: float) -> Agent:
    return Agent(id=id, source="pbx", name=id.upper(), team=team,
                 state=AgentState(kind=kind, since=T0 - timedelta(minutes=minutes)))


def test_team_figures_by_hand() -> None:
    agents = (*centre().agents, agent("a5", "Red", AgentStateKind.OFFLINE, 600),
              agent("a6", "", AgentStateKind.AVAILABLE, 1))
    days = {"pbx:a1": AgentDay(observed_since=T0 - timedelta(hours=2), handled=3,
                               handle_s=900.0),
            "pbx:a2": AgentDay(observed_since=T0 - timedelta(hours=1), handled=1,
                               handle_s=300.0),
            "other:a3": AgentDay(observed_since=T0, handled=9, handle_s=9.0)}  # not Cy
    rows = team_figures(agents, days, order=["Red", "Nobody"])
    assert [r.team for r in rows] == ["Red", "Nobody", "", "Blue"]
    red, nobody, none, blue = rows
    # Red: Ana available, Bo on a contact, a5 offline (not logged in, never "longest").
    assert (red.logged_in, red.agents.offline, red.busy, red.occupancy_n) == (2, 1, 1, 2)
    assert red.occupancy == 0.5
    assert red.longest is not None and red.longest.id == "a1"  # 30 s, first of a tie
    assert (red.handled, red.handle_s, red.aht_s, red.day_agents) == (4, 1200.0, 300.0, 2)
    assert red.observed_since == T0 - timedelta(hours=2)
    # Blue: Cy in ACW (10 min), Di away (5 min): occupancy 1 / (1 + 0 available).
    assert (blue.logged_in, blue.busy, blue.occupancy_n, blue.occupancy) == (2, 1, 1, 1.0)
    assert blue.longest is not None and blue.longest.id == "a3"
    assert blue.aht_s is None and blue.handled == 0  # a day keyed on another source
    assert not nobody.reported and nobody.logged_in == 0 and nobody.occupancy is None
    assert none.logged_in == 1 and none.occupancy == 0.0
    assert sum(r.agents.staffed + r.agents.offline for r in rows) == len(agents)


def test_groups_and_teams_config() -> None:
    config = parse_config({"groups": {"voice": ["sales", "support"]},
                           "teams": {"order": ["Red"], "names": {"Red": "Red team"}},
                           "wall": {"views": ["queues:voice", "queues:floor"],
                                    "queue_groups": {"floor": ["billing"]}}}, "t")
    assert config.groups == {"voice": ["sales", "support"]}
    # The wall sees both; the dashboard's bands are [groups] only.
    assert config.wall.queue_groups == {"voice": ["sales", "support"], "floor": ["billing"]}
    assert config.teams.label("Red") == "Red team" and config.teams.label("Blue") == "Blue"
    assert config.teams.label("") == "(no team)"
    assert config.teams.label("\x1b[2J[bold]x") == "[bold]x"  # source text is data
    # On a name in both, [wall.queue_groups] wins on the wall: existing walls unchanged.
    both = parse_config({"groups": {"voice": ["sales"]},
                         "wall": {"queue_groups": {"voice": ["support"]}}}, "t")
    assert both.wall.queue_groups == {"voice": ["support"]} and both.groups["voice"] == ["sales"]
    assert parse_config({}, "t").groups == {}


@pytest.mark.parametrize(("data", "said"), [
    ({"groups": {"voice": []}}, "groups: .*group 'voice' has no queue ids"),
    ({"groups": {"voice": ["sales", "sales"]}}, "group 'voice' lists 'sales' more than once"),
    ({"groups": {"": ["sales"]}}, "group name '' is empty"),
    ({"groups": {"x" * 41: ["sales"]}}, "is longer than 40 characters"),
    ({"groups": {"a\x1b[2J": ["sales"]}}, "has control characters"),
    ({"groups": {"voice": "sales"}}, r"groups\.voice: Input should be a valid list"),
    ({"groups": {"voice": [""]}}, "group 'voice' has an empty queue id"),
    ({"teams": {"order": ["Red", "Red"]}}, "order lists 'Red' more than once"),
    ({"teams": {"names": {"Red": " "}}}, "the name for 'Red' .* is empty"),
    ({"teams": {"colour": "red"}}, r"teams\.colour: unknown key"),
    ({"wall": {"views": ["queues:vip"]}, "groups": {"voice": ["sales"]}},
     r"no queue group 'vip' in \[groups\] or \[wall.queue_groups\] \(voice\)"),
])
def test_bad_groups_and_teams_are_refused_with_the_reason(data: dict, said: str) -> None:
    with pytest.raises(ConfigError, match=said):
        parse_config(data, "t")


def test_agents_of_two_sources_with_one_id_are_two_agents_in_a_group() -> None:
    snap = centre()
    twin = snap.agents[0].model_copy(update={"source": "other"})  # Ana's id, another source
    board = build_board(snap.model_copy(update={"agents": (*snap.agents, twin)}))
    band = group_band(board, "sales", ["sales"], INTERVAL)
    assert (band.agents.available, band.agents.on_contact) == (2, 1)  # Ana twice, Bo once
    assert band.agents.staffed == len(board.rows_by_id["sales"].serving) == 3
