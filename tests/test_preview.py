"""What a move will do (pure): target compatibility and ranking, the overflow count and
its cap, and when taking agents off a queue is dangerous — all from the board's rows."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from supervisor_tui.domain.board import QueueRow, build_board
from supervisor_tui.domain.model import Channel
from supervisor_tui.domain.preview import (
    incompatibility,
    overflow_count,
    preview_agents,
    rank_targets,
    restaffed,
    working_agents,
)
from tests.dialog_helpers import voice_centre


def test_overflow_count_says_every_cap_aloud() -> None:
    assert overflow_count("20", 12) == (12, "20 asked, 12 waiting: will move 12")
    assert overflow_count("3", 12) == (3, "will move the oldest 3 of 12 waiting")
    assert overflow_count("0", 12) == (None, "type a number from 1 to 12")
    assert overflow_count("", 12) == (None, "type how many to move (1–12)")
    assert overflow_count("5", 0) == (None, "nobody is waiting now")


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
    email = SimpleNamespace(queue=sales.queue.model_copy(update={"channel": Channel.EMAIL}))
    assert incompatibility(email, {Channel.VOICE}, "pbx") == "an email queue"  # type: ignore[arg-type]


def test_agent_preview_uses_the_boards_effective_agents_and_staffing() -> None:
    board = build_board(voice_centre())
    sales = board.rows_by_id["sales"]
    agents = {a.id: a for a in board.snapshot.agents}
    p = preview_agents(board, "sales", [agents["a1"]], add=False)
    assert p.working_before == working_agents(sales) == sales.staffing.effective
    assert p.sl_before == sales.staffing.predicted_sl_with_staffed
    without = restaffed(sales, [a for a in sales.serving if a.id != "a1"])
    assert p.working_after == without.staffing.effective < sales.staffing.needed
    assert p.sl_after == without.staffing.predicted_sl_with_staffed
    assert p.danger is not None and "under the 2 Erlang C needs, with 2 waiting" in p.danger
    both = preview_agents(board, "sales", [agents["a1"], agents["a2"]], add=False)
    assert both.working_after == 0 and both.sl_after == 0.0
    assert both.danger == "leaves Sales with NO AGENT and 2 waiting"
    # Adding Sales to Pia (Partner: nobody waiting there): Sales gains, no danger.
    add = preview_agents(board, "sales", [agents["p1"]], add=True)
    assert add.working_after > add.working_before and add.danger is None
    assert [o.queue_id for o in add.others] == ["partner"]


def test_sharing_an_agent_warns_when_the_board_counts_them_less_elsewhere(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The board today counts an available agent fully on each of their queues, so adding
    a queue never shortens another; were it to split them (by skills here), the preview
    says so loudly, from the board's own rows."""
    def split(row: QueueRow) -> float:  # busy on a known queue: there; else split by skills
        total = 0.0
        for a in row.serving:
            if a.state.kind.value not in ("available", "on_contact", "after_contact_work"):
                continue
            if a.queue_id is None:
                total += 1 / len(a.skills)
            elif a.queue_id == row.queue.id:
                total += 1
        return total

    monkeypatch.setattr(QueueRow, "effective_agents", property(split))
    board = build_board(voice_centre())
    agents = {a.id: a for a in board.snapshot.agents}
    add = preview_agents(board, "sales", [agents["a3"]], add=True)  # Cy: Support's 1 → 0.5
    assert add.danger == ("leaves Support with 0.5 effective agent(s), under the "
                          f"{board.rows_by_id['support'].staffing.needed} Erlang C needs, "
                          "with 1 waiting")
