"""Duplicate copies at a slow receiver when the delivering process is killed with -9.

Used by tests/test_crisis_duplicates.py (small, asserted) and
benchmarks/bench_crisis_duplicates.py (250 deliveries, printed). Everything is real:
a loopback HTTP receiver playing Twilio, Slack, Teams and three webhooks, an aiosmtpd
server for email, both slow to answer (some answers slower than the channel's
``timeout_s``), and ``supervisor-tui crisis deliver`` in a subprocess that is killed
with SIGKILL mid-run and started again until every delivery has settled.

The receivers count copies per (channel, idempotency key) when a request ARRIVES, as
a real SMS or mail provider would act on it even if its answer never reaches us.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SID = "AC" + "0123456789abcdef" * 2
#: receivers that keep every copy (no server-side idempotency)
NON_IDEMPOTENT = ("sms", "email", "slack", "teams")


@dataclass
class Slowness:
    """Answer after ``fast_s`` (a range), or ``slow_s`` for a share ``slow_p`` of requests."""

    fast_s: tuple[float, float] = (0.05, 0.4)
    slow_p: float = 0.1
    slow_s: float = 2.5
    rng: random.Random = field(default_factory=lambda: random.Random(11))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def pick(self) -> float:
        with self.lock:
            if self.rng.random() < self.slow_p:
                return self.slow_s
            return self.rng.uniform(*self.fast_s)


class Copies:
    """Copies received per (channel, key)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count: Counter[tuple[str, str]] = Counter()

    def add(self, channel: str, key: str) -> None:
        with self.lock:
            self.count[(channel, key)] += 1


