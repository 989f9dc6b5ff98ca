"""Schedule parsers against sample exports, and adherence against hand-computed cases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from supervisor_tui.domain.model import AgentStateKind as K
from supervisor_tui.domain.schedule import (
    Expected,
    ScheduleEntry,
    ScheduleError,
    activities_from_config,
    adherence,
    match_agents,
    parse_csv,
    parse_json,
    percent,
)

FIX = Path(__file__).parent / "fixtures" / "schedules"
DAY = date(2026, 12, 6)
LON = ZoneInfo("Europe/London")


def at(hhmm: str) -> datetime:
    h, m = map(int, hhmm.split(":"))
    return datetime(2026, 12, 6, h, m, tzinfo=UTC)


def entry(start: str, end: str, activity: str, exp: Expected) -> ScheduleEntry:
    return ScheduleEntry("1001", at(start), at(end), activity, exp)


def test_iex_detail_export() -> None:
    r = parse_csv((FIX / "nice_iex_schedule_detail.txt").read_text(), DAY, LON)
    assert [(e.agent, e.activity) for e in r.entries[:3]] == [
        ("1001", "Open"), ("1001", "Break"), ("1001", "Open")]
    assert r.entries[1].start == datetime(2026, 12, 6, 10, 0, tzinfo=LON)
    assert r.entries[1].expected is Expected.AWAY
    # hostile text stays data; the unknown activity and bad time are reported by line
    assert r.entries[3].agent == "1002"
    assert r.errors == (
        "line 7: unknown activity 'Tea Party' (map it in [schedule] activities)",
        "line 8: unreadable time '25:00'",
    )


def test_verint_12_hour_and_dates() -> None:
    r = parse_csv((FIX / "verint_schedule.csv").read_text(), date(2000, 1, 1), LON)
    assert r.errors == ()
    first = r.entries[0]
    assert (first.agent, first.start.hour, first.end.hour) == ("1001", 8, 12)
    assert first.start.date() == DAY  # the row's own date wins over the default day
    assert r.entries[2].expected is Expected.AWAY


def test_calabrio_offsets_and_semicolons() -> None:
    r = parse_csv((FIX / "calabrio_schedule.csv").read_text(), DAY, LON)
    assert r.errors == ()
    assert r.entries[1].start == at("09:00")
    assert r.entries[2].expected is Expected.OFFLINE
    assert r.entries[2].end - r.entries[2].start == timedelta(days=1)


def test_bad_files_say_why() -> None:
    with pytest.raises(ScheduleError, match="line 1: no column for start, end"):
        parse_csv("agent,activity\nx,Open\n", DAY, LON)
    with pytest.raises(ScheduleError, match="empty"):
        parse_csv("", DAY, LON)
    with pytest.raises(ScheduleError, match="line 2: not JSON"):
        parse_json('[\n{"agent": }', DAY, LON)
    r = parse_csv("agent,start,end,activity\nx,10:00,09:00:00,Open\nx,09:00\n", DAY, LON)
    assert r.errors == ("line 2: end is not after start", "line 3: missing end")


def test_json_form() -> None:
    text = ('{"entries": [{"agent": "Ada Smith", "start": "08:00", "end": "09:00",'
            ' "activity": "Open"}, {"agent": 5}, "x"]}')
    r = parse_json(text, DAY, LON)
    assert len(r.entries) == 1 and r.entries[0].expected is Expected.ON_DUTY
    assert r.errors == ("entry 2: agent missing or not text", "entry 3: not an object")


def test_activity_mapping_from_config() -> None:
    acts = activities_from_config({"Tea Party": "away", "Open": "offline"})
    assert acts["tea party"] is Expected.AWAY and acts["open"] is Expected.OFFLINE
    with pytest.raises(ValueError, match="expected one of on_duty, away, offline"):
        activities_from_config({"x": "asleep"})


def test_match_by_id_then_name_and_report_unmatched() -> None:
    r = parse_csv((FIX / "calabrio_schedule.csv").read_text(), DAY, LON)
    per, unmatched = match_agents(r.entries, {"a9": "sim:a9"}, {"ada smith": "sim:1"})
    assert list(per) == ["sim:1"]
    assert unmatched == ["Ben Jones", "Cy Park"]


# --- adherence, hand-computed. Window 08:00..now, grace 5 minutes -----------------

GRACE = 300.0
SHIFT = [entry("08:00", "10:00", "Open", Expected.ON_DUTY),
         entry("10:00", "10:15", "Break", Expected.AWAY),
         entry("10:15", "12:00", "Open", Expected.ON_DUTY)]


def test_perfect_day() -> None:
    states = [(at("08:00"), K.AVAILABLE), (at("10:00"), K.AWAY), (at("10:15"), K.ON_CONTACT)]
    a = adherence(SHIFT, states, at("08:00"), at("11:00"), GRACE)
    assert (a.scheduled_s, a.out_s, a.in_adherence) == (3 * 3600, 0, True)
    assert percent([a]) == 100.0


def test_break_taken_late_beyond_grace() -> None:
    # break 10:20-10:35 instead of 10:00-10:15: 10:00-10:15 out (available during the
    # break: 15 min - 5 grace = 10), 10:15-10:20 in, 10:20-10:35 out (away while on duty:
    # 15 - 5 = 10). 20 of 180 scheduled minutes out.
    states = [(at("08:00"), K.AVAILABLE), (at("10:20"), K.AWAY), (at("10:35"), K.AVAILABLE)]
    a = adherence(SHIFT, states, at("08:00"), at("11:00"), GRACE)
    assert a.out_s == 20 * 60
    assert percent([a]) == pytest.approx(100 * 160 / 180)  # 88.9 %
    assert a.in_adherence is True


def test_back_from_break_within_grace_is_in_adherence() -> None:
    states = [(at("08:00"), K.AVAILABLE), (at("10:00"), K.AWAY), (at("10:18"), K.AVAILABLE)]
    a = adherence(SHIFT, states, at("08:00"), at("11:00"), GRACE)
    assert a.out_s == 0  # 3 minutes late < 5 minutes grace


def test_lunch_skipped_and_still_out_now() -> None:
    lunch = [entry("12:00", "12:30", "Lunch", Expected.AWAY)]
    states = [(at("11:00"), K.ON_CONTACT)]
    a = adherence(lunch, states, at("11:00"), at("12:20"), GRACE)
    assert (a.scheduled_s, a.out_s) == (20 * 60, 15 * 60)
    assert a.in_adherence is False and a.out_since == at("12:00")
    assert a.activity == "Lunch" and a.expected is Expected.AWAY


def test_within_grace_now_is_still_in_adherence() -> None:
    lunch = [entry("12:00", "12:30", "Lunch", Expected.AWAY)]
    a = adherence(lunch, [(at("11:00"), K.AVAILABLE)], at("11:00"), at("12:04"), GRACE)
    assert (a.in_adherence, a.out_s, a.out_since) == (True, 0, at("12:00"))


def test_logged_off_agent_scheduled_to_work() -> None:
    states = [(at("07:00"), K.OFFLINE)]
    a = adherence(SHIFT[:1], states, at("08:00"), at("09:00"), GRACE)
    assert (a.scheduled_s, a.out_s, a.in_adherence) == (3600, 3300, False)
    assert percent([a]) == pytest.approx(100 * 300 / 3600)


def test_unscheduled_agent_counts_neither_way() -> None:
    a = adherence([], [(at("08:00"), K.OFFLINE)], at("08:00"), at("09:00"), GRACE)
    assert (a.scheduled_s, a.out_s, a.in_adherence, a.expected) == (0, 0, None, None)
    assert percent([a]) is None


def test_unobserved_time_is_not_judged() -> None:
    # first seen at 09:00: 08:00-09:00 is neither scheduled-and-judged nor out
    a = adherence(SHIFT[:1], [(at("09:00"), K.AVAILABLE)], at("08:00"), at("09:30"), GRACE)
    assert (a.scheduled_s, a.out_s) == (1800, 0)


def test_team_percent_weights_by_scheduled_time() -> None:
    good = adherence(SHIFT[:1], [(at("08:00"), K.AVAILABLE)], at("08:00"), at("10:00"), GRACE)
    bad = adherence(SHIFT[:1], [(at("08:00"), K.OFFLINE)], at("08:00"), at("09:00"), GRACE)
    # (7200 + 300) adhering of (7200 + 3600) scheduled
    assert percent([good, bad]) == pytest.approx(100 * 7500 / 10800)


def test_a_time_the_clocks_skip_is_refused_and_an_overnight_shift_spans_the_change() -> None:
    """29 March 2026 in London: 01:00 becomes 02:00. A row starting at 01:30 does not
    exist (said, like the forecast import says it); a night shift across the change is
    one calendar day later, 22:00 to 06:00 local: seven hours worked."""
    day = date(2026, 3, 28)
    r = parse_csv("agent,start,end,activity\n"
                  "x,2026-03-29 01:30,2026-03-29 03:00,Open\n"
                  "y,22:00,06:00,Open\n", day, LON)
    assert len(r.errors) == 1 and "does not exist" in r.errors[0] and "line 2" in r.errors[0]
    (night,) = r.entries
    assert (night.start.hour, night.end.hour, night.end.day) == (22, 6, 29)
    assert night.end.astimezone(UTC) - night.start.astimezone(UTC) == timedelta(hours=7)
