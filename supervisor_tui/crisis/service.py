"""The one door to crisis communications for the UI and the CLI.

Permission -> audit -> store -> (worker) network, as in ``actions.py``: only an admin
may declare, resolve or send; every attempt, refused or not, is in the audit log; and
nothing is queued when the audit log cannot be written. Delivering what is already
queued needs no role (any console resumes what a crashed one left), but each attempt
is audited under the delivering user.

Use from one thread (the event loop): the store connection is shared with the audit log.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
import sqlite_utils

from supervisor_tui.audited import Auditor, AuditSink
from supervisor_tui.crisis.channels import Broadcast, Sender, build_senders
from supervisor_tui.crisis.config import CrisisConfig, MessageKind
from supervisor_tui.crisis.db import CrisisStoreError
from supervisor_tui.crisis.incidents import (
    Banner,
    Incident,
    IncidentError,
    IncidentStore,
    TimelineEvent,
    export_markdown,
)
from supervisor_tui.crisis.outbox import (
    DELIVERED,
    FAILED,
    UNSETTLED,
    Attempt,
    DeliveryWorker,
    NewDelivery,
    Outbox,
    OutboxRow,
    QueuedMessage,
    Sleep,
)
from supervisor_tui.crisis.templates import (
    Preview,
    TemplateError,
    get_template,
    render,
    resolve_variables,
    template_variables,
)
from supervisor_tui.domain.model import ActionCode
from supervisor_tui.domain.roles import Role
from supervisor_tui.store.backend import Db

T = TypeVar("T")
STATUSPAGE_STATUS = {MessageKind.INITIAL: "investigating", MessageKind.UPDATE: "identified",
                     MessageKind.RESOLVED: "resolved"}
#: channel types that reach customers: resolving with these undelivered warns
CUSTOMER_TYPES = frozenset({"sms", "email", "statuspage"})


class CrisisError(Exception):
    """A crisis request that was not done; ``code``: refused, invalid, not_found, store."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class SendReport:
    """A queued message and what became of its deliveries (so far)."""

    message: QueuedMessage
    rows: tuple[OutboxRow, ...]

    @property
    def delivered(self) -> list[OutboxRow]:
        return [r for r in self.rows if r.state == DELIVERED]

    @property
    def failed(self) -> list[OutboxRow]:
        return [r for r in self.rows if r.state == FAILED]

    @property
    def pending(self) -> list[OutboxRow]:
        return [r for r in self.rows if r.state in UNSETTLED]


