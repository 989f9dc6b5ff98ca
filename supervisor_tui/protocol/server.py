"""``supervisor-tui serve-sim``: the simulator served over protocol v1 (docs/protocol.md).

``ProtocolServer`` serves any ``Source`` (the simulator here) as a Starlette app, so
several consoles, on other hosts too, can watch and act on one simulated centre, and
``sources.http`` is tested against a real server rather than a mock.

Why it is built as it is:
- Snapshots are built at most once per ``refresh_s`` and after every action, and the
  serialised body (and its gzip form) is shared by every client: ten viewers cost one
  snapshot, and a strong ETag lets an unchanged centre answer ``304`` with no body.
- The last few versions are kept as id maps (``protocol.Centre``, references to the
  source's own objects, not bodies), so a client naming one of them gets only what
  changed since (``226``, a few kB instead of megabytes); each delta is serialised
  once per (base, version) and shared like the full body.
- Actions run one at a time under a lock, and an ``Idempotency-Key`` is remembered (a
  bounded cache) with the first answer, so a client that retries after a timeout never
  moves a contact or broadcasts twice.
- Listening on anything but loopback requires a bearer token from the environment.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import hashlib
import hmac
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import uvicorn
from pydantic import BaseModel, ValidationError
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Lifespan, Receive, Scope, Send

from supervisor_tui.domain.model import ActionCode, ActionResult
from supervisor_tui.domain.text import clean
from supervisor_tui.protocol.body import BodyWriter
from supervisor_tui.protocol.documents import (
    DELTA_BASE_HEADER,
    DELTA_IM,
    IDEMPOTENCY_HEADER,
    IM_USED,
    PREFIX,
    REPLAYED_HEADER,
    AssignContactRequest,
    BroadcastRequest,
    CallbackRequest,
    Centre,
    EmergencyRequest,
    HealthDoc,
    MoveContactRequest,
    SetAgentStateRequest,
    SetSkillsRequest,
    SnapshotDoc,
    describe,
    is_loopback,
    to_delta,
    to_doc,
)
from supervisor_tui.sources.base import Source, SourceError

if TYPE_CHECKING:
    from supervisor_tui.config import Config

MIN_TOKEN_LENGTH = 16
MAX_BODY = 64 * 1024  # action bodies are a few hundred bytes; refuse anything silly
_GZIP_MIN = 1024  # below this gzip costs more than it saves

#: HTTP status for a failed action, by ActionResult code; other failures are 409
ACTION_STATUS: dict[str, int] = {
    "unknown_contact": 404,
    "unknown_agent": 404,
    "not_waiting": 409,  # answered or abandoned meanwhile
    "agent_not_available": 409,
    "on_contact": 409,  # agent mid-contact: try when it ends
    "not_in_acw": 409,
    "unknown_state": 422,
    "same_queue": 409,
    "unknown_queue": 422,  # the body names a queue that does not exist
    "channel_mismatch": 422,
    "no_skill": 422,
    "unsupported": 501,
    "not_found": 404,  # e.g. no such abandoned contact today
}

_Body = TypeVar("_Body", bound=BaseModel)


class Refusal(Exception):
    """A request refused before it reached the source; becomes the JSON error body."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_response(status: int, code: str, message: str,
                   headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status,
                        headers=headers)


class BearerAuth:
    """Pure ASGI middleware: every path but ``open_paths`` needs ``Bearer <token>``.

    It sits outside routing, so without the token even an unknown path says 401, not
    404: nothing about the server is learnt without the token.
    """

    def __init__(self, app: ASGIApp, token: str, open_paths: frozenset[str]) -> None:
        self.app = app
        self._expected = f"Bearer {token}".encode()
        self.open_paths = open_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.open_paths:
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get("authorization", "").encode()
        if not hmac.compare_digest(given, self._expected):  # constant time
            response = error_response(
                401, "unauthorized", "a valid bearer token is required",
                headers={"WWW-Authenticate": 'Bearer realm="supervisor-tui"'})
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


