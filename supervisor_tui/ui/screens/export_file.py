"""Export from a screen (``x`` on the intraday and Abandoned screens, ``E`` on the desk):
one way of asking where, for every screen.

The path is typed, with one suggested under the user data directory; a relative path is
refused, as is an existing file (kept as it is). The current directory is never
used: under an SSH ``ForceCommand`` it is not the user's to write in, and nobody would
find the file there. The data is read when the path is given, so the file holds what
the store has then, not what it had when the dialog opened.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.screen import Screen

from supervisor_tui.config import default_db_path
from supervisor_tui.store import StoreError
from supervisor_tui.ui.screens.escalations import DeskInput

#: builds the file's text: (text, how many rows); may raise StoreError
Render = Callable[[], tuple[str, int]]


def slug(text: str, max_len: int = 40) -> str:
    """``text`` safe in a file name (a queue id from a source may hold anything)."""
    return "".join(ch if ch.isalnum() else "-" for ch in text)[:max_len]


def suggested_path(name: str) -> Path:
    return default_db_path().parent / "exports" / name


def ask_export(screen: Screen[Any], title: str, name: str, render: Render,
               noun: str) -> None:
    """Ask for the file (``name`` suggested under the data directory), then write it."""

    def chosen(path: str | None) -> None:
        if path is not None:
            write_export(screen, Path(path).expanduser(), render, noun)

    screen.app.push_screen(DeskInput(title, "a full path to a file that does not exist yet",
                                     str(suggested_path(name))), chosen)


def write_export(screen: Screen[Any], path: Path, render: Render, noun: str) -> bool:
    """Write ``render()``'s text to a new file ``path``; the outcome is a notice."""
    if not path.is_absolute():
        screen.notify(f"Not exported: {path} is not a full path (start with / or ~): the "
                      "current directory is not a place to leave files", title="Export",
                      severity="error", timeout=10)
        return False
    try:
        text, count = render()
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8", newline="") as f:  # never overwrite
            f.write(text)
    except StoreError as err:
        screen.notify(f"Not exported: {err}", title="Export", severity="error", timeout=10)
        return False
    except OSError as err:
        screen.notify(f"Not exported: {path}: {err.strerror or err}", title="Export",
                      severity="error", timeout=10)
        return False
    screen.notify(f"{count} {noun} row(s) written to {path}", title="Export", timeout=10)
    return True
