"""CSAT / NPS / FCR against hand-computed cases; the payload shapes and the CSV parser;
the store's idempotency and pending -> scored completion."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from supervisor_tui.domain.model import Tier
from supervisor_tui.domain.survey_shapes import (
    FieldMap,
    SurveyError,
    maps_with,
    parse_body,
    parse_csv,
)
from supervisor_tui.domain.surveys import (
    SeenContact,
    SurveyResponse,
    SurveyTool,
    csat_text,
    fcr,
    fcr_text,
    low_vip_scores,
    nps_text,
    scores,
)
from supervisor_tui.store import Store
from supervisor_tui.store.surveys import read_surveys, save_surveys

FIX = Path(__file__).parent / "fixtures" / "surveys"
UTCZ = ZoneInfo("UTC")
NOW = datetime(2026, 12, 6, 13, 0, tzinfo=UTC)
MAPS = maps_with({})


def resp(rid: str, csat: int | None = None, nps: int | None = None, **kw: object
         ) -> SurveyResponse:
    return SurveyResponse(tool=SurveyTool.GENERIC, response_id=rid, answered_at=NOW,
                          csat=csat, nps=nps, **kw)  # type: ignore[arg-type]


def test_csat_and_nps_hand_computed() -> None:
    # CSAT 5,4,3,2,5 -> satisfied 3 of 5 = 60 %, average 19/5 = 3.8.
    # NPS 10,9,8,6,0,7 -> promoters 2, detractors 2 of 6 = 0; a response with only
    # CSAT counts for CSAT alone.
    rs = [resp("1", 5, 10), resp("2", 4, 9), resp("3", 3, 8), resp("4", 2, 6),
          resp("5", 5, 0), resp("6", None, 7)]
    s = scores(rs)
    assert (s.csat_n, s.csat_satisfied, s.csat_pct, s.csat_avg) == (5, 3, 60.0, 3.8)
    assert (s.nps_n, s.promoters, s.detractors, s.nps) == (6, 2, 2, 0.0)
    assert csat_text(s) == "CSAT 60% (n=5)" and nps_text(s) == "NPS +0 (n=6)"
    # All detractors: -100; all promoters: +100 (the range's ends).
    assert scores([resp("a", None, 3), resp("b", None, 6)]).nps == -100.0
    assert scores([resp("a", None, 9)]).nps == 100.0
    assert csat_text(scores([])) == "CSAT —" and nps_text(None) == "NPS —"


def test_fcr_hand_computed() -> None:
    t0 = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
    h = timedelta(hours=1)
    seen = [
        SeenContact("A", t0, "sales"),           # first; A again at +2h -> repeated
        SeenContact("A", t0 + 2 * h, "support"),  # repeat of the first: not a first
        SeenContact("B", t0, "sales"),           # first, never again, window over -> resolved
        SeenContact("C", t0, "sales"),           # first; C again at +5h > 4h -> resolved
        SeenContact("C", t0 + 5 * h, "sales"),   # a new first; window still open at now
    ]
    now = t0 + 6 * h
    f = fcr(seen, timedelta(hours=4), now)
    # First contacts: A@0, B@0, C@0, C@5 = 4; repeated: A@0 = 1; open: C@5 (until 9h).
    assert (f.first, f.repeated, f.open, f.contacts) == (4, 1, 1, 5)
    assert f.resolved == 3 and f.rate == 75.0
    assert fcr_text(f) == "FCR 75% (n=4, 1 open)"
    assert fcr_text(fcr([], timedelta(hours=4), now)) == "FCR —"


def test_low_vip_scores() -> None:
    rs = [resp("1", 1, tier=Tier.VIP), resp("2", 5, 3, tier=Tier.VIP),
          resp("3", 5, 9, tier=Tier.VIP), resp("4", 1, tier=Tier.GOLD), resp("5", 2)]
    assert [r.response_id for r in low_vip_scores(rs, ["vip"], 2, 6)] == ["1", "2"]
    assert [r.response_id for r in low_vip_scores(rs, ["vip", "gold"], 1, 0)] == ["1", "4"]


def test_every_fixture_shape() -> None:
    generic = parse_body(json.loads((FIX / "generic.json").read_text()), None, MAPS, UTCZ, NOW)
    assert [(r.response_id, r.csat, r.nps, r.tier) for r in generic] == [
        ("g-1", 5, 10, Tier.STANDARD), ("g-2", 4, 7, Tier.GOLD), ("g-3", 1, 2, Tier.VIP)]
    q = parse_body(json.loads((FIX / "qualtrics_web_service.json").read_text()), None, MAPS,
                   ZoneInfo("Europe/Paris"), NOW)
    assert len(q) == 1 and q[0].tool is SurveyTool.QUALTRICS
    assert (q[0].response_id, q[0].csat, q[0].nps, q[0].agent, q[0].team) == (
        "R_3kPq8ZxYv1AbCdE", 2, 4, "Dana Jensen", None)
    # No offset: the centre's local time (Paris, UTC+1 in December).
    assert q[0].answered_at == datetime(2026, 12, 6, 10, 2, 13, tzinfo=UTC)
    sm = parse_body(json.loads((FIX / "surveymonkey_response_completed.json").read_text()),
                    None, MAPS, UTCZ, NOW)
    assert [(r.tool, r.response_id, r.survey_id, r.pending) for r in sm] == [
        (SurveyTool.SURVEYMONKEY, "118100000001", "123456789", True)]
    md = parse_body(json.loads((FIX / "medallia_webhook_batch.json").read_text()),
                    SurveyTool.MEDALLIA, MAPS, UTCZ, NOW)
    assert [(r.response_id, r.csat, r.nps) for r in md] == [("MDL-900001", 5, 9),
                                                            ("MDL-900002", 3, 6)]
    assert md[1].answered_at == datetime(2026, 12, 6, 12, 1, tzinfo=UTC)  # epoch ms


def test_mapping_bad_records_and_hostile_text() -> None:
    maps = maps_with({"qualtrics": FieldMap(csat="values.QID9")})
    body = {"ResponseID": "R_1", "values": {"QID9": "5", "QID2": ""}}
    [r] = parse_body(body, SurveyTool.QUALTRICS, maps, UTCZ, NOW)
    assert (r.csat, r.nps) == (5, None)  # an unanswered NPS is "" in piped text
    for bad, why in [({"response_id": "x", "csat": 6}, "whole number 1-5"),
                     ({"response_id": "x", "csat": 4.5}, "whole number 1-5"),
                     ({"response_id": "x", "nps": "ten"}, "number 0-10"),
                     ({"response_id": "x", "csat": "\x1b[31m5"}, "control characters"),
                     ({"response_id": "x"}, "neither a CSAT"),
                     ({"csat": 4}, "no response id"),
                     ({"response_id": "x", "csat": 4, "tier": "platinum"}, "tier must be"),
                     ({"response_id": "x", "csat": 4, "answered_at": "2099-01-01T00:00Z"},
                      "not plausible"),
                     ({"response_id": "x", "csat": 4, "agent": {"id": 1}}, "must be text")]:
        with pytest.raises(SurveyError, match=why):
            parse_body(bad, SurveyTool.GENERIC, MAPS, UTCZ, NOW)
    # A batch with one bad record is refused whole, naming the record.
    with pytest.raises(SurveyError, match="record 2: "):
        parse_body([{"response_id": "a", "csat": 4}, {"response_id": "b", "csat": 0}],
                   None, MAPS, UTCZ, NOW)
    [r] = parse_body({"response_id": "h", "csat": 3, "agent": "\x1b]0;pwned\x07Eve\u202e",
                      "queue": "x" * 5000}, None, MAPS, UTCZ, NOW)
    assert r.agent is not None and "\x1b" not in r.agent and "\u202e" not in r.agent
    assert r.queue is not None and len(r.queue) <= 200


def test_csv_rows_rejected_by_line() -> None:
    rows, rejected = parse_csv((FIX / "export.csv").read_text(), UTCZ, NOW)
    assert [(r.response_id, r.csat, r.nps) for r in rows] == [
        ("csv-1", 5, 9), ("csv-2", 2, None), ("csv-3", None, 10)]
    assert len(rejected) == 2 and rejected[0].startswith("line 5: csat")
    assert rejected[1].startswith("line 6: tier")
    with pytest.raises(SurveyError, match="no csat or nps column"):
        parse_csv("id;score\n1;5\n", UTCZ, NOW)


def test_store_once_per_response_and_pending_completed(store_at: Path | str) -> None:
    store = Store.open(store_at)  # (SQLite and PostgreSQL: tests/conftest.py)
    pending = SurveyResponse(tool=SurveyTool.QUALTRICS, response_id="R_1", answered_at=NOW)
    scored = pending.model_copy(update={"csat": 2, "queue": "sales", "tier": Tier.VIP})
    assert save_surveys(store, [pending], UTCZ, NOW).added == 1
    assert save_surveys(store, [pending], UTCZ, NOW).duplicates == 1
    saved = save_surveys(store, [scored, resp("g", 5)], UTCZ, NOW)
    assert (saved.added, saved.completed) == (1, 1)
    # A late id-only retry never wipes the scores.
    assert save_surveys(store, [pending], UTCZ, NOW).duplicates == 1
    day = read_surveys(store, "2026-12-06")
    assert {(r.key, r.csat) for r in day} == {("qualtrics:R_1", 2), ("generic:g", 5)}
    assert read_surveys(store, "2026-12-05") == []
    # The local day: 23:30 UTC on the 6th is the 7th in Auckland.
    late = resp("late", 4).model_copy(update={"answered_at": NOW.replace(hour=23, minute=30)})
    save_surveys(store, [late], ZoneInfo("Pacific/Auckland"), NOW)
    assert [r.response_id for r in read_surveys(store, "2026-12-07")] == ["late"]
    store.close()


def test_keeper_reads_the_day_follows_contacts_and_escalates_vip_once(tmp_path: Path) -> None:
    from supervisor_tui.config.surveys import SurveysConfig
    from supervisor_tui.domain.escalation import EscalationRules, EscalationTracker
    from supervisor_tui.domain.model import AbandonedContact, Channel
    from supervisor_tui.survey_feed import SurveyKeeper
    from tests.helpers import T0, centre

    store = Store.open(tmp_path / "s.db")
    at = T0 - timedelta(hours=1)
    low = resp("v1", 1, 2, tier=Tier.VIP, customer="cust-99", queue="sales", agent="Ana",
               contact_id="c7").model_copy(update={"answered_at": at})
    ok = resp("v2", 5, 10, tier=Tier.VIP, agent="a2").model_copy(update={"answered_at": at})
    save_surveys(store, [low, ok], UTCZ, at)
    clock = [0.0]
    keeper = SurveyKeeper(SurveysConfig(fcr_window_h=4), store, UTCZ, lambda: clock[0])
    snap = centre()
    # c1 and an abandoned contact of the same customer: one first contact, repeated.
    snap = snap.model_copy(update={
        "contacts": (snap.contacts[0].model_copy(update={"customer": "cust-1"}),
                     *snap.contacts[1:]),
        "abandoned": (AbandonedContact(id="ab1", queue_id="sales", channel=Channel.VOICE,
                                       customer="cust-1", waited_s=30,
                                       abandoned_at=T0 - timedelta(minutes=30), source="pbx"),)})
    keeper.poll(snap)
    f = keeper.figures
    assert (f.centre.csat_n, f.centre.csat_pct) == (2, 50.0)
    # Agents by name or id; teams through the agents (Ana and Bo are Red).
    assert set(f.agents) == {"pbx:a1", "pbx:a2"} and f.teams["Red"].csat_n == 2
    assert (keeper.fcr.first, keeper.fcr.repeated) == (1, 1)
    tracker = EscalationTracker()
    result = tracker.update(snap, EscalationRules(), extra=keeper.escalations)
    [esc] = [e for e in result.active if e.kind == "vip_low_score"]
    assert esc.id == "survey-low:generic:v1" and esc.subject_type == "survey"
    assert esc.reason == ("VIP low score: CSAT 1/5, NPS 2/10 from cust-99 (queue sales, "
                          "agent Ana, contact c7)")
    # The same response delivered again: still one item, the same object.
    save_surveys(store, [low], UTCZ, at)
    clock[0] += 60
    keeper.poll(snap)
    again = tracker.update(snap, EscalationRules(), extra=keeper.escalations)
    assert [e for e in again.active if e.kind == "vip_low_score"] == [esc]
    assert again.by_id[esc.id] is esc
    store.close()


@pytest.mark.parametrize("in_order", [False, True])
def test_incremental_fcr_equals_the_reference(in_order: bool) -> None:
    """Contacts recorded at random times of the day, or (as a console sees them) mostly
    in the order they arrive, a few late, gaps on both sides of the window."""
    import random

    from supervisor_tui.domain.surveys import ContactLog

    rng = random.Random(16)
    t0 = datetime(2026, 12, 6, 0, 0, tzinfo=UTC)
    log = ContactLog()
    everyone: list[SeenContact] = []
    clock = 0
    for batch in range(30):
        for i in range(rng.randrange(1, 40)):
            clock += rng.randrange(40)
            minute = (clock - rng.randrange(200) * (rng.random() < 0.1) if in_order
                      else rng.randrange(24 * 60))
            seen = SeenContact(f"cust-{rng.randrange(60)}",
                               t0 + timedelta(minutes=minute), "q")
            log.add(("src", f"{batch}-{i}"), seen)
            everyone.append(seen)
        now = t0 + timedelta(hours=rng.uniform(0, 30))
        window = timedelta(hours=rng.choice([2, 2, 2, 24]))
        assert log.fcr(window, now) == fcr(everyone, window, now)


def test_surveys_config_says_what_is_wrong() -> None:
    from supervisor_tui.config import ConfigError, parse_config

    cfg = parse_config({"surveys": {"fcr_window_h": 8, "vip_tiers": ["vip", "gold"],
                                    "map": {"medallia": {"csat": "q_osat_scale5"}}}})
    assert cfg.surveys.fcr_window_h == 8 and maps_with(cfg.surveys.map)[
        SurveyTool.MEDALLIA].csat == "q_osat_scale5"
    for bad, said in [({"map": {"surveymonkey": {"csat": "x"}}}, "sends ids only"),
                      ({"map": {"qualtrics": {"score": "x"}}}, "unknown key"),
                      ({"vip_tiers": ["platinum"]}, "vip_tiers"),
                      ({"vip_csat_max": 9}, "vip_csat_max")]:
        with pytest.raises(ConfigError, match=said):
            parse_config({"surveys": bad})


def test_a_qualtrics_csv_export_is_dated_by_its_recorded_date_column() -> None:
    """Qualtrics writes "RecordedDate" (no space, no underscore): the response counts on
    the day it was recorded, not the day of the import."""
    from zoneinfo import ZoneInfo

    imported = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
    for header in ("ResponseId,CSAT,RecordedDate", "Response ID,CSAT,Recorded Date",
                   "\ufeffresponse_id,csat,recorded_date"):
        got, rejected = parse_csv(f"{header}\nR_1,4,2026-03-02T11:05:00Z\n",
                                  ZoneInfo("UTC"), imported, SurveyTool.QUALTRICS)
        assert rejected == [] and [r.response_id for r in got] == ["R_1"], header
        assert got[0].answered_at == datetime(2026, 3, 2, 11, 5, tzinfo=UTC), header


def test_the_contact_log_counts_each_contact_once_across_polls() -> None:
    """A contact seen waiting, then connected (a new object each time), then gone, is one
    contact; the customer's next contact an hour later is a repeat; an abandoned
    contact counts once however often the day's abandoned list changes."""
    from supervisor_tui.domain.model import (
        AbandonedContact,
        Channel,
        Contact,
        ContactState,
        Snapshot,
    )
    from supervisor_tui.domain.surveys import ContactLog

    day = datetime(2026, 12, 7, tzinfo=UTC)
    t = day + timedelta(hours=9)

    def contact(cid: str, customer: str, entered: datetime,
                state: ContactState = ContactState.WAITING) -> Contact:
        return Contact(id=cid, queue_id="q1", channel=Channel.VOICE, entered_at=entered,
                       customer=customer, state=state)

    def gone(aid: str, customer: str, at: datetime) -> AbandonedContact:
        return AbandonedContact(id=aid, queue_id="q1", channel=Channel.VOICE,
                                customer=customer, waited_s=30, abandoned_at=at)

    def snap(at: datetime, contacts: list[Contact],
             abandoned: list[AbandonedContact]) -> Snapshot:
        return Snapshot(taken_at=at, interval_start=at, day_start=day,
                        contacts=tuple(contacts), abandoned=tuple(abandoned))

    log = ContactLog()
    b = gone("x1", "Bo", t - timedelta(minutes=5))
    log.observe(snap(t, [contact("c1", "Ann", t)], [b]))
    log.observe(snap(t + timedelta(seconds=20),
                     [contact("c1", "Ann", t, ContactState.CONNECTED)], [b]))
    log.observe(snap(t + timedelta(minutes=10), [], [b, gone("x2", "Cy", t)]))
    log.observe(snap(t + timedelta(hours=1), [contact("c9", "Ann", t + timedelta(hours=1))],
                     [b, gone("x2", "Cy", t)]))
    got = log.fcr(timedelta(hours=24), t + timedelta(hours=1))
    assert got.contacts == 4  # c1, c9 (Ann), x1 (Bo), x2 (Cy)
    assert (got.first, got.repeated, got.open) == (3, 1, 2)  # Ann repeated; Bo, Cy open
    assert got == fcr([SeenContact("Ann", t, "q1"),
                       SeenContact("Ann", t + timedelta(hours=1), "q1"),
                       SeenContact("Bo", b.abandoned_at - timedelta(seconds=30), "q1"),
                       SeenContact("Cy", t - timedelta(seconds=30), "q1")],
                      timedelta(hours=24), t + timedelta(hours=1))


class _CountedAgents(tuple):  # type: ignore[type-arg]
    """A snapshot's agents, counting how often they are read through."""

    reads = 0

    def __iter__(self):  # type: ignore[no-untyped-def]
        type(self).reads += 1
        return super().__iter__()


def test_figures_read_the_agents_only_for_a_response_that_names_one() -> None:
    from supervisor_tui.domain.surveys import SurveyFigures
    from tests.helpers import centre

    snap = centre()
    _CountedAgents.reads = 0
    counted = snap.model_copy(update={"agents": _CountedAgents(snap.agents)})
    # No responses yet (every console's start): none of the centre's agents is read.
    figures = SurveyFigures.of([], counted)
    assert _CountedAgents.reads == 0 and figures.centre.csat_n == 0
    assert SurveyFigures.of([resp("q", 5, queue="sales")], counted).queues["sales"].csat_n == 1
    assert _CountedAgents.reads == 0
    # A response naming an agent, by id or by name: resolved to that agent and team.
    figures = SurveyFigures.of([resp("1", 5, agent="a2"), resp("2", 1, agent="Ana")], counted)
    assert set(figures.agents) == {"pbx:a1", "pbx:a2"}
    assert figures.teams["Red"].csat_n == 2 and _CountedAgents.reads > 0
