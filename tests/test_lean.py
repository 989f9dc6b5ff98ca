"""Lean repaints: only changed cells are refreshed and written (what SSH users pay for)."""

from __future__ import annotations

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from textual.app import App, ComposeResult
from textual.strip import Strip

from supervisor_tui.ui.cropped_updates import install_cropped_updates
from supervisor_tui.ui.widgets.lean import LeanText, changed_spans
from supervisor_tui.ui.widgets.status_bar import render_status
from tests.helpers import T0

BOLD = Style(bold=True)


def strip(*parts: tuple[str, Style | None]) -> Strip:
    return Strip([Segment(text, style) for text, style in parts])


def test_changed_spans_find_the_changed_cells_only() -> None:
    old = strip(("Sales   ", None), ("12", BOLD), ("  0:41", None))
    assert changed_spans(old, old) == []
    assert changed_spans(old, strip(("Sales   ", None), ("12", BOLD), ("  0:42", None))) \
        == [(15, 16)]
    # a style change is a change even when the text is the same
    assert changed_spans(old, strip(("Sales   ", None), ("12", None), ("  0:41", None))) \
        == [(8, 10)]
    # far-apart changes are separate spans; near ones merge
    far = strip(("Xales   ", None), ("12", BOLD), ("  0:42", None))
    assert changed_spans(old, far, gap=4) == [(0, 1), (15, 16)]
    assert changed_spans(old, far, gap=20) == [(0, 16)]
    assert changed_spans(None, old) == [(0, 16)]


def test_wide_characters_count_two_cells() -> None:
    old = strip(("名前 0:41", None))
    assert changed_spans(old, strip(("名前 0:42", None))) == [(8, 9)]


def test_partial_update_is_written_from_the_first_changed_cell() -> None:
    assert install_cropped_updates()
    from textual._compositor import ChopsUpdate

    row = strip(("Email             ", None), ("    6", BOLD), ("   8:42", None))
    update = ChopsUpdate([{0: row}], [(0, 29, 30)], [[row.cell_length]])
    out = update.render_segments(Console(color_system="truecolor", force_terminal=True))
    assert out.startswith("\x1b[1;30H")  # row 1, column 30: the changed digit
    assert "Email" not in out and out.count("2") == 1
    assert install_cropped_updates()  # idempotent


class Probe(App[None]):
    def compose(self) -> ComposeResult:
        yield LeanText("Waiting 3", id="t")


async def test_lean_text_refreshes_only_what_changed() -> None:
    app = Probe()
    async with app.run_test(size=(40, 3)) as pilot:
        text = app.query_one("#t", LeanText)
        await pilot.pause()
        seen: list[tuple] = []
        original = text.refresh

        def spy(*regions, **kw):  # type: ignore[no-untyped-def]
            seen.append((regions, kw))
            return original(*regions, **kw)

        text.refresh = spy  # type: ignore[method-assign]
        text.update("Waiting 3")
        assert seen == []  # same text: nothing to send
        text.update("Waiting 4")
        assert [r for regions, _ in seen for r in regions] == [(8, 0, 1, 1)]
        await pilot.pause()
        assert app.screen._compositor.render_strips()[0].text.startswith("Waiting 4")


def test_status_says_live_late_or_stale() -> None:
    def status(age: float | None) -> str:
        return render_status("Dashboard", T0, "10:00-10:30", {}, age, 10.0,
                             live_within_s=3.5).plain

    assert "live" in status(2.0)
    assert "data 5s old" in status(5.0)
    assert "STALE 0:12 old" in status(12.0)
    assert "waiting for data" in status(None)
