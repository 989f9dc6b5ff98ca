"""One sender per channel type. Each delivers one outbox row and says what happened.

A sender never raises for a delivery problem: it returns a ``SendResult`` classified
as delivered, retry (the receiver may accept it later: 5xx, 429, timeouts, dropped
connections; with the receiver's Retry-After) or fail (it never will: bad credentials,
a refused payload, an unknown number). The worker owns retries, timeouts and state.

Every request carries the row's idempotency key, the same on every attempt, so a
receiver that saw an attempt whose answer we lost can drop the repeat.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextlib
import contextvars
import functools
import hashlib
import hmac
import json
import os
import smtplib
import ssl
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from enum import StrEnum
from typing import Any

import httpx

from supervisor_tui.crisis.config import (
    AgentsChannel,
    ChannelBase,
    CrisisConfig,
    EmailChannel,
    SlackChannel,
    SmsChannel,
    StatuspageChannel,
    TeamsChannel,
    WebhookChannel,
)
from supervisor_tui.crisis.db import immediate
from supervisor_tui.crisis.incidents import IncidentStore
from supervisor_tui.domain.model import ActionCode, ActionResult
from supervisor_tui.domain.text import clean, redactor
from supervisor_tui.sources.limits import parse_retry_after

IDEMPOTENCY_HEADER = "Idempotency-Key"
# The key of the delivery this task is sending (for HttpSender.request's trace).
_SENDING: contextvars.ContextVar[Delivery | None] = contextvars.ContextVar("sending",
                                                                          default=None)
TWILIO_IDEMPOTENCY_HEADER = "I-Twilio-Idempotency-Token"
SIGNATURE_HEADER = "X-Signature-256"
SIGNATURE_TS_HEADER = "X-Signature-Timestamp"

#: 4xx answers that a retry may fix: timeout, conflict (a concurrent request with the
#: same key still in progress), Statuspage's old rate-limit code, too early, rate limit
RETRYABLE_4XX = frozenset({408, 409, 420, 425, 429})

# (message, idempotency key): the key makes a re-send after a crash a no-op at the source
Broadcast = Callable[[str, str], Awaitable[ActionResult]]


class Status(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    FAIL = "fail"


@dataclass(frozen=True)
class SendResult:
    status: Status
    reason: str
    retry_after: float | None = None  # seconds, from the receiver
    http_status: int | None = None
    external_id: str | None = None  # the receiver's id (Twilio SID, Statuspage incident)
    # The request went out and no answer came back (a read timeout, a dropped
    # connection): the receiver may have acted on it. Only meaningful with RETRY.
    outcome_unknown: bool = False

    @classmethod
    def delivered(cls, reason: str = "delivered", **kw: Any) -> SendResult:
        return cls(Status.DELIVERED, reason, **kw)

    @classmethod
    def retry(cls, reason: str, **kw: Any) -> SendResult:
        return cls(Status.RETRY, reason, **kw)

    @classmethod
    def fail(cls, reason: str, **kw: Any) -> SendResult:
        return cls(Status.FAIL, reason, **kw)


@dataclass(frozen=True)
class Delivery:
    """One outbox row as a sender sees it."""

    row_id: int
    key: str
    channel: str
    recipient: str
    subject: str
    body: str
    attempt: int  # 1 for the first try
    incident_id: int
    meta: Mapping[str, Any] = field(default_factory=dict)  # kind, severity, incident uid...
    external_ref: str | None = None  # the receiver's id for this incident, once known
    created_at: str = ""
    # Called (on the event loop) just before the request goes on the wire: from then on
    # the receiver may act on it, whatever becomes of the answer. The worker records it,
    # so a console killed before that point has provably sent nothing.
    on_wire: Callable[[], None] | None = field(default=None, compare=False, repr=False)

    def wired(self) -> None:
        if self.on_wire is not None:
            self.on_wire()


class MissingSecret(Exception):
    pass


class Sender:
    """Base class; subclasses implement ``send``.

    Secrets never leave a sender: every ``send`` (wrapped by ``__init_subclass__``)
    scrubs each secret it read (and its base64 / URL-encoded forms) from the result's
    reason, and from the text of anything it raises, so a receiver that echoes the
    Authorization header in its error body cannot get the secret into the outbox, the
    audit log, ``crisis status``, the screen or an incident export.
    """

    def __init__(self, name: str, channel: ChannelBase,
                 env: Mapping[str, str] | None = None) -> None:
        self.name = name
        self.channel = channel
        self._env = env if env is not None else os.environ
        self._secrets: set[str] = set()  # every secret value this sender has read
        self._redact: Callable[[str], str] = str

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        send = cls.__dict__.get("send")
        if send is not None and not getattr(send, "_scrubs", False):
            @functools.wraps(send)
            async def scrubbed(self: Sender, delivery: Delivery) -> SendResult:
                try:
                    result = await send(self, delivery)
                except Exception as err:
                    err.args = tuple(self.redact(str(a)) if isinstance(a, str) else a
                                     for a in err.args)
                    raise
                return self.scrub(result)

            scrubbed._scrubs = True  # type: ignore[attr-defined]
            cls.send = scrubbed  # type: ignore[method-assign]

    def redact(self, text: str) -> str:
        """``text`` without any secret this sender has read."""
        return self._redact(text)

    def scrub(self, result: SendResult) -> SendResult:
        reason, external = self.redact(result.reason), result.external_id
        if external is not None:
            external = self.redact(external)
        if reason == result.reason and external == result.external_id:
            return result
        return replace(result, reason=reason, external_id=external)

    def can_deliver(self, recipient: str) -> bool:
        """False when this process cannot serve the row at all (leave it for another)."""
        return True

    def missing_env(self) -> list[str]:
        """The environment variables this channel needs that are not set here."""
        needed = self.channel.env_vars() if self.channel is not None else []
        return [var for var in needed if not self._env.get(var)]

    async def send(self, delivery: Delivery) -> SendResult:
        raise NotImplementedError

    def maybe_sent(self, key: str) -> bool:
        """Whether the last attempt with ``key`` may have reached the receiver (asked when
        the worker abandoned it at timeout_s). Senders that cannot tell say yes."""
        return True

    async def aclose(self) -> None:
        """Release connections."""

    def secret(self, var: str) -> str:
        value = self._env.get(var)
        if not value:
            raise MissingSecret(f"environment variable {var} is not set")
        self._remember(value)
        return value

    def _remember(self, value: str) -> None:
        if value not in self._secrets:
            self._secrets.add(value)
            self._redact = redactor(self._secrets)


# -- HTTP ------------------------------------------------------------------------------


def _body_hint(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        text = response.text.strip()
        return clean(text, 120) if text and not text.startswith("<") else ""
    if isinstance(data, dict):
        for key in ("message", "error", "detail", "errors"):
            if data.get(key):
                code = f" (code {data['code']})" if data.get("code") else ""
                return clean(data[key], 120) + code
    return clean(json.dumps(data), 120)


def classify(response: httpx.Response) -> SendResult:
    """What an HTTP answer means for a delivery."""
    status = response.status_code
    hint = _body_hint(response)
    reason = f"HTTP {status}" + (f": {hint}" if hint else "")
    if 200 <= status < 300:
        return SendResult.delivered(f"delivered (HTTP {status})", http_status=status)
    if status in RETRYABLE_4XX or status >= 500:
        return SendResult.retry(reason, http_status=status,
                                retry_after=parse_retry_after(response.headers.get("Retry-After")))
    if status in (401, 403):
        reason += " — authentication refused; check the credentials in the environment"
    # Everything else (400, 404, 410, 413, 422, and 3xx: we never follow redirects) would
    # get the same answer again: fail now, with the receiver's reason.
    return SendResult.fail(reason, http_status=status)


class HttpSender(Sender):
    def __init__(self, name: str, channel: ChannelBase, env: Mapping[str, str] | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        super().__init__(name, channel, env)
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        # Keys whose request started going out on the wire (httpcore's trace): before
        # that, a timeout or an error means nothing was sent.
        self._on_wire: set[str] = set()

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            ca = self.channel.ca_bundle
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.channel.timeout_s),
                verify=ssl.create_default_context(cafile=ca) if ca else True,
                transport=self._transport, follow_redirects=False,
                headers={"User-Agent": "supervisor-tui"})
        return self._client

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response | SendResult:
        """The response, or a retry result for a network failure."""
        auth = kwargs.get("auth")
        if isinstance(auth, tuple):  # as the Authorization: Basic header carries it
            self._remember(base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode())
        delivery = _SENDING.get()
        key = delivery.key if delivery is not None else ""

        async def trace(event: str, info: Any) -> None:
            if delivery is not None and event.endswith(".send_request_headers.started"):
                self._on_wire.add(key)
                delivery.wired()

        try:
            return await self.client.request(method, url, extensions={"trace": trace},
                                             **kwargs)
        except httpx.TimeoutException as err:
            # A connect (or pool) timeout sent nothing; any later one may have arrived.
            return SendResult.retry(f"no answer within {self.channel.timeout_s:g} s",
                                    outcome_unknown=self.maybe_sent(key) and not isinstance(
                                        err, (httpx.ConnectTimeout, httpx.PoolTimeout)))
        except httpx.HTTPError as err:
            host = httpx.URL(url).host or url
            return SendResult.retry(f"cannot reach {host}: "
                                    f"{clean(str(err) or type(err).__name__, 100)}",
                                    outcome_unknown=self.maybe_sent(key) and not isinstance(
                                        err, httpx.ConnectError))

    def maybe_sent(self, key: str) -> bool:
        return key in self._on_wire

    async def send(self, delivery: Delivery) -> SendResult:
        self._on_wire.discard(delivery.key)
        token = _SENDING.set(delivery)
        try:
            return await self._send(delivery)
        except MissingSecret as err:  # not configured here: never a reason to fail for good
            return SendResult.retry(f"{err} here")
        finally:
            _SENDING.reset(token)

    async def _send(self, delivery: Delivery) -> SendResult:
        raise NotImplementedError

    async def post_json(self, url: str, payload: Any, headers: Mapping[str, str],
                        method: str = "POST") -> SendResult:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        answer = await self.request(method, url, content=body, headers={
            "Content-Type": "application/json", **headers})
        return answer if isinstance(answer, SendResult) else classify(answer)

    def url(self) -> str:
        channel = self.channel
        return channel.url or self.secret(channel.url_env)  # type: ignore[attr-defined]

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _incident_doc(delivery: Delivery) -> dict[str, Any]:
    meta = delivery.meta
    return {"id": delivery.incident_id, "uid": meta.get("incident_uid"),
            "title": meta.get("incident_title"), "severity": meta.get("severity"),
            "queues": meta.get("queues", [])}


class WebhookSender(HttpSender):
    channel: WebhookChannel

    async def _send(self, d: Delivery) -> SendResult:
        ch = self.channel
        payload = {
            "type": "crisis.message", "idempotency_key": d.key, "kind": d.meta.get("kind"),
            "template": d.meta.get("template"), "incident": _incident_doc(d),
            "subject": d.subject, "text": d.body, "created_at": d.created_at,
        }
        if "page" in d.meta:  # an escalation page (crisis.paging): about no incident
            payload.update({"type": "escalation.page", "incident": None,
                            "page": d.meta["page"]})
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {**ch.headers, "Content-Type": "application/json", IDEMPOTENCY_HEADER: d.key}
        if ch.auth == "bearer":
            headers["Authorization"] = f"Bearer {self.secret(ch.secret_env)}"  # type: ignore[arg-type]
        elif ch.auth == "hmac":
            # Signing the timestamp with the body lets the receiver refuse replays.
            stamp = str(int(datetime.now(UTC).timestamp()))
            mac = hmac.new(self.secret(ch.secret_env).encode(),  # type: ignore[arg-type]
                           stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
            headers[SIGNATURE_TS_HEADER] = stamp
            headers[SIGNATURE_HEADER] = f"sha256={mac}"
        answer = await self.request("POST", self.url(), content=body, headers=headers)
        return answer if isinstance(answer, SendResult) else classify(answer)


def slack_escape(text: str) -> str:
    """Slack mrkdwn needs only these three escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(subject: str, body: str) -> dict[str, Any]:
    return {
        "text": slack_escape(f"{subject}\n{body}" if subject else body),  # notifications
        "blocks": [
            *([{"type": "header", "text": {"type": "plain_text", "text": subject}}]
              if subject else []),
            {"type": "section", "text": {"type": "mrkdwn", "text": slack_escape(body)}},
        ],
    }


