"""The poller keeps last good data when a source fails, times out or lies."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.domain.model import HealthStatus, Queue, Snapshot
from supervisor_tui.poller import DOWN_AFTER, Poller, backoff_delay, merge
from supervisor_tui.sources.base import Source, SourceError

POLICY = IntervalPolicy()
T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def snap(*queue_ids: str) -> Snapshot:
    return Snapshot(
        taken_at=T0,
        interval_start=T0,
        day_start=T0.replace(hour=0),
        queues=tuple(Queue(id=q, name=q) for q in queue_ids),
    )


class Scripted(Source):
    """Plays back a script: a Snapshot, an exception, 'slow' or garbage."""

    def __init__(self, name: str, script: list[object]) -> None:
        super().__init__(name, POLICY)
        self.script = script

    async def snapshot(self) -> Snapshot:
        step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if step == "slow":
            await asyncio.sleep(5)
        if isinstance(step, Exception):
            raise step
        return step  # type: ignore[return-value]


async def test_failure_keeps_last_good_data_and_reports_reason() -> None:
    source = Scripted("pbx", [snap("sales"), SourceError("HTTP 500 from pbx")])
    poller = Poller([source], interval_s=1, timeout_s=1)
    first = await poller.poll_once()
    assert first.fresh and first.snapshot is not None
    second = await poller.poll_once()
    assert not second.fresh
    assert second.snapshot is not None and second.snapshot.queues[0].id == "sales"
    health = second.health["pbx"]
    assert health.status is HealthStatus.DEGRADED
    assert health.last_error == "HTTP 500 from pbx"
    assert health.last_success is not None
    assert second.errors == ("pbx: HTTP 500 from pbx",)


async def test_repeated_failures_mark_the_source_down() -> None:
    poller = Poller([Scripted("pbx", [RuntimeError("boom")])], interval_s=1, timeout_s=1)
    for _ in range(DOWN_AFTER):
        result = await poller.poll_once()
    assert result.health["pbx"].status is HealthStatus.DOWN
    assert result.snapshot is None


async def test_slow_source_times_out_without_blocking() -> None:
    poller = Poller([Scripted("slow", ["slow"])], interval_s=1, timeout_s=0.05)
    result = await asyncio.wait_for(poller.poll_once(), 1)
    assert "no answer within 0.05 s" in (result.health["slow"].last_error or "")


async def test_garbage_is_a_failure_not_data() -> None:
    poller = Poller([Scripted("junk", [{"queues": "lol"}])], interval_s=1, timeout_s=1)
    result = await poller.poll_once()
    assert result.snapshot is None
    assert "not a Snapshot" in (result.health["junk"].last_error or "")


async def test_error_text_is_cleaned_of_escape_codes() -> None:
    poller = Poller([Scripted("x", [SourceError("bad\x1b[2J\x07 thing")])], timeout_s=1)
    result = await poller.poll_once()
    assert "\x1b" not in (result.health["x"].last_error or "")


async def test_one_failing_source_does_not_hide_the_other() -> None:
    poller = Poller(
        [Scripted("queues", [snap("sales")]), Scripted("agents", [SourceError("down")])],
        timeout_s=1,
    )
    result = await poller.poll_once()
    assert result.fresh and result.snapshot is not None
    assert [q.id for q in result.snapshot.queues] == ["sales"]
    assert result.snapshot.health["agents"].status is HealthStatus.DEGRADED


def test_merge_combines_sources() -> None:
    merged = merge([snap("a"), snap("b")], {})
    assert [q.id for q in merged.queues] == ["a", "b"]


def test_backoff_grows_and_is_capped() -> None:
    import random

    rng = random.Random(1)
    assert backoff_delay(2, 0, rng) == 2
    delays = [backoff_delay(2, 8, rng) for _ in range(200)]
    assert all(2 <= d <= 60 for d in delays)
    assert max(delays) > 10  # jittered over a growing window


def test_poller_needs_a_source() -> None:
    with pytest.raises(ValueError):
        Poller([])
