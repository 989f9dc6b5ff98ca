"""The shared store: one SQLite file (WAL) shared by every console on the host, or one
PostgreSQL database shared by every console on every host (``[store] url``).

Both behind one ``Db`` (store/backend.py): per-queue metric history, escalation state,
notes and notices, intervals and their sums, live settings, call-backs; the audit log
(store/audit.py), the crisis tables (crisis/db.py) and the other store modules use the
same connection. See docs/store.md.

Failure to open or write the store never stops the console: ``open_store`` returns
``None`` with a reason, and write errors (disk full, read-only file) are reported to
the caller, which shows them and carries on with in-memory trends.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

from supervisor_tui.store.backend import Db, first_line, is_pg_url, open_db
from supervisor_tui.store.rows import (
    Callback,
    EscalationNote,
    EscalationNotice,
    EscalationState,
    HistoryRow,
    IntervalRow,
    LiveSetting,
)

HISTORY = "queue_history"
ESC_STATE = "escalation_state"
ESC_NOTES = "escalation_notes"
ESC_NOTICES = "escalation_notices"
INTERVALS = "queue_intervals"
LIVE_SETTINGS = "live_settings"
CALLBACKS = "callbacks"
#: states of a tracked call-back
CALLBACK_WAITING, CALLBACK_DONE, CALLBACK_NO_ANSWER = "waiting", "done", "no_answer"
_CALLBACK_COLUMNS = ("id", "abandoned_id", "source", "queue_id", "customer", "number",
                     "created_by", "created_at", "state", "updated_by", "updated_at")
#: the same counters summed per (interval, channel, target, threshold), kept with them
INTERVAL_SUMS = "queue_interval_sums"
#: IntervalRow's columns, in table order (the counters summed for a group view first)
INTERVAL_COUNTERS = ("offered", "answered", "answered_within_threshold", "abandoned",
                     "abandoned_short", "abandoned_after_threshold", "flowed_out",
                     "wait_answered_s", "handled", "handle_s")
INTERVAL_COLUMNS = ("queue_id", "interval_start", "interval_minutes", "channel",
                    *INTERVAL_COUNTERS, "sl_target", "threshold_s", "agents_staffed_at_close",
                    "agents_needed_at_close", "complete")
_SUM_KEY = ("interval_start", "channel", "sl_target", "threshold_s")
_SUM_COLUMNS = (*_SUM_KEY, "interval_minutes", *INTERVAL_COUNTERS, "agents_staffed_at_close",
                "agents_needed_at_close", "queues", "complete")
# Queue rows -> sums rows (in _SUM_COLUMNS order), for the intervals a WHERE names.
_SUM_SELECT = (f"select {', '.join(_SUM_KEY)}, max(interval_minutes), "
               + ", ".join(f"sum({c})" for c in INTERVAL_COUNTERS)
               + ", sum(agents_staffed_at_close), sum(agents_needed_at_close), count(*),"
               f" min(complete) from {INTERVALS} where {{where}} group by {', '.join(_SUM_KEY)}")

# Escalation workflow states shared by every console on the host.
OPEN, ACKNOWLEDGED, TAKEN, RESOLVED = "open", "acknowledged", "taken", "resolved"
SNOOZED = "snoozed"  # hidden until ``until``
# Verbs that are not states: give up ownership, hand over to someone else.
RELEASE, GIVE = "release", "give"


@dataclass(frozen=True)
class Change:
    """The outcome of one escalation change.

    ``confirm``: refused only because the item belongs to someone else; the same call
    with ``force=True`` (after the user confirmed) does it and tells them. ``before`` /
    ``after``: the row before and after (``before`` None: nobody had touched it), so
    the change can be undone while nobody changed it since. ``told``: users sent a
    notice about it.
    """

    done: bool
    why: str = ""
    confirm: bool = False
    before: EscalationState | None = None
    after: EscalationState | None = None
    told: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class LiveChange:
    """The outcome of one live-setting write: ``before`` is the row it replaced (or, when
    refused, the row someone else wrote since), ``after`` the row written."""

    done: bool
    why: str = ""
    before: LiveSetting | None = None
    after: LiveSetting | None = None


class StoreError(Exception):
    """The store cannot be opened or written; the message is for humans."""


def _refusal(verb: str, current: str, owner: str, user: str, to_user: str,
             others: bool) -> tuple[str | None, str | None]:
    """(why ``verb`` cannot be done, or what needs confirming first) for an item in
    ``current`` state owned by ``owner``; ``others``: taken by someone else."""
    if verb not in (OPEN, ACKNOWLEDGED, TAKEN, RESOLVED, SNOOZED, RELEASE, GIVE):
        return f"unknown change {verb!r}", None
    if current == RESOLVED and verb != OPEN:
        return "already resolved (o reopens it)", None
    if verb == OPEN and current not in (RESOLVED, SNOOZED, ACKNOWLEDGED):
        return f"not resolved: it is {owner_text(current, owner)}", None
    if verb == RELEASE:
        if current != TAKEN:
            return "nobody has taken it", None
        if owner != user:
            return f"taken by {owner}: only they can release it (t takes it over)", None
        return None, None
    if verb == GIVE:
        if not to_user:
            return "give it to whom?", None
        if to_user == owner and current == TAKEN:
            return f"already taken by {owner}", None
    if verb == TAKEN and current == TAKEN and owner == user:
        return "you have already taken it", None
    if others and verb in (TAKEN, RESOLVED, SNOOZED, GIVE):
        return None, f"already taken by {owner}"
    return None, None


def owner_text(state: str, owner: str) -> str:
    return f"taken by {owner}" if state == TAKEN and owner else state


class Store:
    def __init__(self, db: Db, path: Path | None = None) -> None:
        self.db = db
        #: the SQLite file (None: in memory, or PostgreSQL: see ``where``)
        self.path = path
        try:
            self._ensure_schema()
        except db.Error as err:
            raise StoreError(f"cannot create the store's tables: {first_line(err)}") from None

    @classmethod
    def open(cls, location: Path | str | None) -> Store:
        """Open (creating its tables if needed) the store at ``location``: a SQLite file
        path, a ``postgresql://`` URL, or None (SQLite in memory)."""
        if is_pg_url(location):
            from supervisor_tui.store.postgres import redact

            try:
                return cls(open_db(location))
            except StoreError as err:
                raise StoreError(f"cannot open the PostgreSQL store "
                                 f"{redact(str(location))}: {err}") from None
            except Exception as err:  # psycopg.Error: imported only with a URL
                if not _is_db_error(err):
                    raise
                raise StoreError(f"cannot open the PostgreSQL store {redact(str(location))}: "
                                 f"{first_line(err)}") from None
        path = None if location is None else Path(location)
        try:
            return cls(open_db(path), path)
        except OSError as err:
            raise StoreError(f"cannot open database {path}: {err}") from None
        except Exception as err:
            if not _is_db_error(err):
                raise
            raise StoreError(f"cannot open database {path}: {err}") from None

    def _ensure_schema(self) -> None:
        db = self.db
        db.create_table(HISTORY, {
            "ts": str, "queue_id": str, "service_level": float, "waiting": int,
            "longest_wait_s": float, "offered": int, "answered": int, "abandoned": int,
        }, pk=("queue_id", "ts"))
        db.create_index(HISTORY, ["ts"])
        self._ensure_escalation_schema()
        self._ensure_interval_schema()
        db.create_table(LIVE_SETTINGS, {"key": str, "value": str, "updated_by": str,
                                        "updated_at": str, "seq": int}, pk="key")
        db.create_table(CALLBACKS, {c: str for c in _CALLBACK_COLUMNS}, pk="id")
        db.create_index(CALLBACKS, ["created_at"])

    def _ensure_interval_schema(self) -> None:
        types: dict[str, type] = {c: int for c in INTERVAL_COLUMNS}
        types.update({"queue_id": str, "interval_start": str, "channel": str,
                      "wait_answered_s": float, "handle_s": float, "sl_target": float,
                      "threshold_s": float, "agents_staffed_at_close": float})
        # Clustered on (interval_start, queue_id) (WITHOUT ROWID on SQLite): a day of
        # every queue is one contiguous range. The key makes a write an upsert: a
        # restart, or two consoles on one store, write the same interval again and never
        # count it twice.
        self.db.create_table(INTERVALS, types, pk=("interval_start", "queue_id"),
                             without_rowid=True)
        # One queue's days (the queue views) by queue first.
        self.db.create_index(INTERVALS, ["queue_id", "interval_start"])
        # Channel sums, rewritten with each write: a channel group's day is then ~48 x 3
        # rows to read, not 1,000 queues x 48 to add up while the screen waits.
        if self.db.table_exists(INTERVAL_SUMS):
            return
        self.db.create_table(INTERVAL_SUMS, {c: types.get(c, int) for c in _SUM_COLUMNS},
                             pk=_SUM_KEY, without_rowid=True)
        # (a store whose intervals were written before the sums existed)
        with self.db.transaction(INTERVALS):
            self.db.execute(f"insert into {INTERVAL_SUMS} ({', '.join(_SUM_COLUMNS)}) "
                            + _SUM_SELECT.format(where="1 = 1")
                            + " on conflict do nothing")

    def _ensure_escalation_schema(self) -> None:
        db = self.db
        db.create_table(ESC_STATE, {"id": str, "state": str, "owner": str, "updated_at": str,
                                    "updated_by": str, "until": str, "seq": int}, pk="id")
        # (a store from before snooze and undo)
        db.add_missing_columns(ESC_STATE, {"until": str, "seq": int})
        db.create_table(ESC_NOTICES, {"id": int, "escalation_id": str, "to_user": str,
                                      "from_user": str, "ts": str, "text": str,
                                      "seen_at": str}, pk="id")
        db.create_index(ESC_NOTICES, ["to_user", "ts"])
        db.create_table(ESC_NOTES, {"id": int, "escalation_id": str, "ts": str, "user": str,
                                    "note": str}, pk="id")
        db.create_index(ESC_NOTES, ["escalation_id"])

    @contextmanager
    def _transaction(self, failing: str, *locks: str) -> Iterator[Db]:
        """One write transaction holding the named ``locks`` (SQLite: BEGIN IMMEDIATE,
        which holds every lock; PostgreSQL: advisory locks, so writers of one thing
        queue across hosts). Any database error rolls back and becomes
        ``StoreError(f"cannot {failing}: …")``."""
        db = self.db
        try:
            with db.transaction(*(locks or ("store",))):
                yield db
        except db.Error as err:
            raise StoreError(f"cannot {failing}: {first_line(err)}") from None

    def _read(self, failing: str, sql: str, args: Sequence[object] = ()) -> list[dict[str, object]]:
        try:
            return self.db.query(sql, list(args))
        except self.db.Error as err:
            raise StoreError(f"cannot {failing}: {first_line(err)}") from None

    def escalation_states(self) -> dict[str, EscalationState]:
        """State of every escalation someone has touched, keyed by escalation id."""
        return {str(row["id"]): cast(EscalationState, row) for row in self._read(
            "read escalation state", f"select id, state, owner, updated_at, updated_by, until,"
            f" seq from {ESC_STATE}")}

    def escalation_notes(self, escalation_id: str) -> list[EscalationNote]:
        return cast(list[EscalationNote], self._read(
            "read notes", f'select id, escalation_id, ts, "user", note from {ESC_NOTES}'
            " where escalation_id = ? order by id", [escalation_id]))

    def set_escalation_state(self, escalation_id: str, state: str, user: str,
                             now: datetime) -> tuple[bool, str]:
        """Move an escalation to ``state`` as ``user``; returns (done, why not). Someone
        else's item is refused (see ``change_escalation`` to confirm and override)."""
        change = self.change_escalation(escalation_id, state, user, now)
        return change.done, change.why

    def change_escalation(self, escalation_id: str, verb: str, user: str, now: datetime, *,
                          force: bool = False, to_user: str = "", until: datetime | None = None,
                          label: str = "") -> Change:
        """Apply ``verb`` (a state, RELEASE or GIVE) to an escalation as ``user``.

        Atomic across processes and hosts (one transaction holding the item's lock:
        BEGIN IMMEDIATE, or a PostgreSQL advisory lock): two supervisors pressing at once
        get one winner and one refusal naming the winner, never a silent overwrite.
        Taking over, resolving, snoozing or giving away an item someone else owns needs
        ``force`` (the user confirmed) and leaves that owner a notice; GIVE always
        tells the receiver. ``label`` names the item in notices.
        """
        what = label or escalation_id
        with self._transaction("save escalation state", f"{ESC_STATE}:{escalation_id}"):
            before = self._state_row(escalation_id)
            current = before["state"] if before else OPEN
            owner = (before["owner"] or "") if before else ""
            others = owner and owner != user and current == TAKEN
            refusal, ask = _refusal(verb, current, owner, user, to_user, bool(others))
            if refusal is None and ask and not force:
                refusal = ask
            if refusal is not None:  # nothing written: the commit is a no-op
                return Change(False, refusal, confirm=refusal == ask, before=before)
            state, new_owner = verb, owner
            if verb == TAKEN:
                new_owner = user
            elif verb in (OPEN, RELEASE):
                state, new_owner = OPEN, ""
            elif verb == GIVE:
                state, new_owner = TAKEN, to_user
            after: EscalationState = {
                "id": escalation_id, "state": state, "owner": new_owner,
                "updated_at": now.isoformat(), "updated_by": user,
                "until": until.isoformat() if verb == SNOOZED and until else "",
                # seq is NULL in rows written before undo existed
                "seq": ((before["seq"] or 0) if before else 0) + 1}
            self._write_state(after)
            told: list[str] = []
            if others and ask and owner != to_user:
                doing = {TAKEN: "took over", RESOLVED: "resolved", SNOOZED: "snoozed",
                         GIVE: f"gave {to_user}"}[verb]
                told.append(self._notice(escalation_id, owner, user, now,
                                         f"{user} {doing} {what} (you had taken it)"))
            if verb == GIVE and to_user != user:
                told.append(self._notice(escalation_id, to_user, user, now,
                                         f"{user} gave you {what}"))
        return Change(True, before=before, after=after, told=tuple(told))

    def undo_escalation(self, change: Change, user: str, now: datetime,
                        label: str = "") -> Change:
        """Put back the row ``change`` replaced, if nobody changed it since; the users
        that change told are told it was undone."""
        after = change.after
        if after is None:
            return Change(False, "nothing to undo")
        eid = after["id"]
        with self._transaction("undo", f"{ESC_STATE}:{eid}"):
            row = self._state_row(eid)
            if row is None or (row.get("seq") or 0) != after["seq"]:
                by = row["updated_by"] if row else "someone"
                return Change(False, f"not undone: {by} changed it since")
            before = change.before
            base: EscalationState = before or {
                "id": eid, "state": OPEN, "owner": "", "until": "", "updated_at": "",
                "updated_by": "", "seq": 0}
            restored: EscalationState = {**base, "updated_at": now.isoformat(),
                                         "updated_by": user, "seq": after["seq"] + 1}
            self._write_state(restored)
            for who in change.told:
                self._notice(eid, who, user, now, f"{user} undid that change to "
                             f"{label or eid}")
        return Change(True, before=row, after=restored, told=change.told)

    def _state_row(self, escalation_id: str) -> EscalationState | None:
        cur = self.db.execute(
            f"select id, state, owner, updated_at, updated_by, until, seq from {ESC_STATE}"
            " where id = ?", [escalation_id])
        row = cur.fetchone()
        if not row:
            return None
        return cast(EscalationState, dict(zip([d[0] for d in cur.description], row,
                                              strict=True)))

    def _write_state(self, row: EscalationState) -> None:
        self.db.execute(
            f"insert into {ESC_STATE} (id, state, owner, updated_at, updated_by, until, seq)"
            " values (?, ?, ?, ?, ?, ?, ?) on conflict (id) do update set"
            " state = excluded.state, owner = excluded.owner, updated_at = excluded.updated_at,"
            " updated_by = excluded.updated_by, until = excluded.until, seq = excluded.seq",
            [row["id"], row["state"], row["owner"], row["updated_at"], row["updated_by"],
             row.get("until") or "", row.get("seq") or 0])

    def _notice(self, escalation_id: str, to_user: str, from_user: str, now: datetime,
                text: str) -> str:
        self.db.execute(
            f"insert into {ESC_NOTICES} (escalation_id, to_user, from_user, ts, text,"
            " seen_at) values (?, ?, ?, ?, ?, '')",
            [escalation_id, to_user, from_user, now.isoformat(), text])
        return to_user

    def notices_for(self, user: str, since: datetime) -> list[EscalationNotice]:
        """Notices addressed to ``user`` from ``since`` on, oldest first."""
        return cast(list[EscalationNotice], self._read(
            "read notices", f"select * from {ESC_NOTICES} where to_user = ? and ts >= ?"
            " order by id", [user, since.isoformat()]))

    def mark_notices_seen(self, ids: Sequence[int], now: datetime) -> None:
        if not ids:
            return
        with self._transaction("save notices", ESC_NOTICES) as db:
            db.execute(f"update {ESC_NOTICES} set seen_at = ? where seen_at = '' and id in "
                       f"({', '.join('?' * len(ids))})", [now.isoformat(), *ids])

    def add_escalation_note(self, escalation_id: str, user: str, note: str,
                            now: datetime) -> None:
        with self._transaction("save note", ESC_NOTES) as db:
            db.execute(f'insert into {ESC_NOTES} (escalation_id, ts, "user", note)'
                       " values (?, ?, ?, ?)", [escalation_id, now.isoformat(), user, note])

    def record_history(self, rows: Iterable[HistoryRow]) -> int:
        """Append one sample per queue; returns rows written. Raises StoreError."""
        rows = list(rows)
        with self._transaction("write history", HISTORY) as db:  # one commit, not per row
            db.executemany(
                f"insert into {HISTORY} ({', '.join(_HISTORY_COLUMNS)}) values"
                f" ({', '.join('?' * len(_HISTORY_COLUMNS))}) on conflict (queue_id, ts)"
                " do update set " + ", ".join(f"{c} = excluded.{c}"
                                              for c in _HISTORY_COLUMNS[2:]),
                [[r[c] for c in _HISTORY_COLUMNS] for r in rows])  # type: ignore[literal-required]
        return len(rows)

    def history_since(self, since: datetime) -> list[HistoryRow]:
        return cast(list[HistoryRow], self._read(
            "read history", f"select {', '.join(_HISTORY_COLUMNS)} from {HISTORY}"
            " where ts >= ? order by ts", [since.isoformat()]))

    def prune_history(self, now: datetime, keep: timedelta) -> int:
        with self._transaction("prune history", HISTORY) as db:
            cursor = db.execute(f"delete from {HISTORY} where ts < ?", [(now - keep).isoformat()])
            return int(cursor.rowcount)

    # -- intraday: one row per queue per closed interval ------------------------------

    def record_intervals(self, rows: Sequence[IntervalRow], now: datetime,
                         keep: timedelta) -> int:
        """Upsert closed intervals, re-sum their channels (one transaction) and drop
        what is older than ``keep``. Raises StoreError."""
        cols = ", ".join(INTERVAL_COLUMNS)
        marks = ", ".join("?" * len(INTERVAL_COLUMNS))
        starts = sorted({r["interval_start"] for r in rows})
        where = f"interval_start in ({', '.join('?' * len(starts))})"
        update = ", ".join(f"{c} = excluded.{c}" for c in INTERVAL_COLUMNS[2:])
        # One writer of the intervals at a time: the sums are rebuilt from the rows.
        with self._transaction("write intervals", INTERVALS) as conn:
            conn.executemany(f"insert into {INTERVALS} ({cols}) values ({marks}) on conflict"
                             f" (interval_start, queue_id) do update set {update}",
                             [[r[c] for c in INTERVAL_COLUMNS] for r in rows])  # type: ignore[literal-required]
            if starts:  # from every stored row of those intervals: idempotent
                conn.execute(f"delete from {INTERVAL_SUMS} where {where}", starts)
                conn.execute(f"insert into {INTERVAL_SUMS} ({', '.join(_SUM_COLUMNS)}) "
                             + _SUM_SELECT.format(where=where), starts)
            oldest = [(now - keep).isoformat()]
            conn.execute(f"delete from {INTERVALS} where interval_start < ?", oldest)
            conn.execute(f"delete from {INTERVAL_SUMS} where interval_start < ?", oldest)
        return len(rows)

    def intervals(self, start: datetime, end: datetime,
                  queue_id: str | None = None) -> list[IntervalRow]:
        """Rows of one queue (or every queue) with ``start <= interval_start < end``,
        oldest first. Times are compared as UTC ISO text: pass UTC datetimes."""
        where, args = "interval_start >= ? and interval_start < ?", [
            start.isoformat(), end.isoformat()]
        if queue_id is not None:
            where += " and queue_id = ?"
            args.append(queue_id)
        return self._interval_query(
            f"select {', '.join(INTERVAL_COLUMNS)} from {INTERVALS} where {where}"
            " order by interval_start, queue_id", args)

    def interval_sums(self, start: datetime, end: datetime, channels: Sequence[str],
                      queue_ids: Collection[str] | None = None) -> list[IntervalRow]:
        """Counters of the queues of ``channels`` summed per interval and per (target,
        threshold): a channel group's day in a few rows, read from the channel sums
        kept with the rows; ``queue_ids``: of those queues only (a scoped user's), summed
        from their rows. ``queue_id`` is "*"; staffing is summed too."""
        sums = ", ".join(f"sum({c})" for c in INTERVAL_COUNTERS)
        marks = ", ".join("?" * len(channels))
        table, args = INTERVAL_SUMS, [start.isoformat(), end.isoformat(), *channels]
        only = ""
        if queue_ids is not None:
            table, only = INTERVALS, f" and queue_id in ({', '.join('?' * len(queue_ids))})"
            args += sorted(queue_ids)
        return self._interval_query(
            f"select '*', interval_start, max(interval_minutes), min(channel), {sums},"
            " sl_target, threshold_s, sum(agents_staffed_at_close),"
            " sum(agents_needed_at_close), min(complete)"
            f" from {table} where interval_start >= ? and interval_start < ?"
            f" and channel in ({marks}){only} group by interval_start, sl_target, threshold_s"
            " order by interval_start, sl_target, threshold_s", args)

    def _interval_query(self, sql: str, args: Sequence[object]) -> list[IntervalRow]:
        try:
            with self.db.lock:
                found = self.db.execute(sql, list(args)).fetchall()
        except self.db.Error as err:
            raise StoreError(f"cannot read intervals: {first_line(err)}") from None
        return [cast(IntervalRow, dict(zip(INTERVAL_COLUMNS, row, strict=True)))
                for row in found]

    # -- live thresholds: config values changed while running, shared -----------------

    def live_settings(self) -> dict[str, LiveSetting]:
        """Every live setting (cleared ones too, value None), keyed by key: one query."""
        rows = self._read("read live settings",
                          f"select key, value, updated_by, updated_at, seq from {LIVE_SETTINGS}")
        return {str(r["key"]): LiveSetting(key=str(r["key"]), value=cast(str | None, r["value"]),
                                           updated_by=str(r["updated_by"] or ""),
                                           updated_at=str(r["updated_at"] or ""),
                                           seq=int(cast(int, r["seq"]) or 0))
                for r in rows}

    def live_settings_seq(self) -> int:
        """The newest change's ``seq`` (0: none): consoles re-read only when it moves."""
        row = self._read("read live settings", f"select max(seq) as top from {LIVE_SETTINGS}")
        return int(cast(int, row[0]["top"]) or 0) if row else 0

    def set_live_setting(self, key: str, value: str | None, user: str, now: datetime,
                         expect_seq: int) -> LiveChange:
        """Write one key (``value`` JSON text; None clears it back to the config) if its
        ``seq`` is still ``expect_seq`` (0: never set): two admins at once get one
        winner, and the other is told who changed it since."""
        # One lock for the table: seq is the table's max + 1.
        with self._transaction("save live setting", LIVE_SETTINGS) as conn:
            row = conn.execute(f"select key, value, updated_by, updated_at, seq from"
                               f" {LIVE_SETTINGS} where key = ?", [key]).fetchone()
            before = (LiveSetting(key=row[0], value=row[1], updated_by=row[2] or "",
                                  updated_at=row[3] or "", seq=row[4] or 0)
                      if row else None)
            if (before["seq"] if before else 0) != expect_seq:
                by, at = (before["updated_by"], before["updated_at"][:19]) if before else ("", "")
                return LiveChange(False, f"not saved: {by or 'someone'} changed it since"
                                  + (f" ({at.replace('T', ' ')})" if at else ""), before)
            top = conn.execute(f"select max(seq) from {LIVE_SETTINGS}").fetchone()[0] or 0
            after = LiveSetting(key=key, value=value, updated_by=user,
                                updated_at=now.isoformat(), seq=int(top) + 1)
            conn.execute(f"insert into {LIVE_SETTINGS} (key, value, updated_by, updated_at, seq)"
                         " values (?, ?, ?, ?, ?) on conflict (key) do update set"
                         " value = excluded.value, updated_by = excluded.updated_by,"
                         " updated_at = excluded.updated_at, seq = excluded.seq",
                         [key, value, user, after["updated_at"], after["seq"]])
        return LiveChange(True, "", before, after)

    # -- tracked call-backs (sources that cannot queue one): shared by consoles --------

    def callbacks(self, since: datetime | None = None) -> list[Callback]:
        """Tracked call-backs created at or after ``since`` (all if None), oldest first."""
        # (stored in UTC, so the text order is the time order)
        where, args = (("created_at >= ?", [since.astimezone(UTC).isoformat()]) if since
                       else ("1 = 1", []))
        return cast(list[Callback], self._read(
            "read call-backs", f"select {', '.join(_CALLBACK_COLUMNS)} from {CALLBACKS}"
            f" where {where} order by created_at, id", args))

    def add_callback(self, *, abandoned_id: str, source: str, queue_id: str, customer: str,
                     number: str, user: str, now: datetime) -> tuple[Callback | None, str]:
        """Track a call-back for one abandoned contact: (the row, "") or (None, why not:
        someone already tracks one for it)."""
        key = f"{source}:{abandoned_id}"
        with self._transaction("save call-back", f"{CALLBACKS}:{key}") as conn:
            row = conn.execute(f"select created_by, state from {CALLBACKS} where id = ?",
                               [key]).fetchone()
            if row is not None:
                return None, (f"a call-back for {abandoned_id} is already tracked "
                              f"(by {row[0]}, {row[1].replace('_', ' ')})")
            at = now.astimezone(UTC).isoformat()
            new = Callback(id=key, abandoned_id=abandoned_id, source=source, queue_id=queue_id,
                           customer=customer, number=number, created_by=user, created_at=at,
                           state=CALLBACK_WAITING, updated_by=user, updated_at=at)
            conn.execute(f"insert into {CALLBACKS} ({', '.join(_CALLBACK_COLUMNS)}) values "
                         f"({', '.join('?' * len(_CALLBACK_COLUMNS))})",
                         [new[c] for c in _CALLBACK_COLUMNS])  # type: ignore[literal-required]
        return new, ""

    def set_callback_state(self, callback_id: str, state: str, user: str,
                           now: datetime) -> tuple[Callback | None, str]:
        """Mark a tracked call-back done / no answer (or waiting again): (the row, "")
        or (None, why not)."""
        if state not in (CALLBACK_WAITING, CALLBACK_DONE, CALLBACK_NO_ANSWER):
            return None, f"unknown call-back state {state!r}"
        with self._transaction("save call-back", f"{CALLBACKS}:{callback_id}") as conn:
            row = conn.execute(f"select {', '.join(_CALLBACK_COLUMNS)} from {CALLBACKS}"
                               " where id = ?", [callback_id]).fetchone()
            if row is None:
                return None, f"no tracked call-back {callback_id}"
            current = cast(Callback, dict(zip(_CALLBACK_COLUMNS, row, strict=True)))
            if current["state"] == state:
                return None, (f"already {state.replace('_', ' ')} "
                              f"(by {current['updated_by']})")
            conn.execute(f"update {CALLBACKS} set state = ?, updated_by = ?, updated_at = ?"
                         " where id = ?", [state, user, now.isoformat(), callback_id])
        current["state"], current["updated_by"] = state, user
        current["updated_at"] = now.isoformat()
        return current, ""

    def close(self) -> None:
        self.db.close()


_HISTORY_COLUMNS = ("queue_id", "ts", "service_level", "waiting", "longest_wait_s", "offered",
                    "answered", "abandoned")


def _is_db_error(err: BaseException) -> bool:
    """A database driver's error (sqlite3's, or psycopg's when it is loaded)."""
    module = type(err).__module__
    return module.startswith(("sqlite3", "psycopg"))