class SlackSender(HttpSender):
    channel: SlackChannel

    async def _send(self, d: Delivery) -> SendResult:
        return await self.post_json(self.url(), slack_payload(d.subject, d.body),
                                    {IDEMPOTENCY_HEADER: d.key})


def teams_payload(subject: str, body: str, severity: str | None) -> dict[str, Any]:
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard", "version": "1.4",
        "body": [
            {"type": "TextBlock", "text": subject, "weight": "Bolder", "size": "Medium",
             "wrap": True, **({"color": "Attention"} if severity == "critical" else {})},
            {"type": "TextBlock", "text": body, "wrap": True},
        ],
    }
    return {"type": "message", "attachments": [
        {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None,
         "content": card}]}


class TeamsSender(HttpSender):
    channel: TeamsChannel

    async def _send(self, d: Delivery) -> SendResult:
        payload = teams_payload(d.subject, d.body, d.meta.get("severity"))
        return await self.post_json(self.url(), payload, {IDEMPOTENCY_HEADER: d.key})


class StatuspageSender(HttpSender):
    """Creates the page's incident with the first message, then updates it.

    Statuspage has no idempotency of its own, so the create carries our incident's uid
    in ``metadata``: a retried create (the last attempt's answer was lost) first looks
    for an unresolved incident with that uid and updates it instead of making another.
    """

    channel: StatuspageChannel

    def _base(self) -> str:
        return f"{self.channel.base_url.rstrip('/')}/v1/pages/{self.channel.page_id}/incidents"

    def _headers(self, d: Delivery) -> dict[str, str]:
        return {"Authorization": f"OAuth {self.secret(self.channel.api_key_env)}",
                IDEMPOTENCY_HEADER: d.key}

    def _incident(self, d: Delivery) -> dict[str, Any]:
        ch = self.channel
        doc: dict[str, Any] = {
            "name": d.subject, "status": d.meta.get("statuspage_status", "investigating"),
            "body": d.body, "deliver_notifications": ch.deliver_notifications,
        }
        if d.meta.get("severity"):
            doc["impact_override"] = d.meta["severity"]
        if ch.component_ids:
            doc["component_ids"] = list(ch.component_ids)
        return doc

    async def _send(self, d: Delivery) -> SendResult:
        ref = d.external_ref
        if ref is None and d.attempt > 1:
            found = await self._find_created(d)
            if isinstance(found, SendResult):
                return found
            if found is not None:
                ref, created_key = found
                if created_key == d.key:  # our own earlier attempt got through
                    return SendResult.delivered("delivered (found the incident an earlier "
                                                "attempt created)", external_id=ref)
        if ref is not None:
            result = await self.post_json(f"{self._base()}/{ref}",
                                          {"incident": self._incident(d)},
                                          self._headers(d), method="PATCH")
            return _with_id(result, ref)
        incident = self._incident(d)
        incident["metadata"] = {"supervisor_tui": {"incident": d.meta.get("incident_uid"),
                                                   "key": d.key}}
        answer = await self.request("POST", self._base(), json={"incident": incident},
                                    headers=self._headers(d))
        if isinstance(answer, SendResult):
            return answer
        result = classify(answer)
        if result.status is Status.DELIVERED:
            try:
                created = answer.json()["id"]
            except (ValueError, KeyError, TypeError):
                # Created, but we cannot update it later: say so rather than fail a
                # message the customers have already seen.
                return SendResult.delivered("delivered, but Statuspage returned no incident "
                                            "id (later updates will create a new one)",
                                            http_status=answer.status_code)
            return _with_id(result, str(created))
        return result

    async def _find_created(self, d: Delivery) -> tuple[str, str] | SendResult | None:
        answer = await self.request("GET", f"{self._base()}/unresolved",
                                    headers=self._headers(d))
        if isinstance(answer, SendResult):
            return answer
        result = classify(answer)
        if result.status is not Status.DELIVERED:
            return result
        try:
            incidents = answer.json()
        except ValueError:
            return SendResult.retry("Statuspage sent an unreadable incident list")
        for item in incidents if isinstance(incidents, list) else []:
            mark = ((item.get("metadata") or {}).get("supervisor_tui") or {}) \
                if isinstance(item, dict) else {}
            if mark.get("incident") == d.meta.get("incident_uid") and item.get("id"):
                return str(item["id"]), str(mark.get("key", ""))
        return None


