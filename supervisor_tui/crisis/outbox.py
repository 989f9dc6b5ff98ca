"""The durable outbox and the worker that delivers it: never lost, never doubled.

1. ``Outbox.enqueue`` writes the message and one row per (channel, recipient) in one
   transaction BEFORE any network call; each row has its own idempotency key.
2. A worker *claims* due rows: in one write transaction (SQLite: ``BEGIN IMMEDIATE``;
   PostgreSQL: the candidate rows read ``FOR UPDATE SKIP LOCKED``, so consoles on other
   hosts claim other rows instead of waiting) it moves each to ``sending`` with a lease
   (owner, expiry) by an UPDATE guarded on the state it read, so two consoles never
   hold the same row.
3. It sends with the row's key, then commits ``delivered``, ``retrying`` (exponential
   backoff with jitter, or the receiver's Retry-After) or ``failed`` (the receiver
   refused it for good, or too many attempts) — again guarded on still holding it.

A crash between the send and that commit leaves the row in ``sending``. It is claimed
again once its lease expires, or at once when its owner was a process on this host
that is gone (kill -9); it is re-sent WITH THE SAME KEY so the receiver drops the
repeat. Delivered rows are never claimed again. Rows for one (incident, channel,
recipient) go out in order: a later one waits until the earlier ones are settled, so
an update never overtakes the message it updates.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import socket
import uuid
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

from supervisor_tui.crisis.channels import Delivery, Sender, SendResult, Status
from supervisor_tui.crisis.config import CrisisConfig, DeliveryConfig
from supervisor_tui.crisis.db import (
    MESSAGES,
    OUTBOX,
    CrisisStoreError,
    dumps,
    immediate,
    iso,
    query,
)
from supervisor_tui.crisis.incidents import Incident, IncidentStore, add_event, set_ref
from supervisor_tui.domain.text import clean
from supervisor_tui.store.audit import AuditError
from supervisor_tui.store.backend import Db, as_db

QUEUED, SENDING, RETRYING, DELIVERED, FAILED = (
    "queued", "sending", "retrying", "delivered", "failed")
UNSETTLED = (QUEUED, SENDING, RETRYING)
SETTLED = (DELIVERED, FAILED)

_KEY_NAMESPACE = uuid.UUID("6f1c2a51-8d0e-4d8a-9b7e-2f4c3b1a0c77")
_HOST = socket.gethostname()


def make_owner() -> str:
    """host:pid:nonce — the pid lets a console on this host see that a claimer died."""
    return f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def owner_gone(owner: str | None) -> bool:
    """True only when ``owner`` was a process on this host that no longer exists."""
    if not owner:
        return False
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != _HOST or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


def idempotency_key(message_uid: str, channel: str, recipient: str) -> str:
    """Stable per (message, channel, recipient): the same on every attempt."""
    return "stui-" + uuid.uuid5(_KEY_NAMESPACE, f"{message_uid}/{channel}/{recipient}").hex


@dataclass(frozen=True)
class OutboxRow:
    id: int
    message_id: int
    incident_id: int
    channel: str
    channel_type: str
    recipient: str
    key: str
    subject: str
    body: str
    meta: dict[str, Any]
    state: str
    attempts: int
    next_attempt_at: float
    lease_owner: str | None
    lease_until: float | None
    last_error: str | None
    last_status: int | None
    external_id: str | None
    created_at: str
    updated_at: str
    delivered_at: str | None
    attempt_by: str | None = None  # "user@host:pid:nonce" of the last attempt's console
    dispatched_at: float | None = None  # when the last attempt's request went out
    outcome_unknown: int | None = None  # 1: the last attempt may or may not have arrived

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> OutboxRow:
        data = dict(row)
        data["key"] = data.pop("idem_key")
        data["meta"] = json.loads(data["meta"] or "{}")
        return cls(**data)

    @property
    def settled(self) -> bool:
        return self.state in SETTLED

    @property
    def unknown(self) -> bool:
        """The last attempt's outcome is unknown (and the row is not settled)."""
        return bool(self.outcome_unknown) and not self.settled

    @property
    def target(self) -> str:
        return f"{self.channel} → {self.recipient}" if self.recipient else self.channel

    def wake_at(self) -> float:
        """When this row may next be claimed (ignoring order and dead owners)."""
        if self.state == SENDING:
            return self.lease_until or 0.0
        return self.next_attempt_at