@dataclass
class _Payload:
    """A serialised body shared by every client, and its gzip form made on first use."""

    body: bytes
    _gz: bytes | None = None

    def gzipped(self) -> bytes:
        # Level 1, as web servers compress on the fly: a 50,000-agent centre's 29 MB
        # body in 0.12 s to 3.5 MB (level 6: 0.38 s to 2.7 MB), the first full
        # snapshot of every console starting against a new version waiting on it.
        if self._gz is None:
            self._gz = gzip.compress(self.body, compresslevel=1, mtime=0)
        return self._gz


@dataclass
class _Cached(_Payload):
    etag: str = ""
    built: float = 0.0
    doc: SnapshotDoc | None = None  # for the head fields of deltas
    centre: Centre | None = None
    #: delta bodies to this version, by the (identity) ETag of their base
    deltas: dict[str, _Payload] = field(default_factory=dict)

    @property
    def etag_gz(self) -> str:
        return self.etag[:-1] + '-gz"'  # a distinct strong ETag per content-coding


@dataclass(frozen=True)
class _Done:
    fingerprint: str
    status: int
    body: bytes


def _accepts_delta(a_im: str | None) -> bool:
    """Whether ``A-IM`` lists our delta (RFC 3229: comma-separated, optional parameters)."""
    if not a_im:
        return False
    return any(part.split(";")[0].strip().lower() == DELTA_IM for part in a_im.split(","))


def _etag_matches(header: str | None, etags: set[str]) -> bool:
    if not header:
        return False
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*":
            return True
        # If-None-Match uses the weak comparison: W/"x" matches "x".
        if candidate.removeprefix("W/") in etags:
            return True
    return False


