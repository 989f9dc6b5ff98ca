"""Each channel against a real loopback receiver: payload shape, idempotency key,
credentials, and how each kind of answer is classified."""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import shutil
import ssl
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path
from typing import Any

import httpx
import pytest

from supervisor_tui.config import Role
from supervisor_tui.crisis.channels import Status, classify
from supervisor_tui.crisis.config import CrisisConfig
from supervisor_tui.crisis.service import CrisisService
from supervisor_tui.domain.model import ActionResult
from supervisor_tui.store import Store
from supervisor_tui.store.audit import AuditLog
from tests.crisis_helpers import (
    ENV,
    SID,
    FakeClock,
    Receiver,
    crisis_config,
    self_signed_cert,
    smtp_server,
)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def make_service(config: CrisisConfig, store: Store | None = None, **kw: Any) -> CrisisService:
    store = store or Store.open(None)
    clock = FakeClock()
    return CrisisService(config, store.db, user="alice", role=Role.ADMIN,
                         audit=AuditLog(store.db), env=kw.pop("env", ENV), clock=clock,
                         sleep=clock.sleep, rng=random.Random(7), **kw)


def only(config: CrisisConfig, *channels: str, text: str = "${impact} until ${eta}",
         **template: Any) -> CrisisConfig:
    """``config`` with one template "t" on just these channels."""
    data = config.model_dump(mode="json", exclude_none=True)
    data["templates"] = {"t": {"channels": list(channels), "text": text, **template}}
    return CrisisConfig.model_validate(data)


async def send(service: CrisisService, template: str = "t", **variables: str) -> dict[str, Any]:
    if not service.active_incidents():
        service.declare("Payments <down> & out", "critical", ["sales", "billing"],
                        impact="long waits", eta="11:00")
    report = await service.send(template, variables)
    return {r.target: r for r in report.rows}


# -- HTTP channels --------------------------------------------------------------------------


async def test_webhook_payload_key_and_hmac_signature(receiver: Receiver) -> None:
    service = make_service(only(crisis_config(receiver.url), "hook"))
    rows = await send(service)
    assert rows["hook"].state == "delivered"
    (req,) = receiver.to("/hook")
    doc = req.json()
    assert doc["type"] == "crisis.message" and doc["kind"] == "update"
    assert doc["subject"] == "[critical] Payments <down> & out"
    assert doc["text"] == "long waits until 11:00"
    assert doc["incident"]["id"] == 1 and doc["incident"]["queues"] == ["sales", "billing"]
    assert req.headers["idempotency-key"] == doc["idempotency_key"] == rows["hook"].key
    assert req.headers["x-team"] == "ops"
    stamp = req.headers["x-signature-timestamp"]
    expected = hmac.new(b"s3cret", stamp.encode() + b"." + req.body, hashlib.sha256)
    assert req.headers["x-signature-256"] == f"sha256={expected.hexdigest()}"


async def test_webhook_bearer_and_url_from_env(receiver: Receiver) -> None:
    config = CrisisConfig.model_validate({
        "channels": {"hook": {"type": "webhook", "url_env": "HOOK_URL", "auth": "bearer",
                              "secret_env": "HOOK_TOKEN"}},
        "templates": {"t": {"channels": ["hook"], "text": "${impact}"}}})
    service = make_service(config, env={"HOOK_URL": f"{receiver.url}/env-hook",
                                        "HOOK_TOKEN": "tok"})
    assert (await send(service))["hook"].state == "delivered"
    assert receiver.to("/env-hook")[0].headers["authorization"] == "Bearer tok"


async def test_missing_secret_is_refused_before_queueing(receiver: Receiver) -> None:
    from supervisor_tui.crisis.service import CrisisError

    service = make_service(only(crisis_config(receiver.url), "hook"), env={})
    service.declare("Payments down", "major", [], impact="x", eta="y")
    preview = service.preview("t")
    assert preview.all_problems() == ["hook: environment variable HOOK_SECRET is not set"]
    with pytest.raises(CrisisError, match="HOOK_SECRET is not set"):
        service.queue("t")
    assert service.status() == [] and receiver.requests == []


