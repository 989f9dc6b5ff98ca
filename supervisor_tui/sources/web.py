"""HTTP plumbing shared by the platform sources (http, twilio, zendesk, genesys).

One place decides what a failed request looks like on screen, so every source reports
a dead server, a 429, an HTML error page or a 200 with garbage the same way: a
one-line ``SourceError`` reason. It also enforces the source's request budget (the
platform's API limit) and keeps the request counts and latencies the sources screen
shows.
"""

from __future__ import annotations

import base64
import re
import ssl
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from supervisor_tui.domain.text import clean, redactor
from supervisor_tui.sources.base import Source, SourceError
from supervisor_tui.sources.limits import (
    RateLimited,
    RequestBudget,
    RequestStats,
    parse_retry_after,
    secret_from_env,
)

__all__ = ["RateLimited", "RequestBudget", "RequestStats", "WebClient", "WebSource",
           "parse_retry_after", "secret_from_env"]


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
        self._client = httpx.AsyncClient(
            base_url=base_url,
            auth=auth,
            headers={"User-Agent": "supervisor-tui", **(headers or {})},
            timeout=httpx.Timeout(timeout_s),
            verify=ssl.create_default_context(cafile=ca_bundle) if ca_bundle else True,
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

    async def aclose(self) -> None:
        await self._client.aclose()


class WebSource(Source):
    """A source that talks to its platform through one ``WebClient`` (``self._client``):
    its budget and request statistics are the client's."""

    _client: WebClient

    def redact(self, text: str) -> str:
        return self._client.redact(text)

    @property
    def budget(self) -> RequestBudget | None:
        return self._client.budget

    @property
    def request_stats(self) -> RequestStats | None:
        return self._client.stats
