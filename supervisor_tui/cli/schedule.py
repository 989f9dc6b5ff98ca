"""``supervisor-tui schedule import FILE`` and ``schedule show``: today's schedule in the
shared store (docs/schedule.md).

Import prints what it read: entries, agents matched against those seen in the store
that day (by id, else name, as consoles match them) and the rows it rejected, by line.
Exit 1 when the file cannot be used at all (unreadable, no usable entry, or with
``--strict`` any rejected row) or the store refused it; nothing is written then.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from supervisor_tui.config import Config
    from supervisor_tui.store import Store

SHOWN = 20  # rejected lines / unmatched agents listed before "and N more"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    schedule = sub.add_parser("schedule", help="import or show today's schedule "
                              "(adherence)", description="The day's schedule, shared by "
                              "every console on the store (docs/schedule.md).")
    commands = schedule.add_subparsers(dest="schedule_command", metavar="SUBCOMMAND",
                                       required=True)
    imp = commands.add_parser("import", help="replace a day's schedule with a WFM export "
                              "(CSV as NICE IEX, Verint, Calabrio write it, or JSON)")
    imp.add_argument("file", type=Path)
    imp.add_argument("--date", help="the centre's local day, YYYY-MM-DD (default: today)")
    imp.add_argument("--format", choices=["csv", "json"],
                     help="default: json for a .json file, else csv")
    imp.add_argument("--strict", action="store_true",
                     help="refuse the file (exit 1, nothing imported) if any row is rejected")
    show = commands.add_parser("show", help="the day's schedule and who imported it")
    show.add_argument("--date", help="the centre's local day, YYYY-MM-DD (default: today)")
    show.add_argument("--json", action="store_true", help="one JSON object on stdout")
    for p in (imp, show):
        p.add_argument("--db", type=Path, default=argparse.SUPPRESS,
                       help="SQLite store (default: user data dir)")
        p.add_argument("--config", type=Path, default=argparse.SUPPRESS,
                       help="TOML config: its [console] timezone and [schedule] activities")


def _fail(message: str, code: int = 1) -> int:
    print(f"supervisor-tui schedule: {message}", file=sys.stderr)
    return code


def _the_day(text: str | None, config: Config) -> date:
    if text is None:
        return datetime.now(UTC).astimezone(config.console.policy.zone).date()
    return date.fromisoformat(text)


def run(args: argparse.Namespace, config: Config, store: Store) -> int:
    try:
        day = _the_day(args.date, config)
    except ValueError:
        return _fail(f"not a day: {args.date!r} (YYYY-MM-DD)", 2)
    if args.schedule_command == "show":
        return _show(args, store, day, config)
    return _import(args, config, store, day)


def _import(args: argparse.Namespace, config: Config, store: Store, day: date) -> int:
    from supervisor_tui.actions import current_user
    from supervisor_tui.audited import Auditor
    from supervisor_tui.domain.schedule import ScheduleError
    from supervisor_tui.domain.text import clean
    from supervisor_tui.schedules import import_schedule, load, match_report, read_bytes
    from supervisor_tui.store import StoreError
    from supervisor_tui.store.agent_days import read_agent_days
    from supervisor_tui.store.audit import AuditLog

    path: Path = args.file
    zone = config.console.policy.zone
    try:
        loaded = load(path, read_bytes(path), day, zone, config.schedule.activity_map(),
                      args.format)
    except ScheduleError as err:
        return _fail(f"{err}; nothing imported")
    print(f"{path}: {len(loaded.entries)} entries for {day} "
          f"({loaded.fmt}, {len(loaded.errors)} rows rejected)")
    for line in loaded.errors[:SHOWN]:
        print(f"  rejected {line}")
    if len(loaded.errors) > SHOWN:
        print(f"  … and {len(loaded.errors) - SHOWN} more rejected rows")
    if loaded.off_day:
        print(f"  {loaded.off_day} entries not on {day} left out")
    if args.strict and loaded.errors:
        return _fail(f"{len(loaded.errors)} rows rejected (--strict); nothing imported")
    try:
        seen = [(r["agent_id"], r["name"]) for r in read_agent_days(store, day.isoformat())]
    except StoreError:
        seen = []
    matched, unmatched = match_report(loaded.entries, seen)
    if seen:
        print(f"Agents: {len(matched)} matched, {len(unmatched)} unmatched "
              f"(against {len(seen)} agents consoles saw on {day}; by id, else name)")
        for label in unmatched[:SHOWN]:
            print(f"  unmatched {clean(label, 60)}")
        if len(unmatched) > SHOWN:
            print(f"  … and {len(unmatched) - SHOWN} more unmatched")
    else:
        print(f"Agents: {len(matched) + len(unmatched)} in the schedule; no console has "
              f"seen agents on {day} yet, so matching (by id, else name) happens live")
    user = current_user(config)
    try:
        audit = AuditLog.for_config(store.db, config.audit)
    except StoreError as err:
        return _fail(f"cannot open the audit log: {err}; nothing imported")
    auditor = Auditor(audit, user, config.roles.role_of(user))
    try:
        meta = import_schedule(store, auditor, loaded, str(path), datetime.now(UTC))
    except PermissionError as err:
        return _fail(f"{err}; nothing imported")
    except StoreError as err:
        return _fail(f"{err}; nothing imported")
    print(f"Imported for {day} by {meta.imported_by} (replacing any earlier schedule of "
          f"that day): every console on this store uses it from its next poll")
    return 0


def _show(args: argparse.Namespace, store: Store, day: date, config: Config) -> int:
    from supervisor_tui.domain.text import clean
    from supervisor_tui.store import StoreError
    from supervisor_tui.store.schedules import read_schedule

    try:
        meta, entries = read_schedule(store, day.isoformat())
    except StoreError as err:
        return _fail(str(err))
    zone = config.console.policy.zone
    if args.json:
        print(json.dumps({
            "day": day.isoformat(),
            "import": None if meta is None else {
                "imported_by": meta.imported_by, "imported_at": meta.imported_at,
                "origin": meta.origin, "sha256": meta.digest, "entries": meta.entries,
                "rejected": meta.rejected},
            "entries": [{"agent": e.agent, "start": e.start.isoformat(),
                         "end": e.end.isoformat(), "activity": e.activity,
                         "expected": e.expected.value} for e in entries]}))
        return 0
    if meta is None:
        print(f"No schedule for {day} (supervisor-tui schedule import FILE --date {day})")
        return 0
    at = datetime.fromisoformat(meta.imported_at).astimezone(zone)
    print(f"Schedule for {day}: {meta.entries} entries, imported {at:%Y-%m-%d %H:%M} by "
          f"{clean(meta.imported_by, 40)} from {clean(meta.origin, 120)}"
          f" ({meta.rejected} rows rejected then)")
    agents = sorted({e.agent for e in entries}, key=str.casefold)
    print(f"{len(agents)} agents")
    for e in entries:
        print(f"  {clean(e.agent, 24):<24} {e.start.astimezone(zone):%H:%M}-"
              f"{e.end.astimezone(zone):%H:%M}  {clean(e.activity, 24):<24} "
              f"{e.expected.value}")
    return 0
