"""HTTP plumbing shared by the platform sources (http, twilio, zendesk, genesys).

One place decides what a failed request looks like on screen, so every source reports
a dead server, a 429, an HTML error page or a 200 with garbage the same way: a
one-line ``SourceError`` reason. It also enforces the source's request budget (the
platform's API limit) and keeps the request counts and latencies the sources screen
shows. ``WebSource`` and ``PlannedSource`` hold what the SaaS adapters share: one
failure out of concurrent requests, action requests that never raise, and the plan a
poll is counted by before it is sent.
"""

from __future__ import annotations

import asyncio
import base64
import re
import ssl
import time
from abc import abstractmethod
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, Literal, Protocol, TypeVar

import httpx
from pydantic import ValidationError

from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.domain.model import ActionCode, ActionResult
from supervisor_tui.domain.text import clean, redactor
from supervisor_tui.protocol.documents import describe
from supervisor_tui.sources.base import Source, SourceError
from supervisor_tui.sources.checks import D
from supervisor_tui.sources.limits import (
    RateLimited,
    RequestBudget,
    RequestStats,
    parse_retry_after,
    secret_from_env,
)

__all__ = ["Cached", "PlannedSource", "RateLimited", "RequestBudget", "RequestStats", "WebClient",
           "WebSource", "gather", "nothing", "parse_retry_after", "secret_from_env"]


_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def _body_hint(response: httpx.Response, redact: Callable[[str], str] = str) -> str:
    """A short, safe description of an unexpected body (HTML page title, first text)."""
    text = redact(response.text[:4000])[:2000]
    match = _TITLE.search(text)
    if match:
        return f"an HTML page ({clean(match.group(1), 60)})"
    if text.lstrip().startswith("<"):
        return "an HTML/XML page"
    return repr(clean(text, 80)) if text.strip() else "an empty body"


def _secret_values(auth: Any, headers: Mapping[str, str] | None) -> tuple[str, ...]:
    values: list[str] = []
    if isinstance(auth, tuple) and len(auth) == 2:
        values.append(auth[1])
        values.append(base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode())
    for key, value in (headers or {}).items():
        if key.lower() in ("authorization", "x-api-key", "api-key"):
            values.append(value)
            values.append(value.split(" ", 1)[-1])  # the token without its scheme
    return tuple(v for v in values if len(v) >= 6)  # short strings would match anywhere


class TooLarge(SourceError):
    """A response body larger than the client's cap (counted decompressed)."""


