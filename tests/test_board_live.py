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


def test_a_queues_own_wait_factor_sets_its_over_threshold_count_as_on_the_desk() -> None:
    """``contact_wait_factors = { sales = 2.0 }``: a Sales contact waiting 30 s (threshold
    20 s) is not over its limit of 40 s, on the dashboard as on the escalation desk."""
    from supervisor_tui.domain.model import Contact

    snap = centre()
    waited = tuple(Contact(id=f"w{s}", queue_id="sales", channel="voice", source="pbx",
                           entered_at=snap.taken_at - timedelta(seconds=s))
                   for s in (30, 45))
    snap = snap.model_copy(update={"contacts": waited})
    default = build_board(snap)
    assert [e.contact.id for e in default.over_threshold] == ["w45", "w30"]
    own = build_board(snap, threshold_factors={"sales": 2.0})
    assert [e.contact.id for e in own.over_threshold] == ["w45"]
    assert (own.over_threshold_count, own.rows_by_id["sales"].over_threshold) == (1, 1)