class ProtocolServer:
    """A ``Source`` served over protocol v1; ``app`` is the ASGI application."""

    def __init__(self, source: Source, *, token: str | None = None, refresh_s: float = 1.0,
                 idempotency_size: int = 1000, history_size: int = 8,
                 monotonic: Callable[[], float] = time.monotonic,
                 routes: Sequence[BaseRoute] = (), open_paths: Iterable[str] = (),
                 lifespan: Lifespan[Starlette] | None = None,
                 extra_capabilities: Iterable[str] = (),
                 on_served: Callable[[str, int], None] | None = None) -> None:
        """``routes``, ``open_paths`` (no token needed besides /v1/health), ``lifespan``,
        ``extra_capabilities`` (advertised beside the source's) and ``on_served`` (told
        each snapshot answer's kind, full / delta / not_modified, and bytes sent) are
        how the collector builds on this server."""
        self.source = source
        self.refresh_s = refresh_s
        self.extra_capabilities = tuple(extra_capabilities)
        self._on_served = on_served
        self.idempotency_size = idempotency_size
        #: versions a delta can start from (0: never answer with a delta)
        self.history_size = history_size
        self._monotonic = monotonic
        self._cache: _Cached | None = None
        self._writer = BodyWriter()
        # identity ETag -> that version's records; oldest first, bounded by history_size
        self._history: OrderedDict[str, Centre] = OrderedDict()
        self._dirty = False
        self._done: OrderedDict[str, _Done] = OrderedDict()
        # Created lazily: the app may be built in one thread and served in another loop.
        self._snapshot_lock: asyncio.Lock | None = None
        self._gzip_lock: asyncio.Lock | None = None
        self._action_lock: asyncio.Lock | None = None
        own_routes: list[BaseRoute] = [
            Route(f"{PREFIX}/health", self.health, methods=["GET"]),
            Route(f"{PREFIX}/snapshot", self.snapshot, methods=["GET"]),
            Route(f"{PREFIX}/contacts/{{contact_id:path}}/move", self.move_contact,
                  methods=["POST"]),
            Route(f"{PREFIX}/contacts/{{contact_id:path}}/assign", self.assign_contact,
                  methods=["POST"]),
            Route(f"{PREFIX}/agents/{{agent_id:path}}/skills", self.set_skills,
                  methods=["PUT"]),
            Route(f"{PREFIX}/agents/{{agent_id:path}}/state", self.set_state,
                  methods=["PUT"]),
            Route(f"{PREFIX}/broadcast", self.broadcast, methods=["POST"]),
            Route(f"{PREFIX}/emergency", self.set_emergency, methods=["PUT"]),
            Route(f"{PREFIX}/abandoned/{{abandoned_id:path}}/callback", self.create_callback,
                  methods=["POST"]),
            *routes,
        ]
        middleware = []
        if token:
            middleware.append(Middleware(
                BearerAuth, token=token,
                open_paths=frozenset({f"{PREFIX}/health", *open_paths})))
        self.app = Starlette(
            routes=own_routes, middleware=middleware, lifespan=lifespan,
            exception_handlers={
                Refusal: self._refusal,  # type: ignore[dict-item]
                HTTPException: self._http_error,  # type: ignore[dict-item]
                Exception: self._crash,
            })

    # -- error handlers -------------------------------------------------------------

    @staticmethod
    async def _refusal(request: Request, exc: Refusal) -> Response:
        return error_response(exc.status, exc.code, exc.message)

    @staticmethod
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        message = f"no such endpoint: {request.method} {clean(request.url.path, 100)}" \
            if exc.status_code in (404, 405) else clean(exc.detail, 200)
        return error_response(exc.status_code, code, message, headers=exc.headers)

    @staticmethod
    async def _crash(request: Request, exc: Exception) -> Response:
        # Never a traceback on the wire; the reason is enough for the console's screen.
        return error_response(500, ActionCode.INTERNAL, f"server error: {type(exc).__name__}: "
                              f"{clean(exc, 160)}")

    # -- reads ----------------------------------------------------------------------

    async def health(self, request: Request) -> Response:
        return Response(HealthDoc().model_dump_json(), media_type="application/json")

    def invalidate(self) -> None:
        """The source has news: the next read builds a new version."""
        self._dirty = True

    async def current(self) -> _Cached:
        """The current version (built now if stale); Refusal 503 if the source fails."""
        return await self._current()

    async def _current(self) -> _Cached:
        if self._snapshot_lock is None:
            self._snapshot_lock = asyncio.Lock()
        async with self._snapshot_lock:  # concurrent clients share one build
            now = self._monotonic()
            cache = self._cache
            if cache is not None and not self._dirty and now - cache.built < self.refresh_s:
                return cache
            self._dirty = False
            try:
                snap = await self.source.snapshot()
            except SourceError as err:
                raise Refusal(503, "source_unavailable", clean(err, 200)) from None
            doc = to_doc(snap, self.source.name, [
                *(c.value for c in self.source.capabilities), *self.extra_capabilities])
            body = self._writer.body(doc)  # (the unchanged records' JSON kept)
            if cache is not None and body == cache.body:
                cache.built = now  # same centre: keep the ETag and the gzip form
                return cache
            etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            centre = Centre.of(snap)
            self._cache = _Cached(body, etag=etag, built=now, doc=doc, centre=centre)
            if self.history_size > 0:
                self._history[etag] = centre
                while len(self._history) > self.history_size:
                    self._history.popitem(last=False)
            return self._cache

    def _delta(self, cached: _Cached, if_none_match: str | None) -> tuple[str, _Payload] | None:
        """The delta from the first known version in ``If-None-Match`` to ``cached``, and
        the tag as the client sent it; None when no base is known or the full body is no
        bigger (a base from before an interval rollover changes every queue)."""
        if not if_none_match or cached.centre is None or cached.doc is None:
            return None
        for candidate in if_none_match.split(","):
            tag = candidate.strip()
            # Either content-coding's ETag names the same version.
            version = tag.removeprefix("W/")
            if version.endswith('-gz"'):
                version = version[:-4] + '"'
            base = self._history.get(version)
            if base is None or version == cached.etag:
                continue
            payload = cached.deltas.get(version)
            if payload is None:
                delta = to_delta(base, cached.centre, cached.doc)
                payload = cached.deltas[version] = _Payload(delta.model_dump_json().encode())
            if len(payload.body) >= len(cached.body):
                return None
            return tag, payload
        return None

    async def snapshot(self, request: Request) -> Response:
        cached = await self._current()
        wants_gzip = "gzip" in request.headers.get("accept-encoding", "")
        use_gzip = wants_gzip and len(cached.body) >= _GZIP_MIN
        headers = {"ETag": cached.etag_gz if use_gzip else cached.etag,
                   "Cache-Control": "no-cache", "Vary": "Accept-Encoding, A-IM"}
        if_none_match = request.headers.get("if-none-match")
        if _etag_matches(if_none_match, {cached.etag, cached.etag_gz}):
            self._served("not_modified", 0)
            return Response(status_code=304, headers=headers)
        if _accepts_delta(request.headers.get("a-im")):
            found = self._delta(cached, if_none_match)
            if found is not None:
                base_tag, delta = found
                headers |= {"IM": DELTA_IM, DELTA_BASE_HEADER: base_tag}
                body = delta.body
                if wants_gzip and len(body) >= _GZIP_MIN:
                    headers["Content-Encoding"] = "gzip"
                    body = await self._gzipped(delta)
                self._served("delta", len(body))
                return Response(body, status_code=IM_USED, media_type="application/json",
                                headers=headers)
        body = cached.body
        if use_gzip:
            headers["Content-Encoding"] = "gzip"
            body = await self._gzipped(cached)
        self._served("full", len(body))
        return Response(body, media_type="application/json", headers=headers)

    async def _gzipped(self, payload: _Payload) -> bytes:
        """``payload``'s gzip form. A big one is made in a worker thread (zlib lets go of
        the GIL: the event stream and other consoles go on), once: consoles starting
        together against a new version wait for that one compression."""
        if payload._gz is not None or len(payload.body) <= 2**20:
            return payload.gzipped()
        if self._gzip_lock is None:
            self._gzip_lock = asyncio.Lock()
        async with self._gzip_lock:
            return await asyncio.to_thread(payload.gzipped)

    def _served(self, kind: str, size: int) -> None:
        if self._on_served is not None:
            self._on_served(kind, size)

    # -- actions --------------------------------------------------------------------

    async def move_contact(self, request: Request) -> Response:
        contact_id = request.path_params["contact_id"]
        return await self._action(request, MoveContactRequest, lambda body: (
            self.source.move_contact(contact_id, body.queue_id)))

    async def assign_contact(self, request: Request) -> Response:
        contact_id = request.path_params["contact_id"]
        return await self._action(request, AssignContactRequest, lambda body: (
            self.source.assign_contact(contact_id, body.agent_id)))

    async def set_skills(self, request: Request) -> Response:
        agent_id = request.path_params["agent_id"]
        return await self._action(request, SetSkillsRequest, lambda body: (
            self.source.set_agent_skills(agent_id, body.skills)))

    async def set_state(self, request: Request) -> Response:
        agent_id = request.path_params["agent_id"]
        return await self._action(request, SetAgentStateRequest, lambda body: (
            self.source.set_agent_state(agent_id, body.state)))

    async def set_emergency(self, request: Request) -> Response:
        return await self._action(request, EmergencyRequest, lambda body: (
            self.source.set_emergency(body.group, body.active)))

    async def create_callback(self, request: Request) -> Response:
        abandoned_id = request.path_params["abandoned_id"]
        return await self._action(request, CallbackRequest, lambda body: (
            self.source.create_callback(abandoned_id, body.queue_id)))

    async def broadcast(self, request: Request) -> Response:
        return await self._action(request, BroadcastRequest, lambda body: (
            self.source.broadcast(body.message)))

    async def _action(self, request: Request, model: type[_Body],
                      call: Callable[[_Body], Awaitable[ActionResult]]) -> Response:
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if key is not None and not (0 < len(key) <= 200 and key.isascii() and key.isprintable()):
            raise Refusal(400, "bad_idempotency_key",
                          f"{IDEMPOTENCY_HEADER} must be 1-200 printable ASCII characters")
        raw = await _read_body(request)
        try:
            body = model.model_validate_json(raw)
        except ValidationError as err:
            raise Refusal(400, "bad_request", f"bad request body: {describe(err)}") from None
        # The same key with a different request is a client bug, not a replay.
        fingerprint = hashlib.sha256(
            request.method.encode() + b" " + request.url.path.encode() + b"\n"
            + body.model_dump_json().encode()).hexdigest()
        if self._action_lock is None:
            self._action_lock = asyncio.Lock()
        async with self._action_lock:
            if key is not None and key in self._done:
                done = self._done[key]
                if done.fingerprint != fingerprint:
                    raise Refusal(422, "idempotency_key_reused",
                                  f"{IDEMPOTENCY_HEADER} {clean(key, 60)} was used for a "
                                  "different request")
                return Response(done.body, status_code=done.status,
                                media_type="application/json",
                                headers={REPLAYED_HEADER: "true"})
            try:
                result = await call(body)
            except SourceError as err:
                result = ActionResult(ok=False, code=ActionCode.SOURCE_ERROR, message=str(err))
            self._dirty = True  # the next snapshot must show what this did
            status, payload = _action_payload(result)
            if key is not None:
                self._done[key] = _Done(fingerprint, status, payload)
                while len(self._done) > self.idempotency_size:
                    self._done.popitem(last=False)
        return Response(payload, status_code=status, media_type="application/json")


