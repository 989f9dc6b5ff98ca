"""A loopback AMI server for the asterisk source's tests, driven by recorded exchanges.

It speaks AMI as Asterisk does on the wire (``manager.c``, ``app_queue.c``): the banner
line, ``Key: Value`` lines ending in a blank line, responses carrying the action's
``ActionID``, ``QueueStatus`` as an event list (``QueueParams``, ``QueueMember``,
``QueueEntry``, then ``QueueStatusComplete``), live events with ``Privilege:``. The
centre it reports is a small, realistic app_queue: two queues, members in both, callers
waiting. Tests push live events, cut writes into pieces, drop the socket and restart
"the PBX"; every action a client sends is kept, in order, with its headers as sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

BANNER = "Asterisk Call Manager/9.0.0\r\n"
USER, SECRET = "sup", "s3cret-9f"
CHALLENGE = "820305612"


def block(*pairs: tuple[str, Any]) -> str:
    """One AMI message."""
    return "".join(f"{k}: {v}\r\n" for k, v in pairs) + "\r\n"


def channel(uid: str, name: str = "Dana Whitfield", num: str = "+441632960123",
            chan: str | None = None, prefix: str = "") -> list[tuple[str, Any]]:
    """The channel snapshot fields app_queue's stasis events carry (``<channel_snapshot/>``)."""
    return [(f"{prefix}Channel", chan or f"PJSIP/trunk-{uid[-4:]}"), (f"{prefix}ChannelState", 6),
            (f"{prefix}ChannelStateDesc", "Up"), (f"{prefix}CallerIDNum", num),
            (f"{prefix}CallerIDName", name), (f"{prefix}ConnectedLineNum", "<unknown>"),
            (f"{prefix}ConnectedLineName", "<unknown>"), (f"{prefix}Language", "en"),
            (f"{prefix}AccountCode", ""), (f"{prefix}Context", "from-trunk"),
            (f"{prefix}Exten", "s"), (f"{prefix}Priority", 3), (f"{prefix}Uniqueid", uid),
            (f"{prefix}Linkedid", uid)]


def event(name: str, *pairs: tuple[str, Any]) -> str:
    return block(("Event", name), ("Privilege", "agent,all"), *pairs)


@dataclass
class QueueP:
    name: str
    service_level: int = 30
    strategy: str = "rrmemory"


@dataclass
class MemberP:
    queue: str
    name: str
    interface: str
    status: int = 1
    paused: int = 0
    reason: str = ""
    membership: str = "dynamic"
    last_call: int = 0
    last_pause: int = 0
    wrapup: int = 0


@dataclass
class EntryP:
    queue: str
    uid: str
    wait: int
    name: str = "Dana Whitfield"
    num: str = "+441632960123"
    priority: int = 0
    chan: str | None = None


def _status_dump(action_id: str, queues: list[QueueP], members: list[MemberP],
                 entries: list[EntryP]) -> str:
    """QueueStatus's answer, as manager_queues_status writes it."""
    out = [block(("Response", "Success"), ("ActionID", action_id), ("EventList", "start"),
                 ("Message", "Queue status will follow"))]
    items = 0
    for q in queues:
        waiting = [e for e in entries if e.queue == q.name]
        out.append(block(("Event", "QueueParams"), ("Queue", q.name), ("Max", 0),
                         ("Strategy", q.strategy), ("Calls", len(waiting)), ("Holdtime", 14),
                         ("TalkTime", 182), ("Completed", 311), ("Abandoned", 17),
                         ("ServiceLevel", q.service_level), ("ServicelevelPerf", "87.1"),
                         ("ServicelevelPerf2", "82.6"), ("Weight", 0), ("ActionID", action_id)))
        items += 1
        for m in (m for m in members if m.queue == q.name):
            out.append(block(("Event", "QueueMember"), ("Queue", q.name), ("Name", m.name),
                             ("Location", m.interface), ("StateInterface", m.interface),
                             ("Membership", m.membership), ("Penalty", 0), ("CallsTaken", 23),
                             ("LastCall", m.last_call), ("LastPause", m.last_pause),
                             ("LoginTime", 1796536800), ("InCall", 0), ("Status", m.status),
                             ("Paused", m.paused), ("PausedReason", m.reason),
                             ("Wrapuptime", m.wrapup), ("ActionID", action_id)))
            items += 1
        for pos, e in enumerate(waiting, 1):
            out.append(block(("Event", "QueueEntry"), ("Queue", q.name), ("Position", pos),
                             ("Channel", e.chan or f"PJSIP/trunk-{e.uid[-4:]}"),
                             ("Uniqueid", e.uid), ("CallerIDNum", e.num),
                             ("CallerIDName", e.name), ("ConnectedLineNum", "unknown"),
                             ("ConnectedLineName", "unknown"), ("Wait", e.wait),
                             ("Priority", e.priority), ("ActionID", action_id)))
            items += 1
    out.append(block(("Event", "QueueStatusComplete"), ("ActionID", action_id),
                     ("EventList", "Complete"), ("ListItems", items)))
    return "".join(out)