class CrisisService:
    def __init__(
        self,
        config: CrisisConfig,
        db: Db | sqlite_utils.Database,
        *,
        user: str,
        role: Role,
        audit: AuditSink | None,
        broadcasters: Mapping[str, Broadcast] | None = None,
        env: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], datetime] | None = None,
        sleep: Sleep | None = None,
        rng: random.Random | None = None,
        owner: str | None = None,
        listener: Callable[[Attempt], None] | None = None,
        senders: Mapping[str, Sender] | None = None,
    ) -> None:
        """``audit`` is an ``AuditLog`` on the same database (None: nothing may be
        changed). ``broadcasters`` maps source names to their ``broadcast`` for the
        agents channel. ``env``, ``transport``, ``clock``, ``sleep``, ``rng`` and
        ``senders`` are for tests."""
        self.config = config
        self.user = user
        self.role = role
        self.audit = audit
        self.auditor = Auditor(audit, user, role)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.broadcasters = dict(broadcasters or {})
        self._env = env
        try:
            self.incidents = IncidentStore(db)
        except CrisisStoreError as err:
            raise CrisisError(str(err), "store") from None
        self.outbox = Outbox(self.incidents.db, self.incidents)
        self.worker = DeliveryWorker(
            self.outbox,
            senders if senders is not None else build_senders(
                config, self.incidents, broadcasters=self.broadcasters, env=env,
                transport=transport, clock=self.clock),
            config, audit=audit, user=user, role=role.value, owner=owner, clock=self.clock,
            sleep=sleep, rng=rng, listener=listener)

    # -- permission and audit ---------------------------------------------------------

    def refusal(self, action: str) -> str | None:
        """Why this user may not do ``action``, or None if they may."""
        return self.auditor.refusal(action)

    def can(self, action: str) -> bool:
        return self.refusal(action) is None

    def _guarded(self, action: str, subject: str, params: Mapping[str, Any],
                 do: Callable[[], T], describe: Callable[[T], str]) -> T:
        """One audited attempt (``audited.Auditor``); what went wrong as CrisisError."""
        auditor = self.auditor
        stop = auditor.begin(action, subject, params)
        if stop is not None:
            refused = stop.code is ActionCode.REFUSED
            raise CrisisError(stop.message, "refused" if refused else "store")
        try:
            result = do()
        except (CrisisError, IncidentError, TemplateError, CrisisStoreError) as err:
            auditor.finish(action, subject, params, False, str(err))
            if isinstance(err, CrisisError):
                raise
            code = "store" if isinstance(err, CrisisStoreError) else (
                "not_found" if str(err).startswith("no incident") else "invalid")
            raise CrisisError(str(err), code) from None
        auditor.finish(action, subject, params, True, describe(result))
        return result

    def _now(self) -> datetime:
        return self.clock()

    # -- incidents ---------------------------------------------------------------------

    def declare(self, title: str, severity: str, queues: Sequence[str] = (),
                impact: str = "", eta: str = "") -> Incident:
        params = {"title": title, "severity": severity, "queues": list(queues),
                  "impact": impact, "eta": eta}
        return self._guarded(
            "crisis_declare", "incident (new)", params,
            lambda: self.incidents.declare(title=title, severity=severity, queues=queues,
                                           user=self.user, now=self._now(), impact=impact,
                                           eta=eta),
            lambda inc: f"declared incident #{inc.id}")

    def resolve(self, incident_id: int, note: str = "", template: str | None = None,
                variables: Mapping[str, str] | None = None,
                channels: Collection[str] | None = None,
                ) -> tuple[Incident, QueuedMessage | None]:
        """Resolve, first queueing the all-clear ``template`` if given (it is then
        delivered by the worker: call ``deliver``/``send_queued`` or let a console)."""
        queued = None
        if template is not None:
            queued = self.queue(template, variables or {}, incident_id, resolve=False,
                                channels=channels)
        incident = self._guarded(
            "crisis_resolve", f"incident #{incident_id}", {"note": note},
            lambda: self.incidents.resolve(incident_id, user=self.user, now=self._now(),
                                           note=note),
            lambda inc: f"resolved incident #{inc.id}")
        return incident, queued

    def note(self, incident_id: int, text: str) -> None:
        """Record an action taken ("opened overflow to billing") on the timeline."""
        self._guarded("crisis_note", f"incident #{incident_id}", {"text": text},
                      lambda: self.incidents.note(incident_id, user=self.user,
                                                  now=self._now(), text=text),
                      lambda _: "noted")

    def incident(self, incident_id: int) -> Incident:
        try:
            return self.incidents.get(incident_id)
        except IncidentError as err:
            raise CrisisError(str(err), "not_found") from None

    def incident_list(self, active_only: bool = False, limit: int = 100) -> list[Incident]:
        return self.incidents.find(active_only=active_only, limit=limit)

    def active_incidents(self) -> list[Incident]:
        return self.incidents.active()

    def banners(self) -> list[Banner]:
        """For the incident banner on every console: poll this (one cheap query). A
        resolved incident stays as ALL CLEAR for [crisis] all_clear_banner_s."""
        return self.incidents.banners(self._now(), self.config.all_clear_banner_s)

    def timeline(self, incident_id: int) -> list[TimelineEvent]:
        self.incident(incident_id)
        return self.incidents.timeline(incident_id)

    def export_markdown(self, incident_id: int) -> str:
        incident = self.incident(incident_id)
        return export_markdown(incident, self.incidents.timeline(incident_id),
                               self.outbox.messages(incident_id),
                               [asdict(r) for r in self.outbox.rows(incident_id=incident_id)],
                               self._now())

    # -- messages ---------------------------------------------------------------------

    def template_names(self) -> list[str]:
        """Configured templates by name, then the built-in floor ones."""
        return sorted(self.config.templates, key=lambda n: (self.config.is_builtin(n), n))

    def channel_problems(self) -> dict[str, str]:
        """Every channel this process cannot send on, with the reason (a missing secret):
        for start-up warnings and the send form's unticked boxes."""
        problems = {}
        for name in self.config.channels:
            sender = self.worker.senders.get(name)
            missing = sender.missing_env() if sender is not None else []
            if missing:
                problems[name] = f"{', '.join(missing)} not set here"
        return problems

    def undelivered(self, incident_id: int, customers_only: bool = True) -> list[OutboxRow]:
        """Deliveries of this incident not (yet) delivered: pending or failed. By default
        only those to customers (sms, email, status page)."""
        return [r for r in self.status(incident_id)
                if not customers_only or r.channel_type in CUSTOMER_TYPES]

    def template_variables(self, template: str) -> list[str]:
        try:
            return sorted(template_variables(self.config, get_template(self.config, template)))
        except TemplateError as err:
            raise CrisisError(str(err), "invalid") from None

    def target_incident(self, incident_id: int | None = None) -> Incident:
        """The incident a message is about: the given one, else the only active one."""
        if incident_id is not None:
            return self.incident(incident_id)
        active = self.incidents.active()
        if not active:
            raise CrisisError("no active incident: declare one first", "invalid")
        if len(active) > 1:
            listed = ", ".join(f"#{i.id} {i.title}" for i in active)
            raise CrisisError(f"several incidents are active ({listed}): say which",
                              "invalid")
        return active[0]

    def preview(self, template: str, variables: Mapping[str, str] | None = None,
                incident_id: int | None = None,
                channels: Collection[str] | None = None) -> Preview:
        """The exact text per channel, its limits and any problems. No side effects.
        ``channels``: only these of the template's channels (default: all of them)."""
        incident = self.target_incident(incident_id)
        try:
            values = resolve_variables(self.config, template, incident.variables(),
                                       variables or {})
            preview = render(self.config, template, values)
        except TemplateError as err:
            raise CrisisError(str(err), "invalid") from None
        if channels is not None:
            unknown = sorted(set(channels) - {c.channel for c in preview.channels})
            if unknown:
                raise CrisisError(f"template {template} does not send to "
                                  f"{', '.join(unknown)} (it sends to "
                                  f"{', '.join(c.channel for c in preview.channels)})",
                                  "invalid")
            preview = replace(preview, channels=tuple(
                c for c in preview.channels if c.channel in channels))
        return self._with_env_problems(preview)

    def _with_env_problems(self, preview: Preview) -> Preview:
        env = self._env if self._env is not None else os.environ
        channels = []
        for ch in preview.channels:
            missing = [v for v in self.config.channels[ch.channel].env_vars() if not env.get(v)]
            extra = tuple(f"environment variable {v} is not set" for v in missing)
            channels.append(replace(ch, problems=ch.problems + extra) if extra else ch)
        return replace(preview, channels=tuple(channels))

    def queue(self, template: str, variables: Mapping[str, str] | None = None,
              incident_id: int | None = None, *, resolve: bool = True,
              channels: Collection[str] | None = None) -> QueuedMessage:
        """Check, render and durably queue a message (nothing is sent yet). A template
        of kind "resolved" also resolves the incident, unless ``resolve`` is False.
        ``channels``: send on only these of the template's channels (e.g. leaving out
        one whose secret is missing); default all."""
        variables = dict(variables or {})
        incident = self.target_incident(incident_id)
        params: dict[str, Any] = {"template": template, "variables": variables}
        if channels is not None:
            channels = list(channels)
            params["channels"] = channels

        def do() -> QueuedMessage:
            if not incident.active:
                raise CrisisError(f"incident #{incident.id} is resolved", "invalid")
            if channels is not None and not channels:
                raise CrisisError("not sent: no channel chosen", "invalid")
            preview = self.preview(template, variables, incident.id, channels)
            if not preview.ok:
                raise CrisisError("not sent: " + "; ".join(preview.all_problems()),
                                  "invalid")
            current = self.incidents.update(
                incident.id, user=self.user, now=self._now(),
                impact=variables.get("impact"), eta=variables.get("eta"))
            tmpl = self.config.templates[template]
            meta = {"kind": tmpl.kind.value, "template": template,
                    "severity": current.severity, "incident_uid": current.uid,
                    "incident_title": current.title, "queues": list(current.queues),
                    "statuspage_status": tmpl.statuspage_status
                    or STATUSPAGE_STATUS[tmpl.kind]}
            deliveries = [NewDelivery(ch.channel, ch.type, recipient, ch.subject, ch.body,
                                      meta)
                          for ch in preview.channels for recipient in ch.recipients]
            return self.outbox.enqueue(incident=current, template=template,
                                       kind=tmpl.kind.value, variables=preview.variables,
                                       deliveries=deliveries, user=self.user, now=self._now())

        queued = self._guarded("crisis_message", f"incident #{incident.id}", params, do,
                               lambda q: f"message {q.message_id}: {len(q.row_ids)} "
                               "deliveries queued")
        if resolve and self.config.templates[template].kind is MessageKind.RESOLVED:
            self.resolve(incident.id, note=f"all clear sent (message {queued.message_id})")
        return queued

    async def send(self, template: str, variables: Mapping[str, str] | None = None,
                   incident_id: int | None = None, wait_s: float | None = None,
                   channels: Collection[str] | None = None) -> SendReport:
        """Queue, then deliver until every delivery of this message is settled or
        ``wait_s`` (default: [crisis.delivery] send_wait_s) has passed; what is left
        stays queued for ``deliver`` or any console."""
        queued = self.queue(template, variables, incident_id, channels=channels)
        return await self.send_queued(queued, wait_s)

    async def send_queued(self, queued: QueuedMessage, wait_s: float | None = None
                          ) -> SendReport:
        wait = self.config.delivery.send_wait_s if wait_s is None else wait_s
        rows = await self._drain(queued.row_ids, wait)
        return SendReport(queued, tuple(rows))

    async def deliver(self, wait_s: float | None = None) -> list[OutboxRow]:
        """Resume every undelivered row (after a crash, or a channel outage); returns
        those rows as they ended."""
        pending = [r.id for r in self.outbox.rows(states=UNSETTLED)]
        wait = self.config.delivery.send_wait_s if wait_s is None else wait_s
        return await self._drain(pending, wait)

    async def _drain(self, ids: Collection[int], wait_s: float) -> list[OutboxRow]:
        until = self._now().timestamp() + wait_s
        try:
            return await self.worker.drain(ids, until)
        except CrisisStoreError as err:
            raise CrisisError(str(err), "store") from None

    async def run_worker(self, stop: Any) -> None:
        """A console's background delivery loop (``stop``: an asyncio.Event)."""
        await self.worker.run(stop)

    def status(self, incident_id: int | None = None, include_settled: bool = False
               ) -> list[OutboxRow]:
        """Pending and failed deliveries (all of them with ``include_settled``)."""
        states = None if include_settled else (*UNSETTLED, FAILED)
        return self.outbox.rows(incident_id=incident_id, states=states)

    def deliveries(self, message_id: int) -> list[OutboxRow]:
        return self.outbox.rows(message_id=message_id)

    def waiting_for_source(self, row: OutboxRow) -> str | None:
        """Why this process leaves ``row`` to another console (a source broadcast it is
        not connected to, a secret not set here, a channel not configured here), or
        None."""
        if row.settled:
            return None
        return self.worker.cannot_send(row)

    def requeue_failed(self, row_ids: Collection[int]) -> int:
        """Queue failed deliveries again (same keys), e.g. after fixing a credential."""
        return self._guarded("crisis_requeue", "crisis deliveries",
                             {"rows": sorted(row_ids)},
                             lambda: self.outbox.retry_failed(row_ids, self._now(), self.user),
                             lambda n: f"{n} delivery(ies) queued again")

    async def aclose(self) -> None:
        await self.worker.aclose()
