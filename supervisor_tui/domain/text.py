"""Text from sources is data: strip terminal control codes before it reaches a screen.

Pure. Widgets render with ``rich.text.Text`` (never markup) so ``[bold red]`` in a
queue name shows literally; ``markup`` escapes for the few places that use markup.
``markdown`` escapes for Markdown documents (incident exports).

``clean`` is the one sanitiser: the model boundary (``model.SafeStr``), every render
and every CLI line go through it. It removes escape sequences (CSI, OSC — window
title, clipboard, hyperlinks — and DCS/APC/PM/SOS strings), C0/C1 control characters,
and the invisible characters that reorder or hide text (bidi embeddings, overrides and
isolates U+202A-202E / U+2066-2069, bidi marks, line/paragraph separators).
"""

from __future__ import annotations

import base64
import re
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any

# CSI / OSC / string sequences (DCS, SOS, PM, APC up to ST), then any other ESC pair.
_ESCAPE_SEQ = re.compile(
    r"\x1b(?:\[[0-?]*[ -/]*[@-~]"
    r"|\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|[PX^_][^\x1b]*(?:\x1b\\)?"
    r"|[ -/]*[0-~])")
# C0 and C1 control characters (C1 includes 8-bit CSI U+009B and OSC U+009D), and the
# line and paragraph separators, which break a "single line" as a newline does.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# Bidi embeddings, overrides, isolates and marks: "\u202egnp.exe" shows as "exe.png".
_INVISIBLE = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def clean(value: object, max_len: int = 200) -> str:
    """A single printable line: escape sequences removed, control chars dropped."""
    text = str(value)
    if text.isprintable() and len(text) <= max_len:
        return text  # fast path: the common case costs one C-level scan
    text = _ESCAPE_SEQ.sub("", text)
    text = _CONTROL.sub(" ", text)
    text = _INVISIBLE.sub("", text)
    return text[: max_len - 1] + "…" if len(text) > max_len else text


def clean_block(value: object, max_len: int = 4000) -> str:
    """Like ``clean`` but keeps line breaks (for multi-line bodies: messages, notes)."""
    return "\n".join(clean(line, max_len) for line in str(value).splitlines())[:max_len]


# For whole documents on a terminal: like _CONTROL but keeping newlines and tabs.
_TERMINAL_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def terminal(text: str) -> str:
    """``text`` safe to write to a terminal as it is (lines and tabs kept): no escape
    sequence (window title, clipboard, hyperlink, screen clearing), control or bidi
    character survives. For CLI output; ``clean`` for single lines."""
    if text.isprintable():
        return text
    text = _ESCAPE_SEQ.sub("", text)
    text = _TERMINAL_CONTROL.sub("", text)
    return _INVISIBLE.sub("", text)


class TerminalStream:
    """A text stream wrapper whose ``write`` passes everything through ``terminal``."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(terminal(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:  # flush, isatty, encoding, fileno...
        return getattr(self._stream, name)


def markup(value: object, max_len: int = 200) -> str:
    """Cleaned and escaped for Rich markup (render with ``emoji=False``: escaping does
    not stop ``:warning:`` becoming an emoji)."""
    from rich.markup import escape  # here: the pure layers import this module

    return escape(clean(value, max_len))


# Characters with a meaning in CommonMark / GFM inline syntax (and "#" for headings).
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~&])")
# What starts a block (list item, setext underline, ordered list) at a line's start.
_MARKDOWN_BLOCK = re.compile(r"^(\s*\d*)([-+=.)])")


def markdown(value: object, max_len: int = 2000, *, block: bool = True) -> str:
    """Cleaned and escaped for Markdown: shows literally, cannot start a heading, a
    list, a table, a link, an HTML tag or a code span (one line). ``block=False`` for
    text that never starts a line (a table cell): list markers are left alone there."""
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", clean(value, max_len))
    return _MARKDOWN_BLOCK.sub(r"\1\\\2", text) if block else text


# -- secrets ----------------------------------------------------------------------------

def secret_forms(value: str) -> list[str]:
    """``value`` as a receiver may echo it back: itself, base64 (as in Basic auth,
    padded or not, standard or URL-safe) and URL-encoded (as in a query or form)."""
    raw = value.encode()
    encoded = [base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()]
    return [value, *encoded, *(e.rstrip("=") for e in encoded),
            urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value)]


def redactor(secrets: Iterable[str | None]) -> Callable[[str], str]:
    """A function replacing every form (``secret_forms``) of every secret with ``***``,
    also the start of one cut off by ``clean``'s "…" (at the end of a text or not).

    Secrets shorter than 6 characters are ignored: they would match anywhere."""
    forms: set[str] = set()
    for secret in secrets:
        if secret and len(secret) >= 6:
            forms.update(f for f in secret_forms(secret) if len(f) >= 6)
    ordered = sorted(forms, key=len, reverse=True)  # longest first: no half-replaced form

    def redact(text: str) -> str:
        for form in ordered:
            if form in text:
                text = text.replace(form, "***")
        if "…" in text:  # a text cut by clean(), perhaps with more appended after it
            parts = text.split("…")
            for i, body in enumerate(parts[:-1]):
                for form in ordered:
                    cut = next((n for n in range(len(form) - 1, 3, -1)
                                if body.endswith(form[:n])), 0)
                    if cut:
                        parts[i] = body[:-cut] + "***"
                        break
            text = "…".join(parts)
        return text

    return redact
