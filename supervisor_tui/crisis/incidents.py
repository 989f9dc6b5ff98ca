"""Incidents: declare, resolve, the timeline, the banner every console shows, export.

All state is in the shared store, so a banner declared on one console appears on every
console sharing the store (one host on SQLite, every host on PostgreSQL) at its next
read (``banners()`` is one cheap query: poll it).
No permission checks here: ``service.CrisisService`` decides who may do what.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlite_utils

from supervisor_tui.crisis.config import Severity
from supervisor_tui.crisis.db import (
    BANNERS,
    INCIDENTS,
    REFS,
    TIMELINE,
    CrisisStoreError,
    dumps,
    ensure_schema,
    immediate,
    iso,
    parse_iso,
    query,
)
from supervisor_tui.domain.text import clean, markdown
from supervisor_tui.store.backend import Db

ACTIVE, RESOLVED = "active", "resolved"


class IncidentError(ValueError):
    """An incident request that cannot be done (unknown id, already resolved)."""


@dataclass(frozen=True)
class Incident:
    id: int
    uid: str  # globally unique: tells receivers (Statuspage metadata) one host's #1 from another's
    title: str
    severity: str
    queues: tuple[str, ...]
    impact: str
    eta: str
    state: str
    declared_at: datetime
    declared_by: str
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    updated_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.state == ACTIVE

    @property
    def label(self) -> str:
        return f"#{self.id}"

    def variables(self) -> dict[str, str]:
        """The incident's values for the built-in template variables."""
        return {
            "title": self.title, "severity": self.severity, "queues": ", ".join(self.queues),
            "impact": self.impact, "eta": self.eta, "incident_id": str(self.id),
            "declared_at": self.declared_at.strftime("%H:%M UTC"),
        }


@dataclass(frozen=True)
class TimelineEvent:
    id: int
    incident_id: int
    ts: datetime
    kind: str  # declared, updated, message, retrying, delivered, failed, note, resolved
    user: str
    text: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Banner:
    """What the incident banner on every console shows for one active incident."""

    incident: Incident
    message: str | None  # the latest agents-channel broadcast, if any
    message_at: datetime | None


def _event(r: Mapping[str, Any]) -> TimelineEvent:
    return TimelineEvent(id=r["id"], incident_id=r["incident_id"],
                         ts=parse_iso(r["ts"]),  # type: ignore[arg-type]
                         kind=r["kind"], user=r["user"], text=r["text"],
                         data=json.loads(r["data"] or "{}"))


def _incident(row: Mapping[str, Any]) -> Incident:
    return Incident(
        id=row["id"], uid=row["uid"], title=row["title"], severity=row["severity"],
        queues=tuple(json.loads(row["queues"] or "[]")), impact=row["impact"] or "",
        eta=row["eta"] or "", state=row["state"],
        declared_at=parse_iso(row["declared_at"]),  # type: ignore[arg-type]
        declared_by=row["declared_by"], resolved_at=parse_iso(row["resolved_at"]),
        resolved_by=row["resolved_by"], updated_at=parse_iso(row["updated_at"]))


def add_event(conn: Db, incident_id: int, ts: datetime, kind: str, user: str,
              text: str, data: Mapping[str, Any] | None = None) -> None:
    """Append a timeline event inside the caller's transaction (so the event and the
    state change it describes commit together or not at all)."""
    conn.execute(f'INSERT INTO {TIMELINE} (incident_id, ts, kind, "user", text, data) '
                 "VALUES (?, ?, ?, ?, ?, ?)",
                 [incident_id, iso(ts), kind, user, text, dumps(dict(data or {}))])


