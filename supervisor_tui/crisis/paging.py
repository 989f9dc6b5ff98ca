"""Pages to the on-call supervisor in the shared store: recorded once per key, sent
through the crisis outbox.

A page is an outbox message like any crisis message (durable before anything is sent,
leases, same key on every attempt, retries, ``crisis status`` / ``requeue``), but about
no incident: its rows carry incident id ``PAGE_INCIDENT`` (0, which no incident has),
so paging works with nothing declared.

``PageBook.enqueue`` re-checks every page inside one write transaction holding the pages'
lock (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: an advisory lock),
against the last page *recorded* for that escalation, and writes the page rows
(primary key: the page key ``<escalation id>#<n>``), the message and its deliveries in
that same transaction. Two consoles that both found page 3 due serialise on the write
lock: the second finds page 3 recorded and queues nothing. So each key is sent once.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlite_utils

from supervisor_tui.crisis.db import (
    OUTBOX,
    CrisisStoreError,
    dumps,
    ensure_schema,
    immediate,
    iso,
    query,
)
from supervisor_tui.crisis.outbox import NewDelivery, insert_message
from supervisor_tui.domain.paging import DuePage, PageMark, PageRecord
from supervisor_tui.store.backend import Db

PAGES = "escalation_pages"
PAGE_INCIDENT = 0  # the outbox's incident id for pages: no incident has it
PAGE_TEMPLATE, PAGE_KIND = "escalation_page", "page"
_UID_NAMESPACE = uuid.UUID("0d6c7c3e-4f5b-4a8e-9c41-7a3f1e2b9d60")


@dataclass(frozen=True)
class Queued:
    """One pass's page: the keys it recorded, and what was already paged elsewhere."""

    message_id: int
    row_ids: tuple[int, ...]
    pages: tuple[DuePage, ...]  # recorded by this call
    skipped: tuple[str, ...]  # keys another console recorded first (or no longer due)