def default_centre() -> tuple[list[QueueP], list[MemberP], list[EntryP]]:
    queues = [QueueP("sales", 30), QueueP("support", 0)]
    members = [
        MemberP("sales", "Alice Martin", "PJSIP/1001"),
        MemberP("support", "Alice Martin", "PJSIP/1001"),
        MemberP("sales", "Bob Okafor", "PJSIP/1002", status=2),
        MemberP("sales", "Chen Wei", "PJSIP/1003", paused=1, reason="lunch",
                last_pause=1796550600),
        MemberP("support", "Dev Patel", "PJSIP/1004", status=5, membership="static"),
    ]
    entries = [EntryP("sales", "1796551425.101", 75, priority=10),
               EntryP("sales", "1796551476.107", 24, name="unknown", num="+441632960777"),
               EntryP("support", "1796551491.112", 9, name="Erin Koh", num="+441632960999")]
    return queues, members, entries


@dataclass
class Session:
    writer: asyncio.StreamWriter
    logged_in: bool = False
    events: str = "on"


@dataclass
class FakeAsterisk:
    """The server. ``responses`` maps an action name to a function returning the Response
    block's (Response, Message) for it; ``split`` cuts every write into pieces of this
    many bytes (partial messages across TCP writes)."""

    queues: list[QueueP] = field(default_factory=list)
    members: list[MemberP] = field(default_factory=list)
    entries: list[EntryP] = field(default_factory=list)
    secret: str = SECRET
    uptime: int = 86_400
    split: int | None = None
    status_hook: Callable[[Session, str], str] | None = None  # rewrites QueueStatus dumps
    actions: list[list[tuple[str, str]]] = field(default_factory=list)
    responses: dict[str, Callable[[dict[str, str]], tuple[str, str]]] = field(
        default_factory=dict)
    sessions: list[Session] = field(default_factory=list)
    logins: int = 0
    silent: bool = False  # reads actions, answers none (a half-open or hung PBX)
    _server: asyncio.AbstractServer | None = None
    port: int = 0

    def __post_init__(self) -> None:
        if not self.queues:
            self.queues, self.members, self.entries = default_centre()

    async def start(self, tls: ssl.SSLContext | None = None) -> int:
        """Listen on loopback (over TLS with a server context, as tlsenable does)."""
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        self.drop()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def named(self, action: str) -> list[dict[str, str]]:
        """The actions of this name received so far, as header dicts."""
        return [dict(a) for a in self.actions if dict(a).get("Action") == action]

    # -- talking ------------------------------------------------------------------------

    async def write(self, session: Session, text: str | bytes) -> None:
        data = text.encode() if isinstance(text, str) else text
        if self.split:
            for i in range(0, len(data), self.split):
                session.writer.write(data[i:i + self.split])
                await session.writer.drain()
                await asyncio.sleep(0)
        else:
            session.writer.write(data)
            await session.writer.drain()

    async def push(self, text: str | bytes) -> None:
        """A live event (or anything) to every logged-in session."""
        for s in list(self.sessions):
            if s.logged_in and not s.writer.is_closing():
                await self.write(s, text)

    def drop(self) -> None:
        """Close every connection (the network, or the PBX, went away)."""
        for s in self.sessions:
            s.writer.close()
        self.sessions.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
                      ) -> None:
        session = Session(writer)
        self.sessions.append(session)
        try:
            await self.write(session, BANNER)
            while True:
                raw = await reader.readuntil(b"\r\n\r\n")
                headers = [(k, v) for k, _, v in (line.partition(": ") for line in
                                                   raw.decode().split("\r\n") if line)]
                self.actions.append(headers)
                if not await self._answer(session, dict(headers)):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ValueError):
                self.sessions.remove(session)

    async def _answer(self, session: Session, a: dict[str, str]) -> bool:
        name, aid = a.get("Action", ""), a.get("ActionID", "")
        if self.silent:
            return True

        def respond(response: str, message: str, *extra: tuple[str, Any]) -> str:
            return block(("Response", response), ("ActionID", aid), *extra,
                         ("Message", message))

        if name == "Challenge":
            await self.write(session, block(("Response", "Success"), ("ActionID", aid),
                                            ("Challenge", CHALLENGE)))
            return True
        if name == "Login":
            key = hashlib.md5((CHALLENGE + self.secret).encode()).hexdigest()
            ok = a.get("Username") == USER and (
                a.get("Key") == key if a.get("AuthType", "").lower() == "md5"
                else a.get("Secret") == self.secret)
            if not ok:
                await self.write(session, respond("Error", "Authentication failed"))
                return False  # Asterisk hangs up on a failed login
            self.logins += 1
            session.logged_in, session.events = True, a.get("Events", "on")
            await self.write(session, respond("Success", "Authentication accepted"))
            await self.write(session, block(
                ("Event", "FullyBooted"), ("Privilege", "system,all"),
                ("Uptime", self.uptime), ("LastReload", self.uptime),
                ("Status", "Fully Booted")))
            return True
        if not session.logged_in:
            await self.write(session, respond("Error", "Permission denied"))
            return True
        if name == "QueueStatus":
            dump = _status_dump(aid, self.queues, self.members, self.entries)
            if self.status_hook is not None:
                dump = self.status_hook(session, dump)
            await self.write(session, dump)
            return True
        if name == "Ping":
            await self.write(session, block(("Response", "Success"), ("ActionID", aid),
                                            ("Ping", "Pong"),
                                            ("Timestamp", "1796545600.000000")))
            return True
        if name == "Logoff":
            await self.write(session, respond("Goodbye", "Thanks for all the fish."))
            return False
        if name in self.responses:
            response, message = self.responses[name](a)
            await self.write(session, respond(response, message))
            return True
        defaults = {"QueuePause": ("Success", "Interface paused successfully"),
                    "QueueAdd": ("Success", "Added interface to queue"),
                    "QueueRemove": ("Success", "Removed interface from queue"),
                    "Redirect": ("Success", "Redirect successful")}
        if name in defaults:
            await self.write(session, respond(*defaults[name]))
            if name == "QueuePause":
                await self._paused(a)
            return True
        await self.write(session, respond(
            "Error", f"Invalid/unknown command: {name}. Use Action: ListCommands to show "
            "available commands."))
        return True


    async def _paused(self, a: dict[str, str]) -> None:
        """What app_queue does after a QueuePause: the member's new state, per queue."""
        paused = a.get("Paused", "").lower() in ("true", "1", "yes")
        for m in self.members:
            if m.interface == a.get("Interface") and a.get("Queue", m.queue) == m.queue:
                m.paused, m.reason = int(paused), a.get("Reason", "") if paused else ""
                await self.push(member_event("QueueMemberPause", m))


def member_event(name: str, m: MemberP) -> str:
    """A QueueMember* event for ``m`` (queue_member_blob_create's fields)."""
    return event(name, ("Queue", m.queue), ("MemberName", m.name), ("Interface", m.interface),
                 ("StateInterface", m.interface), ("Membership", m.membership),
                 ("Penalty", 0), ("CallsTaken", 23), ("LastCall", m.last_call),
                 ("LastPause", m.last_pause), ("LoginTime", 1796536800), ("InCall", 0),
                 ("Status", m.status), ("Paused", m.paused), ("PausedReason", m.reason),
                 ("Ringinuse", 0), ("Wrapuptime", m.wrapup))


@contextlib.contextmanager
def in_thread(fake: FakeAsterisk) -> Iterator[int]:
    """Serve ``fake`` from its own event loop in a thread (for the CLI, which runs its
    own ``asyncio.run``); yields the port."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(fake.start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield fake.port
    finally:
        asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
