"""``POST /v1/surveys``: survey tools post responses to the collector (docs/surveys.md).

Authentication: the collector's bearer token, or the ``[surveys] webhook_token_env``
token, given as ``Authorization: Bearer …``, an ``X-Webhook-Token`` header, or a
``?token=`` query parameter (for tools that cannot set headers; it may end up in
their logs, so give them the webhook token, never the consoles'). With neither token
configured the endpoint is open like the rest of a loopback-only collector.

The tool is ``?tool=qualtrics|surveymonkey|medallia|generic``, or recognised from the
body. JSON bodies, and form-encoded ones (Qualtrics event subscriptions post
``x-www-form-urlencoded``). Answers: 200 with what was stored (a retry: ``duplicates``),
400 unreadable, 401 no valid token, 413 too large, 415 neither JSON nor a form, 422 a
record that does not validate (the reason names it; nothing of that body is stored),
503 the store cannot be written. ``HEAD`` answers 200 (SurveyMonkey checks the URL so
when the webhook is created).
"""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, tzinfo
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from supervisor_tui.domain.survey_shapes import FieldMap, SurveyError, parse_body, parse_json_body
from supervisor_tui.domain.surveys import SurveyTool
from supervisor_tui.domain.text import clean
from supervisor_tui.protocol.documents import PREFIX
from supervisor_tui.protocol.server import error_response
from supervisor_tui.store import Store, StoreError
from supervisor_tui.store.surveys import save_surveys

SURVEYS_PATH = f"{PREFIX}/surveys"
TOKEN_HEADER = "x-webhook-token"


#: seconds between tries to open a store that could not be opened
REOPEN_S = 10.0


class SurveyWebhook:
    """The endpoint; ``store`` None (it could not be opened) answers 503 with ``why``,
    and ``reopen`` (when given) is tried again at a request, at most every REOPEN_S: a
    database that was down when the collector started is used once it is back."""

    def __init__(self, store: Store | None, tokens: Iterable[str | None],
                 maps: Mapping[SurveyTool, FieldMap], zone: tzinfo,
                 clock: Callable[[], datetime], *, max_body: int = 256 * 1024,
                 why: str = "", reopen: Callable[[], Store] | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.reopen = reopen
        self.monotonic = monotonic
        self._tried_at = monotonic()
        self.tokens = [t.encode() for t in tokens if t]
        self.maps = maps
        self.zone = zone
        self.clock = clock
        self.max_body = max_body
        self.why = why
        self._lock: asyncio.Lock | None = None  # made in the serving loop
        #: responses stored, completed and repeated since start (for the log / tests)
        self.counts = {"added": 0, "completed": 0, "duplicates": 0, "refused": 0}

    def _authorised(self, request: Request) -> bool:
        if not self.tokens:
            return True
        auth = request.headers.get("authorization", "")
        given = [auth[7:] if auth[:7].lower() == "bearer " else "",
                 request.headers.get(TOKEN_HEADER, ""), request.query_params.get("token", "")]
        # Every candidate against every token, in constant time per comparison.
        return any(hmac.compare_digest(g.encode(), t)
                   for g in given if g for t in self.tokens)

    async def _try_reopen(self) -> None:
        if self.reopen is None or self.monotonic() - self._tried_at < REOPEN_S:
            return
        self._tried_at = self.monotonic()
        try:
            self.store = await asyncio.to_thread(self.reopen)
        except (StoreError, ValueError) as err:
            self.why = str(err)
        else:
            self.why = ""

    def _refuse(self, status: int, code: str, message: str) -> Response:
        self.counts["refused"] += 1
        return error_response(status, code, message)

    async def endpoint(self, request: Request) -> Response:
        if request.method == "HEAD":
            return Response(status_code=200)
        if not self._authorised(request):
            return self._refuse(401, "unauthorized", "a valid token is required (bearer, "
                                f"{TOKEN_HEADER} header or ?token=)")
        tool: SurveyTool | None = None
        if "tool" in request.query_params:
            try:
                tool = SurveyTool(request.query_params["tool"])
            except ValueError:
                return self._refuse(400, "bad_tool", "tool must be one of " + ", ".join(
                    t.value for t in SurveyTool if t is not SurveyTool.CSV))
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_body:
            return self._refuse(413, "too_large", f"body over {self.max_body} bytes")
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body:
                return self._refuse(413, "too_large", f"body over {self.max_body} bytes")
            chunks.append(chunk)
        raw = b"".join(chunks)
        kind = request.headers.get("content-type", "application/json").split(";")[0].strip()
        now = self.clock()
        try:
            if kind == "application/x-www-form-urlencoded":
                try:
                    form = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
                except UnicodeDecodeError:
                    return self._refuse(400, "bad_request", "the form is not UTF-8")
                responses = parse_body(form, tool, self.maps, self.zone, now)
            elif kind == "application/json" or kind.endswith("+json"):
                responses = parse_json_body(raw, tool, self.maps, self.zone, now)
            else:
                return self._refuse(415, "unsupported_media_type", "send JSON (application/"
                                    "json) or a form (application/x-www-form-urlencoded), "
                                    f"not {clean(kind, 60)}")
        except SurveyError as err:
            status = 400 if str(err).startswith(("not JSON", "the body")) else 422
            return self._refuse(status, "bad_survey", clean(err, 300))
        if not responses:
            return JSONResponse({"stored": 0, "ignored": "not a completed response"})
        if self.store is None:
            await self._try_reopen()
        if self.store is None:
            return self._refuse(503, "store_unavailable", clean(
                self.why or "the collector has no store", 200))
        if self._lock is None:
            self._lock = asyncio.Lock()
        try:
            # In a thread: a commit waits for the disk (~50 ms here), and the collector's
            # loop serves every console meanwhile. One at a time on the one connection.
            async with self._lock:
                saved = await asyncio.to_thread(save_surveys, self.store, responses,
                                                self.zone, now)
        except StoreError as err:
            return self._refuse(503, "store_unavailable", clean(err, 200))
        self.counts["added"] += saved.added
        self.counts["completed"] += saved.completed
        self.counts["duplicates"] += saved.duplicates
        return JSONResponse({"stored": saved.added, "completed": saved.completed,
                             "duplicates": saved.duplicates,
                             "pending": sum(r.pending for r in responses)})
