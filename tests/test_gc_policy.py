"""No cyclic collection walks a big centre while a poll is fetched, decoded or painted
(in the console) or while a version is built (in the collector): the collector is held
from the poll's start and settled after it."""

from __future__ import annotations

import asyncio
import gc

from supervisor_tui.domain.model import Snapshot
from supervisor_tui.gc_policy import PollGC
from supervisor_tui.protocol.collector import Collector
from tests.helpers import POLICY, ScriptedSource, centre, make_app, settle, wait_for


class Recording(ScriptedSource):
    """Notes, at each poll, whether Python's cyclic collector could run."""

    def __init__(self) -> None:
        super().__init__([centre()])
        self.collector_on: list[bool] = []

    async def snapshot(self) -> Snapshot:
        self.collector_on.append(gc.isenabled())
        return await super().snapshot()


async def test_the_console_holds_the_collector_from_each_polls_start_to_its_paint() -> None:
    source = Recording()
    app = make_app(source)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await wait_for(pilot, lambda: len(source.collector_on) >= 3)
        await wait_for(pilot, gc.isenabled)  # (settled after the paint)
    assert not any(source.collector_on)


async def test_a_poll_with_nothing_new_settles_the_collector_at_once() -> None:
    source = Recording()
    source.fail_with = "HTTP 503 from the platform"
    app = make_app(source)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: len(source.collector_on) >= 2)
        await wait_for(pilot, gc.isenabled)
    assert not any(source.collector_on)


async def test_the_collector_holds_it_through_a_round_and_settles_after() -> None:
    source = Recording()
    collector = Collector([source], POLICY, interval_s=0.05)
    rounds = asyncio.create_task(collector.run())
    try:
        while collector.stats.rounds < 3:
            await asyncio.sleep(0.01)
        assert gc.isenabled()  # between rounds
    finally:
        rounds.cancel()
    assert len(source.collector_on) >= 3 and not any(source.collector_on)


def test_settle_turns_it_back_on_and_runs_a_full_pass_only_when_due() -> None:
    clock = [0.0]
    policy = PollGC(full_every_s=600, monotonic=lambda: clock[0])
    try:
        policy.hold()
        assert not gc.isenabled()
        policy.settle()
        assert gc.isenabled() and policy.full_runs == 1  # the first: a full pass
        policy.hold()
        clock[0] = 599
        policy.settle()
        assert policy.full_runs == 1
        clock[0] = 600
        policy.settle()
        assert gc.isenabled() and policy.full_runs == 2
    finally:
        gc.unfreeze()
        gc.enable()


def test_a_poll_begun_before_the_last_one_settled_stays_held() -> None:
    policy = PollGC()
    try:
        policy.begin()  # poll 1
        policy.hold()  # its result arrives; painted later
        policy.begin()  # poll 2 starts before poll 1's paint
        policy.settle()  # poll 1 settles: poll 2 is still being fetched
        assert not gc.isenabled()
        policy.hold()  # poll 2's result
        policy.settle()
        assert gc.isenabled()
    finally:
        gc.unfreeze()
        gc.enable()
