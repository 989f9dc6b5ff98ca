"""The ``asterisk`` source itself: one long-lived AMI session, kept by a background task,
feeding ``AmiState``; ``snapshot()`` hands out the state kept (the package docstring says
what is read and how it is counted)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

from supervisor_tui.domain.agent_control import AVAILABLE, AWAY, END_ACW, LOGOUT, parse_state
from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.domain.model import ActionCode, ActionResult, Snapshot
from supervisor_tui.domain.text import clean
from supervisor_tui.sources.asterisk.protocol import (
    AmiConnection,
    AmiError,
    AuthError,
    Message,
    is_success,
    reason,
)
from supervisor_tui.sources.asterisk.settings import _DIALPLAN_WORD, AsteriskSettings
from supervisor_tui.sources.asterisk.state import STATUS_NAMES, AmiState, Member
from supervisor_tui.sources.base import Capability, Source, SourceError
from supervisor_tui.sources.limits import secret_from_env

log = logging.getLogger(__name__)

#: the event classes asked for at login: queue events (agent) and restarts/reloads
#: (system); no call, dialplan or CDR traffic reaches the console
EVENT_CLASSES = "agent,system"


def _utcnow() -> datetime:
    return datetime.now(UTC)


class AsteriskSource(Source):
    """app_queue over AMI; ``clock`` is injectable for tests."""

    def __init__(self, name: str, policy: IntervalPolicy, settings: AsteriskSettings,
                 clock: Callable[[], datetime] | None = None) -> None:
        super().__init__(name, policy)
        self.settings = settings
        self._secret = secret_from_env(settings.secret_env, f"source {name}: AMI secret") or ""
        self._clock = clock or _utcnow
        self._tls: ssl.SSLContext | None = None
        if settings.tls:
            try:
                self._tls = ssl.create_default_context(cafile=settings.ca_bundle)
            except (OSError, ssl.SSLError) as err:
                raise SourceError(f"source {name}: cannot read ca_bundle "
                                  f"{clean(settings.ca_bundle or '', 80)}: "
                                  f"{clean(getattr(err, 'strerror', None) or err, 60)}"
                                  ) from None
        self.state = AmiState(name, policy, settings, self._clock())
        caps = {Capability.SNAPSHOT, Capability.MOVE_AGENTS, Capability.AGENT_STATE}
        if settings.move_context:
            caps.add(Capability.REASSIGN_CONTACT)
        self.capabilities = frozenset(caps)
        self._task: asyncio.Task[None] | None = None
        self._conn: AmiConnection | None = None
        self._live = False  # resynced on the current connection, events flowing
        self._why = "not connected yet"
        self._tried = asyncio.Event()  # the first attempt ended (live or failed)
        self._wake = asyncio.Event()
        self._resync_wanted = ""  # why a resync was asked (Reload, FullyBooted)
        self._failures = 0
        self._rng = random.Random()
        self._lost_at: datetime | None = None
        self.version = ""
        self.sessions = 0  # connections that reached a resync (1 + reconnects)
        self.resyncs = 0
        self.restart_note = ""
        self._restart_day: datetime | None = None  # the note speaks of that day only
        self.notes: tuple[str, ...] = ()

    # -- Source API ---------------------------------------------------------------------

    async def snapshot(self) -> Snapshot:
        self._start()
        if not self._live and not self._tried.is_set():
            # the first poll (and check-config --probe) waits for the first resync
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._tried.wait()),
                                       self.settings.timeout_s * 0.8)
        if not self._live:
            raise SourceError(self._stale_reason())
        now = self._clock()
        snap = self.state.snapshot(now)
        self.notes = tuple(self._notes())
        return snap

    def poll_cost(self) -> int:
        return 0  # a poll reads the state kept; it sends nothing to Asterisk

    def redact(self, text: str) -> str:
        return text.replace(self._secret, "***") if self._secret else text

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()

    # -- the session ----------------------------------------------------------------------

    def _start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._keep_connected(), name=f"ami-{self.name}")

    def _stale_reason(self) -> str:
        since = ""
        if self._lost_at is not None:
            since = f" since {self._lost_at.astimezone(self.policy.zone):%H:%M:%S}"
        return f"not live{since}: {self._why}"

    async def _keep_connected(self) -> None:
        """Connect, log in, resync, follow events; on any end, back off and again."""
        while True:
            try:
                await self._session()
                why = "connection closed"
            except AuthError as err:
                why = str(err)
            except AmiError as err:
                why = str(err)
            except TimeoutError:
                why = f"no answer from {self.settings.host}:{self.settings.port} within " \
                      f"{self.settings.timeout_s:g} s"
            except asyncio.CancelledError:
                raise
            except Exception as err:  # a bug must not end the source for good
                log.exception("source %s: AMI session failed", self.name)
                why = f"internal error ({type(err).__name__})"
            self._lose(self.redact(why))
            self._failures += 1
            self._tried.set()
            ceiling = min(self.settings.max_backoff_s, 2.0 ** min(self._failures - 1, 10))
            await asyncio.sleep(ceiling * self._rng.uniform(0.5, 1.0))

    def _lose(self, why: str) -> None:
        if self._live:
            self._lost_at = self._clock()
        self._live = False
        self._why = why
        self._conn = None
        self.state.connection_lost(self._clock())
        log.info("source %s: %s", self.name, why)

    async def _session(self) -> None:
        timeout = self.settings.timeout_s
        conn = await asyncio.wait_for(AmiConnection.open(
            self.settings.host, self.settings.port, self._on_event,
            self.settings.max_message_kib * 1024, self._tls), timeout)
        reader = asyncio.get_running_loop().create_task(conn.run())
        try:
            self._why = "logging in"
            await conn.login(self.settings.username, self._secret, self.settings.auth,
                             EVENT_CLASSES, timeout)
            self.version = conn.version
            self._conn = conn
            await self._resync(conn)
            self.sessions += 1
            self._failures = 0
            await self._follow(conn, reader)
        finally:
            self._conn = None
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, AmiError):
                await reader
            await conn.close()

    async def _follow(self, conn: AmiConnection, reader: asyncio.Task[None]) -> None:
        """Live until the reader ends: ping a quiet connection, resync when asked (a
        reload, a late FullyBooted) and every ``resync_every_s``."""
        loop = asyncio.get_running_loop()
        next_resync = loop.time() + self.settings.resync_every_s
        while True:
            self._wake.clear()
            if not self._resync_wanted:  # one asked meanwhile: no waiting
                quiet = loop.time() - conn.last_received
                wait = max(0.05, min(self.settings.ping_every_s - quiet,
                                     next_resync - loop.time()))
                waker = loop.create_task(self._wake.wait())
                await asyncio.wait({reader, waker}, timeout=wait,
                                   return_when=asyncio.FIRST_COMPLETED)
                waker.cancel()
            if reader.done():
                reader.result()  # raises AmiError: why the connection ended
                return
            if self._resync_wanted or loop.time() >= next_resync:
                if self._resync_wanted:  # a reload may have changed any of it: stale
                    self._live = False
                    self._why = f"resyncing ({self._resync_wanted})"
                await self._resync(conn)
                next_resync = loop.time() + self.settings.resync_every_s
            elif loop.time() - conn.last_received >= self.settings.ping_every_s:
                answer = await conn.action("Ping", timeout_s=self.settings.timeout_s)
                if not is_success(answer):
                    raise AmiError(f"Ping refused ({reason(answer)})")

    async def _resync(self, conn: AmiConnection) -> None:
        """QueueStatus: the roster (queues, members, waiting callers) from scratch."""
        self._resync_wanted = ""
        self.state.begin_resync()
        response, _ = await conn.action_list(
            "QueueStatus", {}, self.settings.timeout_s * 3,
            on_item=lambda m: self.state.apply(m, self._clock()))
        if not is_success(response):
            raise AmiError(f"QueueStatus refused ({reason(response)}): is app_queue "
                           "loaded?")
        self.state.finish_resync(self._clock())
        self.resyncs += 1
        self._live = True
        self._lost_at = None
        self._why = ""
        self._tried.set()

    def _on_event(self, message: Message) -> None:
        """Every live event, in the order Asterisk sent them."""
        event = message.get("event", "").casefold()
        now = self._clock()
        if event == "shutdown":
            restart = message.get("restart", "").casefold() == "true"
            self._why = f"Asterisk is shutting down{' to restart' if restart else ''}"
            if self._live:
                self._lost_at = now
            self._live = False
            self.state.connection_lost(now)
            return
        if event == "fullybooted":
            self._booted(message)
            return
        if event == "reload":
            module = clean(message.get("module", "All"), 40)
            if module.casefold() in ("all", "app_queue", "app_queue.so"):
                self._ask_resync(f"{module} reloaded")
            return
        self.state.apply(message, now)

    def _booted(self, message: Message) -> None:
        """FullyBooted comes right after login (and when a PBX we reached while it was
        starting is ready). A small Uptime after a disconnect: Asterisk restarted, and
        every call waiting then was dropped."""
        uptime = message.get("uptime", "")
        if uptime.isdigit() and self.sessions:
            lost = self._lost_at
            age = (self._clock() - lost).total_seconds() if lost else None
            if age is not None and int(uptime) <= age + 5:
                self._restart_day = self.state.day.start
                self.restart_note = (f"Asterisk restarted (up {int(uptime)} s at "
                                     f"{self._clock().astimezone(self.policy.zone):%H:%M:%S}"
                                     "): callers waiting then were dropped, not counted")
        if self._live:
            self._ask_resync("Asterisk fully booted")

    def _ask_resync(self, why: str) -> None:
        self._resync_wanted = why
        self._wake.set()

    def _notes(self) -> list[str]:
        """Doubts about the numbers only (each one marks the source ⚠ on screen)."""
        state = self.state
        notes = state.coverage_notes()  # a reconnection shows here as a gap
        if self.restart_note and self._restart_day == state.day.start:
            notes.append(self.restart_note)
        if state.garbage:
            notes.append(f"{state.garbage} AMI event(s) with unreadable fields ignored "
                         f"(first: {state.first_garbage})")
        unknown = sum(1 for m in state.members.values() if m.status == 0)
        if unknown:
            notes.append(f"{unknown} member(s) in device state unknown: shown available "
                         "(app_queue rings them)")
        return notes

    # -- actions ----------------------------------------------------------------------------

    async def _act(self, action: str, fields: Mapping[str, str]) -> Message | ActionResult:
        self._start()
        conn = self._conn
        if conn is None or not self._live:
            return ActionResult(ok=False, code=ActionCode.SOURCE_ERROR,
                                message=f"source {self.name}: {self._stale_reason()}")
        try:
            return await conn.action(action, fields, self.settings.timeout_s)
        except AmiError as err:
            return ActionResult(ok=False, code=ActionCode.NOT_CONFIRMED,
                                message=f"{action}: {self.redact(str(err))}; check the "
                                "next snapshot before trying again")

    async def move_contact(self, contact_id: str, queue_id: str) -> ActionResult:
        context = self.settings.move_context
        if not context:
            return self._unsupported("move callers (set move_context to the dialplan "
                                     "context of the queues' extensions)")
        caller = self.state.callers.get(contact_id)
        if caller is None:
            return ActionResult(ok=False, code=ActionCode.NOT_WAITING,
                                message=f"caller {clean(contact_id, 40)} is no longer waiting")
        if queue_id not in self.state.queues:
            return ActionResult(ok=False, code=ActionCode.UNKNOWN_QUEUE,
                                message=f"no queue {clean(queue_id, 40)} on this Asterisk")
        if queue_id == caller.queue:
            return ActionResult(ok=False, code=ActionCode.SAME_QUEUE,
                                message=f"the caller is already in {clean(queue_id, 40)}")
        exten = self.settings.move_exten(queue_id)
        if not _DIALPLAN_WORD.match(exten):
            return ActionResult(ok=False, code=ActionCode.BAD_REQUEST,
                                message=f"queue {clean(queue_id, 40)} has no extension to "
                                "send callers to: set move_exten in its queue_settings")
        # before sending: the abandon app_queue may report for it arrives before the answer
        self.state.moved_caller(caller.uniqueid, self._clock())
        answer = await self._act("Redirect", {"Channel": caller.channel, "Context": context,
                                              "Exten": exten, "Priority": "1"})
        if isinstance(answer, ActionResult):
            return answer
        if is_success(answer):
            return ActionResult(ok=True, code=ActionCode.OK, message=(
                f"caller sent to {clean(queue_id, 40)} ({exten}@{context})"))
        self.state.moved.pop(caller.uniqueid, None)
        text = reason(answer)
        if "does not exist" in text or "not up" in text:
            return ActionResult(ok=False, code=ActionCode.NOT_WAITING,
                                message=f"the caller hung up or was answered ({text})")
        return ActionResult(ok=False, code=ActionCode.SOURCE_ERROR,
                            message=f"Redirect refused: {text}")

    def _member(self, agent_id: str) -> Member | ActionResult:
        member = self.state.members.get(agent_id)
        if member is None:
            return ActionResult(ok=False, code=ActionCode.UNKNOWN_AGENT,
                                message=f"no queue member {clean(agent_id, 60)}")
        return member

    async def set_agent_skills(self, agent_id: str, skills: Sequence[str]) -> ActionResult:
        member = self._member(agent_id)
        if isinstance(member, ActionResult):
            return member
        wanted = list(dict.fromkeys(skills))
        if not wanted:
            return ActionResult(ok=False, code=ActionCode.BAD_REQUEST, message=(
                "an agent needs at least one queue (log the agent out instead)"))
        unknown = [q for q in wanted if q not in self.state.queues]
        if unknown:
            return ActionResult(ok=False, code=ActionCode.UNKNOWN_QUEUE,
                                message=f"no queue {clean(unknown[0], 40)} on this Asterisk")
        remove = [q for q in member.queues if q not in wanted]
        static = [q for q in remove if not member.queues[q].dynamic]
        if static:
            return ActionResult(ok=False, code=ActionCode.BAD_REQUEST, message=(
                f"{member.name} is a static member of {clean(static[0], 40)} (queues.conf): "
                "AMI cannot remove it"))
        add = [q for q in wanted if q not in member.queues]
        # an agent away everywhere stays away in a queue it is added to
        memberships = list(member.queues.values())
        away = bool(memberships) and all(m.paused for m in memberships)
        why = next((m.reason for m in memberships if m.reason), "")
        steps: list[tuple[str, str, dict[str, str]]] = []
        for queue in add:
            fields = {"Queue": queue, "Interface": member.interface,
                      "MemberName": member.name, "Paused": "true" if away else "false"}
            if away and why:
                fields["Reason"] = why
            if member.state_interface and member.state_interface != member.interface:
                fields["StateInterface"] = member.state_interface
            steps.append((f"added to {queue}", "QueueAdd", fields))
        steps += [(f"removed from {q}", "QueueRemove", {"Queue": q,
                                                         "Interface": member.interface})
                  for q in remove]
        if not steps:
            return ActionResult(ok=True, code=ActionCode.OK,
                                message=f"{member.name} already serves exactly these queues")
        return await self._steps(member.name, steps)

    async def _steps(self, who: str, steps: list[tuple[str, str, dict[str, str]]]
                     ) -> ActionResult:
        done: list[str] = []
        failed: list[str] = []
        for label, action, fields in steps:
            answer = await self._act(action, fields)
            if isinstance(answer, ActionResult):
                failed.append(f"{label}: {answer.message}")
                if answer.code == ActionCode.SOURCE_ERROR:
                    break
            elif is_success(answer):
                done.append(label)
            else:
                failed.append(f"{label}: {reason(answer)}")
        if not failed:
            return ActionResult(ok=True, code=ActionCode.OK,
                                message=f"{who}: {', '.join(done)}")
        if not done:
            return ActionResult(ok=False, code=ActionCode.SOURCE_ERROR,
                                message=f"{who}: {'; '.join(failed)}")
        return ActionResult(ok=False, code=ActionCode.PARTIAL, message=(
            f"{who}: {', '.join(done)}; NOT {'; '.join(failed)}"))

    async def set_agent_state(self, agent_id: str, state: str) -> ActionResult:
        request = parse_state(state)
        if request is None:
            return ActionResult(ok=False, code=ActionCode.UNKNOWN_STATE,
                                message=f"unknown state {clean(state, 40)!r}")
        member = self._member(agent_id)
        if isinstance(member, ActionResult):
            return member
        if member.contact is not None or member.status in (2, 3, 6, 7, 8):
            busy = STATUS_NAMES.get(member.status, "on a call")
            return ActionResult(ok=False, code=ActionCode.ON_CONTACT, message=(
                f"{member.name} is on a call ({busy}): try when it ends"))
        if request.verb == END_ACW:
            return self._unsupported("end wrap-up time (app_queue's wrapuptime runs its "
                                     "course; AMI cannot cut it short)")
        if request.verb == LOGOUT:
            static = [q for q, m in member.queues.items() if not m.dynamic]
            if static:
                return ActionResult(ok=False, code=ActionCode.BAD_REQUEST, message=(
                    f"{member.name} is a static member of {clean(static[0], 40)} "
                    "(queues.conf): AMI cannot log it out; pause it instead"))
            return await self._steps(member.name, [
                (f"removed from {q}", "QueueRemove", {"Queue": q, "Interface": member.interface})
                for q in member.queues])
        fields = {"Interface": member.interface,
                  "Paused": "true" if request.verb == AWAY else "false"}
        if request.verb == AWAY:
            fields["Reason"] = request.reason or "away"
        assert request.verb in (AWAY, AVAILABLE)
        answer = await self._act("QueuePause", fields)  # no Queue: in every queue
        if isinstance(answer, ActionResult):
            return answer
        if not is_success(answer):
            return ActionResult(ok=False, code=ActionCode.SOURCE_ERROR,
                                message=f"QueuePause refused: {reason(answer)}")
        return ActionResult(ok=True, code=ActionCode.OK,
                            message=f"{member.name}: {request.describe()} in every queue")
