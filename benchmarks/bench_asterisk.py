"""The asterisk source at scale: 1,000 queues, 10,000 members (each in two queues: 20,000
memberships), 2,000 callers waiting.

Two costs, in the console process, on the exact bytes AMI would send (framed on the blank
line as the connection's reader does, then ``parse`` and ``AmiState.apply``):

- the resync: one QueueStatus dump (at connect, after a reload, every resync_every_s):
  parse + apply of every list event, the sweep, and the first snapshot (every object
  built);
- a poll: the live events since the last poll, parsed and applied, then ``snapshot()``
  and the poller's merge. Default burst: 1,000 events per 2-second poll, about what a
  centre this size sends (10,000 agents with 5-minute calls take ~33 calls/s; a call is
  join, leave, connect, complete and a device-state change per membership, ~8-10
  events). Target (issue #5): parse + merge under 50 ms.

    .venv/bin/python benchmarks/bench_asterisk.py [--polls 30] [--events 1000]
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from _report import report

from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.poller import merge
from supervisor_tui.sources.asterisk.protocol import END, parse
from supervisor_tui.sources.asterisk.settings import AsteriskSettings
from supervisor_tui.sources.asterisk.state import AmiState

POLICY = IntervalPolicy(30, "UTC")
START = datetime(2026, 12, 7, 10, 1, tzinfo=UTC)


def block(*pairs: tuple[str, Any]) -> bytes:
    return ("".join(f"{k}: {v}\r\n" for k, v in pairs) + "\r\n").encode()


def chan(uid: str, prefix: str = "") -> list[tuple[str, Any]]:
    return [(f"{prefix}Channel", f"PJSIP/trunk-{uid}"), (f"{prefix}ChannelState", 6),
            (f"{prefix}ChannelStateDesc", "Up"), (f"{prefix}CallerIDNum", "+441632960123"),
            (f"{prefix}CallerIDName", "Dana Whitfield"), (f"{prefix}ConnectedLineNum", "<unknown>"),
            (f"{prefix}ConnectedLineName", "<unknown>"), (f"{prefix}Language", "en"),
            (f"{prefix}AccountCode", ""), (f"{prefix}Context", "from-trunk"),
            (f"{prefix}Exten", "s"), (f"{prefix}Priority", 3), (f"{prefix}Uniqueid", uid),
            (f"{prefix}Linkedid", uid)]


def member_fields(queue: str, i: int, status: int) -> list[tuple[str, Any]]:
    return [("Queue", queue), ("MemberName", f"Agent {i:05d}"), ("Interface", f"PJSIP/{i}"),
            ("StateInterface", f"PJSIP/{i}"), ("Membership", "dynamic"), ("Penalty", 0),
            ("CallsTaken", 12), ("LastCall", 0), ("LastPause", 0), ("LoginTime", 1796600000),
            ("InCall", 0), ("Status", status), ("Paused", 0), ("PausedReason", ""),
            ("Ringinuse", 0), ("Wrapuptime", 0)]


class Centre:
    """What the PBX holds, to write its dump and a plausible stream of events."""

    def __init__(self, queues: int, members: int, waiting: int, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.queues = [f"q{n:04d}" for n in range(queues)]
        # member i serves queues i % Q and (i * 7 + 3) % Q
        self.serves = {i: sorted({self.queues[i % queues], self.queues[(i * 7 + 3) % queues]})
                       for i in range(members)}
        self.idle = set(range(members))
        self.talking: dict[int, tuple[str, str]] = {}  # member -> (uid, queue)
        self.waiting: dict[str, str] = {}  # uid -> queue
        self.next_uid = 0
        for _ in range(waiting):
            self.waiting[self.uid()] = self.rng.choice(self.queues)

    def uid(self) -> str:
        self.next_uid += 1
        return f"1796600000.{self.next_uid}"

    def dump(self) -> bytes:
        aid = "sup-1"
        out = [block(("Response", "Success"), ("ActionID", aid), ("EventList", "start"),
                     ("Message", "Queue status will follow"))]
        by_queue: dict[str, list[int]] = {q: [] for q in self.queues}
        for i, queues in self.serves.items():
            for q in queues:
                by_queue[q].append(i)
        waiting: dict[str, list[str]] = {q: [] for q in self.queues}
        for uid, q in self.waiting.items():
            waiting[q].append(uid)
        for q in self.queues:
            out.append(block(("Event", "QueueParams"), ("Queue", q), ("Max", 0),
                             ("Strategy", "rrmemory"), ("Calls", len(waiting[q])),
                             ("Holdtime", 14), ("TalkTime", 182), ("Completed", 311),
                             ("Abandoned", 17), ("ServiceLevel", 20), ("ServicelevelPerf", "87.1"),
                             ("ServicelevelPerf2", "82.6"), ("Weight", 0), ("ActionID", aid)))
            for i in by_queue[q]:
                out.append(block(("Event", "QueueMember"), ("Queue", q),
                                 ("Name", f"Agent {i:05d}"), ("Location", f"PJSIP/{i}"),
                                 ("StateInterface", f"PJSIP/{i}"), ("Membership", "dynamic"),
                                 ("Penalty", 0), ("CallsTaken", 12), ("LastCall", 0),
                                 ("LastPause", 0), ("LoginTime", 1796600000), ("InCall", 0),
                                 ("Status", 1), ("Paused", 0), ("PausedReason", ""),
                                 ("Wrapuptime", 0), ("ActionID", aid)))
            for pos, uid in enumerate(waiting[q], 1):
                out.append(block(("Event", "QueueEntry"), ("Queue", q), ("Position", pos),
                                 ("Channel", f"PJSIP/trunk-{uid}"), ("Uniqueid", uid),
                                 ("CallerIDNum", "+441632960123"),
                                 ("CallerIDName", "Dana Whitfield"),
                                 ("ConnectedLineNum", "unknown"),
                                 ("ConnectedLineName", "unknown"), ("Wait", 12),
                                 ("Priority", 0), ("ActionID", aid)))
        out.append(block(("Event", "QueueStatusComplete"), ("ActionID", aid),
                         ("EventList", "Complete"), ("ListItems", len(out) - 1)))
        return b"".join(out)

    def events(self, n: int) -> bytes:
        """About ``n`` live events: calls joining, answered, ending, a few abandoning."""
        out: list[bytes] = []
        rng = self.rng

        def ev(name: str, *pairs: tuple[str, Any]) -> None:
            out.append(block(("Event", name), ("Privilege", "agent,all"), *pairs))

        def status(i: int, value: int) -> None:
            for q in self.serves[i]:
                ev("QueueMemberStatus", *member_fields(q, i, value))

        while len(out) < n:
            roll = rng.random()
            if roll < 0.3 or not self.waiting:
                uid, q = self.uid(), rng.choice(self.queues)
                self.waiting[uid] = q
                ev("QueueCallerJoin", *chan(uid), ("Queue", q), ("Position", 1), ("Count", 1))
            elif roll < 0.6 and self.idle:
                uid, q = next(iter(self.waiting.items()))
                del self.waiting[uid]
                i = self.idle.pop()
                self.talking[i] = (uid, q)
                ev("QueueCallerLeave", *chan(uid), ("Queue", q), ("Count", 0), ("Position", 1))
                ev("AgentConnect", *chan(uid), *chan(f"{uid}9", "Dest"), ("Queue", q),
                   ("MemberName", f"Agent {i:05d}"), ("Interface", f"PJSIP/{i}"),
                   ("RingTime", 2), ("HoldTime", rng.randint(0, 90)))
                status(i, 2)
            elif roll < 0.9 and self.talking:
                i, (uid, q) = next(iter(self.talking.items()))
                del self.talking[i]
                self.idle.add(i)
                ev("AgentComplete", *chan(uid), *chan(f"{uid}9", "Dest"), ("Queue", q),
                   ("MemberName", f"Agent {i:05d}"), ("Interface", f"PJSIP/{i}"),
                   ("HoldTime", 20), ("TalkTime", rng.randint(30, 900)), ("Reason", "caller"))
                status(i, 1)
            else:
                uid, q = next(iter(self.waiting.items()))
                del self.waiting[uid]
                ev("QueueCallerAbandon", *chan(uid), ("Queue", q), ("Position", 1),
                   ("OriginalPosition", 1), ("HoldTime", rng.randint(0, 120)))
                ev("QueueCallerLeave", *chan(uid), ("Queue", q), ("Count", 0), ("Position", 1))
        return b"".join(out)


def frames(data: bytes) -> list[bytes]:
    """The messages as the reader hands them over (``readuntil`` on the blank line)."""
    return [f for f in data.split(END) if f]


def ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"median_ms": round(statistics.median(ordered) * 1000, 1),
            "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 1),
            "max_ms": round(ordered[-1] * 1000, 1)}


def run(queues: int, members: int, waiting: int, polls: int, burst: int) -> list[dict[str, Any]]:
    centre = Centre(queues, members, waiting)
    settings = AsteriskSettings(type="asterisk", host="127.0.0.1", username="sup",
                                secret_env="AMI_SECRET")
    now = START
    state = AmiState("pbx", POLICY, settings, now)
    dump = centre.dump()
    gc.collect()
    started = time.perf_counter()
    messages = [parse(f)[0] for f in frames(dump)]
    parsed = time.perf_counter()
    state.begin_resync()
    for message in messages[1:-1]:
        state.apply(message, now)
    state.finish_resync(now)
    applied = time.perf_counter()
    snap = state.snapshot(now)
    built = time.perf_counter()
    resync = {
        "case": f"resync: QueueStatus of {len(snap.queues)} queues, {members} members "
                f"({sum(len(q) for q in centre.serves.values())} memberships), "
                f"{len(snap.contacts)} waiting",
        "dump size": f"{len(dump) / 1e6:.1f} MB, {len(messages)} messages",
        "parse": f"{(parsed - started) * 1000:.0f} ms",
        "apply + sweep": f"{(applied - parsed) * 1000:.0f} ms",
        "first snapshot (every object built)": f"{(built - applied) * 1000:.0f} ms",
    }
    parse_s: list[float] = []
    apply_s: list[float] = []
    snap_s: list[float] = []
    merge_s: list[float] = []
    counted = 0
    for _ in range(polls):
        data = centre.events(burst)
        now += timedelta(seconds=2)
        started = time.perf_counter()
        messages = [parse(f)[0] for f in frames(data)]
        parsed = time.perf_counter()
        for message in messages:
            state.apply(message, now)
        applied = time.perf_counter()
        snap = state.snapshot(now)
        built = time.perf_counter()
        merge([snap], {})
        merged = time.perf_counter()
        parse_s.append(parsed - started)
        apply_s.append(applied - parsed)
        snap_s.append(built - applied)
        merge_s.append(merged - built)
        counted = len(messages)
    offered = sum(s.offered for s in snap.interval_stats.values())
    per_poll = {
        "case": f"per poll: {counted} live events every 2 s, {polls} polls "
                f"({len(snap.agents)} agents, {len(snap.contacts)} contacts, "
                f"{offered} offered this interval)",
        "parse": ms(parse_s),
        "apply": ms(apply_s),
        "snapshot()": ms(snap_s),
        "merge": ms(merge_s),
        "parse+apply+snapshot+merge": ms([a + b + c + d for a, b, c, d in
                                          zip(parse_s, apply_s, snap_s, merge_s, strict=True)]),
    }
    return [resync, per_poll]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polls", type=int, default=30)
    parser.add_argument("--queues", type=int, default=1000)
    parser.add_argument("--members", type=int, default=10000)
    parser.add_argument("--waiting", type=int, default=2000)
    parser.add_argument("--events", type=int, default=1000, help="live events per poll")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = run(args.queues, args.members, args.waiting, args.polls, args.events)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    for result in results:
        result["started"] = started
    report(results, args.json, width=38)


if __name__ == "__main__":
    main()
