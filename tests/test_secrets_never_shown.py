"""Secrets never stored or shown (issue #11 item 2).

Real loopback receivers that echo the request's credentials back in their error body
(plain, base64 and URL-encoded): a webhook (bearer), Statuspage (OAuth key) and Twilio
(Basic auth) for crisis deliveries, and a protocol-v1 server's error envelope and action
errors for the http source. The secret must not reach the store (the database files are
searched byte for byte), the audit log, ``crisis status``, the incident export, a source
error on screen or an action result.
"""

from __future__ import annotations

import base64
import json
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from supervisor_tui.cli.crisis import EXIT_OK, main
from supervisor_tui.domain.text import redactor
from supervisor_tui.protocol.server import serve_in_thread
from supervisor_tui.sources.base import SourceError
from supervisor_tui.sources.http import HttpSettings, HttpSource
from tests.crisis_helpers import SID, Receiver, Recorded
from tests.helpers import POLICY

HOOK = "hook-secret-Zq8x1/+ABCDEFGHIJ"
SP_KEY = "sp-key-9f8e7d6c5b4a39281706"
TW_TOKEN = "tw-token-7ac1d2e3f4a5b6c7d8e9"
BEARER = "http-bearer-Q1w2E3r4T5y6U7i8O9p0"


def forms(secret: str) -> list[str]:
    """What must never show: the secret and the ways a receiver may encode it."""
    return [secret, base64.b64encode(secret.encode()).decode(),
            urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret)]


def echo(header: str) -> str:
    """An error text quoting an Authorization header as careless receivers do."""
    value = header.split(" ", 1)[-1]
    return (f"refused {header} (b64 {base64.b64encode(value.encode()).decode()}, "
            f"url {urllib.parse.quote(value, safe='')})")


def assert_clean(text: str, *secrets: str) -> None:
    for secret in secrets:
        for form in forms(secret):
            assert form not in text, f"{form!r} leaked"
        # nor a long piece of one (a cut-off echo)
        for form in forms(secret):
            assert form[:12] not in text, f"start of {form!r} leaked"


class EchoingReceiver(Receiver):
    """Answers every request 400 (Statuspage and Twilio: 401) quoting its credentials."""

    def _default(self, req: Recorded) -> tuple[int, dict[str, str], bytes]:
        auth = req.headers.get("authorization", "")
        status = 400 if req.path.startswith("/hook") else 422
        return status, {}, json.dumps({"message": echo(auth), "code": 21211}).encode()


CONFIG = """
[roles]
default = "supervisor"
users = {{ alice = "admin" }}

[crisis.delivery]
max_attempts = 1
backoff_base_s = 0.05
backoff_max_s = 0.1
send_wait_s = 5

[crisis.channels.hook]
type = "webhook"
url = "{url}/hook"
auth = "bearer"
secret_env = "HOOK_SECRET"
timeout_s = 2

[crisis.channels.status]
type = "statuspage"
page_id = "pg1"
api_key_env = "SP_KEY"
base_url = "{url}"
timeout_s = 2

[crisis.channels.customers]
type = "sms"
account_sid = "{sid}"
auth_token_env = "TWILIO_TOKEN"
from_number = "+15005550006"
to = ["+447700900001"]
base_url = "{url}"
timeout_s = 2

[crisis.templates.outage]
kind = "initial"
channels = ["hook", "status", "customers"]
text = "${{impact}} on ${{queues}}."
"""


@pytest.fixture
def receiver() -> Iterator[EchoingReceiver]:
    r = EchoingReceiver()
    yield r
    r.close()


def test_receivers_echoing_credentials_never_get_them_stored_or_shown(
        receiver: EchoingReceiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from supervisor_tui import identity

    monkeypatch.setattr(identity, "os_account", lambda uid=None: ("alice", 1000))
    for var, value in (("HOOK_SECRET", HOOK), ("SP_KEY", SP_KEY), ("TWILIO_TOKEN", TW_TOKEN)):
        monkeypatch.setenv(var, value)
    cfg = tmp_path / "config.toml"
    cfg.write_text(CONFIG.format(url=receiver.url, sid=SID))
    db = tmp_path / "s.db"

    def cli(*args: str) -> tuple[int, str]:
        code = main(["--config", str(cfg), "--db", str(db), *args])
        out, err = capsys.readouterr()
        return code, out + err

    assert cli("incident", "declare", "--title", "Payments down", "--severity", "critical",
               "--queue", "sales", "--impact", "long waits")[0] == EXIT_OK
    _, sent = cli("crisis", "send", "--template", "outage", "--yes")
    # The receivers did get the credentials, and did echo them...
    auths = {r.path.split("/")[1]: r.headers.get("authorization", "")
             for r in receiver.requests}
    assert HOOK in auths["hook"] and SP_KEY in auths["v1"]
    assert any(base64.b64encode(f"{SID}:{TW_TOKEN}".encode()).decode() in a
               for a in auths.values())
    # ...which shows as failures with the receivers' reasons, minus the secrets.
    assert "HTTP 400: refused Bearer ***" in sent and "failed" in sent
    _, status = cli("crisis", "status", "--all")
    _, status_json = cli("crisis", "status", "--all", "--json")
    _, export = cli("incident", "export", "1")
    assert "refused" in status and "refused" in export
    from supervisor_tui.store import Store
    from supervisor_tui.store.audit import AuditLog

    store = Store.open(db)
    audit = json.dumps(AuditLog(store.db).records())
    store.close()
    basic = base64.b64encode(f"{SID}:{TW_TOKEN}".encode()).decode()
    for text in (sent, status, status_json, export, audit):
        assert_clean(text, HOOK, SP_KEY, TW_TOKEN, basic)
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("s.db"))
    for secret in (HOOK, SP_KEY, TW_TOKEN, basic):
        for form in forms(secret):
            assert form.encode() not in stored, f"{form!r} stored"