class PageBook:
    def __init__(self, db: Db | sqlite_utils.Database) -> None:
        self.db = db = ensure_schema(db)  # the outbox this sends through
        # Read incrementally by insertion order: SQLite's rowid; on PostgreSQL a column of
        # that name (ids are given under the pages' lock, so commit order is id order).
        rowid = "" if db.dialect == "sqlite" else "rowid BIGINT GENERATED ALWAYS AS IDENTITY, "
        try:
            db.ddl(f"CREATE TABLE IF NOT EXISTS {PAGES} ({rowid}key TEXT PRIMARY KEY, "
                   "escalation_id TEXT NOT NULL, number INTEGER NOT NULL, "
                   "at TEXT NOT NULL, message_id INTEGER NOT NULL, who TEXT, "
                   "channels TEXT, label TEXT, severity TEXT, reason TEXT, by TEXT)")
            db.ddl(f"CREATE INDEX IF NOT EXISTS idx_{PAGES}_escalation "
                   f"ON {PAGES} (escalation_id, number)")
            db.ddl(f"CREATE INDEX IF NOT EXISTS idx_{PAGES}_at ON {PAGES} (at)")
        except db.Error as err:
            raise CrisisStoreError(f"cannot create the pages table: {err}") from None

    # -- reading -----------------------------------------------------------------------

    def summaries(self, since: datetime | None = None,
                  after_rowid: int = 0) -> tuple[dict[str, PageMark], int]:
        """The latest page of every escalation paged at or after ``since`` whose page rows
        come after ``after_rowid`` (for incremental reads), and the highest rowid read."""
        rows = query(self.db, f"""
            SELECT p.rowid AS rid, p.* FROM {PAGES} p
            WHERE p.rowid > ? AND p.at >= ? ORDER BY p.rowid""",
                     [after_rowid, iso(since) if since else ""], "read the pages")
        found: dict[str, PageMark] = {}
        high = after_rowid
        for r in rows:
            high = max(high, r["rid"])
            old = found.get(r["escalation_id"])
            if old is not None and old.count >= r["number"]:
                continue
            found[r["escalation_id"]] = _summary(r)
        return found, high

    def last_pages(self, escalation_ids: Collection[str]) -> dict[str, PageRecord]:
        """The last page recorded for each of these escalations (chunked: SQLite's
        variable limit)."""
        ids = list(escalation_ids)
        found: dict[str, PageRecord] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            rows = query(self.db, f"""
                SELECT escalation_id, max(number) AS number, max(at) AS at FROM {PAGES}
                WHERE escalation_id IN ({', '.join('?' * len(chunk))})
                GROUP BY escalation_id""", chunk, "read the pages")
            found.update({r["escalation_id"]: _record(r) for r in rows})
        return found

    def delivery_states(self, message_id: int) -> list[tuple[str, str, str, str | None]]:
        """(channel, recipient, state, last error) of one page's deliveries."""
        rows = query(self.db, f"SELECT channel, recipient, state, last_error FROM {OUTBOX} "
                     "WHERE message_id = ? ORDER BY id", [message_id], "read the outbox")
        return [(r["channel"], r["recipient"], r["state"], r["last_error"]) for r in rows]

    # -- writing -----------------------------------------------------------------------

    def enqueue(self, pages: Sequence[DuePage],
                still_due: Callable[[DuePage, PageRecord | None], int | None],
                deliveries: Callable[[Sequence[DuePage]], Sequence[NewDelivery]], *,
                who: str, channels: Sequence[str], user: str, now: datetime,
                variables: Mapping[str, Any] | None = None) -> Queued | None:
        """Record and queue the pages still due, in one transaction. ``still_due(page,
        last)`` re-decides a page against the last page recorded (the number due, or
        None); ``deliveries(kept)`` builds the message for the pages kept. None when
        nothing was left to page (another console did it first)."""
        if not pages:
            return None
        with immediate(self.db, "queue the page", PAGES) as conn:
            kept: list[DuePage] = []
            skipped: list[str] = []
            recorded = _last_pages(conn, [p.escalation.id for p in pages])
            for page in pages:
                last = recorded.get(page.escalation.id)
                if still_due(page, last) == page.number:
                    kept.append(page)
                else:
                    skipped.append(page.key)
            if not kept:
                return None
            made = list(deliveries(kept))
            if not made:
                raise ValueError("a page needs at least one delivery")
            keys = sorted(p.key for p in kept)
            # The same keys make the same message uid (and delivery keys): a bug that
            # queued them twice would hit the unique indexes, not the on-call's phone.
            uid = uuid.uuid5(_UID_NAMESPACE, "\n".join(keys)).hex
            message_id, row_ids = insert_message(
                conn, uid, PAGE_INCIDENT, PAGE_TEMPLATE, PAGE_KIND,
                {"who": who, "keys": keys, **(variables or {})}, made, user, now)
            conn.executemany(
                f"INSERT INTO {PAGES} (key, escalation_id, number, at, message_id, who, "
                "channels, label, severity, reason, by) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(page.key, page.escalation.id, page.number, iso(now), message_id, who,
                  dumps(list(channels)), page.escalation.label, str(page.escalation.severity),
                  page.escalation.reason, user) for page in kept])
        return Queued(message_id, tuple(row_ids), tuple(kept), tuple(skipped))


def _last_pages(conn: Db, ids: Sequence[str]) -> dict[str, PageRecord]:
    """The last page recorded per escalation id, inside the caller's transaction (in
    chunks: SQLite's variable limit)."""
    found: dict[str, PageRecord] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        for eid, number, at in conn.execute(
                f"SELECT escalation_id, max(number), max(at) FROM {PAGES} WHERE "
                f"escalation_id IN ({', '.join('?' * len(chunk))}) GROUP BY escalation_id",
                chunk):
            found[eid] = PageRecord(int(number), datetime.fromisoformat(at))
    return found


def _record(row: Mapping[str, Any]) -> PageRecord:
    return PageRecord(int(row["number"]), datetime.fromisoformat(row["at"]))


@functools.lru_cache(maxsize=64)
def _channels(text: str) -> tuple[str, ...]:
    # One page's rows all carry the same list: parsed once, not per item.
    try:
        return tuple(str(c) for c in json.loads(text or "[]"))
    except ValueError:
        return ()


def _summary(row: Mapping[str, Any]) -> PageMark:
    channels = _channels(row["channels"] or "")
    return PageMark(int(row["number"]), datetime.fromisoformat(row["at"]),
                       int(row["message_id"]), row["who"] or "", channels)
