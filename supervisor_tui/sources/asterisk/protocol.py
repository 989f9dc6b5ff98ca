"""The Asterisk Manager Interface on the wire: framing, parsing, one client connection.

Plain asyncio streams rather than panoramisk (1.4, August 2021, the one maintained-looking
AMI library on PyPI). Judged against what this source needs, panoramisk falls short:

- it decodes every TCP chunk on its own (ASCII by default, errors ignored), so a UTF-8
  caller name split across two reads loses characters, and non-ASCII names vanish;
- its receive buffer has no bound: a peer that never sends the blank line ending a
  message grows it without limit (and re-splits it on every chunk);
- it reconnects by itself on a fixed 2 s timer, outside the caller's control: no
  back-off, and no hook to hold the data as stale until a QueueStatus resync is done;
- it still passes ``loop=`` around (``asyncio.Task(..., loop=)``), unmaintained since.

What AMI needs is small: a banner line, messages of ``Key: Value`` lines ending in a
blank line, ``ActionID`` to match answers to actions, and event lists (``EventList:
start`` ... a ``...Complete`` event). That is this module, with a bound on every message.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from supervisor_tui.domain.text import clean

EOL = b"\r\n"
END = b"\r\n\r\n"
BANNER_PREFIX = "Asterisk Call Manager/"

#: one parsed AMI message: header names case-folded (Asterisk itself spells some two
#: ways, e.g. ServiceLevelPerf in the documentation, ServicelevelPerf on the wire)
Message = dict[str, str]


class AmiError(Exception):
    """The connection failed or the peer broke the protocol; ``str()`` is one line."""


class AuthError(AmiError):
    """Asterisk refused the login (wrong user or secret, or host not permitted)."""


#: header names as sent -> case-folded (a few dozen distinct ones: looked up, not folded
#: again for every line of every event); bounded, since a peer could send any
_KEYS: dict[str, str] = {}
_MAX_KEYS = 4096


def parse(block: bytes) -> tuple[Message, int]:
    """One message (without its blank line) -> its headers, and how many lines were not
    ``Key: Value`` (counted, never fatal: a module may print free text). The first
    occurrence of a header wins. Bytes are decoded once the whole message is in, so a
    character split across TCP writes survives; invalid UTF-8 becomes U+FFFD."""
    message: Message = {}
    junk = 0
    keys = _KEYS
    for raw in block.decode("utf-8", "replace").split("\r\n"):
        key, sep, value = raw.partition(":")
        if not sep:
            junk += bool(raw)
            continue
        name = keys.get(key)
        if name is None:
            name = key.strip().casefold()
            if not name or len(name) > 64:
                junk += 1
                continue
            if len(keys) < _MAX_KEYS:
                keys[key] = name
        if name not in message:
            message[name] = value[1:] if value[:1] == " " else value
    return message, junk


def encode(action: str, fields: Mapping[str, str], action_id: str) -> bytes:
    """An action on the wire. A value holding a line break would end the header (or the
    action) early and let text from elsewhere inject an action: refused here, whatever
    checks were made before."""
    lines = [f"Action: {action}", f"ActionID: {action_id}"]
    for key, value in fields.items():
        if any(c in value for c in "\r\n\x00") or any(c in key for c in "\r\n\x00:"):
            raise AmiError(f"refused to send {action}: {key} holds a line break")
        lines.append(f"{key}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def md5_key(challenge: str, secret: str) -> str:
    """AMI's challenge-response key (``AuthType: MD5``): md5(challenge + secret)."""
    return hashlib.md5((challenge + secret).encode("utf-8"), usedforsecurity=False).hexdigest()


def is_success(message: Message) -> bool:
    return message.get("response", "").casefold() in ("success", "goodbye")


def reason(message: Message) -> str:
    """Asterisk's message for a response, cleaned for the screen."""
    return clean(message.get("message") or message.get("response") or "no message", 160)


