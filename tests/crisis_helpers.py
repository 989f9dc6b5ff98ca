"""Real loopback receivers for the crisis tests: an HTTP server with webhook, Slack,
Teams, Statuspage- and Twilio-shaped endpoints, and an aiosmtpd SMTP server.

The HTTP receiver records every request (before answering, so a test can kill the
sender mid-request and still see what arrived), and can be scripted to answer the
next N requests with a status, or to hang.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from supervisor_tui.crisis.config import CrisisConfig

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
SID = "AC" + "0123456789abcdef" * 2
KEY_HEADERS = ("idempotency-key", "i-twilio-idempotency-token")


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}

    @property
    def key(self) -> str | None:
        for name in KEY_HEADERS:
            if name in self.headers:
                return self.headers[name]
        return None


@dataclass
class Plan:
    """Answer the next ``count`` matching requests this way."""

    count: int
    status: int = 500
    body: bytes = b'{"message": "scripted failure"}'
    headers: dict[str, str] = field(default_factory=dict)
    hang_s: float = 0.0  # hold the request this long (or until release) first
    path: str | None = None  # only requests whose path starts with this
    body_has: bytes | None = None  # only requests whose body contains this


class Receiver:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.plans: list[Plan] = []
        self.lock = threading.Lock()
        self.release = threading.Event()
        self.statuspage: dict[str, dict[str, Any]] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, headers, payload = receiver._answer(Recorded(
                    self.command, self.path,
                    {k.lower(): v for k, v in self.headers.items()}, body))
                try:
                    self.send_response(status)
                    for name, value in {"Content-Type": "application/json", **headers}.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            do_GET = do_POST = do_PATCH = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def plan(self, count: int, status: int = 500, **kw: Any) -> None:
        with self.lock:
            self.plans.append(Plan(count, status, **kw))

    def _answer(self, req: Recorded) -> tuple[int, dict[str, str], bytes]:
        with self.lock:
            self.requests.append(req)
            plan = next((p for p in self.plans if p.count > 0
                         and (p.path is None or req.path.startswith(p.path))
                         and (p.body_has is None or p.body_has in req.body)), None)
            if plan is not None:
                plan.count -= 1
        if plan is not None:
            if plan.hang_s:
                self.release.wait(plan.hang_s)
            return plan.status, plan.headers, plan.body
        return self._default(req)

    def _default(self, req: Recorded) -> tuple[int, dict[str, str], bytes]:
        if re.fullmatch(r"/v1/pages/[^/]+/incidents", req.path) and req.method == "POST":
            incident = req.json()["incident"]
            new_id = f"sp{len(self.statuspage) + 1}"
            with self.lock:
                self.statuspage[new_id] = {**incident, "id": new_id, "updates": 1}
            return 201, {}, json.dumps({"id": new_id, "name": incident["name"]}).encode()
        if re.fullmatch(r"/v1/pages/[^/]+/incidents/unresolved", req.path):
            found = [v for v in self.statuspage.values() if v["status"] != "resolved"]
            return 200, {}, json.dumps(found).encode()
        match = re.fullmatch(r"/v1/pages/[^/]+/incidents/([^/]+)", req.path)
        if match and req.method == "PATCH":
            known = self.statuspage.get(match.group(1))
            if known is None:
                return 404, {}, b'{"error": "not found"}'
            with self.lock:
                known.update(req.json()["incident"])
                known["updates"] += 1
            return 200, {}, json.dumps(known).encode()
        if req.path.endswith("/Messages.json"):
            return 201, {}, json.dumps({"sid": "SM" + uuid.uuid4().hex, "status": "queued"}
                                       ).encode()
        return 200, {"Content-Type": "text/plain"}, b"ok"

    def to(self, prefix: str) -> list[Recorded]:
        with self.lock:
            return [r for r in self.requests if r.path.startswith(prefix)]

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


# -- SMTP ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MailSink:
    """aiosmtpd handler: keeps messages; can refuse recipients with a given reply."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.refuse_rcpt: str | None = None  # e.g. "550 5.1.1 no such user"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if self.refuse_rcpt:
            return self.refuse_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted"


@contextmanager
def smtp_server(*, tls_context: Any = None, users: dict[str, str] | None = None
                ) -> Iterator[tuple[MailSink, int]]:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    sink = MailSink()

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str,
                      data: Any) -> AuthResult:
        ok = (isinstance(data, LoginPassword) and users is not None
              and users.get(data.login.decode()) == data.password.decode())
        # handled=False: aiosmtpd then answers 535 itself (its default is to stay silent)
        return AuthResult(success=ok, handled=False)

    kwargs: dict[str, Any] = {}
    if users is not None:
        kwargs.update(authenticator=authenticator, auth_require_tls=tls_context is not None)
    if tls_context is not None:
        kwargs.update(tls_context=tls_context, require_starttls=True)
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


def self_signed_cert(tmp: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 made with the openssl command."""
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


# -- config and clocks ---------------------------------------------------------------------


def crisis_config(url: str, **extra: Any) -> CrisisConfig:
    """Every channel type pointed at the loopback receiver; one template using them."""
    data: dict[str, Any] = {
        "delivery": {"max_attempts": 4, "backoff_base_s": 2, "backoff_max_s": 60,
                     "send_wait_s": 600},
        "variables": {"status_url": "https://status.example.com"},
        "channels": {
            "hook": {"type": "webhook", "url": f"{url}/hook", "auth": "hmac",
                     "secret_env": "HOOK_SECRET", "headers": {"X-Team": "ops"},
                     "timeout_s": 2},
            "ops_slack": {"type": "slack", "url": f"{url}/slack", "timeout_s": 2},
            "ops_teams": {"type": "teams", "url": f"{url}/teams", "timeout_s": 2},
            "status": {"type": "statuspage", "page_id": "pg1", "api_key_env": "SP_KEY",
                       "base_url": url, "component_ids": ["c1"], "timeout_s": 2},
            "customers_sms": {"type": "sms", "account_sid": SID,
                              "auth_token_env": "TWILIO_TOKEN", "from_number": "+15005550006",
                              "to": ["+447700900001", "+447700900002"], "base_url": url,
                              "timeout_s": 2},
            "floor": {"type": "agents"},
        },
        "templates": {
            "outage": {
                "kind": "initial",
                "channels": ["hook", "ops_slack", "ops_teams", "status", "customers_sms",
                             "floor"],
                "text": "We are seeing ${impact} on ${queues}. Next update by ${eta}. "
                        "Status: ${status_url}",
                "overrides": {"sms": {"text": "${title}: ${impact}. Update by ${eta}."},
                              "floor": {"text": "OUTAGE ${title}: tell callers ${impact}"}},
            },
            "update": {"kind": "update", "channels": ["status", "hook"],
                       "text": "Update: ${impact}. Next update by ${eta}."},
            "all_clear": {"kind": "resolved", "channels": ["status", "hook"],
                          "subject": "Resolved: ${title}",
                          "text": "All clear: ${title} is fixed."},
        },
    }
    for key, value in extra.items():
        data[key] = {**data.get(key, {}), **value}
    return CrisisConfig.model_validate(data)


ENV = {"HOOK_SECRET": "s3cret", "SP_KEY": "sp-key", "TWILIO_TOKEN": "tw-token"}


class FakeClock:
    """A clock that the injected sleep moves forward: retries take no real time."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)