class IncidentStore:
    def __init__(self, db: Db | sqlite_utils.Database) -> None:
        self.db = ensure_schema(db)

    # -- reads -------------------------------------------------------------------

    def get(self, incident_id: int) -> Incident:
        rows = query(self.db, f"SELECT * FROM {INCIDENTS} WHERE id = ?", [incident_id],
                     "read incidents")
        if not rows:
            raise IncidentError(f"no incident #{incident_id}")
        return _incident(rows[0])

    def find(self, active_only: bool = False, limit: int = 100) -> list[Incident]:
        """Newest first."""
        where = f"WHERE state = '{ACTIVE}'" if active_only else ""
        rows = query(self.db, f"SELECT * FROM {INCIDENTS} {where} ORDER BY id DESC LIMIT ?",
                     [limit], "read incidents")
        return [_incident(r) for r in rows]

    def active(self) -> list[Incident]:
        return self.find(active_only=True)

    def timeline(self, incident_id: int) -> list[TimelineEvent]:
        rows = query(self.db, f"SELECT * FROM {TIMELINE} WHERE incident_id = ? ORDER BY id",
                     [incident_id], "read the incident timeline")
        return [_event(r) for r in rows]

    def timelines(self, incident_ids: Sequence[int], keep: int
                  ) -> dict[int, tuple[list[TimelineEvent], int]]:
        """Each incident's first ``keep`` timeline events and how many it has, in one
        read (a day's report: not one query per incident, nor a long outage's hundreds
        of delivery retries read to be dropped). Incidents without events are left out."""
        if not incident_ids:
            return {}
        marks = ", ".join("?" * len(incident_ids))
        rows = query(self.db, f"""
            SELECT * FROM (
                SELECT t.*, ROW_NUMBER() OVER (PARTITION BY incident_id ORDER BY id) AS n,
                       COUNT(*) OVER (PARTITION BY incident_id) AS total
                FROM {TIMELINE} t WHERE incident_id IN ({marks})) firsts
            WHERE n <= ? ORDER BY incident_id, id""",
            [*incident_ids, keep], "read the incident timelines")
        out: dict[int, tuple[list[TimelineEvent], int]] = {}
        for r in rows:
            events, _ = out.setdefault(r["incident_id"], ([], r["total"]))
            events.append(_event(r))
        return out

    def banners(self, now: datetime | None = None, all_clear_s: float = 0.0) -> list[Banner]:
        """Every active incident, most severe then newest first, with its latest
        broadcast; then those resolved in the last ``all_clear_s`` seconds before ``now``
        (the all clear stays on the banner a while). This is what each console polls."""
        since = iso(now - timedelta(seconds=all_clear_s)) if now and all_clear_s > 0 \
            else None
        rows = query(self.db, f"""
            SELECT i.*, b.text AS b_text, b.ts AS b_ts FROM {INCIDENTS} i
            LEFT JOIN {BANNERS} b ON b.id = (
                SELECT max(id) FROM {BANNERS} WHERE incident_id = i.id)
            WHERE i.state = ? OR (i.state = ? AND i.resolved_at >= ?)""",
            [ACTIVE, RESOLVED, since or "~"], "read the incident banner")
        order = {s.value: n for n, s in enumerate(Severity)}
        banners = [Banner(_incident(r), r["b_text"], parse_iso(r["b_ts"])) for r in rows]
        return sorted(banners, key=lambda b: (not b.incident.active,
                                              order.get(b.incident.severity, 9),
                                              -b.incident.id))

    def ref(self, incident_id: int, channel: str) -> str | None:
        rows = query(self.db, f"SELECT external_id FROM {REFS} WHERE incident_id = ? AND "
                     "channel = ?", [incident_id, channel], "read channel references")
        return rows[0]["external_id"] if rows else None

    # -- writes ------------------------------------------------------------------

    def declare(self, *, title: str, severity: Severity | str, queues: Sequence[str],
                user: str, now: datetime, impact: str = "", eta: str = "") -> Incident:
        title = title.strip()
        if not title:
            raise IncidentError("an incident needs a title")
        try:
            severity = Severity(severity)
        except ValueError:
            raise IncidentError(f"unknown severity {severity!r} (use "
                                f"{', '.join(s.value for s in Severity)})") from None
        queue_list = [q.strip() for q in queues if q.strip()]
        with immediate(self.db, "declare the incident") as conn:
            incident_id = conn.insert_id(
                f"INSERT INTO {INCIDENTS} (uid, title, severity, queues, impact, eta, state, "
                "declared_at, declared_by, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "RETURNING id",
                [uuid.uuid4().hex, title, severity.value, dumps(queue_list), impact, eta,
                 ACTIVE, iso(now), user, iso(now)])
            add_event(conn, incident_id, now, "declared", user,
                      f"declared {severity.value}: {title}",
                      {"queues": queue_list, "impact": impact, "eta": eta})
        return self.get(incident_id)

    def update(self, incident_id: int, *, user: str, now: datetime,
               impact: str | None = None, eta: str | None = None) -> Incident:
        """Record a new impact / ETA (they become the defaults of later messages)."""
        changes = {k: v for k, v in {"impact": impact, "eta": eta}.items()
                   if v is not None}
        current = self.get(incident_id)
        changes = {k: v for k, v in changes.items() if getattr(current, k) != v}
        if not changes:
            return current
        with immediate(self.db, "update the incident", f"{INCIDENTS}:{incident_id}") as conn:
            sets = ", ".join(f"{k} = ?" for k in changes)
            conn.execute(f"UPDATE {INCIDENTS} SET {sets}, updated_at = ? WHERE id = ?",
                         [*changes.values(), iso(now), incident_id])
            add_event(conn, incident_id, now, "updated", user,
                      "; ".join(f"{k}: {v}" for k, v in changes.items()), changes)
        return self.get(incident_id)

    def resolve(self, incident_id: int, *, user: str, now: datetime, note: str = "") -> Incident:
        with immediate(self.db, "resolve the incident", f"{INCIDENTS}:{incident_id}") as conn:
            row = conn.execute(f"SELECT state FROM {INCIDENTS} WHERE id = ?",
                               [incident_id]).fetchone()
            if row is None:
                raise IncidentError(f"no incident #{incident_id}")
            if row[0] == RESOLVED:
                raise IncidentError(f"incident #{incident_id} is already resolved")
            conn.execute(f"UPDATE {INCIDENTS} SET state = ?, resolved_at = ?, resolved_by = ?, "
                         "updated_at = ? WHERE id = ?",
                         [RESOLVED, iso(now), user, iso(now), incident_id])
            add_event(conn, incident_id, now, "resolved", user,
                      f"resolved{': ' + note if note else ''}", {"note": note})
        return self.get(incident_id)

    def note(self, incident_id: int, *, user: str, now: datetime, text: str,
             kind: str = "note") -> None:
        """An action taken ("moved 10 agents to billing"), for the timeline."""
        self.get(incident_id)
        with immediate(self.db, "add to the timeline") as conn:
            add_event(conn, incident_id, now, kind, user, text)

    def post_banner(self, conn: Db, incident_id: int, key: str, text: str,
                    now: datetime) -> bool:
        """Show ``text`` on every console (inside the caller's transaction). The
        delivery key makes a re-delivery a no-op; returns whether it was new."""
        cursor = conn.execute(f"INSERT INTO {BANNERS} (incident_id, idem_key, ts, text) "
                              "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                              [incident_id, key, iso(now), text])
        return cursor.rowcount == 1


def set_ref(conn: Db, incident_id: int, channel: str, external_id: str) -> None:
    """Remember the receiver's id for this incident (first one wins: a re-delivery of the
    create must not repoint later updates)."""
    conn.execute(f"INSERT INTO {REFS} (incident_id, channel, external_id) "
                 "VALUES (?, ?, ?) ON CONFLICT DO NOTHING", [incident_id, channel, external_id])


# -- Markdown export -----------------------------------------------------------------


def _cell(value: object) -> str:
    """A table cell: Markdown escaped (no table, link or HTML injection), lines kept."""
    text = str(value if value is not None else "")
    return "<br>".join(markdown(line, 4000, block=False)
                       for line in text.splitlines()) or " "


def _md(value: object) -> str:
    """Inline text: clean of terminal escapes, Markdown shown literally."""
    return markdown(value, 4000)


def _code(value: object) -> str:
    """Text for inside a `code span`: nothing is special there but the backtick."""
    return clean(value, 200).replace("`", "'")


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "—"


def _duration(start: datetime, end: datetime) -> str:
    minutes = int((end - start).total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def export_markdown(incident: Incident, events: Sequence[TimelineEvent],
                    messages: Sequence[Mapping[str, Any]],
                    deliveries: Sequence[Mapping[str, Any]], now: datetime) -> str:
    """The incident as a Markdown document: facts, timeline, every message and what
    became of each delivery. ``messages`` / ``deliveries`` are outbox rows."""
    # Every value is data (titles, names, template variables, error texts): escaped so it
    # shows literally, and cannot add a heading, a link or an escape sequence.
    lines = [f"# Incident #{incident.id}: {_md(incident.title)}", "",
             f"- **Severity:** {_md(incident.severity)}",
             f"- **State:** {_md(incident.state)}",
             f"- **Affected queues:** {_md(', '.join(incident.queues)) or '—'}",
             f"- **Impact:** {_md(incident.impact) or '—'}",
             f"- **ETA:** {_md(incident.eta) or '—'}",
             f"- **Declared:** {_when(incident.declared_at)} by {_md(incident.declared_by)}"]
    if incident.resolved_at:
        lines.append(f"- **Resolved:** {_when(incident.resolved_at)} by "
                     f"{_md(incident.resolved_by)} "
                     f"(after {_duration(incident.declared_at, incident.resolved_at)})")
    else:
        lines.append(f"- **Open for:** {_duration(incident.declared_at, now)}")
    lines += ["", "## Timeline", "", "| Time (UTC) | Event | By | Details |",
              "|---|---|---|---|"]
    lines += [f"| {e.ts.strftime('%Y-%m-%d %H:%M:%S')} | {_cell(e.kind)} | {_cell(e.user)} "
              f"| {_cell(e.text)} |" for e in events]
    lines += ["", "## Messages", ""]
    if not messages:
        lines.append("No messages were sent.")
    by_message: dict[int, list[Mapping[str, Any]]] = {}
    for row in deliveries:
        by_message.setdefault(row["message_id"], []).append(row)
    for msg in messages:
        created = parse_iso(msg["created_at"])
        lines += [f"### Message {msg['id']}: template `{_code(msg['template'])}` "
                  f"({_md(msg['kind'])})", "",
                  f"Queued {_when(created)} by {_md(msg['created_by'])}.", "",
                  "| Channel | Recipient | State | Attempts | Detail |", "|---|---|---|---|---|"]
        rows = by_message.get(msg["id"], [])
        for row in rows:
            detail = (f"delivered {row['delivered_at'][11:19]}" if row["state"] == "delivered"
                      else row["last_error"] or "")
            lines.append(f"| {_cell(row['channel'])} | {_cell(row['recipient'] or '—')} | "
                         f"{_cell(row['state'])} | {row['attempts']} | {_cell(detail)} |")
        seen: set[str] = set()
        for row in rows:
            if row["channel"] in seen:
                continue
            seen.add(row["channel"])
            lines += ["", f"**{_md(row['channel'])}** ({_md(row['channel_type'])}):", ""]
            if row["subject"]:
                lines += [f"> **{_md(row['subject'])}**", ">"]
            lines += [f"> {_md(line)}" if line.strip() else ">"
                      for line in row["body"].splitlines()]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


__all__ = ["ACTIVE", "RESOLVED", "Banner", "CrisisStoreError", "Incident", "IncidentError",
           "IncidentStore", "TimelineEvent", "add_event", "export_markdown", "set_ref"]
