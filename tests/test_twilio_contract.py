"""The twilio source against Twilio's own TaskRouter spec, served by Prism.

Prism (npm: @stoplight/prism-cli, run with npx) mocks an OpenAPI document: it checks
every request against the spec and answers one that does not fit with 422, and answers
the rest with the spec's examples (static) or with random data that fits the answer
schemas (``-d``). So the source is driven through polls and every action, and the test
counts Prism's 422s: none may come. The static examples are Twilio's own payloads; the
random ones are a fuzz test of our validation (every poll is a snapshot or a one-line
error, every action an ``ActionResult``; never a traceback).

The spec is read from ../shared/specs/ (beside the repo), never copied here. Skipped
only when node is absent (CI has node 20; Prism is fetched by npx on first use);
benchmarks/prism_twilio.sh is the same check by hand.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.domain.model import ActionResult
from supervisor_tui.sources.base import SourceError
from supervisor_tui.sources.twilio.settings import TwilioQueueSettings, TwilioSettings
from supervisor_tui.sources.twilio.source import TwilioSource
from tests.test_twilio_source import SPEC_PATH, in_ci

PRISM = ("npx", "--yes", "@stoplight/prism-cli@5")
START_S = 240.0  # npx may have to fetch Prism first
TOKEN_ENV = "SUPERVISOR_TUI_TEST_PRISM_TOKEN"
A32 = "a" * 32  # the spec's examples use SIDs like WSaaaa...


class Recording(httpx.AsyncBaseTransport):
    """The network, noting each answer's status and the start of its body."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.seen: list[tuple[str, str, int, str]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        self.seen.append((request.method, request.url.path, response.status_code,
                          body[:300].decode(errors="replace")))
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()

    def violations(self) -> list[str]:
        return [f"{m} {p}: {b}" for m, p, status, b in self.seen if status == 422]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def spec_file() -> Path:
    if not SPEC_PATH.is_file():
        reason = f"the vendor spec {SPEC_PATH} is absent (read from shared/specs/)"
        if in_ci():
            pytest.fail(reason)
        pytest.skip(reason)
    return SPEC_PATH


def run_prism(spec: Path, tmp: Path, *extra: str) -> Iterator[str]:
    if shutil.which("node") is None or shutil.which("npx") is None:
        pytest.skip("node is absent: the Prism contract test needs node and npx")
    port = free_port()
    log = tmp / f"prism-{port}.log"
    with log.open("wb") as out:
        # a session of its own: stopping it also stops the node process npx starts
        proc = subprocess.Popen([*PRISM, "mock", *extra, "-h", "127.0.0.1", "-p", str(port),
                                 str(spec)], stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + START_S
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"Prism did not start:\n{log.read_text()[-2000:]}")
                time.sleep(0.3)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


@pytest.fixture(scope="module")
def static(spec_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from run_prism(spec_file, tmp_path_factory.mktemp("prism"))


@pytest.fixture(scope="module")
def dynamic(spec_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from run_prism(spec_file, tmp_path_factory.mktemp("prism"), "-d")


def source_on(url: str, transport: Recording) -> TwilioSource:
    settings = TwilioSettings(
        workspace_sid=f"WS{A32}", account_sid=f"AC{A32}", password_env=TOKEN_ENV,
        base_url=url, queue_defaults=TwilioQueueSettings(threshold_s=10, short_abandon_s=5),
        move_attribute="transfer_queue", move_priority=10,
        agent_queues_attribute="routing.skills", max_pages=3,
        max_requests=100_000)  # Prism has no rate limit; ours would cut the fuzz short
    return TwilioSource("prism", IntervalPolicy(), settings, transport=transport)


async def poll(source: TwilioSource) -> str:
    """A snapshot, or the one-line reason it was refused."""
    try:
        snap = await source.snapshot()
    except SourceError as err:
        text = str(err)
        assert text and "\n" not in text and "Traceback" not in text
        return f"refused: {text}"
    return f"{len(snap.queues)} queues"


async def act(source: TwilioSource) -> list[ActionResult]:
    return [await source.move_contact(f"WT{A32}", f"WQ{A32}"),
            await source.set_agent_skills(f"WK{A32}", [f"WQ{A32}"]),
            await source.set_agent_state(f"WK{A32}", "New Activity"),
            await source.set_agent_state(f"WK{A32}", "logout")]


async def test_twilios_own_examples_through_prism(static: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Every request fits the spec; Twilio's example counters (for a 2015 window) are
    refused in one line, not shown as today's; the actions go through."""
    monkeypatch.setenv(TOKEN_ENV, "not-a-secret")
    transport = Recording()
    source = source_on(static, transport)
    try:
        outcomes = [await poll(source), await poll(source)]
        results = await act(source)
    finally:
        await source.close()
    assert transport.violations() == []
    assert len(transport.seen) >= 12
    for outcome in outcomes:
        assert outcome.startswith("refused: interval statistics of ") and \
            "counted from 2015" in outcome, outcome
    codes = [r.code for r in results]
    # the example task is in the example queue; the example worker gets the skill; the
    # example activity ("New Activity") is the one the example worker answers with
    assert codes == ["same_queue", "ok", "ok", "unknown_state"], results
    assert results[2].message.endswith("is now New Activity")
    assert "has: New Activity" in results[3].message


async def test_random_answers_through_prism_are_refused_cleanly(
        dynamic: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Prism's random answers (that fit the spec's loose schemas): each poll is a
    snapshot or a one-line refusal, each action a result; no request breaks the spec."""
    monkeypatch.setenv(TOKEN_ENV, "not-a-secret")
    transport = Recording()
    source = source_on(dynamic, transport)
    outcomes: list[str] = []
    results: list[ActionResult] = []
    try:
        # how many requests a round makes depends on what Prism invents (a refused poll
        # stops early): go on until 100 requests have been checked, within a cap
        for _ in range(80):
            if len(transport.seen) >= 100:
                break
            source._catalog_at = None  # re-read the catalog each time: more variety
            outcomes.append(await poll(source))
            results += await act(source)
            await asyncio.sleep(0)
    finally:
        await source.close()
    assert transport.violations() == []
    assert len(transport.seen) >= 100
    assert all(isinstance(r, ActionResult) and r.message for r in results)
    assert all("\n" not in r.message for r in results)
