"""Paging glue (no UI): the console's escalations -> pages due -> one audited page
queued in the crisis outbox, which the console's delivery worker sends.

One pass (``Pager.run``, every ``[crisis.paging] check_s`` on each console that sends
crisis messages): decide what is due (``domain.paging``), record the intent in the
audit log, record and queue the page (``crisis.paging.PageBook``: once per key across
consoles), record the outcome. The delivery worker then audits every attempt
(``crisis_send`` / ``crisis_delivered`` / ``crisis_failed``, with the page's message
id). Paging is the configured policy, not a person's action, so it needs no role; it is
recorded under the console's user, and nothing is paged when the audit log cannot be
written (an unrecorded page is refused like any unrecorded action).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from supervisor_tui.audited import Auditor
from supervisor_tui.crisis.config import CrisisConfig
from supervisor_tui.crisis.db import CrisisStoreError
from supervisor_tui.crisis.outbox import DELIVERED, FAILED, Attempt, NewDelivery
from supervisor_tui.crisis.paging import (
    PAGE_INCIDENT,
    PAGE_KIND,
    PAGE_TEMPLATE,
    PageBook,
    Queued,
)
from supervisor_tui.domain.escalation import Escalation
from supervisor_tui.domain.paging import (
    DuePage,
    PageMark,
    PageRecord,
    PagingConfig,
    due_pages,
    page_due,
    page_text,
)
from supervisor_tui.domain.text import clean

ACTION = "escalation_page"  # the audit log's action for a page
SHORT_TYPES = frozenset({"sms"})  # one short line: a text message is paid by the segment
MARKS_DAYS = 2.0  # the desk shows pages of the last two days (older ones still count)


@dataclass(frozen=True)
class PassResult:
    queued: Queued | None = None
    problem: str | None = None  # for a notice: the page could not be queued, and why


class Pager:
    def __init__(self, crisis: CrisisConfig, book: PageBook, auditor: Auditor,
                 local_time: Callable[[datetime], str]) -> None:
        self.rules: PagingConfig = crisis.paging
        self.crisis = crisis
        self.book = book
        self.auditor = auditor
        self.local_time = local_time  # "12:03" in the centre's zone, for the page text
        self.marks: dict[str, PageMark] = {}  # escalation id -> its last page
        self._rowid = 0  # pages read so far (incremental reads)
        self._loaded = False

    # -- what the desk shows ---------------------------------------------------------

    def refresh(self, now: datetime) -> None:
        """Read pages recorded since the last read (by any console on the store), and
        what became of the last page's deliveries where that is not settled yet."""
        since = now - timedelta(days=MARKS_DAYS) if not self._loaded else None
        found, self._rowid = self.book.summaries(since, self._rowid)
        self._loaded = True
        for eid, mark in found.items():
            old = self.marks.get(eid)
            if old is None or mark.count >= old.count:
                self.marks[eid] = mark
        outcomes: dict[int, str] = {}  # one read per message: one page names many items
        for eid, mark in list(self.marks.items()):
            if mark.outcome in ("", "sending") or mark.outcome.startswith("retrying"):
                if mark.message_id not in outcomes:
                    outcomes[mark.message_id] = self._outcome(mark.message_id)
                if outcomes[mark.message_id] != mark.outcome:
                    self.marks[eid] = replace(mark, outcome=outcomes[mark.message_id])

    def _outcome(self, message_id: int) -> str:
        states = self.book.delivery_states(message_id)
        if not states:
            return ""
        failed = [(c, r, e) for c, r, s, e in states if s == FAILED]
        if failed:
            c, r, e = failed[0]
            target = f"{c} → {r}" if r else c
            return clean(f"failed: {target}: {e or 'refused'}", 100)
        if all(s == DELIVERED for _, _, s, _ in states):
            return "delivered"
        retrying = [e for _, _, s, e in states if s == "retrying"]
        return clean(f"retrying: {retrying[0]}", 100) if retrying and retrying[0] \
            else "sending"

    def attempt_notice(self, attempt: Attempt) -> str | None:
        """A page delivery that failed for good, in words for a notice; else None."""
        row = attempt.row
        if row.incident_id != PAGE_INCIDENT or attempt.state != FAILED:
            return None
        return clean(f"Page to {self.rules.who} via {row.target} failed: {attempt.reason}. "
                     "`supervisor-tui crisis requeue` sends it again once fixed.", 300)

    # -- one pass ----------------------------------------------------------------------

    def run(self, escalations: Sequence[Escalation],
            states: Mapping[str, Mapping[str, Any]], now: datetime) -> PassResult:
        """Page whatever is due at ``now`` (centre time). Never raises for a store or
        audit problem: it is returned, for a notice."""
        rules = self.rules
        if not rules.enabled:
            return PassResult()
        try:
            self.refresh(now)
            last = self._last_pages(escalations, states, now)
            due = due_pages(escalations, states, last, rules, now)
        except CrisisStoreError as err:
            return PassResult(problem=f"paging: {err}")
        if not due:
            return PassResult()
        keys = [p.key for p in due]
        subject = f"escalation page ({len(due)} item{'s' if len(due) != 1 else ''})"
        params: dict[str, Any] = {"who": rules.who, "channels": list(rules.channels),
                                  "keys": keys}
        if self.auditor.audit is None:
            return PassResult(problem="Not paged: the audit log is unavailable, so the page "
                              "could not be recorded")
        try:
            self.auditor.record(ACTION, subject, params, "allowed", "paging")
        except Exception as err:
            return PassResult(problem=f"Not paged: cannot write the audit log ({err})")

        def still_due(page: DuePage, recorded: PageRecord | None) -> int | None:
            state = states.get(page.escalation.id)
            return page_due(page.escalation, state, recorded, rules, now)

        try:
            queued = self.book.enqueue(
                due, still_due, lambda kept: self._deliveries(kept, now), who=rules.who,
                channels=rules.channels, user=self.auditor.user, now=now)
        except (CrisisStoreError, ValueError) as err:
            self._finish(subject, params, False, f"not queued: {err}")
            return PassResult(problem=f"Page not queued: {err}")
        if queued is None:
            self._finish(subject, params, True, "already paged by another console")
            self.refresh(now)
            return PassResult()
        done = {**params, "message_id": queued.message_id, "rows": list(queued.row_ids),
                "paged": [p.key for p in queued.pages], "skipped": list(queued.skipped)}
        said = (f"page queued (message {queued.message_id}) to {rules.who} via "
                f"{', '.join(rules.channels)}: {len(queued.pages)} item(s)"
                + (f"; {len(queued.skipped)} already paged elsewhere" if queued.skipped
                   else ""))
        warning = self._finish(subject, done, True, said)
        self.refresh(now)
        return PassResult(queued=queued, problem=warning)

    def _finish(self, subject: str, params: Mapping[str, Any], ok: bool,
                response: str) -> str | None:
        return self.auditor.finish(ACTION, subject, params, ok, response)

    def _last_pages(self, escalations: Sequence[Escalation],
                    states: Mapping[str, Mapping[str, Any]],
                    now: datetime) -> dict[str, PageRecord]:
        """The last page of every escalation that could be paged: the desk's marks, and
        the store for any not among them (paged before this console's window)."""
        last = {eid: PageRecord(m.count, m.last_at) for eid, m in self.marks.items()}
        unknown = [e.id for e in escalations if e.id not in last
                   and page_due(e, states.get(e.id), None, self.rules, now) is not None]
        if unknown:
            last.update(self.book.last_pages(unknown))
        return last

    def _deliveries(self, pages: Sequence[DuePage], now: datetime) -> list[NewDelivery]:
        rules = self.rules
        at = f"{self.local_time(now)} centre time"
        items = [{"escalation_id": p.escalation.id, "page": p.number, "key": p.key,
                  "label": clean(p.escalation.label or p.escalation.id, 80),
                  "severity": str(p.escalation.severity),
                  "reason": clean(p.escalation.reason, 200),
                  "since": p.escalation.first_seen.isoformat()}
                 for p in pages[:100]]  # (a meltdown pages hundreds at once: named up to 100)
        meta = {"kind": PAGE_KIND, "template": PAGE_TEMPLATE,
                "severity": "critical" if any(p.escalation.severity == "critical"
                                              for p in pages) else "major",
                "page": {"who": rules.who, "count": len(pages), "items": items}}
        made = []
        for name in rules.channels:
            channel = self.crisis.channels[name]
            subject, body = page_text(pages, rules.who, now, at, rules.max_items,
                                      short=channel.type in SHORT_TYPES)
            chosen = rules.recipients.get(name)
            for recipient in channel.recipients():
                if chosen is None or recipient in chosen:
                    made.append(NewDelivery(name, channel.type, recipient, subject, body,
                                            meta))
        return made