class SlowHttp:
    def __init__(self, copies: Copies, slowness: Slowness) -> None:

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def handle(self) -> None:
                with contextlib.suppress(OSError):  # a sender killed with -9 mid-request
                    super().handle()

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                key = (self.headers.get("Idempotency-Key")
                       or self.headers.get("I-Twilio-Idempotency-Token") or "?")
                channel = "sms" if self.path.endswith("/Messages.json") else \
                    self.path.strip("/").split("/")[0]
                copies.add(channel, key)  # it arrived: the provider acts on it
                time.sleep(slowness.pick())
                body = json.dumps({"sid": "SM" + key[-12:], "status": "queued"}).encode()
                try:
                    self.send_response(201 if channel == "sms" else 200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the sender gave up or was killed

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.request_queue_size = 128
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def slow_smtp(copies: Copies, slowness: Slowness) -> Iterator[int]:
    from aiosmtpd.controller import Controller

    class Sink:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            found = re.search(rb"^Message-ID: <([^@>]+)@", envelope.content, re.M | re.I)
            copies.add("email", found.group(1).decode() if found else "?")
            await asyncio.sleep(slowness.pick())
            return "250 Message accepted"

    port = free_port()
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def config_toml(http_url: str, smtp_port: int, recipients: int, extra_delivery: str = "",
                timeout_s: float = 1.0) -> str:
    numbers = [f"+4477009{n:05d}" for n in range(recipients)]
    mails = [f"exec{n}@example.com" for n in range(recipients)]
    hooks = "".join(f"""
[crisis.channels.hook{n}]
type = "webhook"
url = "{http_url}/hook{n}"
timeout_s = {timeout_s}
""" for n in range(3))
    return f"""
[roles]
default = "admin"

[crisis.delivery]
max_attempts = 50
backoff_base_s = 0.5
backoff_max_s = 2
send_wait_s = 120
poll_s = 0.2
{extra_delivery}
[crisis.channels.sms]
type = "sms"
account_sid = "{SID}"
auth_token_env = "BENCH_TWILIO_TOKEN"
from_number = "+15005550006"
to = {json.dumps(numbers)}
base_url = "{http_url}"
timeout_s = {timeout_s}

[crisis.channels.email]
type = "email"
host = "127.0.0.1"
port = {smtp_port}
security = "none"
from_addr = "crisis@example.com"
to = {json.dumps(mails)}
timeout_s = {timeout_s}

[crisis.channels.slack]
type = "slack"
url = "{http_url}/slack"
timeout_s = {timeout_s}

[crisis.channels.teams]
type = "teams"
url = "{http_url}/teams"
timeout_s = {timeout_s}
{hooks}
[crisis.templates.t]
channels = ["sms", "email", "slack", "teams", "hook0", "hook1", "hook2"]
text = "Update ${{incident_id}}: ${{impact}}"
"""


@dataclass
class Result:
    deliveries: int
    kills: int
    seconds: float
    lost: int  # settled (delivered or failed) but never received, or failed
    extra: dict[str, int]  # extra copies per channel type (copies beyond the first)
    unknown_rows: int  # rows ever recorded with an unknown outcome (0 before the fix)
    states: dict[str, int]
    held: int = 0  # at the end: outcome unknown, waiting unknown_outcome_wait_s
    held_received: int = 0  # ... of which the receiver has a copy
    superseded: int = 0  # held, then not re-sent: a later message reached the recipient
    superseded_received: int = 0  # ... of which the receiver has a copy
    behind_held: int = 0  # at the end: queued behind a held row (same recipient)
    other_pending: int = 0  # at the end: pending for any other reason (should be 0)

    @property
    def extra_total(self) -> int:
        return sum(self.extra.values())

    @property
    def extra_non_idempotent(self) -> int:
        return sum(v for k, v in self.extra.items() if k in NON_IDEMPOTENT)


def run(tmp: Path, *, messages: int = 10, recipients: int = 10, kills: int = 3,
        kill_after_s: tuple[float, float] = (1.5, 3.0), slowness: Slowness | None = None,
        extra_delivery: str = "", root: Path = ROOT, deadline_s: float = 120.0,
        seed: int = 5) -> Result:
    """Queue ``messages`` x (2 x recipients + 5) deliveries, deliver them with a
    subprocess killed -9 ``kills`` times, then let a last one finish."""
    slowness = slowness or Slowness()
    copies = Copies()
    http = SlowHttp(copies, slowness)
    rng = random.Random(seed)
    env = {**os.environ, "BENCH_TWILIO_TOKEN": "tw-token", "PYTHONPATH": str(root)}
    started = time.monotonic()
    try:
        with slow_smtp(copies, slowness) as smtp_port:
            cfg = tmp / "config.toml"
            cfg.write_text(config_toml(http.url, smtp_port, recipients, extra_delivery))
            db = tmp / "store.db"
            subprocess.run(
                [sys.executable, "-m", "supervisor_tui.cli.crisis", "--config", str(cfg),
                 "--db", str(db), "incident", "declare", "--title", "bench",
                 "--severity", "critical", "--impact", "slow"],
                cwd=root, env=env, check=True, capture_output=True)
            _queue(root, env, cfg, db, messages)
            command = [sys.executable, "-m", "supervisor_tui.cli.crisis", "--config",
                       str(cfg), "--db", str(db), "crisis", "deliver", "--wait", "600"]
            for _ in range(kills):
                proc = subprocess.Popen(command, cwd=root, env=env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(rng.uniform(*kill_after_s))
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(10)
            # Then deliver until everything settled, or all that is left is held (outcome
            # unknown, not sent again before unknown_outcome_wait_s) or queued behind a
            # held row for the same recipient.
            final = [*command[:-1], "5"]
            while time.monotonic() - started < deadline_s:
                proc = subprocess.run(final, cwd=root, env=env, capture_output=True,
                                      timeout=deadline_s)
                if proc.returncode == 0:  # everything delivered
                    break
                if not _classify(_rows(db), time.time())["other"]:
                    break  # settled, or held
            rows = _rows(db)
    finally:
        http.close()
    received = {(ch if ch not in ("hook0", "hook1", "hook2") else "webhook", key): n
                for (ch, key), n in copies.count.items()}
    extra: Counter[str] = Counter()
    for (kind, _), n in received.items():
        extra[kind] += n - 1
    lost = sum(1 for r in rows if r["state"] in ("delivered", "failed")
               and not received.get((r["channel_type"], r["idem_key"])))
    parts = _classify(rows, time.time())
    superseded = [r for r in rows if r["state"] == "failed"
                  and "later message" in (r["last_error"] or "")]
    return Result(deliveries=len(rows), kills=kills,
                  seconds=round(time.monotonic() - started, 1), lost=lost,
                  extra={k: extra.get(k, 0) for k in (*NON_IDEMPOTENT, "webhook")},
                  unknown_rows=sum(1 for r in rows if r.get("ever_unknown")),
                  states=dict(Counter(r["state"] for r in rows)),
                  held=len(parts["held"]),
                  held_received=sum(1 for r in parts["held"]
                                    if received.get((r["channel_type"], r["idem_key"]))),
                  behind_held=len(parts["behind"]), other_pending=len(parts["other"]),
                  superseded=len(superseded),
                  superseded_received=sum(1 for r in superseded if received.get(
                      (r["channel_type"], r["idem_key"]))))


def _classify(rows: list[dict[str, Any]], now: float) -> dict[str, list[dict[str, Any]]]:
    """Unsettled rows: held (outcome unknown, not due yet), behind a held row of the same
    recipient, or other (something a deliver run should still be doing)."""
    pending = [r for r in rows if r["state"] not in ("delivered", "failed")]
    held = [r for r in pending if r.get("outcome_unknown") and r["next_attempt_at"] > now]
    groups = {(r["incident_id"], r["channel"], r["recipient"]): r["id"] for r in held}
    behind = [r for r in pending if r not in held and r["id"] > groups.get(
        (r["incident_id"], r["channel"], r["recipient"]), 1 << 60)]
    other = [r for r in pending if r not in held and r not in behind]
    return {"held": held, "behind": behind, "other": other}


_QUEUE = """
import sys
from pathlib import Path
from supervisor_tui.store.audit import AuditLog
from supervisor_tui.config import Role
from supervisor_tui.crisis.service import CrisisService
from supervisor_tui.cli.crisis import load_configs
from supervisor_tui.store import Store
_, crisis = load_configs(Path(sys.argv[1]))
store = Store.open(Path(sys.argv[2]))
service = CrisisService(crisis, store.db, user="bench", role=Role.ADMIN,
                        audit=AuditLog(store.db), env={"BENCH_TWILIO_TOKEN": "x"})
for n in range(int(sys.argv[3])):
    service.queue("t", {"impact": f"slow {n}"})
"""


def _queue(root: Path, env: dict[str, str], cfg: Path, db: Path, messages: int) -> None:
    subprocess.run([sys.executable, "-c", _QUEUE, str(cfg), str(db), str(messages)],
                   cwd=root, env=env, check=True, capture_output=True)


def _rows(db: Path) -> list[dict[str, Any]]:
    import sqlite3

    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        rows = [dict(r) for r in conn.execute("SELECT * FROM crisis_outbox")]
        unknown = {r[0] for r in conn.execute(
            "SELECT DISTINCT json_extract(data, '$.row') FROM crisis_timeline "
            "WHERE kind = 'unknown'")}
    finally:
        conn.close()
    for row in rows:
        row["ever_unknown"] = row["id"] in unknown
    return rows
