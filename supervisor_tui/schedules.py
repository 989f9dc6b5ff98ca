"""Today's schedule, between the file, the store and the console (glue).

- ``load``: a WFM export (CSV or JSON) read for one local day: rejected rows said by
  line, entries outside the day left out and counted, nothing usable an error.
- ``import_schedule``: the day's schedule replaced in the store (one transaction),
  audited (intent, then outcome) as the user who imported it.
- ``ScheduleKeeper``: what a console does each poll: re-import a watched file when its
  size or modification time changed (a cheap ``stat``), re-read the store's schedule
  when its ``seq`` moved, and move the adherence book on with the poll's agents. A
  broken file keeps the last good schedule and says why.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path

from supervisor_tui.audited import Auditor
from supervisor_tui.config.schedule import ScheduleConfig
from supervisor_tui.domain.adherence import EMPTY, AdherenceBook, AdherenceNow
from supervisor_tui.domain.escalation import Escalation
from supervisor_tui.domain.model import Agent
from supervisor_tui.domain.schedule import (
    Expected,
    ScheduleEntry,
    ScheduleError,
    parse_csv,
    parse_json,
)
from supervisor_tui.domain.text import clean
from supervisor_tui.store import Store, StoreError
from supervisor_tui.store.schedules import (
    ScheduleImport,
    read_adherence,
    read_schedule,
    save_schedule,
    schedule_meta,
    write_adherence,
)

IMPORT = "schedule_import"  # the permission and the audit action


@dataclass(frozen=True)
class Loaded:
    """A schedule file read for one day."""

    day: date
    entries: tuple[ScheduleEntry, ...]  # on the day, in file order
    errors: tuple[str, ...]  # rejected rows: "line N: why"
    off_day: int  # entries left out: not on the day
    digest: str  # sha256 of the file's bytes
    fmt: str  # csv | json


def format_of(path: Path, fmt: str | None) -> str:
    return fmt or ("json" if path.suffix.lower() == ".json" else "csv")


def read_bytes(path: Path) -> bytes:
    """The file's bytes; ScheduleError with the reason in words."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ScheduleError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ScheduleError(f"{path}: is a directory") from None
    except OSError as err:
        raise ScheduleError(f"{path}: cannot read ({err.strerror})") from None