async def test_slack_payload(receiver: Receiver) -> None:
    service = make_service(only(crisis_config(receiver.url), "ops_slack"))
    rows = await send(service, impact="calls <dropping> & chats slow")
    (req,) = receiver.to("/slack")
    doc = req.json()
    assert doc["blocks"][0] == {"type": "header", "text": {
        "type": "plain_text", "text": "[critical] Payments <down> & out"}}
    assert doc["blocks"][1]["text"] == {
        "type": "mrkdwn", "text": "calls &lt;dropping&gt; &amp; chats slow until 11:00"}
    assert doc["text"].startswith("[critical] Payments &lt;down&gt; &amp; out\n")
    assert req.headers["idempotency-key"] == rows["ops_slack"].key


async def test_teams_adaptive_card(receiver: Receiver) -> None:
    service = make_service(only(crisis_config(receiver.url), "ops_teams"))
    await send(service)
    doc = receiver.to("/teams")[0].json()
    assert doc["type"] == "message"
    (attachment,) = doc["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert [b["text"] for b in card["body"]] == ["[critical] Payments <down> & out",
                                                "long waits until 11:00"]
    assert card["body"][0]["color"] == "Attention"  # critical


async def test_statuspage_creates_then_updates_then_resolves(receiver: Receiver,
                                                            store_at: Path | str) -> None:
    service = make_service(crisis_config(receiver.url), Store.open(store_at))
    service.declare("Payments down", "major", ["sales"], impact="long waits", eta="11:00")
    await service.send("update", {})  # an "update" template as the first message: creates
    await service.send("update", {"eta": "11:30"})
    await service.send("all_clear", {})
    create, patch1, patch2 = receiver.to("/v1/pages/pg1/incidents")
    assert (create.method, patch1.method, patch2.method) == ("POST", "PATCH", "PATCH")
    assert create.headers["authorization"] == "OAuth sp-key"
    doc = create.json()["incident"]
    assert doc["name"] == "[major] Payments down" and doc["status"] == "identified"
    assert doc["impact_override"] == "major" and doc["component_ids"] == ["c1"]
    assert doc["metadata"]["supervisor_tui"]["incident"] == service.incident(1).uid
    assert patch1.path == patch2.path == "/v1/pages/pg1/incidents/sp1"
    assert patch1.json()["incident"]["body"] == "Update: long waits. Next update by 11:30."
    assert patch2.json()["incident"]["status"] == "resolved"
    assert len({r.key for r in (create, patch1, patch2)}) == 3  # one key per message
    assert receiver.statuspage["sp1"]["status"] == "resolved"
    assert not service.incident(1).active  # the resolved template resolved it


async def test_statuspage_lost_create_answer_is_not_created_twice(receiver: Receiver) -> None:
    config = crisis_config(receiver.url)
    config.channels["status"].timeout_s = 0.8
    service = make_service(only(config, "status"))
    service.declare("Payments down", "major", [], impact="long waits", eta="11:00")
    original = receiver._default

    def create_then_hang(req: Any) -> Any:
        answer = original(req)
        if req.method == "POST" and len(receiver.to("/v1/pages/pg1/incidents")) == 1:
            receiver.release.wait(2.0)  # created, but the answer comes too late
        return answer

    receiver._default = create_then_hang  # type: ignore[method-assign]
    first = (await send(service))["status"]
    assert first.state == "delivered" and first.attempts == 2
    assert first.external_id == "sp1"
    methods = [(r.method, r.path.rsplit("/", 1)[1]) for r in receiver.to("/v1/pages")]
    assert methods == [("POST", "incidents"), ("GET", "unresolved")]  # no second POST
    assert list(receiver.statuspage) == ["sp1"]
    await send(service)  # an update goes to the incident it found
    assert receiver.to("/v1/pages")[-1].method == "PATCH"
    assert receiver.to("/v1/pages")[-1].path.endswith("/sp1")


async def test_sms_twilio_form_auth_and_idempotency_token(receiver: Receiver) -> None:
    service = make_service(only(crisis_config(receiver.url), "customers_sms",
                                text="${title}: ${impact}"))
    rows = await send(service)
    reqs = sorted(receiver.to(f"/2010-04-01/Accounts/{SID}/Messages.json"),
                  key=lambda r: r.form()["To"])  # (sent concurrently)
    assert [r.form()["To"] for r in reqs] == ["+447700900001", "+447700900002"]
    form = reqs[0].form()
    assert form["From"] == "+15005550006"
    assert form["Body"] == "Payments <down> & out: long waits"
    assert reqs[0].headers["authorization"] == "Basic " + base64.b64encode(
        f"{SID}:tw-token".encode()).decode()
    keys = [r.headers["i-twilio-idempotency-token"] for r in reqs]
    assert keys == [rows["customers_sms → +447700900001"].key,
                    rows["customers_sms → +447700900002"].key]
    assert len(set(keys)) == 2  # one key per recipient
    assert rows["customers_sms → +447700900001"].external_id.startswith("SM")


