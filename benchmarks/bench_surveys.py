"""Survey feed costs: the webhook on a real collector (one response per request, and a
1,000-record batch), a console's re-read of a busy day from the store and its figures,
and FCR on a 100,000-contact day (the whole day once, then 50 new contacts).

    .venv/bin/python benchmarks/bench_surveys.py
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

from supervisor_tui.config.surveys import SurveysConfig
from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.domain.model import Agent, AgentState, AgentStateKind, Snapshot
from supervisor_tui.domain.survey_shapes import maps_with
from supervisor_tui.domain.surveys import (
    ContactLog,
    SeenContact,
    SurveyFigures,
    SurveyResponse,
    SurveyTool,
)
from supervisor_tui.protocol.collector import Collector
from supervisor_tui.protocol.server import serve_in_thread
from supervisor_tui.protocol.surveys import SurveyWebhook
from supervisor_tui.sim.config import SimulatorConfig
from supervisor_tui.sources.simulator import SimulatorSource
from supervisor_tui.store import Store
from supervisor_tui.store.surveys import read_surveys, save_surveys
from supervisor_tui.survey_feed import SurveyKeeper

POLICY = IntervalPolicy(minutes=30, tz="UTC")
NOW = datetime.now(UTC).replace(microsecond=0)


def record(i: int, rng: random.Random) -> dict[str, object]:
    return {"response_id": f"r{i}", "contact_id": f"c{i}", "queue": f"q{i % 50}",
            "agent": f"a{i % 1000}", "customer": f"cust-{rng.randrange(5000)}",
            "tier": rng.choice(["standard", "gold", "vip"]), "csat": rng.randint(1, 5),
            "nps": rng.randint(0, 10),
            "answered_at": (NOW - timedelta(hours=2, minutes=5)).isoformat()}


def main() -> None:
    rng = random.Random(5)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp) / "s.db")
        # Received two hours ago: a console's refresh re-reads only the last minute.
        hook = SurveyWebhook(store, ["bench-token-0123456789"], maps_with({}),
                             ZoneInfo("UTC"), lambda: NOW - timedelta(hours=2))
        sim = SimulatorSource("sim", POLICY, SimulatorConfig(seed=1))
        collector = Collector([sim], POLICY, token="bench-token-0123456789", surveys=hook)
        with serve_in_thread(collector.app, lifespan="on") as base, \
                httpx.Client(base_url=base, timeout=30) as client:
            headers = {"Authorization": "Bearer bench-token-0123456789"}
            one: list[float] = []
            for i in range(300):
                started = time.perf_counter()
                r = client.post("/v1/surveys", headers=headers, json=record(i, rng))
                one.append((time.perf_counter() - started) * 1000)
                assert r.status_code == 200, r.text
            one.sort()
            print(f"webhook, one response per request: median {statistics.median(one):.1f} ms,"
                  f" p95 {one[int(len(one) * 0.95)]:.1f} ms (300 requests, loopback)")
            batch = [record(i, rng) for i in range(1000, 2000)]
            started = time.perf_counter()
            r = client.post("/v1/surveys", headers=headers, json=batch)
            took = (time.perf_counter() - started) * 1000
            assert r.json()["stored"] == 1000, r.text
            print(f"webhook, a 1,000-record batch: {took:.0f} ms")
            rows = [record(i, rng) for i in range(2000, 5000)]
            client.post("/v1/surveys", headers=headers, json=rows[:1000])
            client.post("/v1/surveys", headers=headers, json=rows[1000:2000])
            client.post("/v1/surveys", headers=headers, json=rows[2000:])
        day = NOW.date().isoformat()
        started = time.perf_counter()
        responses = read_surveys(store, day)
        read_ms = (time.perf_counter() - started) * 1000
        agents = tuple(Agent(id=f"a{i}", name=f"Agent {i}", team=f"t{i % 40}", source="sim",
                             state=AgentState(kind=AgentStateKind.AVAILABLE, since=NOW))
                       for i in range(1000))
        snap = Snapshot(taken_at=NOW, interval_start=POLICY.interval_start(NOW),
                        day_start=POLICY.day_start(NOW), agents=agents)
        started = time.perf_counter()
        figures = SurveyFigures.of(responses, snap)
        of_ms = (time.perf_counter() - started) * 1000
        print(f"console: read {len(responses):,} responses of the day {read_ms:.0f} ms; "
              f"figures per queue/team/agent (1,000 agents) {of_ms:.0f} ms "
              f"(centre CSAT n={figures.centre.csat_n})")
        keeper = SurveyKeeper(SurveysConfig(refresh_s=1), store, ZoneInfo("UTC"),
                              time.monotonic)
        started = time.perf_counter()
        keeper.poll(snap)
        first_ms = (time.perf_counter() - started) * 1000
        save_surveys(store, [SurveyResponse(tool=SurveyTool.GENERIC, response_id=f"n{i}",
                                            answered_at=NOW, csat=4) for i in range(10)],
                     ZoneInfo("UTC"), datetime.now(UTC))
        keeper._read_at = None  # due now (not in a second)
        started = time.perf_counter()
        keeper.poll(snap)
        again_ms = (time.perf_counter() - started) * 1000
        print(f"console refresh (SurveyKeeper.poll): first read of the day {first_ms:.0f} ms,"
              f" then 10 new responses {again_ms:.0f} ms ({len(keeper.responses):,} held)")
        store.close()
    log = ContactLog()
    t0 = NOW - timedelta(hours=10)
    for i in range(100_000):
        log.add(("s", str(i)), SeenContact(f"cust-{rng.randrange(60_000)}",
                                           t0 + timedelta(seconds=i * 0.36), "q"))
    started = time.perf_counter()
    log.fcr(timedelta(hours=24), NOW)
    whole = (time.perf_counter() - started) * 1000
    for i in range(100_000, 100_050):
        log.add(("s", str(i)), SeenContact(f"cust-{rng.randrange(60_000)}", NOW, "q"))
    started = time.perf_counter()
    f = log.fcr(timedelta(hours=24), NOW)
    step = (time.perf_counter() - started) * 1000
    print(f"FCR, 100,000 contacts / 60,000 customers: whole day at once {whole:.0f} ms, "
          f"then 50 new contacts {step:.2f} ms ({f.rate:.0f}%, n={f.first:,}, "
          f"{f.open:,} open)")


if __name__ == "__main__":
    main()