class WebClient:
    """An ``httpx.AsyncClient`` with budget, stats and one error vocabulary.

    ``transport`` is for tests (``httpx.MockTransport`` / respx); production uses the
    network. TLS verification is always on: ``ca_bundle`` may name a CA bundle file
    (one that cannot be used is a ``SourceError`` naming it).
    """

    def __init__(
        self,
        source: str,
        base_url: str,
        *,
        auth: httpx.Auth | tuple[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout_s: float = 10.0,
        ca_bundle: str | None = None,
        budget: RequestBudget | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        max_bytes: int | None = None,
    ) -> None:
        self.source = source
        self.budget = budget
        # A body larger than this (decompressed: a gzip bomb is a few kB on the wire) is
        # refused as it streams in, before anything parses it.
        self.max_bytes = max_bytes
        # Credentials to scrub from any text that reaches the screen or the audit log,
        # e.g. a misconfigured proxy that echoes request headers in its error page
        # (also their base64 and URL-encoded forms).
        self._secrets = _secret_values(auth, headers)
        self.redact = redactor(self._secrets)
        self.stats = RequestStats()
        self.timeout_s = timeout_s
        try:
            verify = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else True
        except OSError as err:  # missing, unreadable, or not PEM (ssl.SSLError)
            raise SourceError(f"source {source}: cannot use ca_bundle {ca_bundle}: "
                              f"{clean(err.strerror or err, 100)}") from None
        self._client = httpx.AsyncClient(
            base_url=base_url,
            auth=auth,
            headers={"User-Agent": "supervisor-tui", **(headers or {})},
            timeout=httpx.Timeout(timeout_s),
            verify=verify,
            transport=transport,
            follow_redirects=False,
        )

    async def request(self, method: str, url: str, *, expect: tuple[int, ...] = (200,),
                      **kwargs: Any) -> httpx.Response:
        """Send one request; return the response if its status is in ``expect``."""
        try:
            return await self._request(method, url, expect=expect, **kwargs)
        except SourceError as err:
            text = str(err)
            redacted = self.redact(text)
            if redacted != text:
                err.args = (redacted,)
            raise

    async def _request(self, method: str, url: str, *, expect: tuple[int, ...],
                       **kwargs: Any) -> httpx.Response:
        if self.budget is not None and not self.budget.try_acquire():
            wait = self.budget.wait_for()
            raise RateLimited(f"API budget of {self.budget.describe()} used up; "
                              f"next request in {wait:.0f} s", wait)
        started = time.perf_counter()
        try:
            if self.max_bytes is None:
                response = await self._client.request(method, url, **kwargs)
            else:
                response = await self._capped(method, url, self.max_bytes, **kwargs)
        except TooLarge:
            self.stats.record(None, (time.perf_counter() - started) * 1000, ok=False)
            raise
        except httpx.TimeoutException:
            self.stats.record(None, (time.perf_counter() - started) * 1000, ok=False)
            raise SourceError(f"no answer within {self.timeout_s:g} s ({method} {url})"
                              ) from None
        except httpx.HTTPError as err:
            self.stats.record(None, (time.perf_counter() - started) * 1000, ok=False)
            reason = clean(str(err) or type(err).__name__, 100)
            raise SourceError(f"cannot reach {self._client.base_url.host or url}: {reason}"
                              ) from None
        latency = (time.perf_counter() - started) * 1000
        ok = response.status_code in expect
        self.stats.record(response.status_code, latency, ok)
        if ok:
            return response
        status = response.status_code
        if status == 429:
            retry = parse_retry_after(response.headers.get("Retry-After"))
            hint = f"; retry after {retry:.0f} s" if retry is not None else ""
            raise RateLimited(f"rate limited by the platform (HTTP 429){hint}", retry)
        if status in (401, 403):
            raise SourceError(f"authentication refused (HTTP {status}) — check the "
                              "credentials in the environment")
        if status == 304:
            return response
        raise SourceError(f"HTTP {status} from {method} {url}: "
                          f"{_body_hint(response, self.redact)}")

    async def _capped(self, method: str, url: str, limit: int,
                      **kwargs: Any) -> httpx.Response:
        """The response, read with a running count of decompressed bytes; past ``limit``
        the transfer is abandoned (connection closed) and ``TooLarge`` raised."""
        request = self._client.build_request(method, url, **kwargs)
        response = await self._client.send(request, stream=True)
        try:
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and "Content-Encoding" not in response.headers \
                    and int(declared) > limit:
                raise TooLarge(self._too_large(method, url, limit))
            chunks: list[bytes] = []
            total = 0
            async for chunk in response.aiter_bytes():
                total += len(chunk)
                if total > limit:
                    raise TooLarge(self._too_large(method, url, limit))
                chunks.append(chunk)
            response._content = b"".join(chunks)  # what Response.aread() sets
        finally:
            await response.aclose()
        return response

    @staticmethod
    def _too_large(method: str, url: str, limit: int) -> str:
        return (f"{method} {url}: the answer is larger than {limit / 2**20:g} MiB "
                "(decompressed): refused before parsing — raise max_snapshot_mib if the "
                "centre really is that big")

    async def json(self, method: str, url: str, **kwargs: Any) -> Any:
        """Send a request and parse a JSON body; anything else is a clear error."""
        response = await self.request(method, url, **kwargs)
        return self.parse_json(response)

    def parse_json(self, response: httpx.Response) -> Any:
        content_type = response.headers.get("content-type", "")
        try:
            return response.json()
        except ValueError:
            kind = "not JSON" if "json" not in content_type else "broken JSON"
            raise SourceError(f"HTTP {response.status_code} with {kind}: "
                              f"{_body_hint(response, self.redact)}") from None

    def stream(self, method: str, url: str, **kwargs: Any
               ) -> AbstractAsyncContextManager[httpx.Response]:
        """A response read as it arrives (a server-sent event stream): no budget and no
        byte cap, since it stays open; the caller bounds what it keeps."""
        return self._client.stream(method, url, **kwargs)

    async def aclose(self) -> None:
        await self._client.aclose()


async def gather(*coros: Awaitable[Any]) -> list[Any]:
    """Run concurrently; then raise the most telling failure (a 429 first, so its
    Retry-After is honoured) as one ``SourceError``."""
    results = await asyncio.gather(*coros, return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    for err in errors:
        if isinstance(err, asyncio.CancelledError):
            raise err
    for kind in (RateLimited, SourceError):
        for err in errors:
            if isinstance(err, kind):
                raise err
    if errors:  # a bug of ours: still one line, never a traceback on screen
        raise SourceError(clean(f"{type(errors[0]).__name__}: {errors[0]}", 200)
                          ) from errors[0]
    return list(results)


async def nothing() -> None:
    """A request a poll has no need (or no room) for, in a ``gather``."""
    return None


def wall_now() -> datetime:
    return datetime.now(UTC)


class WebSource(Source):
    """A source that talks to its platform through one ``WebClient`` (``self._client``):
    its budget and request statistics are the client's."""

    _client: WebClient
    #: statuses an action request (``_act``) returns rather than raises on
    action_statuses: tuple[int, ...] = (200,)

    def redact(self, text: str) -> str:
        return self._client.redact(text)

    @property
    def budget(self) -> RequestBudget | None:
        return self._client.budget

    @property
    def request_stats(self) -> RequestStats | None:
        return self._client.stats

    async def close(self) -> None:
        await self._client.aclose()

    async def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One request to the platform; a source adds what its platform needs around
        it (a cap on concurrent requests, a bearer token)."""
        return await self._client.request(method, url, **kwargs)

    async def _json(self, method: str, url: str, what: str, **kwargs: Any) -> dict[str, Any]:
        """A request whose answer must be a JSON object."""
        response = await self._send(method, url, **kwargs)
        data = self._client.parse_json(response)
        if not isinstance(data, dict):
            raise SourceError(f"{what}: expected a JSON object, got {type(data).__name__}")
        return data

    async def _act(self, method: str, url: str, **kwargs: Any
                   ) -> httpx.Response | ActionResult:
        """Send an action request; turn transport trouble into a result, never raise.
        A write that got no answer (or a 5xx) may have happened: it says so."""
        try:
            return await self._send(method, url, expect=self.action_statuses, **kwargs)
        except RateLimited as err:
            return ActionResult(ok=False, code=ActionCode.RATE_LIMITED, message=str(err))
        except SourceError as err:
            status = self._client.stats.last_status
            if method != "GET" and (status is None or status >= 500):
                return ActionResult(ok=False, code=ActionCode.NOT_CONFIRMED,
                                    message=f"not confirmed: {err} — check the next snapshot "
                                    "before trying again")
            return ActionResult(ok=False, code=ActionCode.ERROR, message=str(err))

    def _read_answer(self, response: httpx.Response, model: type[D], what: str
                     ) -> D | ActionResult:
        """An answer an action goes on from (the record to change), or a result saying
        it was unreadable, so nothing was changed."""
        try:
            return model.model_validate(self._client.parse_json(response))
        except (SourceError, ValidationError) as err:
            message = describe(err) if isinstance(err, ValidationError) else str(err)
            return ActionResult(ok=False, code=ActionCode.BAD_RESPONSE,
                                message=f"{what}: unreadable answer ({message}); not changed")


T = TypeVar("T")


@dataclass(frozen=True)
class Cached(Generic[T]):
    """What a poll read that later polls reuse until it is due again: when it was read,
    for which window (counters), and the value."""

    fetched_at: datetime
    window_start: datetime | None
    value: T


class Plan(Protocol):
    """What a poll will send (``made_at``: when it was planned; ``cost``: requests)."""

    @property
    def made_at(self) -> datetime: ...

    @property
    def cost(self) -> int: ...


P = TypeVar("P", bound=Plan)


class PlannedSource(WebSource, Generic[P]):
    """A web source whose polls are planned. The poller asks ``poll_cost()`` before each
    poll (to keep within the request budget), which plans the poll; the ``snapshot()``
    that follows carries out that very plan, so what was counted is what is sent.
    ``clock`` is injectable for tests."""

    #: requests the last snapshot() sent
    last_poll_requests: int = 0

    def __init__(self, name: str, policy: IntervalPolicy,
                 clock: Callable[[], datetime] | None = None) -> None:
        super().__init__(name, policy)
        self._clock = clock or wall_now
        self._planned: P | None = None

    @abstractmethod
    def _plan(self, now: datetime) -> P:
        """What a poll at ``now`` sends: what is due, and what the budget has room for."""

    def poll_cost(self) -> int:
        self._planned = self._plan(self._clock())
        return self._planned.cost

    def _take_plan(self, now: datetime) -> P:
        """The plan ``poll_cost()`` made for this poll; a new one if there is none, or it
        was made more than a few seconds ago."""
        plan, self._planned = self._planned, None
        if plan is None or abs((now - plan.made_at).total_seconds()) > 5:
            plan = self._plan(now)
        return plan

    @contextmanager
    def _counting_requests(self) -> Iterator[None]:
        """Count the requests sent meanwhile into ``last_poll_requests``."""
        sent_before = self._client.stats.requests
        try:
            yield
        finally:
            self.last_poll_requests = self._client.stats.requests - sent_before

    def _window_start(self, kind: Literal["interval", "day"], now: datetime) -> datetime:
        return (self.policy.interval_start(now) if kind == "interval"
                else self.policy.day_start(now))
