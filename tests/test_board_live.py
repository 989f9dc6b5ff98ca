"""Platforms that count waiting contacts without listing them (Zendesk Talk) or cut the
list short (Genesys): the board shows the platform's count and oldest wait."""

from __future__ import annotations

from datetime import timedelta

from supervisor_tui.domain.board import build_board
from supervisor_tui.domain.model import QueueLive
from supervisor_tui.poller import merge
from tests.helpers import T0, centre


def test_counted_but_unlisted_contacts_show_on_the_board() -> None:
    snap = centre().model_copy(update={"queue_live": {
        # Support lists 1 waiting (c3, 30 s) but the platform counts 4, oldest 3 minutes.
        "support": QueueLive(queue_id="support", waiting=4,
                             oldest_waiting_since=T0 - timedelta(minutes=3)),
        # Sales: the platform counts fewer than listed: the list wins.
        "sales": QueueLive(queue_id="sales", waiting=1, oldest_waiting_since=None)}})
    board = build_board(snap)
    support, sales = board.rows_by_id["support"], board.rows_by_id["sales"]
    assert support.waiting == 4 and support.oldest_waiting_since == T0 - timedelta(minutes=3)
    assert sales.waiting == 2 and sales.oldest_waiting_since == T0 - timedelta(seconds=95)
    assert board.waiting == 6  # 2 listed in sales + 4 counted in support
    assert board.oldest_waiting_since == T0 - timedelta(minutes=3)


def test_live_counts_survive_merging_sources() -> None:
    live = {"support": QueueLive(queue_id="support", waiting=7)}
    merged = merge([centre().model_copy(update={"queue_live": live}), centre()], {})
    assert merged.queue_live == live
