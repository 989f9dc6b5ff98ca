"""The ``http`` source itself: snapshots, deltas and actions over protocol v1 (the
package docstring says how).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from itertools import chain
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from supervisor_tui.domain import changes
from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.domain.model import (
    ActionCode,
    ActionResult,
    HealthStatus,
    Snapshot,
    SourceHealth,
)
from supervisor_tui.domain.text import clean
from supervisor_tui.protocol.documents import (
    DELTA_BASE_HEADER,
    DELTA_IM,
    EVENTS_CAPABILITY,
    HEALTH_EVENT,
    HEARTBEAT_MAX_S,
    IDEMPOTENCY_HEADER,
    IM_USED,
    PREFIX,
    SOURCES_CAPABILITY,
    VERSION_EVENT,
    AssignContactRequest,
    BroadcastRequest,
    CallbackRequest,
    Centre,
    DeltaDoc,
    EmergencyRequest,
    ErrorDoc,
    MoveContactRequest,
    ProtocolError,
    SetAgentStateRequest,
    SetSkillsRequest,
    SnapshotDoc,
    SourcesDoc,
    apply_delta,
    centre_snapshot,
    describe,
    keep_equal,
    parse_delta,
    parse_snapshot,
    to_snapshot,
)
from supervisor_tui.protocol.shared_text import TextPool
from supervisor_tui.sources.base import Capability, SourceError
from supervisor_tui.sources.gcpause import paused_gc
from supervisor_tui.sources.heap import release_freed
from supervisor_tui.sources.http.settings import HttpSettings
from supervisor_tui.sources.web import RateLimited, WebClient, WebSource, secret_from_env

#: statuses an action endpoint answers with a JSON body we read ourselves
_ACTION_STATUSES = (200, 400, 404, 409, 413, 422, 501)
#: capabilities this console knows; a newer server may list more, which are ignored
_KNOWN = frozenset(c.value for c in Capability)
#: the longest line kept from an event stream (ours are ~150 bytes): a server sending
#: an endless line is cut off, not buffered
_MAX_EVENT_LINE = 16 * 1024


class HttpSource(WebSource):
    """Polls ``GET /v1/snapshot`` (ETag-aware) and performs actions on the server."""

    def __init__(self, name: str, policy: IntervalPolicy, settings: HttpSettings,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        super().__init__(name, policy)
        self.settings = settings
        # Until the first snapshot says otherwise, promise nothing but reading.
        self.capabilities = frozenset({Capability.SNAPSHOT})
        headers = {"Accept": "application/json"}
        auth: tuple[str, str] | None = None
        token = secret_from_env(settings.token_env, f"source {name}: bearer token")
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if settings.username:
            password = secret_from_env(settings.password_env, f"source {name}: password")
            auth = (settings.username, password or "")
        self._client = WebClient(name, settings.url, auth=auth, headers=headers,
                                 timeout_s=settings.timeout_s, ca_bundle=settings.ca_bundle,
                                 budget=settings.make_budget(), transport=transport,
                                 max_bytes=int(settings.max_snapshot_mib * 2**20))
        self._etag: str | None = None
        self._last: Snapshot | None = None
        self._centre: Centre | None = None  # the records of _last, the base of a delta
        # The last records received, kept through errors: a full snapshot fetched again
        # reuses the objects of those that did not change (protocol.keep_equal).
        self._known: Centre | None = None
        self._texts = TextPool()  # queue ids and skill lists, one object each (memory)
        self._unshared: SnapshotDoc | None = None  # the first read, its texts shared later
        self.server_source: str | None = None  # the server's own name for its centre
        self._features: frozenset[str] = frozenset()  # the server's optional parts
        self._upstream: tuple[SourceHealth, ...] = ()
        self._listener: asyncio.Task[None] | None = None
        #: the event stream: "off" (not offered), "connecting", "live", "retrying"
        self.stream_state = "off"
        self._stream_problem: str | None = None
        #: versions the stream announced (for tests and the benchmark)
        self.events_seen = 0
        #: begin()'s read: the response and its document, decoded as it arrived
        self._early: asyncio.Future[tuple[httpx.Response, SnapshotDoc]] | None = None
        self._early_at = 0.0  # when it was answered (monotonic)

    def poll_cost(self) -> int:
        return 2 if SOURCES_CAPABILITY in self._features else 1

    def upstream(self) -> tuple[SourceHealth, ...]:
        return self._upstream

    #: the longest ``begin`` waits for its request to be on its way
    begin_wait_s = 0.1
    #: an early answer older than this when first asked for is dropped, asked again
    early_max_age_s = 5.0

    async def begin(self) -> None:
        if self._early is not None or self._last is not None:
            return
        sent = asyncio.Event()

        async def trace(name: str, info: Any) -> None:  # (httpcore's trace extension)
            if name.endswith("send_request_body.complete"):
                sent.set()

        async def read() -> tuple[httpx.Response, SnapshotDoc]:
            response = await self._client.request(
                "GET", f"{PREFIX}/snapshot", expect=(200,), extensions={"trace": trace})
            # Decoded as soon as it is in (a worker thread, as every full snapshot):
            # the console's start-up has idle moments, the first poll then has none.
            doc = await asyncio.to_thread(self._decode, response, None)
            # (noted here, not in a done callback: a poll awaiting the finished future
            # runs before the loop gets to its callbacks)
            self._early_at = time.monotonic()
            return response, doc

        early = self._early = asyncio.ensure_future(read())

        def done(f: asyncio.Future[tuple[httpx.Response, SnapshotDoc]]) -> None:
            sent.set()
            if not f.cancelled():
                f.exception()  # (marked seen: a failure is said by the first snapshot)

        early.add_done_callback(done)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(sent.wait(), self.begin_wait_s)

    async def _early_answer(self) -> tuple[httpx.Response, SnapshotDoc] | None:
        """``begin``'s response and document (None: none begun, or answered too long
        ago: asked again). Its failure is this poll's, as any poll's: a dead server is
        said after one timeout, not two, and the next poll asks again."""
        early, self._early = self._early, None
        if early is None:
            return None
        answer = await early
        return answer if time.monotonic() - self._early_at <= self.early_max_age_s else None

    async def snapshot(self) -> Snapshot:
        headers: dict[str, str] = {}
        if self._etag and self._last:
            headers["If-None-Match"] = self._etag
            if self._centre is not None:
                headers["A-IM"] = DELTA_IM
        early = await self._early_answer()
        if early is None:
            response = await self._client.request("GET", f"{PREFIX}/snapshot",
                                                  expect=(200, IM_USED, 304), headers=headers)
        else:
            response = early[0]
        if response.status_code == 304:
            if self._last is None:  # we sent no ETag: a 304 here is the server's bug
                raise SourceError("HTTP 304 without a cached snapshot")
            if self._unshared is not None:  # a centre at rest: no decode to share them
                await asyncio.to_thread(self._share_first)
            await self._after_snapshot()
            return self._last
        try:
            if response.status_code == IM_USED:
                doc: SnapshotDoc | DeltaDoc
                base = self._check_delta(response, headers)
                delta, centre = await asyncio.to_thread(self._decode_delta, response, base)
                snap, doc = centre_snapshot(centre, delta, self._last), delta
                if self._last is not None:  # say which records the delta replaced
                    said = changes.by_ids(
                        self._last, snap,
                        (base.agents, centre.agents, chain(
                            (a.id for a in delta.agents), delta.agents_removed)),
                        (base.contacts, centre.contacts, chain(
                            (c.id for c in delta.contacts), delta.contacts_removed)))
                    if said is not None:
                        changes.attach(snap, said)
            else:
                # Parsing and validating 10,000 agents takes a good fraction of a
                # second: off the event loop, so the screen stays responsive meanwhile.
                doc = early[1] if early is not None else await asyncio.to_thread(
                    self._decode, response, self._known)
                snap = to_snapshot(doc, self.name)
                centre = Centre.of(snap)
                release_freed()  # the parse's temporaries (~100 MiB at 50,000 agents)
        except SourceError:
            # Whatever we hold may no longer be what the server thinks we hold: the
            # next poll starts again from a full snapshot.
            self._etag = self._centre = None
            raise
        self.capabilities = frozenset(
            {Capability.SNAPSHOT} | {Capability(c) for c in doc.capabilities if c in _KNOWN})
        self.server_source = doc.source
        self._last, self._centre = snap, centre
        self._known = centre
        self._etag = response.headers.get("ETag")
        self._features = frozenset(doc.capabilities) & {EVENTS_CAPABILITY, SOURCES_CAPABILITY}
        await self._after_snapshot()
        return snap

    async def _after_snapshot(self) -> None:
        """The optional parts a collector offers: the health of the sources behind it
        (read with every snapshot: without it, data stale upstream would look live
        here) and the event stream (started once)."""
        if SOURCES_CAPABILITY in self._features:
            self._upstream = await self._read_upstream()
        else:
            self._upstream = ()
        if EVENTS_CAPABILITY in self._features and self._listener is None:
            self.pushed = asyncio.Event()
            self._listener = asyncio.create_task(self._listen(), name=f"events:{self.name}")
        notes = []
        if self._listener is not None and self.stream_state != "live":
            notes.append(f"event stream {self.stream_state}"
                         + (f": {self._stream_problem}" if self._stream_problem else "")
                         + " — polling meanwhile")
        self.notes = tuple(notes)

    async def _read_upstream(self) -> tuple[SourceHealth, ...]:
        response = await self._client.request("GET", f"{PREFIX}/sources")
        try:
            doc = SourcesDoc.model_validate_json(response.content)
        except ValidationError as err:
            raise SourceError(self._client.redact(
                f"the server's source health is unreadable: {describe(err)}")) from None
        now = datetime.now(UTC)

        def ago(age: float | None) -> datetime | None:
            return None if age is None else now - timedelta(seconds=age)

        return tuple(SourceHealth(
            name=clean(u.name, 60), status=HealthStatus(u.status),
            last_success=ago(u.age_s),
            last_error=self._client.redact(clean(u.last_error, 200)) if u.last_error else None,
            last_error_at=ago(u.error_age_s), consecutive_failures=u.consecutive_failures,
            notes=tuple(self._client.redact(clean(n, 160)) for n in u.notes[:5]))
            for u in doc.sources)

    # -- the event stream -------------------------------------------------------------

    #: no byte for this long (the server sends one at least every HEARTBEAT_MAX_S): the
    #: stream is dead though the connection is open; it is dropped and opened again
    stall_s: float = 2 * HEARTBEAT_MAX_S
    #: reconnection back-off: first delay and ceiling, seconds (full jitter)
    retry_s: tuple[float, float] = (1.0, 60.0)

    async def _listen(self) -> None:
        """Keep the event stream open; each event wakes the poller (``pushed``). Polling
        goes on whatever happens here: the stream only makes a new version arrive
        sooner, so a stalled or refused stream never leaves old data looking live."""
        failures = 0
        rng = random.Random()
        while True:
            self.stream_state = "connecting" if failures == 0 else "retrying"
            try:
                await self._stream_once()
                self._stream_problem = "the server closed it"
            except asyncio.CancelledError:
                raise
            except SourceError as err:
                self._stream_problem = str(err)
            except Exception as err:  # a broken stream must not end the console
                self._stream_problem = clean(self._client.redact(
                    f"{type(err).__name__}: {err}"), 160)
            failures = 1 if self.stream_state == "live" else failures + 1
            self.stream_state = "retrying"
            first, ceiling = self.retry_s
            await asyncio.sleep(rng.uniform(first / 2, min(ceiling, first * 2 ** failures)))

    async def _stream_once(self) -> None:
        timeout = httpx.Timeout(self.settings.timeout_s, read=self.stall_s)
        try:
            async with self._client.stream("GET", f"{PREFIX}/events", timeout=timeout,
                                           headers={"Accept": "text/event-stream"}
                                           ) as response:
                if response.status_code != 200 or not response.headers.get(
                        "content-type", "").startswith("text/event-stream"):
                    raise SourceError(f"event stream refused: HTTP {response.status_code}")
                self.stream_state = "live"
                self._stream_problem = None
                async for event in _events(response.aiter_bytes()):
                    if event in (VERSION_EVENT, HEALTH_EVENT):
                        self.events_seen += 1
                        if self.pushed is not None:
                            self.pushed.set()
        except httpx.ReadTimeout:
            raise SourceError(f"event stream silent for {self.stall_s:g} s") from None
        except httpx.HTTPError as err:
            raise SourceError(clean(self._client.redact(
                f"event stream lost: {err or type(err).__name__}"), 160)) from None

    async def close(self) -> None:
        if self._early is not None:  # (begun, never asked for)
            self._early.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._early
            self._early = None
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
            self._listener = None
        await super().close()

    def _check_delta(self, response: httpx.Response, sent: dict[str, str]) -> Centre:
        """Our Centre, if the delta in ``response`` is really a delta from it."""
        if self._centre is None or "A-IM" not in sent:
            raise SourceError("HTTP 226 (a delta) though this console asked for none")
        if response.headers.get("IM", "").strip().lower() != DELTA_IM:
            raise SourceError(f"HTTP 226 with an unknown delta format "
                              f"{clean(response.headers.get('IM', 'none'), 40)!r}")
        if response.headers.get(DELTA_BASE_HEADER) != sent["If-None-Match"]:
            raise SourceError("the server sent a delta from another snapshot than this "
                              "console's; a full snapshot is fetched next")
        return self._centre

    def _decode(self, response: httpx.Response,
                known: Centre | None = None) -> SnapshotDoc:  # runs in a worker thread
        """The full snapshot in ``response``, holding ``known``'s own objects for the
        records that did not change."""
        doc = self._validate(response)
        if known is None:
            # The first read's agents and contacts have their texts shared at the next
            # poll (its worker thread), not on the way to the first screen (~50 ms at
            # 50,000 agents); until then they are as pydantic-core's parser left them
            # (most short repeated strings of one document already one object). Its
            # queue ids now: the queues are made from them next.
            self._texts.share(doc.queues, (), ())
            self._unshared = doc
            return doc
        self._share_first()
        self._texts.share(doc.queues, doc.agents, doc.contacts)
        keep_equal(doc, known, self.name)
        return doc

    def _share_first(self) -> None:  # runs in a worker thread
        """Shares the first read's texts (equal strings for equal ones, in place: no
        reader can tell), if not done yet."""
        first, self._unshared = self._unshared, None
        if first is not None:
            self._texts.share((), first.agents, first.contacts)

    def _validate(self, response: httpx.Response) -> SnapshotDoc:
        # The fast path validates the bytes in pydantic-core (3x faster than json.loads
        # then validating dicts); anything it rejects goes through the careful path,
        # which explains the problem in one line (error body, version, first bad field).
        try:
            with paused_gc():
                return SnapshotDoc.model_validate_json(response.content)
        except ValidationError:
            pass
        data = self._client.parse_json(response)
        try:
            return parse_snapshot(data, self.name)
        except ProtocolError as err:  # e.g. the server's error envelope, quoting our token
            raise SourceError(self._client.redact(str(err))) from None

    def _decode_delta(self, response: httpx.Response,
                      base: Centre) -> tuple[DeltaDoc, Centre]:  # runs in a worker thread
        """The delta and ``base`` moved on by it; the same two paths as ``_decode``."""
        try:
            with paused_gc():
                doc = DeltaDoc.model_validate_json(response.content)
        except ValidationError:
            try:
                doc = parse_delta(self._client.parse_json(response), self.name)
            except ProtocolError as err:
                raise SourceError(self._client.redact(str(err))) from None
        self._share_first()
        self._texts.share(doc.queues, doc.agents, doc.contacts)
        try:
            return doc, apply_delta(base, doc, self.name)
        except ProtocolError as err:
            raise SourceError(self._client.redact(str(err))) from None

    # -- actions --------------------------------------------------------------------

    async def move_contact(self, contact_id: str, queue_id: str) -> ActionResult:
        return await self._perform("POST", f"contacts/{quote(contact_id, safe='')}/move",
                               MoveContactRequest, queue_id=queue_id)

    async def assign_contact(self, contact_id: str, agent_id: str) -> ActionResult:
        return await self._perform("POST", f"contacts/{quote(contact_id, safe='')}/assign",
                               AssignContactRequest, agent_id=agent_id)

    async def set_agent_skills(self, agent_id: str, skills: Sequence[str]) -> ActionResult:
        return await self._perform("PUT", f"agents/{quote(agent_id, safe='')}/skills",
                               SetSkillsRequest, skills=list(skills))

    async def set_agent_state(self, agent_id: str, state: str) -> ActionResult:
        return await self._perform("PUT", f"agents/{quote(agent_id, safe='')}/state",
                               SetAgentStateRequest, state=state)

    async def set_emergency(self, group: str, active: bool) -> ActionResult:
        return await self._perform("PUT", "emergency", EmergencyRequest, group=group,
                                   active=active)

    async def create_callback(self, abandoned_id: str, queue_id: str) -> ActionResult:
        return await self._perform("POST", f"abandoned/{quote(abandoned_id, safe='')}/callback",
                                   CallbackRequest, queue_id=queue_id)

    async def broadcast(self, message: str, key: str | None = None) -> ActionResult:
        # The crisis outbox's key goes to the server as the Idempotency-Key, so a re-send
        # after a console crash is answered from the server's memory, not shown twice.
        return await self._perform("POST", "broadcast", BroadcastRequest, key=key, message=message)

    async def _perform(self, method: str, path: str, model: type[BaseModel],
                   key: str | None = None, **fields: Any) -> ActionResult:
        try:
            content = model(**fields).model_dump_json()
        except ValidationError as err:  # e.g. an empty or oversized broadcast
            return ActionResult(ok=False, code=ActionCode.BAD_REQUEST,
                                message=f"not sent: {describe(err)}")
        # One key per action call, reused by the retry: the server acts at most once.
        headers = {IDEMPOTENCY_HEADER: key or uuid.uuid4().hex,
                   "Content-Type": "application/json"}
        url = f"{PREFIX}/{path}"
        for attempt in (1, 2):
            try:
                response = await self._client.request(
                    method, url, expect=_ACTION_STATUSES, headers=headers,
                    content=content)
                break
            except RateLimited as err:
                return ActionResult(ok=False, code=ActionCode.RATE_LIMITED,
                                    message=self._client.redact(str(err)))
            except SourceError as err:
                status = self._client.stats.last_status
                # No answer, or a proxy/server failure: the request may or may not have
                # arrived, so try once more with the same key (safe by idempotency).
                if attempt == 1 and (status is None or status >= 500):
                    continue
                if status is None or status >= 500:
                    return ActionResult(ok=False, code=ActionCode.NOT_CONFIRMED,
                                        message=f"not confirmed: {err} — check the next "
                                        "snapshot before trying again")
                return ActionResult(ok=False, code=ActionCode.ERROR, message=str(err))
        result = _action_result(response)
        # An error body (or even a result) may quote our credentials back: never shown,
        # never audited.
        redact = self._client.redact
        code, message = redact(result.code), redact(result.message)
        if (code, message) == (result.code, result.message):
            return result
        return ActionResult(ok=result.ok, code=code, message=message)


def _action_result(response: httpx.Response) -> ActionResult:
    status = response.status_code
    try:
        data = response.json()
    except ValueError:
        data = None
    if status == 200:
        try:
            result = ActionResult.model_validate(data)
        except ValidationError:
            return ActionResult(ok=False, code=ActionCode.BAD_RESPONSE,
                                message="the server answered the action with something "
                                "that is not an action result; check the next snapshot")
        return ActionResult(ok=result.ok, code=clean(result.code, 40),
                            message=clean(result.message, 300))
    try:
        error = ErrorDoc.model_validate(data).error
    except ValidationError:
        return ActionResult(ok=False, code=f"http_{status}",
                            message=f"HTTP {status} from the server, without a reason")
    return ActionResult(ok=False, code=clean(error.code, 40), message=clean(error.message, 300))


async def _events(chunks: AsyncIterator[bytes]) -> AsyncIterator[str]:
    """The event names of a server-sent event stream (their data is not needed: any
    event means "poll now"). Lines end in LF, CRLF or CR; comments are skipped; a line
    over ``_MAX_EVENT_LINE`` ends the stream with an error."""
    buffer = b""
    name = ""
    async for chunk in chunks:
        buffer += chunk
        while True:
            cut = min((i for i in (buffer.find(b"\n"), buffer.find(b"\r")) if i >= 0),
                      default=-1)
            if cut < 0:
                break
            line = buffer[:cut]
            skip = 2 if buffer[cut:cut + 2] == b"\r\n" else 1
            buffer = buffer[cut + skip:]
            if not line:  # a blank line dispatches the event
                if name:
                    yield name
                name = ""
            elif line.startswith(b"event:"):
                name = line[6:].strip().decode("utf-8", "replace")[:40]
            elif line.startswith(b"data:") and not name:
                name = "message"
        if len(buffer) > _MAX_EVENT_LINE:
            raise SourceError(f"event stream line over {_MAX_EVENT_LINE} bytes")