def _action_payload(result: ActionResult) -> tuple[int, bytes]:
    if result.ok:
        return 200, result.model_dump_json().encode()
    status = ACTION_STATUS.get(result.code, 409)
    # Starlette types a body as bytes or memoryview; a JSONResponse's is always bytes.
    return status, bytes(error_response(status, result.code, result.message).body)


async def _read_body(request: Request) -> bytes:
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY:
        raise Refusal(413, "too_large", f"request body over {MAX_BODY} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise Refusal(413, "too_large", f"request body over {MAX_BODY} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


# -- listening ------------------------------------------------------------------------

def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: any free port). Raises OSError."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, _, _, _, address = infos[0]
    sock = socket.create_server(address[:2], family=family, backlog=128)
    sock.set_inheritable(True)
    return sock


def check_listen(bound_host: str, token: str | None, token_env: str) -> str | None:
    """Why the server must not start (None when it may)."""
    if token is not None and len(token) < MIN_TOKEN_LENGTH:
        return (f"the token in {token_env} is too short: use at least {MIN_TOKEN_LENGTH} "
                "random characters (e.g. `openssl rand -hex 24`)")
    if token is None and not is_loopback(bound_host):
        return (f"refusing to listen on {bound_host} without a token: anyone who can reach "
                f"it could move contacts and message agents. Set {token_env} to a secret "
                "(at least 16 characters) and give the same value to the consoles "
                "(token_env in their [sources.NAME] section), or listen on 127.0.0.1")
    return None