async def test_sms_invalid_number_fails_at_once_with_twilios_reason(receiver: Receiver) -> None:
    # The two messages go out concurrently: answer the bad number's, whichever comes first.
    receiver.plan(1, 400, path="/2010-04-01", body_has=b"To=%2B447700900001",
                  body=b'{"code": 21211, "message": "The \'To\' '
                  b'number +447700900001 is not a valid phone number.", "status": 400}')
    service = make_service(only(crisis_config(receiver.url), "customers_sms"))
    rows = await send(service)
    bad = rows["customers_sms → +447700900001"]
    assert bad.state == "failed" and bad.attempts == 1
    assert bad.last_error == ("HTTP 400: The 'To' number +447700900001 is not a valid phone "
                              "number. (code 21211)")
    assert rows["customers_sms → +447700900002"].state == "delivered"


# -- classification -------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "expected"), [
    (200, Status.DELIVERED), (201, Status.DELIVERED), (202, Status.DELIVERED),
    (400, Status.FAIL), (401, Status.FAIL), (403, Status.FAIL), (404, Status.FAIL),
    (410, Status.FAIL), (422, Status.FAIL), (301, Status.FAIL),
    (408, Status.RETRY), (409, Status.RETRY), (420, Status.RETRY), (429, Status.RETRY),
    (500, Status.RETRY), (502, Status.RETRY), (503, Status.RETRY), (504, Status.RETRY),
])
def test_classify(status: int, expected: Status) -> None:
    result = classify(httpx.Response(status, headers={"Retry-After": "7"}, json={}))
    assert result.status is expected
    if expected is Status.RETRY:
        assert result.retry_after == 7.0
    if status in (401, 403):
        assert "check the credentials" in result.reason


# -- email --------------------------------------------------------------------------------


def email_config(port: int, **channel: Any) -> CrisisConfig:
    return CrisisConfig.model_validate({
        "channels": {"execs": {"type": "email", "host": "127.0.0.1", "port": port,
                               "security": "none", "from_addr": "crisis@example.com",
                               "to": ["cto@example.com", "coo@example.com"], "timeout_s": 5,
                               **channel}},
        "templates": {"t": {"channels": ["execs"], "subject": "[${severity}] ${title}",
                            "text": "Impact: ${impact}\nNext update: ${eta}"}}})


async def test_email_one_message_per_address_with_key_as_message_id() -> None:
    with smtp_server() as (sink, port):
        service = make_service(email_config(port))
        rows = await send(service)
    # (sent concurrently, so in either order)
    assert sorted(m[1] for m in sink.messages) == [["coo@example.com"], ["cto@example.com"]]
    msg = next(message_from_bytes(m[2]) for m in sink.messages if m[1] == ["cto@example.com"])
    assert msg["Subject"] == "[critical] Payments <down> & out"
    assert msg["From"] == "crisis@example.com" and msg["To"] == "cto@example.com"
    key = rows["execs → cto@example.com"].key
    assert msg["Message-ID"] == f"<{key}@example.com>"
    assert msg["Auto-Submitted"] == "auto-generated"
    body = msg.get_payload(decode=True).decode().replace("\r\n", "\n")
    assert body == "Impact: long waits\nNext update: 11:00\n"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
