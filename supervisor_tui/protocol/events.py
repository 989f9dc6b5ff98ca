"""Server-sent events (``GET /v1/events``): each new snapshot version named to every
console as it appears, so a console fetches it at once instead of at its next poll.

Why it is built as it is:
- An event names the version (its ETag), it does not carry it: each console then asks
  for the delta from whatever it holds, which the server computes once per base and
  shares. A stream that falls behind loses nothing by skipping to the latest version,
  so each stream keeps only its newest unsent event: a slow console never makes the
  server queue unbounded data.
- A comment line goes out when nothing else has for ``heartbeat_s`` (at most
  ``HEARTBEAT_MAX_S``), so a console can tell a quiet stream from a dead one, and a
  console that vanished without closing is found by the failed write.
- The stream is only a wake-up call: consoles still poll, so a stalled stream delays
  nothing beyond the poll interval and never makes old data look live.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from supervisor_tui.protocol.documents import HEARTBEAT_MAX_S
from supervisor_tui.protocol.server import error_response

#: how long a console waits before reconnecting after the stream ends (the SSE ``retry``)
RETRY_MS = 2000


@dataclass(eq=False)
class _Stream:
    """One open event stream: its newest unsent event and the signal that one came."""

    pending: bytes | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    sent: int = 0


def encode(event: str, data: str, event_id: str | None = None) -> bytes:
    """One SSE message. ``data`` is one line of JSON (no newline can split it)."""
    lines = [f"event: {event}"]
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append(f"data: {data}")
    return ("\n".join(lines) + "\n\n").encode()


class EventHub:
    """The open streams; ``publish`` hands an event to every one of them."""

    def __init__(self, heartbeat_s: float = 5.0, max_streams: int = 2000) -> None:
        if not 0 < heartbeat_s <= HEARTBEAT_MAX_S:
            raise ValueError(f"heartbeat_s must be in (0, {HEARTBEAT_MAX_S:g}]")
        self.heartbeat_s = heartbeat_s
        self.max_streams = max_streams
        self._streams: set[_Stream] = set()
        self._last: bytes | None = None  # the current version, told to each new stream
        self.events_sent = 0
        self.streams_opened = 0

    @property
    def connected(self) -> int:
        return len(self._streams)

    def publish(self, event: str, data: str, event_id: str | None = None,
                remember: bool = True) -> None:
        """Give ``event`` to every stream (replacing any it has not sent yet); with
        ``remember`` it is also the first thing each new stream hears."""
        message = encode(event, data, event_id)
        if remember:
            self._last = message
        for stream in self._streams:
            stream.pending = message
            stream.ready.set()

    async def endpoint(self, request: Request) -> Response:
        if len(self._streams) >= self.max_streams:
            return error_response(503, "too_many_streams",
                                  f"{self.max_streams} event streams are open; poll instead",
                                  headers={"Retry-After": "30"})
        stream = _Stream(pending=self._last)
        if stream.pending is not None:
            stream.ready.set()
        self._streams.add(stream)
        self.streams_opened += 1
        return StreamingResponse(
            self._messages(stream), media_type="text/event-stream",
            # no-transform / X-Accel-Buffering: proxies must pass each event at once
            headers={"Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no"})

    async def _messages(self, stream: _Stream) -> AsyncIterator[bytes]:
        try:
            yield f"retry: {RETRY_MS}\n\n".encode()
            while True:
                try:
                    await asyncio.wait_for(stream.ready.wait(), self.heartbeat_s)
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                stream.ready.clear()
                message, stream.pending = stream.pending, None
                if message is not None:
                    stream.sent += 1
                    self.events_sent += 1
                    yield message
        finally:  # closed by the console, a failed write, or shutdown
            self._streams.discard(stream)

    def close_all(self) -> None:
        """Forget every stream (shutdown): their generators end with the server."""
        self._streams.clear()
