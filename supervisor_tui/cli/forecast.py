"""``supervisor-tui forecast import FILE`` and ``forecast show``: per-interval forecasts
into the shared store, and the day's forecast beside what happened (docs/forecast.md).

Import checks the file against the centre (its zone, its interval length, its queues),
says what it rejected and why, and replaces each (day, queue) it brings in one
transaction, audited as ``forecast_import`` (supervisor role). Exit status: 0 stored,
1 nothing valid to store or the store failed, 2 bad usage or unreadable file.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from supervisor_tui.cli.days import day_type, resolve_day

if TYPE_CHECKING:
    from supervisor_tui.config import Config
    from supervisor_tui.store import Store

EXIT_USAGE = 2
MAX_ERRORS_SHOWN = 20


_day = day_type("today", "yesterday", "tomorrow")  # resolved in the centre's zone


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    fc = sub.add_parser("forecast", help="import a per-interval forecast; show it beside "
                        "the actuals")
    fsub = fc.add_subparsers(dest="forecast_command", metavar="ACTION", required=True)
    imp = fsub.add_parser(
        "import", help="read a forecast file (CSV as NICE IEX / Verint / Calabrio export "
        "it, or JSON) into the shared store",
        description="One row per queue and interval: queue, interval start, contacts, "
        "AHT; optional required and scheduled agents. Each day and queue in the file "
        "replaces the stored one. Times without an offset are the centre's local time.")
    imp.add_argument("file", type=Path)
    imp.add_argument("--date", type=_day, help="the day of rows that give only a time of "
                     "day, and the only day imported (YYYY-MM-DD, today, tomorrow)")
    imp.add_argument("--format", choices=["csv", "json"],
                     help="default: from the file name (.json) or its first character")
    imp.add_argument("--dry-run", action="store_true", help="check and report, store nothing")
    show = fsub.add_parser("show", help="the day's forecast per queue beside the actuals "
                           "stored so far, and the projected end-of-day SL")
    show.add_argument("--date", type=_day, default="today",
                      help="YYYY-MM-DD, today (default), yesterday or tomorrow")
    show.add_argument("--queue", help="one queue id, interval by interval")
    show.add_argument("--json", action="store_true", help="one JSON object on stdout")
    for p in (imp, show):
        p.add_argument("--db", type=Path, default=argparse.SUPPRESS,
                       help="a SQLite store (default: [store] url in the config, else the "
                       "user data dir)")
        p.add_argument("--config", type=Path, default=argparse.SUPPRESS,
                       help="TOML config: [console] timezone and interval_minutes, queues")


def _fail(message: str, code: int = EXIT_USAGE) -> int:
    print(f"supervisor-tui: {message}", file=sys.stderr)
    return code


def _resolve_day(text: str | None, zone: Any) -> date | None:
    return None if text is None else resolve_day(text, zone)


def known_queues(config: Config, store: Store | None) -> tuple[list[str], dict[str, str]]:
    """Queue ids this centre knows (and names that may stand for them): the simulator's
    when no source is configured, each source's listed and per-queue-configured ids,
    [groups], and every queue the store has intervals of (the last 35 days)."""
    ids: dict[str, None] = {}
    names: dict[str, str] = {}
    if not config.sources:
        for q in config.simulator.queues:
            ids[q.id] = None
            names[q.name] = q.id
    for settings in config.sources.values():
        for attr in ("queues", "queue_settings"):
            for qid in getattr(settings, attr, None) or ():
                ids[str(qid)] = None
    for members in config.groups.values():
        ids.update(dict.fromkeys(members))
    if store is not None:
        from supervisor_tui.store import INTERVALS

        since = (datetime.now(UTC) - timedelta(days=35)).isoformat()
        try:
            for (qid,) in store.db.execute(
                    f"select distinct queue_id from {INTERVALS} where interval_start >= ?",
                    [since]).fetchall():
                ids[str(qid)] = None
        except store.db.Error:
            pass  # no intervals table yet: nothing more to know
    return list(ids), names


def run(args: argparse.Namespace, config: Config) -> int:
    from supervisor_tui.cli.store_place import existing, location
    from supervisor_tui.store import Store, StoreError

    try:  # --db, else [store] url / url_env, else the default file (cli/store_place.py)
        db = getattr(args, "db", None)
        where = (existing(config, db, "show") if args.forecast_command == "show"
                 else location(config, db))
    except ValueError as err:
        return _fail(str(err))
    try:
        store = Store.open(where)
    except StoreError as err:
        return _fail(str(err), 1)
    try:
        if args.forecast_command == "import":
            return _import(args, config, store)
        return _show(args, config, store)
    finally:
        store.close()


def _import(args: argparse.Namespace, config: Config, store: Store) -> int:
    from supervisor_tui.actions import current_user
    from supervisor_tui.audited import Auditor
    from supervisor_tui.domain.forecast import ForecastError, parse
    from supervisor_tui.domain.text import clean
    from supervisor_tui.store import StoreError
    from supervisor_tui.store.audit import AuditError, AuditLog
    from supervisor_tui.store.forecasts import save_forecast

    policy = config.console.policy
    zone = policy.zone
    try:
        raw = args.file.read_bytes()
    except OSError as err:
        return _fail(f"cannot read {args.file}: {err.strerror or err}")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return _fail(f"{args.file} is not UTF-8 text (export it as UTF-8 CSV or JSON)")
    day = _resolve_day(args.date, zone)
    json_form = (args.format == "json" if args.format else
                 (True if args.file.suffix.lower() == ".json" else None))
    ids, names = known_queues(config, store)
    try:
        result = parse(text, zone=zone, interval_minutes=policy.minutes, known_queues=ids,
                       day=day, json_form=json_form, aliases=names)
    except ForecastError as err:
        return _fail(f"{clean(str(args.file), 200)}: {err}")
    queues = sorted({r.queue_id for r in result.rows})
    days = result.days(zone)
    print(f"{clean(args.file.name, 80)} ({result.layout}): {len(result.rows)} interval(s) for "
          f"{len(queues)} queue(s) on {', '.join(map(str, days)) or 'no day'} "
          f"({zone.key}, {policy.minutes}-min intervals)")
    if result.errors:
        print(f"rejected {len(result.errors)} row(s):", file=sys.stderr)
        for line in result.errors[:MAX_ERRORS_SHOWN]:
            print(f"  {line}", file=sys.stderr)
        if len(result.errors) > MAX_ERRORS_SHOWN:
            print(f"  ... and {len(result.errors) - MAX_ERRORS_SHOWN} more", file=sys.stderr)
    if result.unknown_queues:
        print(f"unknown queue(s), not imported: {', '.join(result.unknown_queues)} "
              f"(known: {', '.join(sorted(ids)[:12]) or 'none'}"
              f"{', ...' if len(ids) > 12 else ''})", file=sys.stderr)
    elif not ids:
        print("no configured or stored queues to check the queue ids against: taken as "
              "written", file=sys.stderr)
    if result.other_days:
        print(f"{result.other_days} row(s) on other days than {day}: left out",
              file=sys.stderr)
    if not result.rows:
        return _fail("nothing to import", 1)
    if args.dry_run:
        print("dry run: nothing stored")
        return 0
    user = current_user(config)
    try:  # no import that the audit log cannot record
        auditor = Auditor(AuditLog.for_config(store.db, config.audit), user,
                          config.roles.role_of(user))
    except AuditError as err:
        return _fail(f"not imported: {err}", 1)
    params = {"file": str(args.file.resolve()), "days": [str(d) for d in days],
              "queues": queues, "intervals": len(result.rows),
              "rejected": len(result.errors)}
    subject = f"forecast {', '.join(map(str, days))}"
    stop = auditor.begin("forecast_import", subject, params)
    if stop is not None:
        return _fail(f"not imported: {stop.message}", 1)
    try:
        done = save_forecast(store, result.rows, zone, user=user,
                             source_file=args.file.name, now=datetime.now(UTC))
    except StoreError as err:
        auditor.finish("forecast_import", subject, params, False, str(err))
        return _fail(str(err), 1)
    warning = auditor.finish("forecast_import", subject, params, True,
                             f"{len(result.rows)} intervals stored")
    for r in done:
        replaced = f" (replaced {r.before})" if r.before else ""
        print(f"stored {r.queue_id} {r.day}: {r.intervals} interval(s){replaced}")
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def _signed(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:+.0f}%"


def _secs(value: float | None) -> str:
    if value is None:
        return "—"
    m, s = divmod(round(value), 60)
    return f"{m}:{s:02d}"


def _show(args: argparse.Namespace, config: Config, store: Store) -> int:
    from supervisor_tui.domain.intraday import day_bounds
    from supervisor_tui.domain.text import clean
    from supervisor_tui.store import StoreError
    from supervisor_tui.store.forecasts import day_summary, read_forecast

    policy = config.console.policy
    zone = policy.zone
    day = _resolve_day(args.date, zone)
    assert day is not None
    start, end = day_bounds(day, policy)
    try:
        summary = day_summary(store, day)
        rows = read_forecast(store, day, args.queue)
        stored = store.intervals(start, end, args.queue)
    except StoreError as err:
        return _fail(str(err), 1)
    now = min(datetime.now(UTC), end)
    outlooks = _outlooks(rows, stored, now, config)
    if args.json:
        print(json.dumps(_json(day, zone.key, summary, outlooks, rows, args.queue)))
        return 0
    if not rows:
        print(f"no forecast stored for {day} ({zone.key})"
              + (f", queue {clean(args.queue, 60)}" if args.queue else ""))
        return 0
    print(f"Forecast {day} ({zone.key}, {policy.minutes}-min intervals)")
    for s in summary:
        if args.queue and s.queue_id != args.queue:
            continue
        print(f"  {clean(s.queue_id, 40)}: {s.intervals} intervals, {s.contacts:.0f} contacts, "
              f"{s.first.astimezone(zone):%H:%M}-"
              f"{(s.last + timedelta(minutes=policy.minutes)).astimezone(zone):%H:%M}; "
              f"imported {s.imported_at[:16]} by {clean(s.imported_by, 30)} from "
              f"{clean(s.source_file, 60)}")
    print("\nQueue          So far: actual/fcst  Var   AHT act/fcst  Var  Peak req  "
          "SL so far  Projected day SL")
    for o in outlooks:
        p = o.projection
        print(f"  {clean(o.queue_id, 12):<12} {o.offered_so_far:>7}/{o.forecast_so_far:<8.0f}"
              f"{_signed(o.volume_variance):>6} {_secs(o.actual_aht_s):>6}/"
              f"{_secs(o.forecast_aht_s):<6}{_signed(o.aht_variance):>5} "
              f"{'—' if o.required_peak is None else o.required_peak:>8}  "
              f"{_pct(p.so_far if p else None):>9}  "
              + (f"{_pct(p.service_level)} ({p.remaining_contacts:.0f} more at "
                 f"{p.basis()} staffing)" if p is not None else
                 "— (no stored interval: target unknown)"))
    print("\nProjected: (answered within threshold so far + each interval still to come's "
          "forecast x the SL its staffing gives) / (counted so far + forecast still to "
          "come); docs/forecast.md")
    return 0


def _outlooks(rows: list[Any], stored: list[Any], now: datetime, config: Config) -> list[Any]:
    from supervisor_tui.domain.forecast import outlook

    by_queue: dict[str, list[Any]] = {}
    for r in rows:
        by_queue.setdefault(r.queue_id, []).append(r)
    closed: dict[str, list[Any]] = {}
    for c in stored:
        closed.setdefault(c["queue_id"], []).append(c)
    return [outlook(q, by_queue[q], closed.get(q, []), now, config.console.sl_formula)
            for q in sorted(by_queue)]


def _json(day: date, zone: str, summary: list[Any], outlooks: list[Any], rows: list[Any],
          queue: str | None) -> dict[str, Any]:
    def proj(o: Any) -> dict[str, Any] | None:
        p = o.projection
        if p is None:
            return None
        return {"service_level": p.service_level, "so_far": p.so_far,
                "within_so_far": p.within_so_far, "counted_so_far": p.counted_so_far,
                "remaining_contacts": p.remaining_contacts,
                "remaining_within": p.remaining_within, "staffing": p.basis()}

    return {
        "date": str(day), "timezone": zone,
        "queues": [{"queue_id": o.queue_id, "forecast_contacts": o.forecast_day,
                    "forecast_so_far": o.forecast_so_far, "offered_so_far": o.offered_so_far,
                    "volume_variance": o.volume_variance, "forecast_aht_s": o.forecast_aht_s,
                    "actual_aht_s": o.actual_aht_s, "aht_variance": o.aht_variance,
                    "required_peak": o.required_peak, "projection": proj(o),
                    "imported": next(({"at": s.imported_at, "by": s.imported_by,
                                       "file": s.source_file} for s in summary
                                      if s.queue_id == o.queue_id), None)}
                   for o in outlooks],
        "intervals": [{"queue_id": r.queue_id, "start": r.start.isoformat(),
                       "minutes": r.minutes, "contacts": r.contacts, "aht_s": r.aht_s,
                       "required": r.required, "scheduled": r.scheduled}
                      for r in rows] if queue else [],
    }