async def test_email_starttls_with_auth(tmp_path: Path) -> None:
    cert, key = self_signed_cert(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    with smtp_server(tls_context=context, users={"ops": "pw"}) as (sink, port):
        good = make_service(email_config(port, security="starttls", username="ops",
                                         password_env="SMTP_PW", ca_bundle=str(cert)),
                            env={"SMTP_PW": "pw"})
        assert {r.state for r in (await send(good)).values()} == {"delivered"}
        bad = make_service(email_config(port, security="starttls", username="ops",
                                        password_env="SMTP_PW", ca_bundle=str(cert)),
                           env={"SMTP_PW": "wrong"})
        rows = await send(bad)
        untrusted = make_service(email_config(port, security="starttls"))
        rows_untrusted = await send(untrusted)
    assert len(sink.messages) == 2
    failed = rows["execs → cto@example.com"]
    assert failed.state == "failed" and failed.attempts == 1  # no retry: it cannot succeed
    assert "SMTP authentication refused (535)" in failed.last_error
    assert "TLS certificate not trusted" in rows_untrusted["execs → cto@example.com"].last_error


async def test_email_recipient_refusals_permanent_and_temporary() -> None:
    with smtp_server() as (sink, port):
        sink.refuse_rcpt = "550 5.1.1 no such user"
        service = make_service(email_config(port))
        rows = await send(service)
        assert rows["execs → cto@example.com"].state == "failed"
        assert "recipient refused: 550 5.1.1 no such user" in \
            rows["execs → cto@example.com"].last_error
        sink.refuse_rcpt = "451 4.7.1 greylisted, try later"
        service2 = make_service(email_config(port))
        service2.declare("Again", "minor", [], impact="x", eta="y")
        queued = service2.queue("t")
        await service2.worker.deliver_due()
        (row, _) = service2.deliveries(queued.message_id)
        assert row.state == "retrying" and "451" in row.last_error
        sink.refuse_rcpt = None
        report = await service2.send_queued(queued)
    assert {r.state for r in report.rows} == {"delivered"}


async def test_email_server_down_is_retried() -> None:
    from tests.crisis_helpers import free_port

    service = make_service(email_config(free_port()))
    service.declare("Payments down", "major", [], impact="x", eta="y")
    queued = service.queue("t")
    await service.worker.deliver_due()
    row = service.deliveries(queued.message_id)[0]
    assert row.state == "retrying" and "cannot reach 127.0.0.1" in row.last_error


# -- agents -------------------------------------------------------------------------------


async def test_agents_banner_on_every_console_and_source_broadcast(store_at: Path | str) -> None:
    said: list[str] = []
    keys: list[str] = []

    async def broadcast(message: str, key: str) -> ActionResult:
        said.append(message)
        keys.append(key)
        return ActionResult(ok=True, code="ok", message="shown to 40 agents")

    config = CrisisConfig.model_validate({
        "channels": {"floor": {"type": "agents", "sources": ["pbx", "crm"]}},
        "templates": {"t": {"channels": ["floor"], "text": "OUTAGE ${title}: ${impact}"}}})
    db = store_at
    service = make_service(config, Store.open(db), broadcasters={"pbx": broadcast})
    rows = await send(service)
    assert rows["floor → consoles"].state == "delivered"
    assert rows["floor → source:pbx"].state == "delivered"
    assert said == ["OUTAGE Payments <down> & out: long waits"]
    assert keys == [rows["floor → source:pbx"].key]  # the source can drop a re-send
    # crm is not connected in this process: left queued for a console that is.
    assert rows["floor → source:crm"].state == "queued"
    assert "needs a console connected to source crm" in service.waiting_for_source(
        rows["floor → source:crm"])
    # Another console on the host (its own connection) sees the banner.
    other = make_service(config, Store.open(db))
    (banner,) = other.banners()
    assert banner.incident.title == "Payments <down> & out"
    assert banner.message == "OUTAGE Payments <down> & out: long waits"
    # A console connected to crm delivers the rest.
    crm_said: list[str] = []

    async def crm(message: str, key: str) -> ActionResult:
        crm_said.append(message)
        return ActionResult(ok=True, code="ok", message="sent")

    console = make_service(config, Store.open(db), broadcasters={"crm": crm})
    await console.deliver()
    assert crm_said == said
    assert {r.state for r in console.status(include_settled=True)} == {"delivered"}


async def test_agents_source_that_cannot_broadcast_fails() -> None:
    async def broadcast(message: str, key: str) -> ActionResult:
        return ActionResult(ok=False, code="unsupported", message="source pbx cannot "
                            "broadcast to agents")

    config = CrisisConfig.model_validate({
        "channels": {"floor": {"type": "agents", "sources": ["pbx"]}},
        "templates": {"t": {"channels": ["floor"], "text": "${title}"}}})
    rows = await send(make_service(config, broadcasters={"pbx": broadcast}))
    assert rows["floor → source:pbx"].state == "failed"
    assert rows["floor → source:pbx"].last_error == "pbx: source pbx cannot broadcast to agents"