def _with_id(result: SendResult, external_id: str) -> SendResult:
    if result.status is not Status.DELIVERED:
        return result
    return SendResult(result.status, result.reason, result.retry_after, result.http_status,
                      external_id)


class SmsSender(HttpSender):
    """Twilio Messages API: one message per number."""

    channel: SmsChannel

    async def _send(self, d: Delivery) -> SendResult:
        ch = self.channel
        form = {"To": d.recipient, "Body": d.body}
        if ch.messaging_service_sid:
            form["MessagingServiceSid"] = ch.messaging_service_sid
        else:
            form["From"] = ch.from_number  # type: ignore[assignment]
        url = (f"{ch.base_url.rstrip('/')}/2010-04-01/Accounts/{ch.account_sid}"
               "/Messages.json")
        answer = await self.request("POST", url, data=form,
                                    auth=(ch.account_sid, self.secret(ch.auth_token_env)),
                                    headers={TWILIO_IDEMPOTENCY_HEADER: d.key})
        if isinstance(answer, SendResult):
            return answer
        result = classify(answer)
        if result.status is Status.DELIVERED:
            try:
                sid = answer.json().get("sid")
            except (ValueError, AttributeError):
                sid = None
            return _with_id(result, sid) if sid else result
        return result


# -- email -------------------------------------------------------------------------


