"""The end-of-day report by e-mail, once a day (``[report] email_to`` / ``at``), through
the crisis outbox on a configured e-mail channel.

Like a page (``crisis/paging.py``), a report mail is an outbox message about no
incident: durable before anything is sent, leased (two consoles on one store never both
send a row), the same key on every attempt, retried, visible in ``crisis status``. Its
rows carry incident id ``REPORT_INCIDENT`` (-1: no incident has it, nor pages' 0).

"Once a day" across consoles: ``queue_mail`` records the day in ``report_mails`` (primary
key: the day) in the same write transaction as the message and its deliveries, after
checking that no row for the day is there, holding the table's lock; the message uid is
derived from the day, so even a second insert would hit the outbox's unique keys.

The body is the Markdown report (readable as plain text); the subject says the day, the
zone and the live channels' SL against target.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from supervisor_tui.crisis.db import dumps, ensure_schema, immediate, iso, query
from supervisor_tui.crisis.outbox import NewDelivery, insert_message
from supervisor_tui.domain.fmt import pct
from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.domain.report import DayReport
from supervisor_tui.report import to_markdown
from supervisor_tui.report.collect import ReportSettings, collect
from supervisor_tui.store import Store, StoreError
from supervisor_tui.store.backend import first_line

if TYPE_CHECKING:
    from supervisor_tui.config import Config

REPORT_INCIDENT = -1  # the outbox's incident id for report mails
REPORT_TEMPLATE, REPORT_KIND = "end_of_day_report", "report"
MAILS = "report_mails"
_UID_NAMESPACE = uuid.UUID("5b1f6d2a-9c0e-4c47-8f5e-2d7a41c3b8e9")


@dataclass(frozen=True)
class MailPlan:
    """What to send and where (from ``[report]`` and ``[crisis.channels]``)."""

    recipients: tuple[str, ...]
    channel: str  # a [crisis.channels] e-mail channel
    at: tuple[int, int]  # local (hour, minute)


@dataclass(frozen=True)
class QueuedMail:
    day: date
    message_id: int
    row_ids: tuple[int, ...]


def settings_of(config: Config) -> ReportSettings:
    """What the report reads from the configuration."""
    from supervisor_tui.config.vendors import vendor_rules

    formula = config.console.sl_formula
    return ReportSettings(policy=config.console.policy, sl_formula=formula,
                          min_sample=config.console.min_sample,
                          groups={k: list(v) for k, v in config.groups.items()},
                          vendors=vendor_rules(config.vendors, formula))


def plan_of(config: Config) -> MailPlan | None:
    """The daily mail from [report], or None when none is configured."""
    channel = config.report.email_channel(config.crisis)
    if channel is None:
        return None
    at = config.report.send_at
    return MailPlan(tuple(config.report.email_to), channel, (at.hour, at.minute))


def due_day(plan: MailPlan, policy: IntervalPolicy, now: datetime) -> date | None:
    """Today's local date once the local time has reached ``at`` (else None)."""
    local = now.astimezone(policy.zone)
    return local.date() if (local.hour, local.minute) >= plan.at else None


def _ensure(store: Store) -> None:
    db = ensure_schema(store.db)  # the outbox this sends through
    try:
        db.ddl(f"CREATE TABLE IF NOT EXISTS {MAILS} (day TEXT PRIMARY KEY, "
               "message_id INTEGER NOT NULL, queued_at TEXT NOT NULL, by TEXT, "
               "recipients TEXT)")
    except db.Error as err:
        raise StoreError(f"cannot create the report mails table: {first_line(err)}") from None


def sent_for(store: Store, day: date) -> int | None:
    """The message id of ``day``'s report mail, if one was queued (by any console)."""
    _ensure(store)
    rows = query(store.db, f"SELECT message_id FROM {MAILS} WHERE day = ?",
                 [day.isoformat()], "read the report mails")
    return int(rows[0]["message_id"]) if rows else None


def subject(report: DayReport) -> str:
    live = next((s for s in report.channel_groups if s.scope == "live"), None)
    figure = ""
    if live is not None:
        sl = live.kpi("service_level")
        figure = f": live SL {pct(sl.value, 1)} vs {pct(sl.target, 1)} target"
    return f"End-of-day report {report.day.isoformat()} ({report.zone}){figure}"


def queue_mail(store: Store, plan: MailPlan, settings: ReportSettings, day: date,
               now: datetime, user: str) -> QueuedMail | None:
    """Queue ``day``'s report to every recipient unless a console already did (None).
    Raises StoreError (CrisisStoreError) when the store cannot be written."""
    if sent_for(store, day) is not None:
        return None  # (the cheap check: the report is built only when needed)
    report = collect(store, day, settings, now)
    body, title = to_markdown(report), subject(report)
    uid = uuid.uuid5(_UID_NAMESPACE, f"report:{day.isoformat()}").hex
    with immediate(store.db, "queue the report mail", MAILS) as conn:
        if conn.query(f"SELECT 1 FROM {MAILS} WHERE day = ?", [day.isoformat()]):
            return None  # another console queued it while we built ours
        message_id, row_ids = insert_message(
            conn, uid, REPORT_INCIDENT, REPORT_TEMPLATE, REPORT_KIND,
            {"day": day.isoformat(), "zone": report.zone},
            [NewDelivery(plan.channel, "email", to, title, body,
                         {"report_day": day.isoformat()}) for to in plan.recipients],
            user, now)
        conn.execute(f"INSERT INTO {MAILS} (day, message_id, queued_at, by, recipients) "
                     "VALUES (?, ?, ?, ?, ?)",
                     [day.isoformat(), message_id, iso(now), user,
                      dumps(list(plan.recipients))])
    return QueuedMail(day, message_id, tuple(row_ids))


class ReportMailer:
    """A console's daily check (every minute or so): queue today's report once ``at``
    has passed. Sending is the delivery worker's, as for every crisis message."""

    def __init__(self, store: Store, plan: MailPlan, settings: ReportSettings,
                 user: str) -> None:
        self.store = store
        self.plan = plan
        self.settings = settings
        self.user = user
        self._done: date | None = None  # the last day found queued (skip the query)

    def run(self, now: datetime) -> QueuedMail | None:
        day = due_day(self.plan, self.settings.policy, now)
        if day is None or day == self._done:
            return None
        queued = queue_mail(self.store, self.plan, self.settings, day, now, self.user)
        self._done = day  # queued here or elsewhere: either way, done for today
        return queued
