"""What a move will do (pure): target compatibility and ranking, the overflow count and
its cap, and when taking agents off a queue is dangerous — all from the board's rows."""

from __future__ import annotations

from supervisor_tui.board import build_board
from supervisor_tui.model import Channel
from supervisor_tui.preview import (
    incompatibility,
    overflow_count,
    preview_agents,
    rank_targets,
    working_agents,
)
from tests.dialog_helpers import voice_centre


def test_overflow_count_says_every_cap_aloud() -> None:
    assert overflow_count("20", 12) == (12, "20 asked, 12 waiting: will move 12")
    assert overflow_count("3", 12) == (3, "will move the oldest 3 of 12 waiting")
    assert overflow_count("0", 12) == (None, "type a number from 1 to 12")
    assert overflow_count("", 12) == (None, "type how many to move (1–12)")
    assert overflow_count("5", 0) == (None, "nobody is waiting now: nothing to move")


def test_targets_are_compatible_and_ranked_by_predicted_wait_then_free_agents() -> None:
    board = build_board(voice_centre(retention_waiting=1))
    ranked = rank_targets(board, "sales", {Channel.VOICE}, 1)
    assert [t.row.queue.id for t in ranked.compatible] == ["retention", "backup"]
    assert ranked.compatible[0].wait_s == 0.0  # 2 free for 1 waiting + 1 moved
    assert dict((r.queue.id, why) for r, why in ranked.hidden) == {
        "support": "a chat queue", "partner": "on source partner"}
    # Three moved: Retention's two free agents no longer cover them all.
    three = rank_targets(board, "sales", {Channel.VOICE}, 3)
    assert three.compatible[0].wait_s is not None and three.compatible[0].wait_s > 0
    sales = board.rows_by_id["sales"]
    assert incompatibility(sales, {Channel.EMAIL}, "pbx") == "a voice queue"


def test_agent_preview_uses_the_boards_effective_agents_and_staffing() -> None:
    board = build_board(voice_centre())
    sales = board.rows_by_id["sales"]
    agents = {a.id: a for a in board.snapshot.agents}
    p = preview_agents(board, "sales", [agents["a1"]], add=False)
    assert p.working_before == working_agents(sales) == sales.staffing.effective
    assert p.sl_before == sales.staffing.predicted_sl_with_staffed
    assert p.danger is not None and "under the 2 Erlang C needs" in p.danger
    both = preview_agents(board, "sales", [agents["a1"], agents["a2"]], add=False)
    assert both.working_after == 0 and both.sl_after == 0.0
    assert both.danger == "leaves Sales with NO AGENT and 2 waiting"
    # Adding Sales to Cy (Support): Sales gains, Support's share of Cy shrinks — under
    # the 1 agent it needs, with a chat waiting: loud.
    add = preview_agents(board, "sales", [agents["a3"]], add=True)
    assert add.working_after > add.working_before
    assert [o.queue_id for o in add.others] == ["support"]
    assert add.danger == ("leaves Support with 0.5 effective agent(s), under the 1 "
                          "Erlang C needs, with 1 waiting")
    # Adding Sales to Pia (Partner: nobody waiting there): no danger.
    assert preview_agents(board, "sales", [agents["p1"]], add=True).danger is None