def _server(app: ASGIApp, **options: Any) -> uvicorn.Server:
    # log_config=None: leave the process's logging alone (uvicorn would reconfigure it).
    settings: dict[str, Any] = {
        "log_config": None, "log_level": "warning", "access_log": False, "lifespan": "off",
        "server_header": False, "timeout_graceful_shutdown": 2}
    config = uvicorn.Config(app, **(settings | options))
    return uvicorn.Server(config)


@contextlib.contextmanager
def serve_in_thread(app: ASGIApp, host: str = "127.0.0.1", **options: Any) -> Iterator[str]:
    """Run ``app`` on an ephemeral port in a background thread; yield its base URL.

    For tests and embedding: the server stops (and the thread ends) on leaving.
    """
    sock = bind(host, 0)
    port = sock.getsockname()[1]
    server = _server(app, **options)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                              name=f"serve-sim:{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError("the in-process server did not start")
        time.sleep(0.005)
    scheme = "https" if options.get("ssl_certfile") else "http"
    shown = f"[{host}]" if ":" in host else host
    try:
        yield f"{scheme}://{shown}:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


# -- the sub-command ------------------------------------------------------------------

def run(args: argparse.Namespace, config: Config) -> int:
    """``serve`` and ``serve-sim`` (the collector with the simulator as its source)."""
    from supervisor_tui.protocol.collector import run as run_collector

    return run_collector(args, config)
