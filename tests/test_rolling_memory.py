"""Rolling windows keep each queue's counters only where they changed (issue #12 of this
tracker: memory): a wall running for hours holds a bounded amount, and the figures are
the same as subtracting whole samples."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from supervisor_tui.domain.model import QueueStats, Snapshot
from supervisor_tui.domain.rolling import RollingWindows

DAY = datetime(2026, 12, 7, tzinfo=UTC)


def stats(qid: str, offered: int, handle_s: float = 0.0) -> QueueStats:
    return QueueStats(queue_id=qid, window_start=DAY, offered=offered, answered=offered,
                      answered_within_threshold=offered, handled=offered, handle_s=handle_s)


def snap(at: datetime, day: dict[str, QueueStats]) -> Snapshot:
    return Snapshot(taken_at=at, interval_start=at.replace(minute=0, second=0),
                    day_start=DAY, day_stats=day)


def test_a_busy_and_a_quiet_queue_over_three_hours() -> None:
    rolling = RollingWindows((15, 60), every_s=15.0)
    quiet = {f"q{i}": stats(f"q{i}", 3) for i in range(200)}  # the same objects all along
    offered = 0
    history: list[tuple[datetime, int]] = []
    t = DAY + timedelta(hours=1)
    last = snap(t, quiet)
    for _ in range(3 * 3600 // 5):  # a poll every 5 s for three hours
        t += timedelta(seconds=5)
        offered += 1  # one contact every poll on the busy queue
        last = snap(t, {**quiet, "busy": stats("busy", offered, handle_s=offered * 30.5)})
        rolling.observe(last)
        history.append((t, offered))
    for minutes in (15, 60):
        view = rolling.view(minutes, last)
        assert view.complete
        then = max(n for at, n in history if at <= view.start)
        busy = view.stats("busy")
        assert busy is not None
        assert (busy.offered, busy.handled) == (offered - then, offered - then)
        assert isinstance(busy.offered, int)
        assert busy.handle_s == offered * 30.5 - then * 30.5
        assert view.stats("q7") == QueueStats(queue_id="q7", window_start=view.start)
        # The headline total reads the same counters as the rows.
        total = view.total(["busy", *quiet])
        assert total is not None and total.offered == busy.offered
    # Kept: one record per quiet queue, and the busy queue's last hour (one per sample,
    # 241 samples cover 60 min + 15 s, and one older: trimmed as a sample is recorded).
    assert rolling.held() <= 200 + 60 * 60 // 15 + 3, rolling.held()


def test_a_queue_gone_and_back_counts_from_its_return() -> None:
    rolling = RollingWindows((15,), every_s=15.0)
    t = DAY + timedelta(hours=2)
    a = stats("a", 5)
    rolling.observe(snap(t, {"a": a, "b": stats("b", 10)}))
    t += timedelta(minutes=1)
    rolling.observe(snap(t, {"a": a}))  # b leaves the feed
    t += timedelta(minutes=1)
    rolling.observe(snap(t, {"a": a, "b": stats("b", 12)}))  # and is back
    view = rolling.view(1, snap(t, {"a": a, "b": stats("b", 12)}))
    b = view.stats("b")
    assert b is not None and b.offered == 12  # absent a minute ago: nothing to subtract
    later = rolling.view(15, snap(t, {"a": a, "b": stats("b", 12)}))
    assert later.start == DAY + timedelta(hours=2)  # the first sample (all it has seen)
    b = later.stats("b")
    assert b is not None and b.offered == 2


def test_a_queue_removed_for_good_is_forgotten_after_the_longest_window() -> None:
    rolling = RollingWindows((15, 60), every_s=15.0)
    t = DAY + timedelta(hours=2)
    a = stats("a", 5)
    rolling.observe(snap(t, {"a": a, "b": stats("b", 10)}))
    assert rolling.held() == 2
    for _ in range(4 * 70):  # b is gone: 70 minutes of samples without it
        t += timedelta(seconds=15)
        rolling.observe(snap(t, {"a": a}))
    assert rolling.held() == 1  # a's one record; b's history is dropped
    assert rolling.view(60, snap(t, {"a": a})).stats("b") == QueueStats(
        queue_id="b", window_start=t - timedelta(minutes=60))


def test_a_count_too_large_for_a_double_is_not_kept_and_nothing_breaks() -> None:
    rolling = RollingWindows((15,), every_s=15.0)
    t = DAY + timedelta(hours=3)
    huge = QueueStats.trusted(queue_id="q", window_start=DAY, offered=10**400)
    rolling.observe(snap(t, {"q": huge, "ok": stats("ok", 4)}))
    t += timedelta(minutes=15)
    later = {"q": stats("q", 9), "ok": stats("ok", 6)}
    rolling.observe(snap(t, later))
    view = rolling.view(15, snap(t, later))
    ok, q = view.stats("ok"), view.stats("q")
    assert ok is not None and ok.offered == 2
    assert q is not None and q.offered == 9  # nothing known to subtract: today so far


def test_a_sample_taken_after_the_paint_gives_the_same_windows() -> None:
    """The console notes a sample due and takes it after the paint (~25 ms at 5,000
    queues, once per 15 s): every window shown, before and after, is the one a sample
    taken at once gives, through the start of the day, midnight and a queue that goes
    and comes back."""
    at_once, after_paint = RollingWindows((1, 15), every_s=15.0), RollingWindows((1, 15), 15.0)
    t = DAY + timedelta(hours=23, minutes=40)
    day_start = DAY
    offered = {f"q{i}": 0 for i in range(5)}
    for step in range(1, 400):  # a poll every 7 s: samples fall between polls
        t += timedelta(seconds=7)
        if t >= DAY + timedelta(days=1) and day_start == DAY:
            day_start = DAY + timedelta(days=1)  # midnight: the day's counters restart
            offered = dict.fromkeys(offered, 0)
        for i, qid in enumerate(offered):
            offered[qid] += step % (i + 2) == 0
        day = {q: stats(q, n) for q, n in offered.items() if not (q == "q3" and 100 < step < 300)}
        current = Snapshot(taken_at=t, interval_start=t.replace(second=0), day_start=day_start,
                           day_stats=day)
        at_once.observe(current)
        at_once.settle()
        after_paint.observe(current)  # the sample due is taken later (or at the next poll)
        for minutes in (1, 15):
            want, got = at_once.view(minutes, current), after_paint.view(minutes, current)
            assert (got.start, got.complete) == (want.start, want.complete), step
            for qid in offered:
                assert got.stats(qid) == want.stats(qid), (step, minutes, qid)
        if step % 3 == 0:
            after_paint.settle()
    assert after_paint.held() == at_once.held()