@dataclass(frozen=True)
class NewDelivery:
    channel: str
    channel_type: str
    recipient: str
    subject: str
    body: str
    meta: Mapping[str, Any]


def insert_message(conn: Db, uid: str, incident_id: int, template: str, kind: str,
                   variables: Mapping[str, Any], deliveries: Sequence[NewDelivery],
                   user: str, now: datetime) -> tuple[int, list[int]]:
    """A message and its deliveries (queued, due ``now``), inside the caller's
    transaction: (message id, delivery row ids). Every writer of the outbox (incident
    messages, pages, report mails) goes through here."""
    message_id = conn.insert_id(
        f"INSERT INTO {MESSAGES} (uid, incident_id, template, kind, created_at, "
        "created_by, variables) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        [uid, incident_id, template, kind, iso(now), user, dumps(dict(variables))])
    return message_id, [conn.insert_id(
        f"INSERT INTO {OUTBOX} (message_id, incident_id, channel, channel_type, "
        "recipient, idem_key, subject, body, meta, state, attempts, "
        "next_attempt_at, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?) RETURNING id",
        [message_id, incident_id, d.channel, d.channel_type, d.recipient,
         idempotency_key(uid, d.channel, d.recipient), d.subject, d.body,
         dumps(dict(d.meta)), QUEUED, now.timestamp(), iso(now), iso(now)])
        for d in deliveries]


@dataclass(frozen=True)
class QueuedMessage:
    message_id: int
    uid: str
    incident_id: int
    template: str
    row_ids: tuple[int, ...]


class Outbox:
    def __init__(self, db: Db | sqlite_utils.Database, incidents: IncidentStore) -> None:
        self.db = as_db(db)
        self.incidents = incidents  # (its constructor created every crisis table)

    # -- writing ---------------------------------------------------------------------

    def enqueue(self, *, incident: Incident, template: str, kind: str,
                variables: Mapping[str, str], deliveries: Sequence[NewDelivery], user: str,
                now: datetime) -> QueuedMessage:
        """Store the message and every delivery, durably, before anything is sent."""
        if not deliveries:
            raise ValueError("a message needs at least one delivery")
        uid = uuid.uuid4().hex
        with immediate(self.db, "queue the message") as conn:
            message_id, ids = insert_message(conn, uid, incident.id, template, kind,
                                             variables, deliveries, user, now)
            channels = sorted({d.channel for d in deliveries})
            add_event(conn, incident.id, now, "message", user,
                      f"message {message_id} ({template}, {kind}) queued: "
                      f"{len(deliveries)} deliveries on {', '.join(channels)}",
                      {"message_id": message_id, "template": template,
                       "variables": dict(variables)})
        return QueuedMessage(message_id, uid, incident.id, template, tuple(ids))

    def claim(self, owner: str, now: float, lease_s: Callable[[OutboxRow], float],
              accept: Callable[[OutboxRow], bool] | None = None,
              limit: int = 20, *, by: str | None = None,
              hold: Callable[[OutboxRow], float | None] | None = None,
              ) -> list[tuple[OutboxRow, bool]]:
        """Take up to ``limit`` due rows for ``owner``; returns (row as claimed, whether
        it was found abandoned in ``sending``, i.e. is a re-send after a crash).

        ``by`` is recorded as the attempt's maker. ``hold(row)`` says until when an
        abandoned row whose request had gone out must not be sent again (None: now);
        such a row is set aside as "outcome unknown" until then instead of claimed."""
        claimed: list[tuple[OutboxRow, bool]] = []
        # SQLite: BEGIN IMMEDIATE excludes other claimers. PostgreSQL: SKIP LOCKED hands
        # concurrent claimers disjoint rows, with no lock named (claims never queue); a
        # row another claimer holds still keeps its recipient's later rows back (the
        # NOT EXISTS sees it unsettled), so order is kept.
        with immediate(self.db, "claim deliveries", f"{OUTBOX}:claim:{owner}") as conn:
            cursor = conn.execute(f"""
                SELECT o.* FROM {OUTBOX} o
                WHERE ((o.state IN (?, ?) AND o.next_attempt_at <= ?)
                       OR (o.state = ? AND (o.lease_until <= ? OR o.lease_owner LIKE ?)))
                  AND NOT EXISTS (
                      SELECT 1 FROM {OUTBOX} p
                      WHERE p.incident_id = o.incident_id AND p.channel = o.channel
                        AND p.recipient = o.recipient AND p.id < o.id
                        AND p.state IN (?, ?, ?)
                        -- held with an unknown outcome: it most likely arrived, and the
                        -- next message must not wait unknown_outcome_wait_s behind it
                        AND NOT (p.state = ? AND coalesce(p.outcome_unknown, 0) = 1))
                ORDER BY o.id LIMIT ?{conn.skip_locked}""",
                [QUEUED, RETRYING, now, SENDING, now, f"{_HOST}:%", *UNSETTLED, RETRYING,
                 limit * 10])
            names = [c[0] for c in cursor.description]
            for values in cursor.fetchall():
                row = OutboxRow.from_row(dict(zip(names, values, strict=True)))
                abandoned = row.state == SENDING
                if abandoned and (row.lease_until or 0) > now and not owner_gone(
                        row.lease_owner):
                    continue  # a live console on this host is sending it right now
                until = hold(row) if abandoned and hold is not None else None
                if until is not None and until > now:
                    self._set_aside(conn, row, now, until)
                    continue
                if row.outcome_unknown and row.state == RETRYING and self._superseded(
                        conn, row, now):
                    continue
                if accept is not None and not accept(row):
                    continue
                lease = now + lease_s(row)
                # Guarded on exactly what we read: the claim holds only if nobody moved it.
                updated = conn.execute(
                    f"UPDATE {OUTBOX} SET state = ?, attempts = attempts + 1, lease_owner = ?, "
                    "lease_until = ?, updated_at = ?, attempt_by = ?, dispatched_at = NULL "
                    "WHERE id = ? AND state = ? "
                    "AND attempts = ? AND coalesce(lease_owner, '') = ?",
                    [SENDING, owner, lease, _iso_ts(now), by or owner, row.id, row.state,
                     row.attempts, row.lease_owner or ""]).rowcount
                if updated == 1:
                    claimed.append((replace(row, state=SENDING, attempts=row.attempts + 1,
                                             lease_owner=owner, lease_until=lease,
                                             attempt_by=by or owner, dispatched_at=None),
                                    abandoned))
                if len(claimed) >= limit:
                    break
        return claimed

    def _set_aside(self, conn: Any, row: OutboxRow, now: float, until: float) -> None:
        """An attempt went out and its sender died before hearing back: the copy may have
        arrived. Wait until ``until`` before sending it again (inside claim's transaction)."""
        reason = (f"outcome unknown: {row.attempt_by or row.lease_owner or 'a console'} "
                  "stopped mid-send")
        changed = conn.execute(
            f"UPDATE {OUTBOX} SET state = ?, next_attempt_at = ?, outcome_unknown = 1, "
            "last_error = ?, lease_owner = NULL, lease_until = NULL, updated_at = ? "
            "WHERE id = ? AND state = ? AND attempts = ? AND coalesce(lease_owner, '') = ?",
            [RETRYING, until, reason, _iso_ts(now), row.id, SENDING, row.attempts,
             row.lease_owner or ""]).rowcount
        if changed == 1:
            at = datetime.fromtimestamp(until, UTC).strftime("%H:%M:%S")
            add_event(conn, row.incident_id, datetime.fromtimestamp(now, UTC), "unknown",
                      "system", f"{row.target}: {reason} (attempt {row.attempts}); not sent "
                      f"again before {at} UTC: {row.channel_type} keeps every copy",
                      {"row": row.id, "message_id": row.message_id, "channel": row.channel,
                       "recipient": row.recipient, "key": row.key, "attempt": row.attempts,
                       "by": row.attempt_by, "retry_at": until})

    def _superseded(self, conn: Any, row: OutboxRow, now: float) -> bool:
        """A held row (outcome unknown) whose recipient has since had a later message:
        sending it now would put old news after new (an outage notice after the all
        clear). Settle it as failed, saying why, instead of claiming it."""
        later = conn.execute(
            f"SELECT id FROM {OUTBOX} WHERE incident_id = ? AND channel = ? AND "
            "recipient = ? AND id > ? AND state = ? LIMIT 1",
            [row.incident_id, row.channel, row.recipient, row.id, DELIVERED]).fetchone()
        if later is None:
            return False
        reason = (f"not sent again: the outcome of attempt {row.attempts} is unknown (it may "
                  f"have arrived) and a later message (delivery {later[0]}) has been "
                  "delivered since")
        changed = conn.execute(
            f"UPDATE {OUTBOX} SET state = ?, last_error = ?, updated_at = ? WHERE id = ? "
            "AND state = ? AND attempts = ?",
            [FAILED, reason, _iso_ts(now), row.id, RETRYING, row.attempts]).rowcount
        if changed == 1:
            add_event(conn, row.incident_id, datetime.fromtimestamp(now, UTC), "failed",
                      "system", f"{row.target}: {reason}",
                      {"row": row.id, "message_id": row.message_id, "channel": row.channel,
                       "recipient": row.recipient, "key": row.key, "attempt": row.attempts,
                       "superseded_by": later[0]})
        return True

    def mark_dispatched(self, row: OutboxRow, owner: str, now: datetime) -> bool:
        """The request is about to go out: from now on a crash leaves its outcome unknown.
        False when the lease was lost (then nothing must be sent)."""
        with immediate(self.db, "record the attempt") as conn:
            return conn.execute(
                f"UPDATE {OUTBOX} SET dispatched_at = ? WHERE id = ? AND state = ? "
                "AND lease_owner = ?", [now.timestamp(), row.id, SENDING, owner]).rowcount == 1

    def _settle(self, row: OutboxRow, owner: str, now: datetime, sets: Mapping[str, Any],
                event: tuple[str, str, dict[str, Any]] | None,
                ref: str | None = None) -> bool:
        """Apply ``sets`` if ``owner`` still holds the row; False when the lease was lost."""
        with immediate(self.db, "record the delivery") as conn:
            columns = ", ".join(f"{k} = ?" for k in sets)
            changed = conn.execute(
                f"UPDATE {OUTBOX} SET {columns}, lease_owner = NULL, lease_until = NULL, "
                "updated_at = ? WHERE id = ? AND state = ? AND lease_owner = ?",
                [*sets.values(), iso(now), row.id, SENDING, owner]).rowcount
            if changed != 1:
                return False
            if ref is not None:
                set_ref(conn, row.incident_id, row.channel, ref)
            if event is not None:
                kind, text, data = event
                add_event(conn, row.incident_id, now, kind, "system", text,
                          {"row": row.id, "message_id": row.message_id,
                           "channel": row.channel, "recipient": row.recipient,
                           "key": row.key, "attempt": row.attempts, "by": row.attempt_by,
                           **data})
        return True

    def mark_delivered(self, row: OutboxRow, owner: str, now: datetime, reason: str,
                       http_status: int | None, external_id: str | None,
                       keep_ref: bool) -> bool:
        return self._settle(
            row, owner, now,
            {"state": DELIVERED, "delivered_at": iso(now), "last_error": None,
             "last_status": http_status, "external_id": external_id, "outcome_unknown": 0},
            ("delivered", f"{row.target}: {reason} (attempt {row.attempts})", {}),
            ref=external_id if keep_ref and external_id else None)

    def mark_retry(self, row: OutboxRow, owner: str, now: datetime, reason: str,
                   http_status: int | None, next_at: float, unknown: bool = False) -> bool:
        """``unknown``: the attempt may have arrived (no answer in time, a dropped
        connection) and the receiver keeps every copy, so the wait is a long one."""
        wait = max(0.0, next_at - now.timestamp())
        if unknown:
            event = ("unknown", f"{row.target}: attempt {row.attempts} outcome unknown "
                     f"({reason}); not sent again for {wait:.0f} s: {row.channel_type} "
                     "keeps every copy", {"retry_in_s": round(wait, 3)})
        else:
            event = ("retrying", f"{row.target}: attempt {row.attempts} failed ({reason}); "
                     f"retry in {wait:.0f} s", {"retry_in_s": round(wait, 3)})
        return self._settle(
            row, owner, now,
            {"state": RETRYING, "next_attempt_at": next_at, "last_error": reason,
             "last_status": http_status, "outcome_unknown": int(unknown)}, event)

    def mark_failed(self, row: OutboxRow, owner: str, now: datetime, reason: str,
                    http_status: int | None) -> bool:
        return self._settle(
            row, owner, now,
            {"state": FAILED, "last_error": reason, "last_status": http_status,
             "outcome_unknown": 0},
            ("failed", f"{row.target}: FAILED — {reason}", {}))

    def release(self, row: OutboxRow, owner: str, now: datetime, reason: str,
                next_at: float) -> bool:
        """Give a claimed row back unsent (the attempt does not count)."""
        return self._settle(row, owner, now,
                            {"state": RETRYING if row.attempts > 1 else QUEUED,
                             "attempts": row.attempts - 1, "next_attempt_at": next_at,
                             "last_error": reason, "dispatched_at": None}, None)

    def retry_failed(self, row_ids: Collection[int], now: datetime, user: str) -> int:
        """Put failed rows back in the queue (after fixing the config); same keys."""
        if not row_ids:
            return 0
        marks = ", ".join("?" * len(row_ids))
        with immediate(self.db, "requeue deliveries") as conn:
            rows = conn.execute(f"SELECT id, incident_id, channel, recipient FROM {OUTBOX} "
                                f"WHERE id IN ({marks}) AND state = ?",
                                [*row_ids, FAILED]).fetchall()
            for rid, incident_id, channel, recipient in rows:
                conn.execute(f"UPDATE {OUTBOX} SET state = ?, attempts = 0, "
                             "next_attempt_at = ?, updated_at = ? WHERE id = ? AND state = ?",
                             [QUEUED, now.timestamp(), iso(now), rid, FAILED])
                target = f"{channel} → {recipient}" if recipient else channel
                add_event(conn, incident_id, now, "requeued", user,
                          f"{target}: queued again after failing", {"row": rid})
        return len(rows)

    # -- reading ---------------------------------------------------------------------

    def rows(self, *, ids: Collection[int] | None = None, message_id: int | None = None,
             incident_id: int | None = None, states: Collection[str] | None = None,
             limit: int = 10_000) -> list[OutboxRow]:
        where: list[str] = []
        args: list[int | str] = []  # ids and numbers, states
        if ids is not None:
            if not ids:
                return []
            where.append(f"id IN ({', '.join('?' * len(ids))})")
            args += list(ids)
        for column, value in (("message_id", message_id), ("incident_id", incident_id)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if states is not None:
            where.append(f"state IN ({', '.join('?' * len(states))})")
            args += list(states)
        sql = f"SELECT * FROM {OUTBOX}" + (f" WHERE {' AND '.join(where)}" if where else "")
        return [OutboxRow.from_row(r) for r in
                query(self.db, sql + " ORDER BY id LIMIT ?", [*args, limit],
                      "read the outbox")]

    def messages(self, incident_id: int) -> list[dict[str, Any]]:
        return query(self.db, f"SELECT * FROM {MESSAGES} WHERE incident_id = ? ORDER BY id",
                     [incident_id], "read messages")

    def counts(self) -> dict[str, int]:
        rows = query(self.db, f"SELECT state, count(*) AS n FROM {OUTBOX} GROUP BY state")
        return {r["state"]: r["n"] for r in rows}


def _iso_ts(ts: float) -> str:
    return iso(datetime.fromtimestamp(ts, UTC))


# -- the worker --------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_s: float = 2.0
    max_s: float = 300.0
    retry_after_max_s: float = 3600.0

    @classmethod
    def from_config(cls, config: DeliveryConfig) -> RetryPolicy:
        return cls(config.max_attempts, config.backoff_base_s, config.backoff_max_s,
                   config.retry_after_max_s)

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds before the next attempt after attempt number ``attempt`` failed."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.retry_after_max_s)
        ceiling = min(self.max_s, self.base_s * 2 ** (attempt - 1))
        # "Equal jitter": never less than half the backoff, so a recovering receiver
        # is not hit by every retry at once, and never hammered.
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


Clock = Callable[[], datetime]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Attempt:
    """What one delivery attempt did (for listeners such as a crisis screen)."""

    row: OutboxRow
    state: str  # delivered / retrying / failed / released
    reason: str


class DeliveryWorker:
    """Claims and delivers due outbox rows. One per console/CLI process."""

    def __init__(self, outbox: Outbox, senders: Mapping[str, Sender], config: CrisisConfig,
                 *, audit: Any | None = None, user: str = "system", role: str = "admin",
                 owner: str | None = None, clock: Clock | None = None,
                 sleep: Sleep | None = None, rng: random.Random | None = None,
                 batch: int = 20,
                 listener: Callable[[Attempt], None] | None = None) -> None:
        self.outbox = outbox
        self.senders = senders
        self.config = config
        self.policy = RetryPolicy.from_config(config.delivery)
        self.audit = audit
        self.user = user
        self.role = role
        self.owner = owner or make_owner()
        self.clock: Clock = clock or (lambda: datetime.now(UTC))
        self.sleep: Sleep = sleep or asyncio.sleep
        self.rng = rng or random.Random()
        self.batch = batch
        self.listener = listener
        self.last_error: str | None = None  # a store problem, for the screen

    def _now(self) -> datetime:
        return self.clock()

    def _lease_s(self, row: OutboxRow) -> float:
        channel = self.config.channels.get(row.channel)
        timeout = channel.timeout_s if channel is not None else 10.0
        # Far longer than one attempt can take (the worker abandons it at timeout_s):
        # an expired lease means its holder is gone, not slow.
        return max(60.0, 3 * timeout + 30.0)

    @property
    def by(self) -> str:
        """Who makes this worker's attempts, as recorded on each row: user@host:pid:nonce."""
        return f"{self.user}@{self.owner}"

    def cannot_send(self, row: OutboxRow) -> str | None:
        """Why this process cannot send ``row`` (it leaves it for a console that can), or
        None. Never a reason to fail the row: another console may have what we lack."""
        sender = self.senders.get(row.channel)
        channel = self.config.channels.get(row.channel)
        if sender is None or channel is None:
            return f"channel {row.channel} is not configured here"
        missing = sender.missing_env()
        if missing:
            return f"needs {', '.join(missing)} (not set here)"
        if not sender.can_deliver(row.recipient):
            return (f"needs a console connected to source "
                    f"{row.recipient.removeprefix('source:')}")
        return None

    def accepts(self, row: OutboxRow) -> bool:
        return self.cannot_send(row) is None

    def _idempotent(self, row: OutboxRow) -> bool:
        channel = self.config.channels.get(row.channel)
        return channel.idempotent if channel is not None else True

    def _hold(self, row: OutboxRow) -> float | None:
        """An abandoned attempt on a channel that keeps every copy: not again before."""
        if row.dispatched_at is None or self._idempotent(row):
            return None
        return row.dispatched_at + self.config.delivery.unknown_outcome_wait_s

    async def deliver_due(self) -> int:
        """Claim every due row (up to the batch size, and each channel's max_in_flight)
        and deliver them concurrently."""
        now = self._now().timestamp()
        taken: dict[str, int] = {}

        def accept(row: OutboxRow) -> bool:
            if not self.accepts(row):
                return False
            channel = self.config.channels[row.channel]
            if taken.get(row.channel, 0) >= channel.in_flight:
                return False
            taken[row.channel] = taken.get(row.channel, 0) + 1
            return True

        claimed = self.outbox.claim(self.owner, now, self._lease_s, accept, self.batch,
                                    by=self.by, hold=self._hold)
        if claimed:
            await asyncio.gather(*(self._deliver(row, abandoned) for row, abandoned in claimed))
        return len(claimed)

    async def drain(self, ids: Collection[int] | None = None,
                    until: float | None = None) -> list[OutboxRow]:
        """Deliver until the rows ``ids`` (default: every row this process can deliver)
        are settled, or until the epoch time ``until``. Older pending rows are delivered
        too (they may be ahead in order). Returns the rows ``ids`` as they ended."""
        while True:
            attempted = await self.deliver_due()  # at least one pass, even with no time
            if until is not None and self._now().timestamp() >= until:
                break
            if attempted:
                continue
            waiting = [r for r in self.outbox.rows(ids=ids, states=UNSETTLED)
                       if self.accepts(r)]
            if not waiting:
                break
            now = self._now().timestamp()
            wake = min(r.wake_at() for r in waiting)
            if until is not None and max(wake, now) >= until:
                break
            # Bounded both ways: never spin, never oversleep an earlier row's turn.
            await self.sleep(min(max(wake - now, 0.05), self.config.delivery.poll_s))
        return self.outbox.rows(ids=ids) if ids is not None else []

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver forever (a console's background task) until ``stop`` is set."""
        poll = self.config.delivery.poll_s
        while not stop.is_set():
            try:
                if await self.deliver_due():
                    continue
                self.last_error = None
            except CrisisStoreError as err:
                self.last_error = str(err)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), poll)

    async def aclose(self) -> None:
        for sender in self.senders.values():
            await sender.aclose()

    # -- one row -----------------------------------------------------------------------

    def _audit(self, action: str, row: OutboxRow, outcome: str, response: str,
               **extra: Any) -> None:
        if self.audit is None:
            return
        self.audit.append(
            user=self.user, role=self.role, action=action,
            subject=f"crisis delivery {row.id} ({row.target})", outcome=outcome,
            params={"key": row.key, "attempt": row.attempts, "message_id": row.message_id,
                    "incident_id": row.incident_id, "channel": row.channel,
                    "recipient": row.recipient, "host": _HOST, "console": self.owner,
                    **extra},
            response=response)

    async def _deliver(self, row: OutboxRow, abandoned: bool) -> None:
        now = self._now()
        try:
            # Recorded before the network call: a crash mid-send still leaves a trace.
            self._audit("crisis_send", row, "allowed",
                        "re-sending with the same key after an interrupted attempt"
                        if abandoned else "sending", recovered=abandoned)
        except AuditError as err:
            # An unrecorded send is worse than a late one: give the row back.
            reason = f"not sent: the audit log is unavailable ({err})"
            self.outbox.release(row, self.owner, now, reason,
                                now.timestamp() + self.config.delivery.poll_s)
            self._tell(row, "released", reason)
            return
        result = await self._attempt(row)
        self._record(row, result)

    async def _attempt(self, row: OutboxRow) -> SendResult:
        sender = self.senders.get(row.channel)
        channel = self.config.channels.get(row.channel)
        if sender is None or channel is None:  # (not claimed: see cannot_send)
            return SendResult.retry(f"channel {row.channel} is not configured here")
        wired = False

        def on_wire() -> None:
            # The request is going out: a crash from here on leaves its outcome unknown.
            nonlocal wired
            if not wired:
                wired = True
                with contextlib.suppress(CrisisStoreError):
                    self.outbox.mark_dispatched(row, self.owner, self._now())

        delivery = Delivery(
            row_id=row.id, key=row.key, channel=row.channel, recipient=row.recipient,
            subject=row.subject, body=row.body, attempt=row.attempts,
            incident_id=row.incident_id, meta=row.meta, created_at=row.created_at,
            external_ref=self.outbox.incidents.ref(row.incident_id, row.channel),
            on_wire=on_wire)
        try:
            return await asyncio.wait_for(sender.send(delivery), channel.timeout_s)
        except TimeoutError:
            # Unknown if the request was out (an email's thread may even still send it).
            return SendResult.retry(f"no answer within {channel.timeout_s:g} s",
                                    outcome_unknown=wired or sender.maybe_sent(row.key))
        except Exception as err:  # a sender bug must not kill the worker: retry, visibly
            return SendResult.retry(f"{type(err).__name__}: {clean(str(err), 120)}")

    def _record(self, row: OutboxRow, result: SendResult) -> None:
        now = self._now()
        reason = clean(result.reason, 300)
        said = reason  # what the audit log and listeners are told
        if result.status is Status.DELIVERED:
            state, outcome, action = DELIVERED, "done", "crisis_delivered"
            kept = self.outbox.mark_delivered(row, self.owner, now, reason, result.http_status,
                                              result.external_id,
                                              keep_ref=row.channel_type == "statuspage")
        elif result.status is Status.RETRY and row.attempts < self.policy.max_attempts:
            delay = self.policy.delay(row.attempts, result.retry_after, self.rng)
            # A receiver that keeps every copy may have this one already: wait long.
            unknown = result.outcome_unknown and not self._idempotent(row)
            if unknown:
                delay = max(delay, self.config.delivery.unknown_outcome_wait_s)
            state, outcome, action = RETRYING, "failed", "crisis_retry"
            said = (f"{reason}; outcome unknown, not sent again for {delay:.1f} s"
                    if unknown else f"{reason}; retry in {delay:.1f} s")
            kept = self.outbox.mark_retry(row, self.owner, now, reason, result.http_status,
                                          now.timestamp() + delay, unknown=unknown)
        else:
            if result.status is Status.RETRY:
                reason = f"gave up after {row.attempts} attempts: {reason}"
                if result.outcome_unknown and not self._idempotent(row):
                    reason += " (the last attempt may have arrived)"
            said = reason
            state, outcome, action = FAILED, "failed", "crisis_failed"
            kept = self.outbox.mark_failed(row, self.owner, now, reason, result.http_status)
        if not kept:
            # Our lease expired and another console took the row over: its outcome counts.
            said = f"lease lost before recording ({state}: {said})"
        # If this fails the attempt is already in the audit log and the outcome in the outbox.
        with contextlib.suppress(AuditError):
            self._audit(action, row, outcome, said, http_status=result.http_status,
                        external_id=result.external_id)
        self._tell(row, state, said)

    def _tell(self, row: OutboxRow, state: str, reason: str) -> None:
        if self.listener is not None:
            with contextlib.suppress(Exception):  # a screen's callback must not stop us
                self.listener(Attempt(row, state, reason))
