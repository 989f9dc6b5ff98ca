"""The connect source at scale: parse + merge per poll for a 1,000-queue / 10,000-agent
Amazon Connect instance.

The AWS SDK is replaced by an in-process client answering each call with the dicts the
SDK would hand back (timestamps as aware datetimes), so what is timed is this project's
work: worker-thread hand-off per call, validating the answers, mapping them to the
domain model, building the snapshot, and the poller's merge. The SDK's own HTTP and
JSON parsing are not in it (and nor is Connect's latency, or the pacing at 5 requests a
second, which make a full read of this centre take ~22 s on the default quota).

Two cases, each after one warm-up poll that reads the catalog:
- every poll reads everything (``max_poll_requests`` raised): 10 GetCurrentMetricData,
  100 GetCurrentUserData; counters (10 + 10 GetMetricDataV2) every 4th poll;
- the defaults (``max_poll_requests = 30``): agent states read in turns.
Between polls 1,000 agents (10%) change state, so identity reuse is exercised as in life.

    .venv/bin/python benchmarks/bench_connect.py [--polls 20] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import gc
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from _report import report

from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.poller import merge
from supervisor_tui.sources.connect.documents import CURRENT_METRICS
from supervisor_tui.sources.connect.settings import ConnectSettings
from supervisor_tui.sources.connect.source import ConnectSource

POLICY = IntervalPolicy(30, "UTC")
ARN = "arn:aws:connect:eu-west-2:123456789012:instance/00000000-0000-4000-8000-000000000001"
UNITS = dict(CURRENT_METRICS)


def uid(kind: int, n: int) -> str:
    return f"00000000-0000-4000-{kind:04x}-{n:012x}"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 22, 10, 20, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class FakeConnect:
    """Answers as boto3 would (parsed dicts), from an in-memory centre."""

    def __init__(self, queues: int, agents: int, clock: Clock, seed: int = 7) -> None:
        self.clock = clock
        self.rng = random.Random(seed)
        self.queues = [uid(1, n) for n in range(queues)]
        self.profiles = {uid(2, p): self.queues[p * 20:(p + 1) * 20]
                         for p in range(max(1, queues // 20))}
        self.statuses = [("available", uid(3, 1), "Available", "ROUTABLE"),
                         ("offline", uid(3, 2), "Offline", "OFFLINE"),
                         ("break", uid(3, 3), "Break", "CUSTOM")]
        self.users = [uid(4, n) for n in range(agents)]
        profiles = list(self.profiles)
        self.user_profile = {u: profiles[n % len(profiles)] for n, u in enumerate(self.users)}
        self.data = {u: self._user(u) for u in self.users}
        self.answers = copy.deepcopy(self.data)
        self.calls = 0

    def _user(self, user: str) -> dict[str, Any]:
        now = self.clock.now
        roll = self.rng.random()
        since = now - timedelta(seconds=self.rng.randint(1, 3600))
        profile = self.user_profile[user]
        status = self.statuses[2] if roll < 0.1 else self.statuses[0]
        contacts: list[dict[str, Any]] = []
        if 0.1 <= roll < 0.6:
            state = "ENDED" if roll < 0.2 else "CONNECTED"
            contacts = [{"ContactId": uid(5, self.rng.getrandbits(40)), "Channel": "VOICE",
                         "AgentContactState": state, "StateStartTimestamp": since,
                         "ConnectedToAgentTimestamp": since,
                         "Queue": {"Id": self.rng.choice(self.profiles[profile])}}]
        return {"User": {"Id": user, "Arn": f"{ARN}/agent/{user}"},
                "RoutingProfile": {"Id": profile},
                "Status": {"StatusStartTimestamp": since,
                           "StatusArn": f"{ARN}/agent-state/{status[1]}",
                           "StatusName": status[2]},
                "Contacts": contacts}

    def churn(self, n: int) -> None:
        """Change ``n`` agents; then make every answer a new object equal by value to
        the last one, as the SDK parses a new response each call (outside the timing)."""
        for user in self.rng.sample(self.users, n):
            self.data[user] = self._user(user)
        self.answers = copy.deepcopy(self.data)

    def _page(self, items: list[Any], key: str, token: str | None, size: int
              ) -> dict[str, Any]:
        start = int(token or 0)
        answer: dict[str, Any] = {key: items[start:start + size]}
        if start + size < len(items):
            answer["NextToken"] = str(start + size)
        return answer

    def list_queues(self, **kw: Any) -> dict[str, Any]:
        self.calls += 1
        return self._page([{"Id": q, "Name": f"Queue {n}", "QueueType": "STANDARD"}
                           for n, q in enumerate(self.queues)], "QueueSummaryList",
                          kw.get("NextToken"), kw["MaxResults"])

    def list_agent_statuses(self, **kw: Any) -> dict[str, Any]:
        self.calls += 1
        return {"AgentStatusSummaryList": [{"Id": i, "Name": n, "Type": t}
                                           for _, i, n, t in self.statuses]}

    def list_routing_profiles(self, **kw: Any) -> dict[str, Any]:
        self.calls += 1
        return {"RoutingProfileSummaryList": [{"Id": p, "Name": f"Profile {n}"}
                                              for n, p in enumerate(self.profiles)]}

    def list_users(self, **kw: Any) -> dict[str, Any]:
        self.calls += 1
        return self._page([{"Id": u, "Username": f"agent{n}"}
                           for n, u in enumerate(self.users)], "UserSummaryList",
                          kw.get("NextToken"), kw["MaxResults"])

    def list_routing_profile_queues(self, **kw: Any) -> dict[str, Any]:
        self.calls += 1
        return {"RoutingProfileQueueConfigSummaryList": [
            {"QueueId": q, "Priority": n + 1, "Channel": "VOICE"}
            for n, q in enumerate(self.profiles[kw["RoutingProfileId"]])]}

    def get_current_metric_data(self, **kw: Any) -> dict[str, Any]:
        self.calls += 1
        rows = []
        for q in kw["Filters"]["Queues"]:
            values = {"CONTACTS_IN_QUEUE": float(self.rng.randint(0, 12)),
                      "OLDEST_CONTACT_AGE": float(self.rng.randint(0, 300)),
                      "AGENTS_ONLINE": 10.0, "AGENTS_AVAILABLE": 4.0,
                      "AGENTS_ON_CONTACT": 5.0, "AGENTS_STAFFED": 10.0}
            rows.append({"Dimensions": {"Queue": {"Id": q}}, "Collections": [
                {"Metric": {"Name": k, "Unit": UNITS[k]}, "Value": v}
                for k, v in values.items()]})
        return {"MetricResults": rows}

    def get_metric_data_v2(self, **kw: Any) -> dict[str, Any]:
        self.calls += 1
        rows = []
        for q in kw["Filters"][0]["FilterValues"]:
            answered = float(self.rng.randint(20, 80))
            values = {"CONTACTS_HANDLED_BY_CONNECTED_TO_AGENT": answered,
                      "AVG_QUEUE_ANSWER_TIME": 14.0, "CONTACTS_ABANDONED": 4.0,
                      "CONTACTS_TRANSFERRED_OUT_FROM_QUEUE": 1.0,
                      "CONTACTS_HANDLED": answered - 2, "SUM_HANDLE_TIME": answered * 280}
            collections: list[dict[str, Any]] = [
                {"Metric": {"Name": k}, "Value": v} for k, v in values.items()]
            for metric in kw["Metrics"]:
                if metric.get("Threshold"):
                    value = answered * 0.8 if "ANSWERED" in metric["Name"] else 2.0
                    collections.append({"Metric": metric, "Value": value})
            rows.append({"Dimensions": {"QUEUE": q}, "Collections": collections})
        return {"MetricResults": rows}

    def get_current_user_data(self, **kw: Any) -> dict[str, Any]:
        self.calls += 1
        return {"UserDataList": [self.answers[u] for u in kw["Filters"]["Agents"]]}


def ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"median_ms": round(statistics.median(ordered) * 1000, 1),
            "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 1),
            "max_ms": round(ordered[-1] * 1000, 1)}


async def bench(queues: int, agents: int, polls: int, everything: bool) -> dict[str, Any]:
    clock = Clock()
    fake = FakeConnect(queues, agents, clock)
    overrides: dict[str, Any] = {"max_poll_requests": 1000} if everything else {}
    # One request at a time, so the time spent in requests adds up without overlap
    settings = ConnectSettings(instance_arn=ARN, max_requests=100_000, max_concurrency=1,
                               interval_refresh_s=60, **overrides)
    source = ConnectSource("connect", POLICY, settings, client=fake, clock=clock)
    in_calls: list[float] = []
    original = source._call

    async def timed(*args: Any, **kwargs: Any) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            return await original(*args, **kwargs)
        finally:
            in_calls.append(time.perf_counter() - started)

    source._call = timed  # type: ignore[method-assign]
    for _ in range(1 if everything else 5):  # the catalog; in turns: until all are read
        await source.snapshot()
        clock.now += timedelta(seconds=5)
    # as the console does after its first board: long-lived objects out of the cyclic GC
    gc.collect()
    gc.freeze()
    whole: list[float] = []
    merges: list[float] = []
    requests: list[int] = []
    calls: list[float] = []
    for _ in range(polls):
        fake.churn(agents // 10)
        clock.now += timedelta(seconds=15)
        in_calls.clear()
        started = time.perf_counter()
        snap = await source.snapshot()
        whole.append(time.perf_counter() - started)
        calls.append(sum(in_calls))
        requests.append(source.last_poll_requests)
        started = time.perf_counter()
        merge([snap], {})
        merges.append(time.perf_counter() - started)
    await source.close()
    gc.unfreeze()
    gc.collect()  # this case's objects: not the next case's to collect
    label = "every poll reads everything" if everything else "defaults (max_poll_requests 30)"
    return {
        "case": f"{label}: {len(snap.queues)} queues, {len(snap.agents)} agents, "
                f"{len(snap.contacts)} contacts, {polls} polls 15 s apart, 10% of agents "
                "changing between polls",
        "requests per poll": {"median": statistics.median(requests), "max": max(requests)},
        "snapshot() (no SDK, no network)": ms(whole),
        "requests (thread hand-off + fake)": ms(calls),
        "merge": ms(merges),
        "parse+merge (snapshot() - requests + merge)": ms(
            [w - c + m for w, c, m in zip(whole, calls, merges, strict=True)]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polls", type=int, default=20)
    parser.add_argument("--queues", type=int, default=1000)
    parser.add_argument("--agents", type=int, default=10000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    started = datetime.now(UTC).isoformat(timespec="seconds")
    results = [asyncio.run(bench(args.queues, args.agents, args.polls, everything))
               for everything in (True, False)]
    for result in results:
        result["started"] = started
    report(results, args.json, width=44)


if __name__ == "__main__":
    main()