# -- the http source ---------------------------------------------------------------------

def quoting_server() -> Starlette:
    """A protocol-v1 server whose every answer is an error envelope quoting our token."""
    async def snapshot(request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        return JSONResponse({"error": {"code": "bad_token", "message": echo(auth)}})

    async def act(request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        return JSONResponse({"error": {"code": "refused", "message": echo(auth)}},
                            status_code=409)

    async def page(request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        return Response(f"proxy: {echo(auth)}", status_code=502, media_type="text/plain")

    return Starlette(routes=[Route("/v1/snapshot", snapshot),
                             Route("/v1/broadcast", act, methods=["POST"]),
                             Route("/proxy/v1/snapshot", page)])


@pytest.fixture(scope="module")
def quoting() -> Iterator[str]:
    with serve_in_thread(quoting_server()) as base:
        yield base


async def test_http_source_never_shows_its_token(quoting: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUOTED_TOKEN", BEARER)
    for url in (quoting, f"{quoting}/proxy"):
        source = HttpSource("remote", POLICY, HttpSettings(url=url, token_env="QUOTED_TOKEN"))
        try:
            with pytest.raises(SourceError) as caught:
                await source.snapshot()
            assert "refused ***" in str(caught.value)
            assert_clean(str(caught.value), BEARER)
            result = await source.broadcast("hello")
        finally:
            await source.close()
        assert not result.ok
        assert_clean(result.message + result.code, BEARER)
        if url == quoting:  # the action's own error envelope, quoting the token
            assert result.code == "refused" and "refused ***" in result.message


@pytest.mark.parametrize("secret", [HOOK, SP_KEY, "a/b+c=d&e?f g"])
def test_redactor_catches_every_form_and_cut_off_starts(secret: str) -> None:
    redact = redactor([secret])
    for form in forms(secret):
        assert redact(f"x {form} y") == "x *** y"
    cut: Callable[[str], str] = lambda text: text[:30] + "…"  # noqa: E731
    text = cut(f"token is {secret}{secret}")
    assert secret[:8] not in redact(text)
    assert redactor(["short"])("short") == "short"  # too short to scrub safely


async def test_poller_and_actions_scrub_what_any_source_reports() -> None:
    """Platform sources build some errors from parsed bodies, outside their WebClient:
    the poller (health, notes) and the actions (result, audit) scrub them anyway."""
    from supervisor_tui.actions import Actions
    from supervisor_tui.config import Role
    from supervisor_tui.domain.model import ActionResult
    from supervisor_tui.poller import Poller
    from supervisor_tui.sources.base import Capability
    from tests.helpers import ScriptedSource, centre

    secret = "leaky-platform-secret-42"
    records: list[dict[str, object]] = []

    class Leaky(ScriptedSource):
        capabilities = frozenset({Capability.SNAPSHOT, Capability.REASSIGN_CONTACT})
        notes = (f"dropped 1 record: token {secret} refused",)
        redact = staticmethod(redactor([secret]))

        async def move_contact(self, contact_id: str, queue_id: str) -> ActionResult:
            return ActionResult(ok=False, code="refused", message=f"bad auth {secret}")

    class Sink:
        def append(self, **record: object) -> None:
            records.append(record)

    leaky = Leaky([centre()])
    poller = Poller([leaky], interval_s=0.1)
    good = await poller.poll_once()
    assert_clean(" ".join(good.health["pbx"].notes), secret)
    leaky.fail_with = f"HTTP 400: echo {base64.b64encode(secret.encode()).decode()}"
    bad = await poller.poll_once()
    assert "echo ***" in (bad.health["pbx"].last_error or "")
    assert_clean(bad.health["pbx"].last_error or "", secret)
    actions = Actions([leaky], Sink(), "ann", Role.ADMIN)  # type: ignore[arg-type]
    contact = centre().contacts[0]
    result = await actions.reassign_contact(contact, "support")
    assert result.message == "bad auth ***"
    assert_clean(json.dumps(records, default=str), secret)
    await poller.close()
