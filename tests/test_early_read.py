"""A console pointed at a collector sends its first read before it builds its screens
(``Source.begin``): the collector prepares a big centre's answer (~0.2 s at 50,000
agents) while the console imports and lays out its screens, not while a supervisor
waits for numbers (issue 15). The first poll takes that answer; a refused one is that
poll's failure, a stale one is asked for again. Real servers on loopback."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from starlette.types import Receive, Scope, Send

from supervisor_tui.cli import build_app, build_parser
from supervisor_tui.protocol.server import ProtocolServer, serve_in_thread
from supervisor_tui.sources.base import SourceError
from supervisor_tui.sources.http.settings import HttpSettings
from supervisor_tui.sources.http.source import HttpSource
from supervisor_tui.ui.app import SupervisorApp
from tests.helpers import screen_text
from tests.test_serve_sim import POLICY, make_sim


class Counting:
    """The protocol server, counting snapshot requests as they arrive; it can answer
    late (a collector building a big centre's version) or refuse the first ones."""

    def __init__(self) -> None:
        self.server = ProtocolServer(make_sim())
        self.arrived = 0
        self.delay_s = 0.0
        self.refuse_first = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/v1/snapshot":
            self.arrived += 1
            if self.arrived <= self.refuse_first:
                await send({"type": "http.response.start", "status": 503, "headers": []})
                await send({"type": "http.response.body", "body": b"busy"})
                return
            await asyncio.sleep(self.delay_s)
        await self.server.app(scope, receive, send)


@pytest.fixture
def collector() -> Iterator[tuple[Counting, str]]:
    counting = Counting()
    with serve_in_thread(counting) as base:
        yield counting, base


@pytest.fixture
async def remote(collector: tuple[Counting, str]) -> AsyncIterator[HttpSource]:
    source = HttpSource("floor", POLICY, HttpSettings(url=collector[1], timeout_s=5))
    yield source
    await source.close()


async def test_begin_sends_the_read_and_the_first_snapshot_takes_its_answer(
        collector: tuple[Counting, str], remote: HttpSource) -> None:
    counting = collector[0]
    counting.delay_s = 0.3  # the collector is still working on it when begin returns
    await remote.begin()
    for _ in range(200):  # (the server's thread counts it as it comes in)
        if counting.arrived:
            break
        await asyncio.sleep(0.01)
    assert counting.arrived == 1  # on its way before the console is built
    snap = await remote.snapshot()
    assert snap.agents and snap.queues
    assert counting.arrived == 1  # the first poll asked for nothing more
    await remote.snapshot()  # later polls ask as usual
    assert counting.arrived == 2


async def test_the_early_answer_is_decoded_as_it_arrives_not_at_the_first_poll(
        collector: tuple[Counting, str], remote: HttpSource) -> None:
    decoded: list[bool] = []
    decode = remote._decode

    def counted(*args: object) -> object:
        decoded.append(True)
        return decode(*args)  # type: ignore[arg-type]

    remote._decode = counted  # type: ignore[method-assign, assignment]
    await remote.begin()
    for _ in range(300):  # the console starting meanwhile: the loop runs, nobody polls
        if decoded and remote._early is not None and remote._early.done():
            break
        await asyncio.sleep(0.01)
    assert decoded == [True]  # decoded before anyone asked for a snapshot
    snap = await remote.snapshot()
    assert snap.agents and decoded == [True] and collector[0].arrived == 1


async def test_a_refused_early_read_is_the_first_polls_failure_and_the_next_asks_again(
        collector: tuple[Counting, str], remote: HttpSource) -> None:
    # (not asked again at once: a server that does not answer is then said after one
    # timeout, not two)
    collector[0].refuse_first = 1
    await remote.begin()  # never fails itself
    with pytest.raises(SourceError, match="HTTP 503"):
        await remote.snapshot()
    assert collector[0].arrived == 1
    snap = await remote.snapshot()
    assert snap.agents and collector[0].arrived == 2


async def test_a_stale_early_answer_is_dropped(collector: tuple[Counting, str],
                                               remote: HttpSource) -> None:
    remote.early_max_age_s = 0.0  # (the console took longer than this to poll)
    await remote.begin()
    await asyncio.sleep(0.2)
    await remote.snapshot()
    assert collector[0].arrived == 2


async def test_a_console_closed_before_its_first_poll_leaves_nothing_running(
        collector: tuple[Counting, str], remote: HttpSource) -> None:
    collector[0].delay_s = 5.0
    await remote.begin()
    await remote.close()  # cancels the read in flight (no task left pending)
    assert remote._early is None


def test_the_console_started_from_the_command_line_reads_before_building_its_screens(
        collector: tuple[Counting, str], tmp_path: Path) -> None:
    counting, url = collector
    counting.delay_s = 0.2
    config = tmp_path / "c.toml"
    config.write_text(f'[sources.floor]\ntype = "http"\nurl = "{url}"\n',
                      encoding="utf-8")
    args = build_parser().parse_args(["--config", str(config), "--db", str(tmp_path / "s.db")])
    loop = asyncio.new_event_loop()
    try:
        app = build_app(args, loop)  # as ``supervisor-tui`` does before running it
        assert isinstance(app, SupervisorApp)
        for _ in range(200):  # the loop is not running: the request went out whole before
            if counting.arrived:
                break
            time.sleep(0.01)
        assert counting.arrived == 1  # sent while the screens were still to be built
        assert not gc.isenabled()  # held while the answer is decoded during start-up...
        shown: list[str] = []
        collecting: list[bool] = []

        async def supervisor(pilot) -> None:  # type: ignore[no-untyped-def]
            for _ in range(200):
                if app.board is not None:
                    break
                await pilot.pause(0.05)
            await pilot.pause(0.1)
            collecting.append(gc.isenabled())
            shown.append(screen_text(app))
            await pilot.press("q")

        app.run(loop=loop, headless=True, size=(120, 40), auto_pilot=supervisor)
    finally:
        loop.close()
        gc.enable()
    assert collecting == [True]  # ...and let go once the first poll is painted
    assert shown and "Sales" in shown[0]  # the centre's numbers, from that first read
    assert counting.arrived >= 1
