"""HTTP plumbing shared by the platform sources (http, twilio, zendesk, genesys).

One place decides what a failed request looks like on screen, so every source reports
a dead server, a 429, an HTML error page or a 200 with garbage the same way: a
one-line ``SourceError`` reason. It also enforces the source's request budget (the
platform's API limit) and keeps the request counts and latencies the sources screen
shows.
"""

from __future__ import annotations

import email.utils
import os
import re
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from supervisor_tui.safe_text import clean
from supervisor_tui.sources.base import SourceError


class RateLimited(SourceError):
    """The platform said 429 (or our own budget is spent); retry after ``retry_after`` s."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def secret_from_env(var: str | None, what: str) -> str | None:
    """The value of environment variable ``var``; a clear error when it is unset."""
    if not var:
        return None
    value = os.environ.get(var)
    if not value:
        raise SourceError(f"{what}: environment variable {var} is not set")
    return value


def parse_retry_after(value: str | None, now: Callable[[], datetime] | None = None
                      ) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = (now or (lambda: datetime.now(UTC)))()
    return max(0.0, (when - current).total_seconds())


class RequestBudget:
    """At most ``limit`` requests in any sliding window of ``window_s`` seconds."""

    def __init__(self, limit: int, window_s: float,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        if limit <= 0 or window_s <= 0:
            raise ValueError("a budget needs a positive limit and window")
        self.limit = limit
        self.window_s = window_s
        self._monotonic = monotonic
        self._sent: deque[float] = deque()

    def _trim(self, now: float) -> None:
        while self._sent and self._sent[0] <= now - self.window_s:
            self._sent.popleft()

    def remaining(self) -> int:
        self._trim(self._monotonic())
        return self.limit - len(self._sent)

    def wait_for(self, n: int = 1) -> float:
        """Seconds until ``n`` requests fit (0 if they fit now)."""
        now = self._monotonic()
        self._trim(now)
        if n > self.limit:
            raise ValueError(f"{n} requests can never fit a budget of {self.limit}")
        excess = len(self._sent) + n - self.limit
        if excess <= 0:
            return 0.0
        return self._sent[excess - 1] + self.window_s - now

    def try_acquire(self, n: int = 1) -> bool:
        if self.wait_for(n) > 0:
            return False
        now = self._monotonic()
        self._sent.extend([now] * n)
        return True

    def describe(self) -> str:
        return f"{self.limit} requests per {self.window_s:g} s"


@dataclass
class RequestStats:
    """Counts and latencies of one source's requests, for the sources screen."""

    requests: int = 0
    failures: int = 0
    rate_limited: int = 0
    last_status: int | None = None
    latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=200))

    def record(self, status: int | None, latency_ms: float, ok: bool) -> None:
        self.requests += 1
        self.last_status = status
        self.latencies_ms.append(latency_ms)
        if status == 429:
            self.rate_limited += 1
        if not ok:
            self.failures += 1

    def p95_ms(self) -> float | None:
        if not self.latencies_ms:
            return None
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def _body_hint(response: httpx.Response) -> str:
    """A short, safe description of an unexpected body (HTML page title, first text)."""
    text = response.text[:2000]
    match = _TITLE.search(text)
    if match:
        return f"an HTML page ({clean(match.group(1), 60)})"
    if text.lstrip().startswith("<"):
        return "an HTML/XML page"
    return repr(clean(text, 80)) if text.strip() else "an empty body"


class WebClient:
    """An ``httpx.AsyncClient`` with budget, stats and one error vocabulary.

    ``transport`` is for tests (``httpx.MockTransport`` / respx); production uses the
    network. TLS verification is always on: ``verify`` may name a CA bundle file.
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
    ) -> None:
        self.source = source
        self.budget = budget
        self.stats = RequestStats()
        self.timeout_s = timeout_s
        self._client = httpx.AsyncClient(
            base_url=base_url,
            auth=auth,
            headers={"User-Agent": "supervisor-tui", **(headers or {})},
            timeout=httpx.Timeout(timeout_s),
            verify=ca_bundle if ca_bundle else True,
            transport=transport,
            follow_redirects=False,
        )

    async def request(self, method: str, url: str, *, expect: tuple[int, ...] = (200,),
                      **kwargs: Any) -> httpx.Response:
        """Send one request; return the response if its status is in ``expect``."""
        if self.budget is not None and not self.budget.try_acquire():
            wait = self.budget.wait_for()
            raise RateLimited(f"API budget of {self.budget.describe()} used up; "
                              f"next request in {wait:.0f} s", wait)
        started = time.perf_counter()
        try:
            response = await self._client.request(method, url, **kwargs)
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
        raise SourceError(f"HTTP {status} from {method} {url}: {_body_hint(response)}")

    async def json(self, method: str, url: str, **kwargs: Any) -> Any:
        """Send a request and parse a JSON body; anything else is a clear error."""
        response = await self.request(method, url, **kwargs)
        return self.parse_json(response)

    @staticmethod
    def parse_json(response: httpx.Response) -> Any:
        content_type = response.headers.get("content-type", "")
        try:
            return response.json()
        except ValueError:
            kind = "not JSON" if "json" not in content_type else "broken JSON"
            raise SourceError(f"HTTP {response.status_code} with {kind}: "
                              f"{_body_hint(response)}") from None

    async def aclose(self) -> None:
        await self._client.aclose()
