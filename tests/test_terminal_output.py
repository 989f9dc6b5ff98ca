"""No escape sequence from source data or command-line input reaches the terminal or a
Markdown export (issue #11 item 1), in real pseudo-terminals.

The CLI (``incident declare|list|export``, ``crisis send --preview``) is given titles and
template variables from the shared hostile-strings list; the console is pointed at a
loopback protocol-v1 server whose names are those strings. Everything the processes
write to their terminals is read back and searched byte for byte.
"""

from __future__ import annotations

import contextlib
import json
import os
import pty
import re
import select
import signal
import struct
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from supervisor_tui.protocol.documents import to_doc
from supervisor_tui.protocol.server import serve_in_thread
from tests import hostile
from tests.helpers import centre

EXE = Path(sys.executable).with_name("supervisor-tui")

#: what hostile input would put on a terminal: OSC (title, clipboard, hyperlink), DCS,
#: screen clearing, bells, 8-bit CSI/OSC, bidi overrides and isolates (as UTF-8)
FORBIDDEN = re.compile(rb"\x1b\]|\x1bP|\x1b\[2J|\x07|\x9b|\xc2[\x80-\x9f]"
                       rb"|\xe2\x80[\xaa-\xae]|\xe2\x81[\xa6-\xa9]")


def run_in_pty(args: list[str], env: dict[str, str], seconds: float = 30.0,
               keys: tuple[tuple[float, bytes], ...] = ()) -> bytes:
    """Run the console's executable in a pseudo-terminal; everything it wrote. ``keys``:
    (seconds after start, bytes to type) in order."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: exec at once
        os.environ.update(env)
        os.execv(str(EXE), [str(EXE), *args])
    import fcntl
    import termios

    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
    out = bytearray()
    started = time.monotonic()
    pending = list(keys)
    try:
        while time.monotonic() - started < seconds:
            if pending and time.monotonic() - started >= pending[0][0]:
                os.write(fd, pending.pop(0)[1])
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:  # the child has exited
                    break
                if not chunk:
                    break
                out += chunk
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        os.waitpid(pid, 0)
        os.close(fd)
    return bytes(out)


def assert_inert(output: bytes, what: str) -> None:
    found = FORBIDDEN.search(output)
    assert found is None, (f"{what} wrote {found.group(0)!r} at {found.start()}: "
                           f"{output[max(0, found.start() - 60):found.start() + 60]!r}")


CONFIG = """
[roles]
default = "admin"

[crisis.variables]
note = "none"

[crisis.channels.floor]
type = "agents"

[crisis.templates.notice]
kind = "initial"
channels = ["floor"]
text = "${title}: ${impact}. ${note}"
"""


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"TERM": "xterm-256color", "HOME": str(tmp_path), "NO_COLOR": "1"}


def test_cli_never_writes_escapes_to_the_terminal_or_the_export(
        tmp_path: Path, env: dict[str, str]) -> None:
    strings = hostile.require()
    cfg = tmp_path / "config.toml"
    cfg.write_text(CONFIG)
    base = ["--config", str(cfg), "--db", str(tmp_path / "s.db")]
    nasty = "".join(strings[7:16])  # ESC [2J, OSC 0 / 52 / 8, DCS, C1 CSI, BEL, CR LF
    titles = [nasty, *strings]
    for title in titles[:6]:
        out = run_in_pty([*base, "incident", "declare", "--title", title, "--severity",
                          "major", "--impact", title, "--eta", "\x1b]0;owned\x07soon"], env)
        assert b"Declared incident #" in out, out
        assert_inert(out, f"incident declare --title {title!r}")
    out = run_in_pty([*base, "incident", "list"], env)
    assert out.count(b"\n") >= 6 and b"#1" in out
    assert_inert(out, "incident list")
    out = run_in_pty([*base, "crisis", "send", "--incident", "1", "--template", "notice",
                      "--preview", "--var", f"note={nasty}"], env)
    assert b"Template notice" in out
    assert_inert(out, "crisis send --preview")
    export = tmp_path / "incident.md"
    out = run_in_pty([*base, "incident", "note", "1", "# heading in markdown\n| a | b |"], env)
    assert_inert(out, "incident note")
    for args in (["incident", "export", "1"], ["incident", "export", "1", "-o", str(export)]):
        out = run_in_pty([*base, *args], env)
        assert_inert(out, " ".join(args))
    text = export.read_bytes()
    assert_inert(text, "the Markdown export")
    assert b"\x1b" not in text
    # No heading but our own: a title or note cannot start one.
    headings = [line for line in text.decode().splitlines() if line.startswith("#")]
    assert all(re.match(r"#{1,3} (Incident #1: |Timeline$|Messages$|Message \d)", h)
               for h in headings), headings
    assert "\\# heading in markdown" in text.decode()


# -- the console itself -----------------------------------------------------------------

def hostile_centre() -> dict[str, object]:
    doc = to_doc(centre(), "pbx", ["snapshot"]).model_dump(mode="json")
    strings = hostile.HOSTILE
    for i, queue in enumerate(doc["queues"]):  # type: ignore[union-attr]
        queue["name"] = strings[(2 + i) % len(strings)]  # [link=...] markup
    for i, agent in enumerate(doc["agents"]):  # type: ignore[union-attr]
        agent["name"] = strings[(8 + i) % len(strings)]  # OSC 0, OSC 52, OSC 8, DCS
        agent["team"] = strings[(16 + i) % len(strings)]  # bidi, zero-width, BOM
    for i, contact in enumerate(doc["contacts"]):  # type: ignore[union-attr]
        contact["customer"] = strings[(i * 5) % len(strings)]
    return doc


@pytest.fixture
def centre_url() -> Iterator[str]:
    body = json.dumps(hostile_centre()).encode()

    async def snapshot(request: Request) -> Response:
        return Response(body, media_type="application/json")

    with serve_in_thread(Starlette(routes=[Route("/v1/snapshot", snapshot)])) as base:
        yield base


def test_console_never_writes_source_escapes(tmp_path: Path, env: dict[str, str],
                                            centre_url: str) -> None:
    hostile.require()
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[console]\npoll_interval_s = 0.5\nbell = false\ntimezone = "UTC"\n\n'
                   f'[sources.centre]\ntype = "http"\nurl = "{centre_url}"\n')
    # Dashboard, agents (names, teams), desk (customers), queue palette, then quit.
    keys = ((6.0, b"a"), (7.5, b"e"), (9.0, b"d"), (10.5, b"\x10"), (11.5, b"open queue"),
            (13.0, b"\x1b"), (14.5, b"q"))
    out = run_in_pty(["--config", str(cfg), "--db", str(tmp_path / "s.db")], env,
                     seconds=40, keys=keys)
    assert b"Dashboard" in out, out[-2000:]
    assert b"link=https://x/" in out  # the queue name, shown as the text it is
    # Textual's own sequences: CSI, and OSC 22 (mouse pointer shape). Nothing the source
    # sent is interpreted.
    assert_inert(re.sub(rb"\x1b\]22;[a-z-]*\x07", b"", out), "the console")