class EmailSender(Sender):
    """SMTP through stdlib smtplib, in a worker thread (it blocks)."""

    channel: EmailChannel

    def __init__(self, name: str, channel: EmailChannel,
                 env: Mapping[str, str] | None = None) -> None:
        super().__init__(name, channel, env)
        self._in_data: set[str] = set()  # keys whose DATA command has been sent

    async def send(self, delivery: Delivery) -> SendResult:
        try:
            password = (self.secret(self.channel.password_env)
                        if self.channel.password_env else None)
        except MissingSecret as err:  # not configured here: never a reason to fail for good
            return SendResult.retry(f"{err} here")
        self._in_data.discard(delivery.key)
        loop = asyncio.get_running_loop()

        def wired() -> None:
            # From the SMTP thread: have the event loop record it, and wait for that.
            done: concurrent.futures.Future[None] = concurrent.futures.Future()

            def run() -> None:
                try:
                    delivery.wired()
                    done.set_result(None)
                except BaseException as err:
                    done.set_exception(err)

            loop.call_soon_threadsafe(run)
            with contextlib.suppress(Exception):
                done.result(timeout=5)

        return await asyncio.to_thread(self._send_blocking, delivery, password, wired)

    def maybe_sent(self, key: str) -> bool:
        # Before DATA the server cannot have taken the message.
        return key in self._in_data

    def message(self, d: Delivery) -> EmailMessage:
        ch = self.channel
        msg = EmailMessage()
        msg["From"] = ch.from_addr
        msg["To"] = d.recipient
        msg["Subject"] = d.subject
        msg["Date"] = format_datetime(datetime.now(UTC))
        # The key as Message-ID: mail systems and archives drop a repeated Message-ID.
        msg["Message-ID"] = f"<{d.key}@{ch.from_addr.rsplit('@', 1)[1]}>"
        msg["Auto-Submitted"] = "auto-generated"  # no out-of-office replies to a crisis
        msg.set_content(d.body)
        return msg

    def _send_blocking(self, d: Delivery, password: str | None,
                       wired: Callable[[], None] | None = None) -> SendResult:
        ch = self.channel
        context = ssl.create_default_context(cafile=ch.ca_bundle)
        try:
            smtp: smtplib.SMTP
            if ch.security == "ssl":
                smtp = smtplib.SMTP_SSL(ch.host, ch.effective_port, timeout=ch.timeout_s,
                                        context=context)
            else:
                smtp = smtplib.SMTP(ch.host, ch.effective_port, timeout=ch.timeout_s)
            with smtp:
                if ch.security == "starttls":
                    smtp.starttls(context=context)
                if ch.username:
                    smtp.login(ch.username, password or "")
                data = smtp.data

                def marked_data(msg: Any) -> Any:
                    self._in_data.add(d.key)  # from here on the server may take it
                    if wired is not None:
                        wired()
                    return data(msg)

                smtp.data = marked_data  # type: ignore[method-assign]
                refused = smtp.send_message(self.message(d), to_addrs=[d.recipient])
            if refused:  # (only possible with several recipients; kept for safety)
                return SendResult.fail(f"refused: {refused}")
            return SendResult.delivered("delivered (accepted by the SMTP server)")
        except smtplib.SMTPAuthenticationError as err:
            return SendResult.fail(f"SMTP authentication refused ({err.smtp_code}) — check "
                                   "username and password")
        except smtplib.SMTPRecipientsRefused as err:
            code, text = next(iter(err.recipients.values()))
            return _smtp_code(code, f"recipient refused: {code} {_smtp_text(text)}")
        except smtplib.SMTPNotSupportedError as err:
            return SendResult.fail(f"the SMTP server does not support it: {err} (check "
                                   "security / username)")
        except smtplib.SMTPResponseException as err:
            return _smtp_code(err.smtp_code, f"SMTP {err.smtp_code} {_smtp_text(err.smtp_error)}")
        except ssl.SSLCertVerificationError as err:
            return SendResult.fail(f"TLS certificate not trusted: {err.verify_message}")
        except ssl.SSLError as err:
            return SendResult.fail(f"TLS failed ({err.reason}) — check security = "
                                   f"{ch.security!r} and port {ch.effective_port}")
        except (smtplib.SMTPException, OSError) as err:  # disconnects, timeouts, refused
            reason = str(err) or type(err).__name__
            if isinstance(err, TimeoutError):
                reason = f"no answer within {ch.timeout_s:g} s"
            # Refused before a word was said: nothing went out. Anything later (a timeout,
            # a disconnect) may have come after the server took the message.
            unknown = self.maybe_sent(d.key) and not isinstance(
                err, (ConnectionRefusedError, smtplib.SMTPConnectError))
            return SendResult.retry(f"cannot reach {ch.host}:{ch.effective_port}: "
                                    f"{clean(reason, 100)}", outcome_unknown=unknown)


