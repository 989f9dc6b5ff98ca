"""Text from sources is data: strip terminal control codes before it reaches a screen.

Pure. Widgets render with ``rich.text.Text`` (never markup) so ``[bold red]`` in a
queue name shows literally; ``markup`` escapes for the few places that use markup.
"""

from __future__ import annotations

import re

from rich.markup import escape

# CSI / OSC / other ESC sequences, then any remaining C0/C1 control character.
_ESCAPE_SEQ = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def clean(value: object, max_len: int = 200) -> str:
    """A single printable line: escape sequences removed, control chars dropped."""
    text = str(value)
    if text.isprintable() and len(text) <= max_len:
        return text  # fast path: the common case costs one C-level scan
    text = _ESCAPE_SEQ.sub("", text)
    text = _CONTROL.sub(" ", text)
    return text[: max_len - 1] + "…" if len(text) > max_len else text


def markup(value: object, max_len: int = 200) -> str:
    """Cleaned and escaped for Rich markup."""
    return escape(clean(value, max_len))