def load(path: Path, raw: bytes, day: date, zone: tzinfo,
         activities: Mapping[str, Expected], fmt: str | None = None) -> Loaded:
    """Parse ``raw`` (the file's bytes) for ``day``. ScheduleError when nothing usable
    is in it: unreadable as a whole, every row rejected, or every entry on another day."""
    kind = format_of(path, fmt)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ScheduleError(f"{path}: not UTF-8 text (byte {err.start})") from None
    parse = parse_json if kind == "json" else parse_csv
    try:
        result = parse(text, day, zone, activities)
    except ScheduleError as err:
        raise ScheduleError(f"{path}: {err}") from None
    start = datetime.combine(day, datetime.min.time(), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    kept = tuple(e for e in result.entries if e.start < end and e.end > start)
    off = len(result.entries) - len(kept)
    if not kept:
        if off:
            days = sorted({e.start.astimezone(zone).date().isoformat()
                           for e in result.entries})
            raise ScheduleError(f"{path}: no entry on {day} (the file's are on "
                                f"{', '.join(days[:3])}; --date picks the day)")
        why = f"; first: {result.errors[0]}" if result.errors else ""
        raise ScheduleError(f"{path}: no usable entry ({len(result.errors)} rows "
                            f"rejected{why})")
    return Loaded(day, kept, result.errors, off, hashlib.sha256(raw).hexdigest(), kind)


def import_schedule(store: Store, auditor: Auditor, loaded: Loaded, origin: str,
                    now: datetime) -> ScheduleImport:
    """Replace the day's schedule in the store, audited. PermissionError when refused
    (role, no audit log); StoreError when it could not be saved (nothing half-written)."""
    subject = loaded.day.isoformat()
    params = {"file": origin, "entries": len(loaded.entries), "rejected": len(loaded.errors),
              "off_day": loaded.off_day, "sha256": loaded.digest}
    stop = auditor.begin(IMPORT, subject, params)
    if stop is not None:
        raise PermissionError(stop.message)
    try:
        meta = save_schedule(store, subject, loaded.entries, origin=origin,
                             digest=loaded.digest, rejected=len(loaded.errors),
                             user=auditor.user, now=now)
    except StoreError as err:
        auditor.finish(IMPORT, subject, params, False, str(err))
        raise
    auditor.finish(IMPORT, subject, params, True, f"{len(loaded.entries)} entries")
    return meta


def match_report(entries: Iterable[ScheduleEntry],
                 known: Iterable[tuple[str, str]]) -> tuple[list[str], list[str]]:
    """(matched, unmatched) schedule agents against ``known`` (agent id, name) pairs:
    by id, else by name (case-insensitive), as the console matches them."""
    ids = set()
    names = set()
    for agent_id, name in known:
        ids.add(agent_id)
        names.add(name.casefold())
    matched: list[str] = []
    unmatched: list[str] = []
    for label in dict.fromkeys(e.agent for e in entries):
        (matched if label in ids or label.casefold() in names else unmatched).append(label)
    return matched, unmatched


#: seconds between looks at the store for a schedule imported elsewhere
STORE_REREAD_S = 5.0


class ScheduleKeeper:
    """A console's schedule and adherence. ``poll`` once per fresh snapshot; ``now``
    is what screens read (computed once per poll)."""

    def __init__(self, config: ScheduleConfig, store: Store | None, zone: tzinfo,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.store = store
        self.zone = zone
        self.monotonic = monotonic
        self.book = AdherenceBook(grace_s=config.grace_s)
        self.auditor: Auditor | None = None  # set by the app (who imports a watched file)
        #: the schedule in force: the store's import (None: none yet / from the file
        #: without a store), and where it came from in words
        self.meta: ScheduleImport | None = None
        self.origin: str | None = None
        self.loaded_at: datetime | None = None
        #: schedules put in force so far (a new one, from the store or the watched file,
        #: bumps it): what caches of figures built on the schedule key on
        self.loads = 0
        #: what went wrong with the watched file or the store (None: nothing)
        self.problem: str | None = None
        self.now: AdherenceNow = EMPTY
        self._day: str | None = None
        self._seq: int | None = None
        self._stat: tuple[int, int] | None = None
        self._digest: str | None = None
        self._seeded: str | None = None  # the day stored figures were read for
        self._store_read_at: float | None = None  # (monotonic) the store's last look

    @property
    def has_schedule(self) -> bool:
        return self.book.has_schedule

    def entries_for(self, agent: Agent) -> Sequence[ScheduleEntry]:
        return self.book.entries_for(agent)

    def poll(self, agents: Sequence[Agent], now: datetime, day_start: datetime) -> str | None:
        """Move on with one poll; returns a new problem to announce (once), if any."""
        day = day_start.astimezone(self.zone).date()
        said: str | None = None
        if day.isoformat() != self._day:  # a new day: yesterday's schedule is over
            self._day, self._seq, self._stat, self._digest = day.isoformat(), None, None, None
            self.meta = self.origin = self.loaded_at = None
            self.book.set_schedule(())
            self.loads += 1
            self._store_read_at = None
        if self.config.watch is not None:
            said = self._watch(self.config.watch, day, now)
        if self.store is not None and self._store_due():
            said = self._from_store(day.isoformat(), now) or said
        self.book.observe(agents, now, day_start)
        self.now = self.book.figures(now) if self.book.has_schedule else EMPTY
        return said

    def escalations(self, previous: Mapping[str, Escalation]) -> list[Escalation]:
        from supervisor_tui.domain.adherence import adherence_escalations

        if not self.book.has_schedule:
            return []
        return adherence_escalations(self.now, self.book, self.config.escalate_after_s,
                                     previous)

    def _say(self, problem: str | None) -> str | None:
        new = problem is not None and problem != self.problem
        self.problem = problem
        return problem if new else None

    def _watch(self, path: Path, day: date, now: datetime) -> str | None:
        try:
            st = os.stat(path)
            stat: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
        except OSError as err:
            stat = None
            why = f"{path}: {err.strerror or err}"
        if stat is not None and stat == self._stat:
            return None
        self._stat = stat
        keeping = self._keeping()
        if stat is None:
            return self._say(f"{keeping}: schedule file {clean(why, 200)}")
        try:
            loaded = load(path, read_bytes(path), day, self.zone, self.config.activity_map(),
                          self.config.watch_format)
        except ScheduleError as err:
            return self._say(f"{keeping}: schedule file {clean(str(err), 200)}")
        if loaded.digest == self._digest:
            return self._say(None)
        origin = f"watch:{path}"
        if self.store is None:  # this console only
            self._use(loaded.entries, origin, now)
            self._digest = loaded.digest
            return self._say(None)
        meta = self._stored_meta(day.isoformat())
        if meta is not None and meta.digest == loaded.digest:
            self._digest = loaded.digest  # another console imported this very file
            return self._say(None)
        if self.auditor is None:
            return self._say(f"{keeping}: schedule file {path} not imported (no audit log)")
        try:
            import_schedule(self.store, self.auditor, loaded, origin, now)
        except (PermissionError, StoreError) as err:
            self._stat = None  # try again next poll
            return self._say(f"{keeping}: schedule file {path} not imported: {err}")
        self._digest = loaded.digest
        self._store_read_at = None  # in force at this poll, not at the next store look
        return self._say(None)

    def _store_due(self) -> bool:
        """Look at the store's schedule version every STORE_REREAD_S, not every poll (a
        round trip each on a remote PostgreSQL); at once after this console imported."""
        now = self.monotonic()
        last = self._store_read_at
        if last is not None and now - last < STORE_REREAD_S:
            return False
        self._store_read_at = now
        return True

    def _stored_meta(self, day: str) -> ScheduleImport | None:
        assert self.store is not None
        try:
            return schedule_meta(self.store, day)
        except StoreError:
            return None

    def _from_store(self, day: str, now: datetime) -> str | None:
        assert self.store is not None
        try:
            meta = schedule_meta(self.store, day)
            if meta is None or meta.seq == self._seq:
                return None
            meta, entries = read_schedule(self.store, day)
        except StoreError as err:
            if self.config.watch is None:
                return self._say(f"{self._keeping()}: {err}")
            return None
        if meta is None:
            return None
        self._seq, self.meta = meta.seq, meta
        self._use(entries, meta.origin, datetime.fromisoformat(meta.imported_at))
        return None

    def _use(self, entries: Sequence[ScheduleEntry], origin: str, at: datetime) -> None:
        self.book.set_schedule(entries)
        self.origin, self.loaded_at = origin, at
        self.loads += 1
        if self.store is not None and self._seeded != self._day and self._day is not None:
            # A restart (or a second console): continue today's stored figures; each
            # agent is judged on from where they were written (``AdherenceBook.seed``).
            self._seeded = self._day
            try:
                self.book.seed(read_adherence(self.store, self._day))
            except StoreError as err:
                self.problem = str(err)

    def save(self, keep_days: float) -> str | None:
        """Write everyone's adherence so far (the history cadence, once a minute by
        default); the error in words if the store refused."""
        if self.store is None or self._day is None or not self.book.has_schedule:
            return None
        oldest = (date.fromisoformat(self._day) - timedelta(days=keep_days)).isoformat()
        try:
            write_adherence(self.store, self._day, self.book.checkpoints(), oldest)
        except StoreError as err:
            return f"adherence not saved: {err}"
        return None

    def _keeping(self) -> str:
        if not self.book.has_schedule:
            return "No schedule loaded"
        at = self.loaded_at
        when = f" ({at.astimezone(self.zone):%H:%M})" if at is not None else ""
        return f"Keeping the last good schedule{when}"


def utc_now() -> datetime:
    return datetime.now(UTC)