def _smtp_text(text: bytes | str) -> str:
    return clean(text.decode(errors="replace") if isinstance(text, bytes) else text, 120)


def _smtp_code(code: int, reason: str) -> SendResult:
    # 4xx: try again later (greylisting, mailbox busy); 5xx: it will never be accepted.
    return SendResult.retry(reason) if 400 <= code < 500 else SendResult.fail(reason)


# -- agents --------------------------------------------------------------------------


class AgentsSender(Sender):
    """The banner on every console (the store) and broadcasts through sources."""

    channel: AgentsChannel

    def __init__(self, name: str, channel: AgentsChannel, incidents: IncidentStore,
                 broadcasters: Mapping[str, Broadcast],
                 clock: Callable[[], datetime]) -> None:
        super().__init__(name, channel)
        self.incidents = incidents
        self.broadcasters = broadcasters
        self.clock = clock

    def can_deliver(self, recipient: str) -> bool:
        # A source broadcast needs a process connected to that source (a console, or
        # the CLI when it can build it); others leave the row alone.
        return not recipient.startswith("source:") or recipient[7:] in self.broadcasters

    async def send(self, d: Delivery) -> SendResult:
        if d.recipient == "consoles":
            with immediate(self.incidents.db, "post the banner") as conn:
                new = self.incidents.post_banner(conn, d.incident_id, d.key, d.body,
                                                 self.clock())
            return SendResult.delivered("shown on every console" if new
                                        else "already shown on every console")
        source = d.recipient.removeprefix("source:")
        broadcast = self.broadcasters.get(source)
        if broadcast is None:
            return SendResult.retry(f"source {source} is not connected in this process")
        result = await broadcast(d.body, d.key)
        if result.ok:
            return SendResult.delivered(f"broadcast through {source}: {clean(result.message)}")
        reason = f"{source}: {clean(result.message)}"
        if result.code in (ActionCode.UNSUPPORTED, ActionCode.REFUSED, ActionCode.BAD_REQUEST):
            return SendResult.fail(reason)
        return SendResult.retry(reason)


def build_senders(config: CrisisConfig, incidents: IncidentStore, *,
                  broadcasters: Mapping[str, Broadcast] | None = None,
                  env: Mapping[str, str] | None = None,
                  transport: httpx.AsyncBaseTransport | None = None,
                  clock: Callable[[], datetime] | None = None) -> dict[str, Sender]:
    """One sender per configured channel. ``transport`` is for tests only."""
    senders: dict[str, Sender] = {}
    clock = clock or (lambda: datetime.now(UTC))
    http_types: dict[type, type[HttpSender]] = {
        WebhookChannel: WebhookSender, SlackChannel: SlackSender, TeamsChannel: TeamsSender,
        StatuspageChannel: StatuspageSender, SmsChannel: SmsSender}
    for name, channel in config.channels.items():
        if isinstance(channel, AgentsChannel):
            senders[name] = AgentsSender(name, channel, incidents, broadcasters or {}, clock)
        elif isinstance(channel, EmailChannel):
            senders[name] = EmailSender(name, channel, env)
        else:
            senders[name] = http_types[type(channel)](name, channel, env, transport)
    return senders