@dataclass
class _Pending:
    future: asyncio.Future[tuple[Message, list[Message]]]
    is_list: bool
    on_item: Callable[[Message], None] | None = None  # list items, as they arrive
    events: list[Message] = field(default_factory=list)
    response: Message | None = None


class AmiConnection:
    """One logged-in AMI session over asyncio streams.

    ``on_event`` receives every event that is not part of an action's event list, in the
    order Asterisk sent them. ``run()`` reads until the connection ends and then raises
    ``AmiError`` saying why; every action still waiting fails with the same reason.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 version: str, on_event: Callable[[Message], None],
                 max_message_bytes: int = 65_536) -> None:
        self.version = version
        self._max = max_message_bytes
        self._reader = reader
        self._writer = writer
        self._on_event = on_event
        self._ids = itertools.count(1)
        self._pending: dict[str, _Pending] = {}
        self._closed: str | None = None
        self.junk_lines = 0  # lines that were not Key: Value (diagnostics)
        self.messages = 0
        self.last_received = asyncio.get_running_loop().time()

    @classmethod
    async def open(cls, host: str, port: int, on_event: Callable[[Message], None],
                   max_message_bytes: int = 65_536,
                   tls: ssl.SSLContext | None = None) -> AmiConnection:
        """Connect (over TLS with a context) and read the banner
        (``Asterisk Call Manager/x.y.z``)."""
        try:
            reader, writer = await asyncio.open_connection(
                host, port, limit=max_message_bytes, ssl=tls,
                server_hostname=host if tls is not None else None)
        except ssl.SSLError as err:
            raise AmiError(f"TLS with {host}:{port} failed: "
                           f"{clean(getattr(err, 'verify_message', None) or err.reason or err, 80)}"
                           ) from None
        except OSError as err:
            raise AmiError(f"cannot connect to {host}:{port}: "
                           f"{clean(err.strerror or str(err), 80)}") from None
        try:
            line = await reader.readuntil(EOL)
        except asyncio.IncompleteReadError:
            writer.close()
            raise AmiError(f"{host}:{port} closed the connection before its banner") from None
        except asyncio.LimitOverrunError:
            writer.close()
            raise AmiError(f"{host}:{port} is not an AMI server (no banner line)") from None
        banner = line.decode("utf-8", "replace").strip()
        if not banner.startswith(BANNER_PREFIX):
            writer.close()
            raise AmiError(f"{host}:{port} is not an AMI server (it said "
                           f"{clean(banner, 60)!r})")
        return cls(reader, writer, clean(banner.removeprefix(BANNER_PREFIX), 40), on_event,
                   max_message_bytes)

    # -- reading --------------------------------------------------------------------

    async def run(self) -> None:
        """Read and dispatch messages until the connection ends (then raise why)."""
        why = "connection closed by Asterisk"
        try:
            while True:
                try:
                    block = await self._reader.readuntil(END)
                except asyncio.IncompleteReadError as err:
                    why = ("connection closed by Asterisk" if not err.partial.strip()
                           else "connection closed by Asterisk mid-message")
                    break
                except asyncio.LimitOverrunError:
                    why = f"a message over {self._max // 1024} KiB (refused)"
                    break
                except OSError as err:
                    why = f"connection lost: {clean(err.strerror or str(err), 80)}"
                    break
                self.last_received = asyncio.get_running_loop().time()
                message, junk = parse(block[:-len(END)])
                self.junk_lines += junk
                self.messages += 1
                if message:
                    self._dispatch(message)
        finally:
            self._fail_all(why)
            self._writer.close()
        raise AmiError(why)

    def _dispatch(self, message: Message) -> None:
        action_id = message.get("actionid")
        pending = self._pending.get(action_id) if action_id else None
        if pending is None:
            if "event" in message:
                self._on_event(message)
            return  # a response to nothing we asked: ignored
        if "response" in message and pending.response is None:
            pending.response = message
            # a list follows only a successful "EventList: start" response
            if not pending.is_list or not is_success(message) or \
                    message.get("eventlist", "").casefold() != "start":
                self._finish(action_id, pending)
            return
        if "event" in message:
            if message.get("eventlist", "").casefold() in ("complete", "cancelled"):
                self._finish(action_id, pending)
            elif pending.response is not None:
                if pending.on_item is not None:
                    pending.on_item(message)
                else:
                    pending.events.append(message)
            else:
                self._on_event(message)

    def _finish(self, action_id: str | None, pending: _Pending) -> None:
        self._pending.pop(action_id or "", None)
        if not pending.future.done():
            pending.future.set_result((pending.response or {}, pending.events))

    def _fail_all(self, why: str) -> None:
        self._closed = why
        for pending in self._pending.values():
            if not pending.future.done():
                pending.future.set_exception(AmiError(why))
        self._pending.clear()

    # -- actions ----------------------------------------------------------------------

    async def action(self, name: str, fields: Mapping[str, str] | None = None,
                     timeout_s: float = 10.0) -> Message:
        """Send an action; its response (whatever it says: see ``is_success``)."""
        response, _ = await self._send(name, fields or {}, False, timeout_s)
        return response

    async def action_list(self, name: str, fields: Mapping[str, str] | None = None,
                          timeout_s: float = 30.0,
                          on_item: Callable[[Message], None] | None = None
                          ) -> tuple[Message, list[Message]]:
        """Send an action answered by an event list; its response and events. With
        ``on_item``, each event goes there as it arrives, interleaved in wire order with
        the live events ``on_event`` gets (and the list comes back empty)."""
        return await self._send(name, fields or {}, True, timeout_s, on_item)

    async def _send(self, name: str, fields: Mapping[str, str], is_list: bool,
                    timeout_s: float, on_item: Callable[[Message], None] | None = None
                    ) -> tuple[Message, list[Message]]:
        if self._closed is not None:
            raise AmiError(self._closed)
        action_id = f"sup-{next(self._ids)}"
        data = encode(name, fields, action_id)
        future: asyncio.Future[tuple[Message, list[Message]]] = \
            asyncio.get_running_loop().create_future()
        self._pending[action_id] = _Pending(future, is_list, on_item)
        try:
            self._writer.write(data)
            await self._writer.drain()
            return await asyncio.wait_for(future, timeout_s)
        except TimeoutError:
            raise AmiError(f"{name}: no answer within {timeout_s:g} s") from None
        except (OSError, RuntimeError) as err:
            raise AmiError(f"{name}: connection lost ({clean(str(err), 60)})") from None
        finally:
            self._pending.pop(action_id, None)

    async def login(self, username: str, secret: str, auth: str, events: str,
                    timeout_s: float = 10.0) -> None:
        """Log in (``auth``: "md5" challenge-response or "plain"); ``events``: the event
        classes to receive (``agent,system``: queue events and restarts, nothing else)."""
        fields = {"Username": username, "Events": events}
        if auth == "md5":
            challenge = await self.action("Challenge", {"AuthType": "MD5"}, timeout_s)
            if not is_success(challenge) or not challenge.get("challenge"):
                raise AuthError(f"Asterisk refused an MD5 challenge ({reason(challenge)})")
            fields |= {"AuthType": "MD5", "Key": md5_key(challenge["challenge"], secret)}
        else:
            fields["Secret"] = secret
        answer = await self.action("Login", fields, timeout_s)
        if not is_success(answer):
            raise AuthError(f"login as {clean(username, 40)} refused ({reason(answer)})")

    async def close(self) -> None:
        """Log off politely (best effort) and close."""
        if self._closed is None:
            with contextlib.suppress(Exception):
                self._writer.write(encode("Logoff", {}, "sup-bye"))
                await asyncio.wait_for(self._writer.drain(), 1.0)
        self._closed = self._closed or "closed"
        self._writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._writer.wait_closed(), 1.0)
