"""The shared HTTP plumbing of platform sources: one error vocabulary, budgets, secrets."""

from __future__ import annotations

import httpx
import pytest

from supervisor_tui.sources.base import SourceError
from supervisor_tui.sources.limits import RateLimited, RequestBudget, parse_retry_after
from supervisor_tui.sources.web import WebClient

TOKEN = "s3cr3t-T0KEN-value-0123456789"


def echo_headers(request: httpx.Request) -> httpx.Response:
    """A broken proxy that prints the request's headers in its error page."""
    dump = f"auth {request.headers.get('authorization')}"
    return httpx.Response(502, text=f"<html><title>Bad gateway {dump}</title></html>",
                          headers={"content-type": "text/html"})


@pytest.mark.parametrize("auth,headers", [
    (None, {"Authorization": f"Bearer {TOKEN}"}),
    (("ACxxxxxxxx", TOKEN), None),
])
async def test_credentials_never_reach_an_error_message(auth, headers) -> None:  # type: ignore[no-untyped-def]
    client = WebClient("pbx", "https://pbx.example", auth=auth, headers=headers,
                       transport=httpx.MockTransport(echo_headers))
    with pytest.raises(SourceError) as caught:
        await client.json("GET", "/stats")
    message = str(caught.value)
    assert "HTTP 502" in message and "Bad gateway" in message
    assert TOKEN not in message and "***" in message
    assert "czNjcjN0" not in message  # nor its base64 form inside a Basic header
    await client.aclose()


async def test_error_vocabulary() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/429":
            return httpx.Response(429, headers={"Retry-After": "17"})
        if path == "/401":
            return httpx.Response(401, json={"message": "bad token"})
        if path == "/html":
            return httpx.Response(200, text="<html><title>Maintenance</title></html>")
        return httpx.Response(200, json={"ok": True})

    client = WebClient("pbx", "https://pbx.example", transport=httpx.MockTransport(answer),
                       budget=RequestBudget(3, 60.0))
    with pytest.raises(RateLimited) as limited:
        await client.json("GET", "/429")
    assert limited.value.retry_after == 17
    with pytest.raises(SourceError, match="authentication refused"):
        await client.json("GET", "/401")
    with pytest.raises(SourceError, match=r"not JSON.*Maintenance"):
        await client.json("GET", "/html")
    with pytest.raises(RateLimited, match="API budget of 3 requests per 60 s used up"):
        await client.json("GET", "/ok")  # the budget refuses before the network
    assert client.stats.requests == 3 and client.stats.rate_limited == 1
    await client.aclose()


def test_retry_after_as_seconds_or_http_date() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
    assert parse_retry_after("120") == 120
    assert parse_retry_after("Mon, 23 Nov 2026 07:01:30 GMT", lambda: now) == 90
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
