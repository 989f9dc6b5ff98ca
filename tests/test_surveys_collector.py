"""The survey webhook on a real collector on loopback: each tool's shape posted over
HTTP lands in the store; bad tokens and bodies are refused with a reason and store
nothing; a retried delivery is stored once. And `surveys import` from the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from supervisor_tui.cli import main
from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.domain.survey_shapes import maps_with
from supervisor_tui.protocol.collector import Collector
from supervisor_tui.protocol.server import serve_in_thread
from supervisor_tui.protocol.surveys import SurveyWebhook
from supervisor_tui.sim.config import SimulatorConfig
from supervisor_tui.sources.simulator import SimulatorSource
from supervisor_tui.store import Store
from supervisor_tui.store.surveys import read_surveys

FIX = Path(__file__).parent / "fixtures" / "surveys"
POLICY = IntervalPolicy(minutes=30, tz="UTC")
NOW = datetime(2026, 12, 6, 13, 0, tzinfo=UTC)
DAY = "2026-12-06"
CONSOLE_TOKEN = "console-token-0123456789"
HOOK_TOKEN = "survey-hook-token-987654"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Store, SurveyWebhook]]:
    store = Store.open(tmp_path / "collector.db")
    hook = SurveyWebhook(store, [CONSOLE_TOKEN, HOOK_TOKEN], maps_with({}), ZoneInfo("UTC"),
                         lambda: NOW, max_body=16 * 1024)
    sim = SimulatorSource("sim", POLICY, SimulatorConfig(seed=3, speed=5))
    collector = Collector([sim], POLICY, token=CONSOLE_TOKEN, interval_s=0.5, surveys=hook)
    with serve_in_thread(collector.app, lifespan="on") as base:
        yield base, store, hook
    store.close()


def test_each_shape_through_the_collector_into_the_store(
        served: tuple[str, Store, SurveyWebhook]) -> None:
    base, store, hook = served
    bearer = {"Authorization": f"Bearer {HOOK_TOKEN}"}
    with httpx.Client(base_url=base, timeout=10) as client:
        # SurveyMonkey checks the URL with HEAD when the webhook is created.
        assert client.head("/v1/surveys").status_code == 200
        r = client.post("/v1/surveys", headers=bearer,
                        content=(FIX / "generic.json").read_bytes())
        assert r.status_code == 200 and r.json()["stored"] == 3
        # Qualtrics web-service task, the consoles' token works too.
        r = client.post("/v1/surveys?tool=qualtrics",
                        headers={"Authorization": f"Bearer {CONSOLE_TOKEN}"},
                        content=(FIX / "qualtrics_web_service.json").read_bytes())
        assert r.json() == {"stored": 1, "completed": 0, "duplicates": 0, "pending": 0}
        # Qualtrics event subscription: a form, ids only -> pending.
        r = client.post("/v1/surveys", headers={"X-Webhook-Token": HOOK_TOKEN,
                        "Content-Type": "application/x-www-form-urlencoded"},
                        content=(FIX / "qualtrics_completed_response.form").read_bytes())
        assert r.json()["pending"] == 1 and r.json()["stored"] == 1
        # SurveyMonkey: no custom headers, so the token rides in the query.
        sm = (FIX / "surveymonkey_response_completed.json").read_bytes()
        r = client.post(f"/v1/surveys?token={HOOK_TOKEN}", content=sm,
                        headers={"Content-Type": "application/json"})
        assert r.json()["pending"] == 1
        # Another SurveyMonkey event: acknowledged, nothing stored.
        other = {**json.loads(sm), "event_type": "response_updated"}
        r = client.post("/v1/surveys", headers=bearer, json=other)
        assert r.status_code == 200 and r.json()["stored"] == 0
        r = client.post("/v1/surveys?tool=medallia", headers=bearer,
                        content=(FIX / "medallia_webhook_batch.json").read_bytes())
        assert r.json()["stored"] == 2
    day = {r.key: r for r in read_surveys(store, DAY)}
    assert set(day) == {"generic:g-1", "generic:g-2", "generic:g-3",
                        "qualtrics:R_3kPq8ZxYv1AbCdE", "qualtrics:R_1a2B3c4D5e6F7g8",
                        "surveymonkey:118100000001", "medallia:MDL-900001",
                        "medallia:MDL-900002"}
    assert day["generic:g-3"].csat == 1 and day["generic:g-3"].tier == "vip"
    assert day["surveymonkey:118100000001"].pending
    assert hook.counts["added"] == 8


def test_refusals_store_nothing_and_retries_store_once(
        served: tuple[str, Store, SurveyWebhook]) -> None:
    base, store, hook = served
    bearer = {"Authorization": f"Bearer {HOOK_TOKEN}"}
    body = (FIX / "generic.json").read_bytes()
    with httpx.Client(base_url=base, timeout=10) as client:
        for headers in ({}, {"Authorization": "Bearer wrong-token-wrong-token"},
                        {"X-Webhook-Token": HOOK_TOKEN[:-1]}):
            r = client.post("/v1/surveys", headers=headers, content=body)
            assert r.status_code == 401 and "token" in r.json()["error"]["message"]
        # The survey token opens only the webhook, not the consoles' protocol.
        assert client.get("/v1/snapshot", headers=bearer).status_code == 401
        cases = [
            (b"{not json", {}, 400, "not JSON"),
            (b'{"response_id": "x", "csat": 7}', {}, 422, "whole number 1-5"),
            (json.dumps([{"response_id": "ok", "csat": 5},
                         {"response_id": "bad", "csat": 5, "tier": "diamond"}]).encode(),
             {}, 422, "record 2: tier"),
            (b"x" * (17 * 1024), {}, 413, "body over"),
            (b"csat=5", {"Content-Type": "text/plain"}, 415, "send JSON"),
            (body, {}, 400, "tool must be"),
        ]
        for content, extra, status, why in cases:
            url = "/v1/surveys?tool=typeform" if why == "tool must be" else "/v1/surveys"
            r = client.post(url, headers=bearer | extra, content=content)
            assert r.status_code == status, (why, r.text)
            assert why in r.json()["error"]["message"]
        assert read_surveys(store, DAY) == []  # the good record of the bad batch too
        assert hook.counts["refused"] == 9
        # A retried delivery (same ids): stored once.
        first = client.post("/v1/surveys", headers=bearer, content=body).json()
        again = client.post("/v1/surveys", headers=bearer, content=body).json()
    assert first["stored"] == 3 and again == {"stored": 0, "completed": 0, "duplicates": 3,
                                              "pending": 0}
    assert len(read_surveys(store, DAY)) == 3


def test_pending_notification_completed_by_a_csv_import(
        served: tuple[str, Store, SurveyWebhook], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    base, store, _ = served
    with httpx.Client(base_url=base, timeout=10) as client:
        client.post("/v1/surveys", headers={"X-Webhook-Token": HOOK_TOKEN,
                    "Content-Type": "application/x-www-form-urlencoded"},
                    content=(FIX / "qualtrics_completed_response.form").read_bytes())
    export = tmp_path / "qualtrics_export.csv"
    export.write_text("ResponseId,Queue,CSAT,NPS,RecordedDate\n"
                      "R_1a2B3c4D5e6F7g8,sales,4,9,2026-12-06T11:05:00Z\n"
                      "R_new,sales,5,,2026-12-06T11:06:00Z\n", encoding="utf-8")
    db = str(store.path)
    assert main(["surveys", "import", str(export), "--tool", "qualtrics", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "1 responses stored (2026-12-06), 1 pending ones completed" in out
    assert main(["surveys", "import", str(export), "--tool", "qualtrics", "--db", db,
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["duplicates"] == 2
    scored = {r.response_id: (r.csat, r.nps) for r in read_surveys(store, DAY)}
    assert scored == {"R_1a2B3c4D5e6F7g8": (4, 9), "R_new": (5, None)}
    # A file with no usable column: a clear message, exit 2, nothing stored.
    bad = tmp_path / "bad.csv"
    bad.write_text("who,when\nx,y\n", encoding="utf-8")
    assert main(["surveys", "import", str(bad), "--db", db]) == 2
    assert "no csat or nps column" in capsys.readouterr().err
    assert main(["surveys", "import", str(tmp_path / "missing.csv"), "--db", db]) == 2


def test_a_store_down_when_serving_began_is_used_once_it_is_back(tmp_path: Path) -> None:
    """The collector started while its database was unreachable: POSTs are refused
    with the reason (503) and nothing is lost on its side; 10 s later the store is
    tried again and the next delivery is stored."""
    from supervisor_tui.store import StoreError

    clock = [0.0]
    tries: list[int] = []

    def reopen() -> Store:
        tries.append(1)
        if len(tries) == 1:
            raise StoreError("cannot open the PostgreSQL store: connection refused")
        return Store.open(tmp_path / "back.db")

    hook = SurveyWebhook(None, [CONSOLE_TOKEN, HOOK_TOKEN], maps_with({}), ZoneInfo("UTC"),
                         lambda: NOW, why="cannot open the PostgreSQL store: server down",
                         reopen=reopen, monotonic=lambda: clock[0])
    sim = SimulatorSource("sim", POLICY, SimulatorConfig(seed=3, speed=5))
    collector = Collector([sim], POLICY, token=CONSOLE_TOKEN, interval_s=0.5, surveys=hook)
    bearer = {"Authorization": f"Bearer {HOOK_TOKEN}"}
    body = (FIX / "generic.json").read_bytes()
    with serve_in_thread(collector.app, lifespan="on") as base, \
            httpx.Client(base_url=base, timeout=10) as client:
        r = client.post("/v1/surveys?tool=generic", headers=bearer, content=body)
        assert r.status_code == 503 and "server down" in r.json()["error"]["message"]
        assert tries == []  # not tried again within 10 s of the start
        clock[0] = 10.0
        r = client.post("/v1/surveys?tool=generic", headers=bearer, content=body)
        assert r.status_code == 503 and "connection refused" in r.json()["error"]["message"]
        clock[0] = 15.0  # 5 s later: not tried yet
        assert client.post("/v1/surveys?tool=generic", headers=bearer,
                           content=body).status_code == 503
        clock[0] = 20.0
        r = client.post("/v1/surveys?tool=generic", headers=bearer, content=body)
        assert r.status_code == 200 and r.json()["stored"] == 3
    assert tries == [1, 1]
    assert hook.store is not None
    assert len(read_surveys(hook.store, DAY)) == 3
    hook.store.close()
