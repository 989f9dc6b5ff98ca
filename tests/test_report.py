"""``supervisor-tui report`` (issue 16 item 6): a simulated day written to the store by a
console state (intervals, escalation occurrences), desk work and an incident, reported
in every format and read back by a parser: Markdown tables, CSV (csv module), JSON, HTML
(html.parser and headless Chromium). The figures equal a recomputation from the stored
rows; hostile names stay text in every format; an empty day says so."""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
import sqlite3
import subprocess
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from supervisor_tui.audited import Auditor
from supervisor_tui.cli import main
from supervisor_tui.crisis.incidents import IncidentStore
from supervisor_tui.desk import DeskActions
from supervisor_tui.domain.fmt import pct
from supervisor_tui.domain.report import SCHEMA, TIDY_COLUMNS, Window, escalations
from supervisor_tui.domain.roles import Role
from supervisor_tui.store import INTERVAL_COUNTERS, RESOLVED, TAKEN, Store
from supervisor_tui.store.audit import AuditLog
from supervisor_tui.store.escalation_log import read_escalations
from tests.hostile import HOSTILE
from tests.test_export_events import console, drive

DAY = "2026-11-23"
START = datetime(2026, 11, 23, 8, 5, tzinfo=UTC)
HOSTILE_QUEUE = "<script>alert(1)</script>|=HYPERLINK(\"http://x\")\x1b]0;pwn\x07"
HOSTILE_TITLE = "# <img src=x onerror=alert(1)> | [link](http://evil) \u202egnp.exe"


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A simulated morning (08:05-11:05 UTC, a poll every 54 s) with escalations; ann
    takes two of them 3 and 9 minutes after first sight and resolves one; an incident is
    declared, noted and resolved."""
    db = tmp_path_factory.mktemp("report") / "s.db"
    store = Store.open(db)
    state, source, wall = console(store)
    drive(state, source, wall, polls=200, step_s=54)
    found = read_escalations(store, START - timedelta(hours=1), START + timedelta(hours=4))
    one, two = found[0].row, found[1].row
    ann = DeskActions(Auditor(AuditLog(store.db), "ann", Role.SUPERVISOR), store)
    for row, minutes in ((one, 3), (two, 9)):
        at = datetime.fromisoformat(row["first_seen"]) + timedelta(minutes=minutes)
        assert ann.change(row["id"], TAKEN, at, label="x").result.ok
    assert ann.change(one["id"], RESOLVED, wall[0], label="x").result.ok
    book = IncidentStore(store.db)
    inc = book.declare(title="Carrier outage", severity="major", queues=["support"],
                       user="ann", now=START + timedelta(minutes=30))
    book.note(inc.id, user="ann", now=START + timedelta(minutes=40), text="rerouted to EU")
    book.resolve(inc.id, user="ann", now=START + timedelta(minutes=90))
    store.close()
    return db


def config_file(tmp_path: Path, zone: str = "UTC", groups: str = "") -> Path:
    path = tmp_path / "c.toml"
    path.write_text(f'[console]\ntimezone = "{zone}"\n{groups}', encoding="utf-8")
    return path


GROUPS = '[groups]\nphones = ["sales", "support", "nowhere"]\n'


def report(capsys: pytest.CaptureFixture[str], db: Path, tmp_path: Path, fmt: str,
           *more: str, groups: str = GROUPS) -> tuple[int, str, str]:
    code = main(["report", "--date", DAY, "--db", str(db), "--format", fmt,
                 "--config", str(config_file(tmp_path, groups=groups)), *more])
    out = capsys.readouterr()
    return code, out.out, out.err


def recompute(db: Path, queues: tuple[str, ...] | None = None) -> dict[str, Any]:
    """The day's figures straight from the stored rows (the formulas of docs/metrics.md,
    default SL formula)."""
    conn = sqlite3.connect(db)
    names = ("queue_id", "sl_target", *INTERVAL_COUNTERS)
    rows = [dict(zip(names, r, strict=True)) for r in conn.execute(
        f"select {', '.join(names)} from queue_intervals where interval_start >= ?"
        " and interval_start < ?", ["2026-11-23T00:00", "2026-11-24T00:00"])]
    if queues is not None:
        rows = [r for r in rows if r["queue_id"] in queues]
    s = {n: sum(r[n] for r in rows) for n in INTERVAL_COUNTERS}
    sl_n = s["answered"] + s["abandoned_after_threshold"]
    weights = [(r["answered"] + r["abandoned_after_threshold"], r["sl_target"]) for r in rows]
    return {
        "offered": s["offered"], "answered": s["answered"], "abandoned": s["abandoned"],
        "service_level": s["answered_within_threshold"] / sl_n if sl_n else None,
        "sl_n": sl_n,
        "target": sum(w * t for w, t in weights) / sum(w for w, _ in weights),
        "asa_s": s["wait_answered_s"] / s["answered"], "aht_s": s["handle_s"] / s["handled"],
        "abandon_rate": (s["abandoned"] - s["abandoned_short"])
        / (s["offered"] - s["abandoned_short"]),
        "intervals": len({(r["queue_id"]) for r in rows}),
    }


def queue_ids(db: Path) -> list[str]:
    conn = sqlite3.connect(db)
    return [r[0] for r in conn.execute("select distinct queue_id from queue_intervals"
                                       " order by queue_id")]


# -- Markdown -----------------------------------------------------------------------------

def md_tables(text: str) -> dict[str, list[dict[str, str]]]:
    """Each table under its '## heading', rows as dicts (cells unescaped)."""
    tables: dict[str, list[dict[str, str]]] = {}
    heading, header = "", None
    for line in text.splitlines():
        if line.startswith("#"):
            heading, header = line.lstrip("# ").strip(), None
        elif line.startswith("|"):
            cells = [c.strip().replace("\\", "") for c in _split_row(line)]
            if header is None:
                header = cells
            elif not set(line) <= set("|-: "):
                assert len(cells) == len(header), line  # nothing broke a table's columns
                tables.setdefault(heading, []).append(dict(zip(header, cells, strict=True)))
        else:
            header = None
    return tables


def _split_row(line: str) -> list[str]:
    cells, cell, escaped = [], "", False
    for ch in line.strip()[1:-1]:
        if ch == "|" and not escaped:
            cells.append(cell)
            cell = ""
        else:
            cell += ch
        escaped = ch == "\\" and not escaped
    return [*cells, cell]


def test_markdown_tables_equal_a_recomputation_from_the_store(
        stored: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = report(capsys, stored, tmp_path, "md")
    assert code == 0
    tables = md_tables(out)
    by_queue = {r["Scope"]: r for r in tables["Service by queue"]}
    assert sorted(by_queue) == queue_ids(stored)
    for queue, row in by_queue.items():
        want = recompute(stored, (queue,))
        assert int(row["Offered"].replace(",", "")) == want["offered"] > 0
        assert int(row["Answered"].replace(",", "")) == want["answered"]
        assert int(row["Abandoned"].replace(",", "")) == want["abandoned"]
        assert row["SL"] == pct(want["service_level"], 1)
        assert row["SL n"] == str(want["sl_n"])
        assert row["Target"] == pct(want["target"], 1)
        assert row["Abandon %"] == pct(want["abandon_rate"], 1)
    group = tables["Service by group"][0]
    want = recompute(stored, ("sales", "support"))
    assert group["Scope"] == "phones" and group["SL"] == pct(want["service_level"], 1)
    assert "phones: no figures for nowhere" in out  # a configured queue with no rows: said
    assert "at risk" in out or "missed" in out
    missed = tables["Intervals that missed service level"]
    assert missed and all(float(r["SL"].rstrip("%")) < float(r["Target"].rstrip("%"))
                          for r in missed)
    assert "Carrier outage" in out and "rerouted to EU" in out
    assert "Taken by someone: 2 of" in out and "median 6.0 min" in out
    for note in ("No schedule loaded", "No survey results", "No forecast loaded"):
        assert note in out


# -- CSV and JSON ---------------------------------------------------------------------------

def test_csv_is_tidy_rows_equal_to_the_store_and_json_carries_the_same(
        stored: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = report(capsys, stored, tmp_path, "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert tuple(rows[0]) == TIDY_COLUMNS
    day = {(r["scope_type"], r["scope"], r["metric"]): r for r in rows if r["window"] == "day"}
    for queue in queue_ids(stored):
        want = recompute(stored, (queue,))
        for metric in ("offered", "answered", "abandoned", "service_level", "asa_s",
                       "aht_s", "abandon_rate"):
            got = day[("queue", queue, metric)]
            assert float(got["value"]) == pytest.approx(want[metric], abs=1e-4), metric
        sl = day[("queue", queue, "service_level")]
        assert int(sl["n"]) == want["sl_n"] and sl["unit"] == "ratio"
        assert float(sl["target"]) == pytest.approx(want["target"], abs=1e-4)
    for r in rows:
        assert r["window_start_utc"].endswith("Z") and r["window_end_utc"].endswith("Z")
        if r["unit"] == "ratio" and r["value"]:
            assert 0 <= float(r["value"]) <= 1  # no rate over 100%
    # Each queue's intervals: 7 metrics per stored row.
    conn = sqlite3.connect(stored)
    stored_rows = conn.execute("select count(*) from queue_intervals").fetchone()[0]
    assert sum(1 for r in rows if r["window"] == "interval") == 7 * stored_rows
    assert day[("centre", "", "escalations_taken")]["value"] == "2"
    assert float(day[("centre", "", "escalation_minutes_to_take_median")]["value"]) == 6.0
    assert day[("centre", "", "incidents")]["value"] == "1"
    assert float(day[("centre", "", "incident_minutes")]["value"]) == 60.0

    code, text, _ = report(capsys, stored, tmp_path, "json")
    doc = json.loads(text)
    assert doc["schema"] == SCHEMA and doc["columns"] == list(TIDY_COLUMNS)
    assert doc["window_start_utc"] == "2026-11-23T00:00:00Z" and doc["zone"] == "UTC"
    assert len(doc["rows"]) == len(rows)
    assert [str(r["value"]) if r["value"] is not None else "" for r in doc["rows"]] == [
        r["value"] for r in rows]
    assert doc["escalations"]["taken"] == 2
    assert doc["escalations"]["minutes_to_take_p90"] == 9.0
    assert doc["incidents"][0]["title"] == "Carrier outage"
    assert [e["kind"] for e in doc["incidents"][0]["timeline"]] == [
        "declared", "note", "resolved"]
    assert {s["key"]: s["loaded"] for s in doc["sections"]}["adherence"] is False


def test_the_zone_decides_the_day(stored: Path, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    # 08:05-11:05 UTC: in Tokyo (UTC+9) all of it is on the 23rd (17:05-20:05); in
    # Honolulu (UTC-10) the 23rd starts at 10:00 UTC, so only 10:00 and 10:30 count.
    for zone, intervals in (("Asia/Tokyo", 6), ("Pacific/Honolulu", 2)):
        main(["report", "--date", DAY, "--db", str(stored), "--format", "json",
              "--config", str(config_file(tmp_path, zone))])
        doc = json.loads(capsys.readouterr().out)
        assert doc["zone"] == zone and doc["queues"]
        assert {q["intervals"] for q in doc["queues"]} == {intervals}, zone


# -- HTML -----------------------------------------------------------------------------------

class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.ids: set[str] = set()
        self.urls: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name == "id" and value:
                self.ids.add(value)
            if name in ("src", "href", "xlink:href") or name.startswith("on"):
                self.urls.append(f"{name}={value}")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    return page


def test_html_is_one_self_contained_page_with_tables_and_charts(
        stored: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.html"
    code, _, err = report(capsys, stored, tmp_path, "html", "--out", str(out))
    assert code == 0 and "written to" in err
    html = out.read_text(encoding="utf-8")
    page = parse(html)
    assert {"kpi-queues", "kpi-groups", "kpi-channel-groups", "missed-intervals",
            "chart-queues", "chart-sl-live", "chart-volume-live", "incidents"} <= page.ids
    assert "script" not in page.tags and "link" not in page.tags and not page.urls
    assert page.tags.count("svg") == 5 and "Content-Security-Policy" in html
    # Chromium renders it (no network): the tables and the charts are in its DOM.
    dom = chromium_dom(out)
    rendered = parse(dom)
    assert {"kpi-queues", "chart-queues", "chart-sl-live", "missed-intervals"} <= rendered.ids
    assert rendered.tags.count("rect") > 20 and rendered.tags.count("tr") > 20
    assert "Carrier outage" in "".join(rendered.text)


def chromium_dom(path: Path) -> str:
    """The DOM headless Chromium built from the file (Debian's chromium; CI installs it)."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        pytest.fail("headless Chromium is needed for this test: apt-get install -y chromium")
    done = subprocess.run(
        [binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-extensions", "--dump-dom", path.as_uri()],
        capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


# -- hostile text and no data ---------------------------------------------------------------

@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    db = tmp_path / "h.db"
    store = Store.open(db)
    row: dict[str, Any] = dict.fromkeys(INTERVAL_COUNTERS, 0) | {
        "queue_id": HOSTILE_QUEUE, "interval_minutes": 30, "channel": "voice",
        "interval_start": datetime(2026, 11, 23, 9, tzinfo=UTC).isoformat(),
        "sl_target": 0.8, "threshold_s": 20.0, "agents_staffed_at_close": 1.0,
        "agents_needed_at_close": None, "complete": 1, "offered": 10, "answered": 10,
        "answered_within_threshold": 5, "handled": 10, "handle_s": 1000.0,
        "wait_answered_s": 100.0}
    # And each shared hostile string as a queue of its own (tests/hostile.py).
    more = [row | {"queue_id": text} for text in [*HOSTILE, "\x1b[2J\u200b"] if text.strip()]
    store.record_intervals([row, *more], START, timedelta(days=35))  # type: ignore[list-item]
    IncidentStore(store.db).declare(title=HOSTILE_TITLE, severity="major",
                                    queues=[HOSTILE_QUEUE], user="<b>mallory</b>",
                                    now=START)
    store.close()
    return db


def test_hostile_names_stay_text_in_every_format(
        hostile: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    groups = f'[groups]\n"x" = ["{HOSTILE_QUEUE[:8]}"]\n'
    outputs = {}
    for fmt in ("md", "csv", "json"):
        code, outputs[fmt], _ = report(capsys, hostile, tmp_path, fmt, groups=groups)
        assert code == 0
    out = tmp_path / "h.html"
    assert report(capsys, hostile, tmp_path, "html", "--out", str(out),
                  groups=groups)[0] == 0
    outputs["html"] = out.read_text(encoding="utf-8")
    for fmt, text in outputs.items():
        assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text, fmt
    page = parse(outputs["html"])
    assert "script" not in page.tags and "img" not in page.tags and not page.urls
    shown = "".join(page.text)
    assert "<script>alert(1)</script>" in shown  # shown as text, not run
    assert "<img src=x onerror=alert(1)>" in shown
    # Markdown: the queue is one cell (the | did not split it), nothing became a link.
    queue_rows = md_tables(outputs["md"])["Service by queue"]  # (checks every row's cells)
    assert len(queue_rows) == len(queue_ids(hostile))
    assert any(r["Scope"].startswith("<script>alert(1)</script>|=HYPERLINK")
               for r in queue_rows)
    # A name of nothing but escape and invisible characters is said, not an empty cell.
    assert "(unprintable name, 5 chars)" in [r["Scope"] for r in queue_rows]
    assert all(r["Scope"].strip() for r in queue_rows)
    assert "](http" not in outputs["md"].replace("\\](http", "")
    # CSV: the formula is defused by the export's cell rule; JSON keeps the text.
    rows = list(csv.DictReader(io.StringIO(outputs["csv"])))
    assert any(r["scope"].startswith("<script>") for r in rows)
    assert not any(r["scope"].startswith(("=", "+", "-", "@")) for r in rows)
    doc = json.loads(outputs["json"])
    assert any(q["scope"].startswith("<script>alert(1)</script>|=HYPERLINK")
               for q in doc["queues"])
    # The HTML's tables have as many rows as there are queues (no markup broke out).
    assert page.tags.count("tr") >= len(queue_ids(hostile)) + 1
    assert doc["incidents"][0]["title"].startswith("# <img src=x")


def test_a_day_with_no_data_says_so_in_every_format(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "empty.db"
    Store.open(db).close()
    code, md, err = report(capsys, db, tmp_path, "md")
    assert code == 0 and "nothing stored for 2026-11-23" in err
    assert "No data stored for this day" in md and "No escalation was raised" in md
    assert "No schedule loaded" in md
    code, text, _ = report(capsys, db, tmp_path, "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["scope_type"] for r in rows} == {"centre"}  # no queue rows invented
    median = next(r for r in rows if r["metric"] == "escalation_minutes_to_take_median")
    assert median["value"] == ""  # nothing to take a median of: empty, not 0
    doc = json.loads(report(capsys, db, tmp_path, "json")[1])
    assert doc["queues"] == [] and doc["escalations"]["count"] == 0
    out = tmp_path / "e.html"
    assert report(capsys, db, tmp_path, "html", "--out", str(out))[0] == 0
    assert "No data stored for this day" in "".join(parse(out.read_text()).text)


def test_bad_input_is_a_clear_message(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "none.db"
    code = main(["report", "--date", DAY, "--db", str(missing)])
    assert code == 2 and "no store at" in capsys.readouterr().err and not missing.exists()
    with pytest.raises(SystemExit):
        main(["report", "--date", "23/11/2026"])
    assert "not a day" in capsys.readouterr().err
    db = tmp_path / "s.db"
    Store.open(db).close()
    out = tmp_path / "r.md"
    out.write_text("keep me")
    code, _, err = report(capsys, db, tmp_path, "md", "--out", str(out))
    assert code == 2 and "exists" in err and out.read_text() == "keep me"
    assert report(capsys, db, tmp_path, "md", "--out", str(out), "--force")[0] == 0
    assert out.read_text().startswith("# End-of-day report")
    assert report(capsys, db, tmp_path, "md", "--force")[0] == 2


# -- the escalation figures, by hand --------------------------------------------------------

def _occurrence(first: str, taken: str | None = None, resolved: str | None = None,
                cleared: str | None = None, earlier: int = 0) -> dict[str, Any]:
    return {"first_seen": f"2026-11-23T{first}:00+00:00", "kind": "queue_sl",
            "severity": "warning", "queue_id": "q", "label": "q",
            "taken_at": taken and f"2026-11-23T{taken}:00+00:00",
            "resolved_at": resolved and f"2026-11-23T{resolved}:00+00:00",
            "cleared_at": cleared and f"2026-11-23T{cleared}:00+00:00",
            "began_earlier": earlier}


def test_time_to_take_median_p90_and_unowned_by_hand() -> None:
    window = Window(datetime(2026, 11, 23, tzinfo=UTC), datetime(2026, 11, 24, tzinfo=UTC),
                    "day")
    rows = [_occurrence("09:00", taken="09:02"), _occurrence("09:00", taken="09:04"),
            _occurrence("10:00", taken="10:10", resolved="10:30"),
            _occurrence("11:00", taken="11:20", earlier=1),
            _occurrence("12:00"),  # never taken, still active: unowned at the end
            _occurrence("13:00", cleared="13:05"),  # cleared by itself: not unowned
            _occurrence("14:00", resolved="14:01")]  # resolved untaken: not unowned
    e = escalations(rows, window, now=datetime(2026, 11, 25, tzinfo=UTC))
    # Takes: 2, 4, 10, 20 minutes -> median (4 + 10) / 2 = 7; p90 nearest rank:
    # ceil(0.9 * 4) = 4th -> 20.
    assert (e.count, e.taken, e.median_take_min, e.p90_take_min) == (7, 4, 7.0, 20.0)
    assert e.resolved == 2 and e.first_sight == 1
    assert [i.first_seen.hour for i in e.unowned_at_end] == [12]
    # Read at 11:10 (the day not over): the 11:00 one is not taken yet, so unowned.
    early = escalations(rows[:4], window, now=datetime(2026, 11, 23, 11, 10, tzinfo=UTC))
    assert early.taken == 3 and [i.first_seen.hour for i in early.unowned_at_end] == [11]
    assert not math.isnan(early.median_take_min or 0)


def test_the_report_day_is_the_local_day(stored: Path) -> None:
    from supervisor_tui.domain.intervals import IntervalPolicy
    from supervisor_tui.domain.model import SLFormula
    from supervisor_tui.report.collect import ReportSettings, collect

    store = Store.open(stored)
    try:
        settings = ReportSettings(IntervalPolicy(30, "Europe/Paris"),
                                  SLFormula.ANSWERED_AND_ABANDONED_AFTER, 10, {})
        rep = collect(store, date(2026, 11, 23), settings,
                      now=datetime(2026, 11, 23, 12, tzinfo=UTC))
    finally:
        store.close()
    assert rep.window.start == datetime(2026, 11, 22, 23, tzinfo=UTC)
    assert rep.partial  # generated before the local day ended: said
    assert rep.missed and rep.missed[0].local_label.startswith("09:")  # 08:00 UTC = 09:00


# -- the sections other parts of the product feed -------------------------------------------

def test_loaded_sections_vendors_forecast_surveys_schedule(
        stored: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from supervisor_tui.domain.adherence import SavedAdherence
    from supervisor_tui.domain.forecast import ForecastRow
    from supervisor_tui.domain.schedule import Expected, ScheduleEntry
    from supervisor_tui.domain.surveys import SurveyResponse, SurveyTool
    from supervisor_tui.store.agent_days import read_agent_days
    from supervisor_tui.store.forecasts import save_forecast
    from supervisor_tui.store.schedules import save_schedule, write_adherence
    from supervisor_tui.store.surveys import save_surveys

    db = tmp_path / "copy.db"
    shutil.copy(stored, db)
    store = Store.open(db)
    nine = datetime(2026, 11, 23, 9, tzinfo=UTC)
    # sales: 30 contacts forecast for each of 09:00 and 09:30 (AHT 300 s).
    save_forecast(store, [ForecastRow("sales", nine + timedelta(minutes=30 * i), 30, 30.0,
                                      300.0) for i in range(2)],
                  UTC, user="wfm", source_file="f.csv", now=START)
    answers = [(5, 10, "sales"), (4, 9, "sales"), (2, 3, "support"), (None, None, "sales")]
    save_surveys(store, [SurveyResponse(tool=SurveyTool.GENERIC, response_id=f"r{i}",
                                        answered_at=nine, queue=q, csat=c, nps=n)
                         for i, (c, n, q) in enumerate(answers)], UTC, nine)
    save_schedule(store, DAY, [ScheduleEntry("ann", nine, nine + timedelta(hours=8), "Open",
                                             Expected.ON_DUTY)],
                  origin="iex.csv", digest="x", rejected=0, user="wfm", now=START)
    # Adherence as a console stores it: two agents the console saw, and one it did not.
    agents = read_agent_days(store, DAY)[:2]
    keys = [f"{a['source']}:{a['agent_id']}" for a in agents]
    write_adherence(store, DAY, {
        keys[0]: SavedAdherence(7200.0, 600.0, START, nine),
        keys[1]: SavedAdherence(3600.0, 0.0, START, nine),
        "sim:ghost": SavedAdherence(1800.0, 900.0, START, nine)})
    store.close()
    vendors = ('[vendors.acme]\nname = "Acme BPO"\nqueues = ["support"]\n'
               f'agents = ["{agents[0]["agent_id"]}"]\n'
               '[vendors.acme.contract]\nsl_target = 0.75\nthreshold_s = 30\n'
               'abandon_max = 0.05\nadherence_min = 0.95\n')
    code = main(["report", "--date", DAY, "--db", str(db), "--format", "json",
                 "--config", str(config_file(tmp_path, groups=vendors))])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    sections = {s["key"]: s for s in doc["sections"]}
    tidy = {(r["scope_type"], r["scope"], r["metric"]): r for r in doc["rows"]}
    # Vendor: support's stored rows against the contract (75% target, 5% abandon max).
    want = recompute(db, ("support",))
    acme = tidy[("vendor", "Acme BPO", "service_level")]
    assert acme["value"] == pytest.approx(want["service_level"], abs=1e-4)
    assert acme["target"] == 0.75 and acme["n"] == want["sl_n"]
    row = dict(zip(sections["vendors"]["columns"], sections["vendors"]["rows"][0],
                   strict=True))
    assert "misses SL" in row["Note"] and "the contract says 30s" in row["Note"]
    assert ("abandon" in row["Note"]) == (want["abandon_rate"] > 0.05)
    # Its agent (by id pattern): (7200 - 600) / 7200 = 91.7%, under the 95% minimum.
    assert tidy[("vendor", "Acme BPO", "adherence")]["value"] == pytest.approx(6600 / 7200,
                                                                               abs=1e-4)
    assert row["Adherence"] == "91.7%" and "adherence" in row["Note"].split(";")[0]
    # Forecast: sales offered in 09:00 and 09:30 against 60 forecast.
    conn = sqlite3.connect(db)
    offered = conn.execute("select sum(offered) from queue_intervals where queue_id = 'sales'"
                           " and interval_start in (?, ?)",
                           [nine.isoformat(), (nine + timedelta(minutes=30)).isoformat()]
                           ).fetchone()[0]
    var = tidy[("queue", "sales", "volume_variance")]
    assert var["value"] == pytest.approx((offered - 60) / 60, abs=1e-4)
    assert tidy[("queue", "sales", "forecast_contacts")]["value"] == 60
    # Surveys: 3 scored (1 pending): CSAT 5 and 4 satisfied, 2 not: 2 of 3.
    assert tidy[("centre", "", "csat_satisfied_rate")]["value"] == pytest.approx(2 / 3,
                                                                                  abs=1e-4)
    # NPS: 10 and 9 promoters, 3 a detractor -> (2 - 1) / 3 = +33.3
    assert tidy[("centre", "", "nps")]["value"] == pytest.approx(100 / 3, abs=1e-3)
    assert "1 awaiting their scores" in sections["surveys"]["note"]
    # Adherence: (scheduled - out) / scheduled summed: (12600 - 1500) / 12600.
    centre = tidy[("centre", "", "adherence")]
    assert centre["value"] == pytest.approx(11100 / 12600, abs=1e-4) and centre["n"] == 3
    assert tidy[("centre", "", "out_of_adherence_minutes")]["value"] == 25.0
    team = agents[0]["team"] or "(no team)"
    assert ("team", team, "adherence") in tidy
    listed = [r[0] for r in sections["adherence"]["rows"]]
    assert listed[0] == "Centre" and f"agent {agents[0]['name']}" in " ".join(listed)
    assert "Schedule: 1 entry" in sections["adherence"]["note"]


def test_adherence_section_says_what_is_missing() -> None:
    from supervisor_tui.domain import report_sections

    none = report_sections.adherence(None)
    assert not none.loaded and "no schedule loaded" in none.note
    unjudged = report_sections.adherence(12, "imported 08:00 UTC by wfm", {"s:a": (0.0, 0.0)})
    assert not unjudged.loaded and "no console stored adherence figures" in unjudged.note
    # Out more than scheduled (clocks): capped, never a negative adherence.
    capped = report_sections.adherence(1, "", {"s:a": (600.0, 900.0)}, {"s:a": ("Ann", "")})
    assert capped.tidy[0][3] == 0.0


def test_a_channel_this_version_does_not_know_is_its_own_group() -> None:
    from supervisor_tui.domain.intervals import IntervalPolicy
    from supervisor_tui.domain.model import SLFormula
    from supervisor_tui.domain.report import build

    window = Window(datetime(2026, 11, 23, tzinfo=UTC), datetime(2026, 11, 24, tzinfo=UTC),
                    "day")
    row: dict[str, Any] = dict.fromkeys(INTERVAL_COUNTERS, 0) | {
        "queue_id": "texts", "channel": "sms", "interval_minutes": 30, "sl_target": 0.9,
        "threshold_s": 60.0, "complete": 1, "offered": 4, "answered": 4,
        "answered_within_threshold": 3, "interval_start": "2026-11-23T09:00:00+00:00"}
    rep = build(day=date(2026, 11, 23), policy=IntervalPolicy(30, "UTC"), window=window,
                generated_at=window.end, formula=SLFormula.ANSWERED_AND_ABANDONED_AFTER,
                min_sample=10, rows=[row], groups={}, occurrences=[], incidents=[])
    assert [g.scope for g in rep.channel_groups] == ["sms"]
    assert rep.channel_groups[0].kpi("service_level").value == 0.75
    assert rep.missed[0].small_sample  # 4 contacts, under min_sample: flagged


def test_a_dst_day_is_25_hours(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Paris falls back on 2026-10-25: the local day is 25 h, 22:00 UTC to 23:00 UTC.
    db = tmp_path / "dst.db"
    Store.open(db).close()
    main(["report", "--date", "2026-10-25", "--db", str(db), "--format", "json",
          "--config", str(config_file(tmp_path, "Europe/Paris"))])
    doc = json.loads(capsys.readouterr().out)
    assert (doc["window_start_utc"], doc["window_end_utc"]) == (
        "2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z")


def test_each_incident_keeps_its_first_timeline_entries_and_says_how_many_more(
        store_at: Path | str) -> None:
    """A long outage's timeline (delivery retries run to hundreds): the report keeps its
    first entries and counts the rest; another incident of the day keeps its own. Read
    in one query for every incident, on both backends."""
    from supervisor_tui.report.collect import TIMELINE_KEEP, incidents

    store = Store.open(store_at)
    try:
        book = IncidentStore(store.db)
        long = book.declare(title="Carrier outage", severity="major", queues=["support"],
                            user="ann", now=START + timedelta(minutes=30))
        short = book.declare(title="Chat down", severity="minor", queues=["chat"],
                             user="bo", now=START + timedelta(minutes=35))
        for n in range(TIMELINE_KEEP + 14):  # with "declared": 15 past the kept ones
            book.note(long.id, user="ann", now=START + timedelta(minutes=40, seconds=n),
                      text=f"retry {n}")
        book.resolve(short.id, user="bo", now=START + timedelta(minutes=50))
        window = Window(START, START + timedelta(days=1), "day")
        found = incidents(store, window, START + timedelta(hours=5))
    finally:
        store.close()
    assert [i.title for i in found] == ["Carrier outage", "Chat down"]
    first, second = found
    assert len(first.timeline) == TIMELINE_KEEP and first.timeline_more == 15
    assert [e.text for e in first.timeline[:3]] == [
        "declared major: Carrier outage", "retry 0", "retry 1"]
    assert [e.kind for e in second.timeline] == ["declared", "resolved"]
    assert second.timeline_more == 0
