"""Forecast import (parser), required agents and the projected end-of-day SL (pure)."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from supervisor_tui.domain import erlang
from supervisor_tui.domain import forecast as fc
from supervisor_tui.domain.model import SLFormula

FIXTURES = Path(__file__).parent / "fixtures" / "forecasts"
UTCZ = ZoneInfo("UTC")
DAY = date(2026, 11, 22)
NINE = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
KNOWN = ("sales", "support")


def read(name: str, **kw: object) -> fc.ForecastParse:
    args: dict = {"zone": UTCZ, "interval_minutes": 30, "known_queues": KNOWN, **kw}
    return fc.parse((FIXTURES / name).read_text(encoding="utf-8"), **args)


def by_key(result: fc.ForecastParse) -> dict[tuple[str, str], fc.ForecastRow]:
    return {(r.queue_id, f"{r.start:%H:%M}"): r for r in result.rows}


# -- the vendors' layouts -------------------------------------------------------------


def test_calabrio_headerless_layout_adds_after_task_work_to_handle_time() -> None:
    result = read("calabrio_forecast.csv")
    assert result.layout == "Calabrio (no header)" and not result.errors
    rows = by_key(result)
    # "Sales" is the skill *name*: matched to the queue id regardless of case.
    first = rows[("sales", "09:00")]
    assert (first.contacts, first.aht_s, first.required) == (40, 240.0, 7.2)  # 200.5+39.5
    assert first.scheduled is None and first.minutes == 30
    assert rows[("support", "09:00")].required is None  # the optional agents column
    assert len(result.rows) == 4


def test_iex_pipe_export_with_fields_header_and_mmddyyyy_dates() -> None:
    result = read("nice_iex_ct_forecast.txt")
    assert not result.errors and not result.unknown_queues
    rows = by_key(result)
    # ctID (101) and ctName (sales) both name the CT: the column the console knows wins.
    assert rows[("sales", "10:00")] == fc.ForecastRow(
        "sales", NINE + timedelta(hours=1), 30, 60.0, 240.0, 10.0, 8.0)
    assert rows[("sales", "09:30")].required == 6.5
    assert rows[("support", "09:00")].scheduled is None  # empty cells are "not given"


def test_verint_style_twelve_hour_times_and_clock_aht() -> None:
    result = read("verint_forecast.csv")
    assert not result.errors
    assert [(f"{r.start:%H:%M}", r.aht_s, r.scheduled) for r in result.rows] == [
        ("09:00", 240.0, 6.0), ("09:30", 240.0, 6.0), ("10:00", 240.0, 8.0)]


def test_json_form_offsets_local_times_and_bad_entries() -> None:
    result = read("forecast.json", day=DAY)
    rows = by_key(result)
    # 10:30+01:00 is 09:30 UTC; a time with no offset is the centre's local time.
    assert rows[("sales", "09:30")].contacts == 36
    assert rows[("support", "09:00")].aht_s == 300.0  # "5:00"
    assert result.errors == ("entry 3: contacts 'x' is not a number",)


def test_rejected_rows_are_reported_by_line_and_unknown_queues_listed() -> None:
    result = read("bad_rows.csv", day=DAY)
    assert result.errors == (
        "line 3: starts at 09:15, not on one of the centre's 30-min intervals",
        "line 4: contacts must be a number >= 0, got -3",
        "line 5: AHT must be > 0 when contacts are forecast",
        "line 6: AHT 'abc' is not a number",
        "line 7: unreadable time '2026-11-22 25:00'",
        "line 10: sales at 11:00 again (first at line 9)",
        "line 11: missing queue",
    )
    assert result.unknown_queues == ("nosuch",)
    # Kept: 09:00, and 11:00 with a decimal comma (16,5) in a semicolon file.
    assert [(f"{r.start:%H:%M}", r.contacts) for r in result.rows] == [
        ("09:00", 40.0), ("11:00", 16.5)]


def test_interval_length_is_checked_against_the_centre() -> None:
    text = ("Sales,20261122 09:00,20261122 09:15,10,200,40\n"
            "Sales,20261122 09:15,20261122 09:30,10,200,40\n")
    result = fc.parse(text, zone=UTCZ, interval_minutes=30, known_queues=KNOWN)
    assert result.rows == ()
    assert result.errors[0] == ("line 1: a 15-min interval; the centre's are 30 min "
                                "([console] interval_minutes)")
    # Without an end column, two starts closer than an interval say so too.
    text = "queue,start,contacts,aht\nsales,09:00,5,200\nsales,10:00,5,200\n"
    hourly = fc.parse(text, zone=UTCZ, interval_minutes=60, day=DAY)
    assert len(hourly.rows) == 2 and not hourly.errors
    half = "queue,start,contacts,aht\nsales,09:00,5,200\nsales,09:30,5,200\n"
    assert fc.parse(half, zone=UTCZ, interval_minutes=60, day=DAY).errors == (
        "line 3: starts at 09:30, not on one of the centre's 60-min intervals",)


def test_local_times_in_the_centres_zone_dst_gap_and_other_days() -> None:
    ny = ZoneInfo("America/New_York")
    text = ("queue,date,start,contacts,aht\n"
            "sales,2026-03-08,01:30,5,200\n"  # before the clocks go forward
            "sales,2026-03-08,02:30,5,200\n"  # does not exist that night
            "sales,2026-03-08,2026-03-08T09:00:00-04:00,5,200\n"
            "sales,2026-03-09,09:00,5,200\n")
    result = fc.parse(text, zone=ny, interval_minutes=30, day=date(2026, 3, 8))
    assert result.errors == ("line 3: 2026-03-08 02:30 does not exist in America/New_York "
                             "(the clocks skip it)",)
    assert [r.start for r in result.rows] == [datetime(2026, 3, 8, 6, 30, tzinfo=UTC),
                                              datetime(2026, 3, 8, 13, 0, tzinfo=UTC)]
    assert result.other_days == 1  # the 9th, outside --date


def test_whole_file_problems_are_one_clear_error() -> None:
    with pytest.raises(fc.ForecastError, match="no column for contacts, aht"):
        fc.parse("queue,start\nsales,09:00\n", zone=UTCZ, interval_minutes=30, day=DAY)
    with pytest.raises(fc.ForecastError, match="not JSON"):
        fc.parse("{nope", zone=UTCZ, interval_minutes=30)
    with pytest.raises(fc.ForecastError, match="intervals are 15 min; the centre's are 30"):
        fc.parse('{"interval_minutes": 15, "rows": []}', zone=UTCZ, interval_minutes=30)
    with pytest.raises(fc.ForecastError, match="empty file"):
        fc.parse("\n\n", zone=UTCZ, interval_minutes=30, json_form=False)


def test_hostile_queue_names_are_cleaned() -> None:
    text = "queue,start,contacts,aht\n\x1b]0;pwn\x07[red]evil,09:00,5,200\n"
    result = fc.parse(text, zone=UTCZ, interval_minutes=30, known_queues=KNOWN, day=DAY)
    assert result.unknown_queues and "\x1b" not in result.unknown_queues[0]


# -- required agents ------------------------------------------------------------------


def test_erlang_c_required_agents_match_a_published_worked_example() -> None:
    # Westbay Engineers' "The Erlang-C formula" worked example (westbay.ndirect.co.uk/
    # erlang.htm; also quoted in many call-centre staffing tutorials): 360 calls per half
    # hour, 4-minute calls, 15 s target, 55 agents -> 48 Erlangs, occupancy 87.3%,
    # probability of waiting 23.9%, ASA 8.2 s, service level 84.6% (rounded as there).
    traffic = 360 * 240 / 1800
    assert traffic == 48
    assert erlang.erlang_c(traffic, 55) == pytest.approx(0.239, abs=5e-4)
    assert erlang.asa(traffic, 55, 240) == pytest.approx(8.2, abs=0.05)
    assert erlang.service_level(traffic, 55, 240, 15) == pytest.approx(0.846, abs=5e-4)
    # For an 80%-in-15 s target that forecast needs 55 agents (54 give 79.3%) ...
    assert fc.required_agents(360, 240, 30, 0.8, 15, deferred=False, max_occupancy=1) == 55
    assert erlang.service_level(traffic, 54, 240, 15) < 0.8
    # ... and 57 at most 85% busy, the board's cap: ceil(48 / 0.85) = 57.
    assert fc.required_agents(360, 240, 30, 0.8, 15, deferred=False) == 57


def test_email_queues_use_workload_not_erlang_c() -> None:
    # 100 emails x 6 min over 30 min = 20 agents' worth of work; at 85% occupancy, 24.
    assert fc.required_agents(100, 360, 30, 0.9, 3600, deferred=True) == math.ceil(20 / 0.85)
    assert fc.required_agents(0, 360, 30, 0.9, 3600, deferred=True) == 0


# -- projected end-of-day service level ----------------------------------------------


def test_projected_sl_hand_computed() -> None:
    # So far: 300 of 400 counted contacts answered within the threshold (75%).
    # Left: two intervals of 60 contacts at 60 s AHT over 30 min = 2 Erlangs, threshold
    # 30 s, with 3 then 4 agents scheduled. By hand (Erlang B recursion, then C):
    #   N=3: B = 4/19, C = 3B / (3 - 2(1-B)) = 4/9;  SL = 1 - 4/9 e^-(1x30/60) = 0.73043
    #   N=4: B = 2/21, C = 4B / (4 - 2(1-B)) = 4/23; SL = 1 - 4/23 e^-(2x30/60) = 0.93602
    # Projected = (300 + 60 x 0.73043 + 60 x 0.93602) / (400 + 120) = 0.76921.
    remaining = [fc.Remaining(60, 60, 30, 3, "scheduled"), fc.Remaining(60, 60, 30, 4,
                                                                           "scheduled")]
    p = fc.projected_sl(300, 400, remaining, 30, deferred=False)
    assert p.so_far == 0.75
    assert p.remaining_within == pytest.approx(60 * 0.73043 + 60 * 0.93602, abs=1e-3)
    assert p.service_level == pytest.approx(0.76921, abs=1e-5)
    assert p.basis() == "scheduled"
    # Email: 100 emails x 360 s with 10 agents for 30 min can work half the workload.
    email = fc.projected_sl(0, 0, [fc.Remaining(100, 360, 30, 10, "logged in")], 3600,
                            deferred=True)
    assert email.service_level == 0.5 and email.so_far is None
    assert fc.projected_sl(0, 0, [], 20, deferred=False).service_level is None


def test_remaining_intervals_prorate_the_one_under_way_and_pick_staffing() -> None:
    rows = [fc.ForecastRow("sales", NINE + timedelta(minutes=30 * i), 30, 60, 240,
                           scheduled=6 if i == 2 else None) for i in range(4)]
    now = NINE + timedelta(minutes=40)  # 10 min into the 09:30 interval
    left = fc.remaining_intervals(rows, now, {NINE + timedelta(minutes=90): 9}, 5)
    assert [(r.contacts, r.agents, r.basis) for r in left] == [
        (40.0, 5, "logged in"),  # two thirds of 09:30 still to come, nobody scheduled
        (60.0, 6, "scheduled"),  # the file's scheduled column
        (60.0, 9, "scheduled"),  # a schedule beats the file
    ]
    assert fc.remaining_intervals(rows, now, None, None)[0].basis == "scheduled"


def test_forecast_day_need_is_cached_per_interval_and_variance() -> None:
    day = fc.ForecastDay([fc.ForecastRow("sales", NINE, 30, 100, 180)])
    need = day.need("sales", NINE, 0.8, 20, deferred=False, max_occupancy=None)
    assert need is not None and need.needed == 14 and need.method == "Erlang C"
    assert day.need("sales", NINE + timedelta(minutes=30), 0.8, 20, deferred=False,
                    max_occupancy=None) is None
    assert fc.variance(110, 100) == pytest.approx(0.10) and fc.variance(5, 0) is None
    assert fc.weighted_aht([fc.ForecastRow("s", NINE, 30, 10, 100),
                            fc.ForecastRow("s", NINE, 30, 30, 200)]) == 175


def test_outlook_of_a_queue_mid_day() -> None:
    def closed(start: datetime, offered: int, within: int) -> dict:
        return {"queue_id": "sales", "interval_start": start.isoformat(),
                "interval_minutes": 30, "channel": "voice", "offered": offered,
                "answered": offered - 2, "answered_within_threshold": within,
                "abandoned_after_threshold": 1, "handled": offered - 2,
                "handle_s": 250.0 * (offered - 2), "sl_target": 0.8, "threshold_s": 20.0,
                "agents_staffed_at_close": 6.0}

    rows = [fc.ForecastRow("sales", NINE + timedelta(minutes=30 * i), 30, c, 240)
            for i, c in enumerate((40, 36, 60))]
    stored = [closed(NINE, 40, 29), closed(NINE + timedelta(minutes=30), 20, 9)]
    o = fc.outlook("sales", rows, stored, NINE + timedelta(minutes=61),
                   SLFormula.ANSWERED_AND_ABANDONED_AFTER)
    assert (o.offered_so_far, o.forecast_so_far, o.forecast_day) == (60, 76, 136)
    assert o.actual_aht_s == 250 and o.aht_variance == pytest.approx(250 / 240 - 1)
    # 10:00-10:30, a minute gone: 59/30 x 60 calls x 240 s = 8 Erlangs for the 6 agents
    # staffed at the last close: N <= A, so none of them within the threshold.
    p = o.projection
    assert p is not None and p.basis() == "logged in"
    assert p.remaining_contacts == pytest.approx(60 * 29 / 30)
    assert p.service_level == pytest.approx(38 / (58 + 58))
    assert fc.outlook("sales", rows, [], NINE, SLFormula.ANSWERED).projection is None


def test_scheduled_agents_from_the_imported_schedule() -> None:
    from supervisor_tui.domain.model import Agent, AgentState, AgentStateKind
    from supervisor_tui.domain.schedule import Expected, ScheduleEntry

    def agent(i: str, skills: tuple[str, ...]) -> Agent:
        return Agent(id=i, name=i, skills=skills,
                     state=AgentState(kind=AgentStateKind.AVAILABLE, since=NINE))

    def entry(start: int, end: int, expected: Expected = Expected.ON_DUTY) -> ScheduleEntry:
        return ScheduleEntry("x", NINE + timedelta(minutes=start), NINE + timedelta(minutes=end),
                             "Open", expected)

    plans = {"a": [entry(0, 45), entry(45, 60, Expected.AWAY)],
             "b": [entry(15, 60)],
             "c": [entry(0, 60)]}  # serves chat only: not Sales's
    agents = [agent("a", ("sales",)), agent("b", ("sales", "chat")), agent("c", ("chat",))]
    got = fc.scheduled_agents(agents, lambda a: plans[a.id], "sales",
                              [NINE, NINE + timedelta(minutes=30), NINE + timedelta(hours=1)], 30)
    # 09:00: a all 30 min + b 15 of 30 = 1.5; 09:30: a 15 (then a break) + b 30 = 1.5.
    assert list(got.values()) == [1.5, 1.5, 0.0]
