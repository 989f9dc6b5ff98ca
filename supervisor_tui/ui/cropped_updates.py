"""Terminal writes that start at the first changed cell (what SSH users pay for).

Textual's partial-update writer re-sends every update from the widget's left edge
(upstream leaves cropping as a TODO), so a wait ticking at the end of a table row costs
the whole row. ``install_cropped_updates`` swaps in a writer that crops each update to
the changed span. It patches one private Textual method, so it is opt-in: the console's
entry point (``supervisor-tui``) installs it, embedders and tests choose for themselves,
and it refuses (returns False, changes nothing) if Textual's internals are not the ones
it was written against, so an upgrade can only cost bytes, never break the screen.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.control import Control


def _cropped_render_segments(self: Any, console: Console) -> str:
    """``ChopsUpdate.render_segments`` that starts each update at the first changed
    cell, not at the widget's left edge (upstream leaves this as a TODO): a ticking
    wait at the end of a table row then costs ~30 bytes instead of the whole row."""
    sequences: list[str] = []
    append = sequences.append
    move_to = Control.move_to
    chops, chop_ends = self.chops, self.chop_ends
    # Every chop starts with a cursor move, so upstream's newline between lines is
    # dropped: two bytes (CR LF after the tty) per update saved.
    for y, x1, x2 in self.spans:
        for end, (x, strip) in zip(chop_ends[y], chops[y].items(), strict=False):
            if strip is None or x >= x2 or end <= x1:
                continue
            start, stop = max(x, x1), min(end, x2)
            if start > x or stop < end:
                strip = strip.crop(start - x, stop - x)
            append(move_to(start, y).segment.text)
            append(strip.render(console))
    return "".join(sequences)


def install_cropped_updates() -> bool:
    """Patch Textual's partial-update writer; False (and unchanged) if its internals are
    not the ones this was written against, so an upgrade can only cost bytes, not break."""
    try:
        from textual._compositor import ChopsUpdate
    except ImportError:
        return False
    current = ChopsUpdate.__dict__.get("render_segments")
    if current is _cropped_render_segments:
        return True
    if current is None or not {"chops", "spans", "chop_ends"} <= set(
            ChopsUpdate.__init__.__code__.co_varnames):
        return False
    ChopsUpdate.render_segments = _cropped_render_segments  # type: ignore[method-assign]
    return True
