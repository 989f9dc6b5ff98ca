"""Entry point ``supervisor-tui`` and its sub-commands.

Contracts other tools script against (keep stable): ``--version``, ``check-config``,
``staffing ... --json`` and ``simulate ... --json``. Errors are one clear message on
stderr and a non-zero exit status, never a traceback: 2 for bad input/config.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from supervisor_tui import __version__
from supervisor_tui.cli.days import past_day, resolve_day
from supervisor_tui.ui.modes import SCREENS

if TYPE_CHECKING:
    from supervisor_tui.config import Config
    from supervisor_tui.sources.settings import SourceSettings
    from supervisor_tui.store import Store
    from supervisor_tui.store.audit import AuditLog
    from supervisor_tui.ui.app import SupervisorApp

Number = TypeVar("Number", int, float)

EXIT_USAGE = 2
#: what ``--screen`` may open on: the app's modes (ui/modes.py: no Textual imported)
START_SCREENS = tuple(SCREENS)


def _positive(kind: Callable[[str], Number]) -> Callable[[str], Number]:
    def parse(text: str) -> Number:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be greater than 0: {text!r}")
        return value

    return parse


def _fraction(text: str) -> float:
    value = _positive(float)(text)
    if value > 1:  # accept "80" as 80%
        value /= 100
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be a fraction like 0.8 or a percent: {text!r}")
    return value


def _when(text: str) -> datetime:
    """ISO date/time (local if no offset), or a span ago like 90m, 2h, 7d."""
    from datetime import UTC, datetime, timedelta

    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if text[-1:] in units and text[:-1].isdigit():
        return datetime.now(UTC) - timedelta(seconds=int(text[:-1]) * units[text[-1]])
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a time: {text!r} (try 2026-11-22T09:00 or 2h)"
                                         ) from None
    return moment if moment.tzinfo else moment.astimezone()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="supervisor-tui",
        description="Live console for contact-centre supervisors. With no config it runs "
        "the built-in simulator.",
    )
    parser.add_argument("--version", action="version", version=f"supervisor-tui {__version__}")
    parser.add_argument("--config", type=Path, help="TOML config (default: user config dir)")
    parser.add_argument("--db", type=Path, help="SQLite store (default: user data dir)")
    parser.add_argument("--scenario", choices=["normal", "surge", "outage"],
                        help="simulator scenario (overrides config)")
    parser.add_argument("--seed", type=int, help="simulator seed (overrides config)")
    parser.add_argument("--speed", type=_positive(float),
                        help="simulator speed factor (overrides config)")
    parser.add_argument("--poll", type=_positive(float), help="poll interval in seconds")
    parser.add_argument("--read-only", action="store_true",
                        help="viewer role whatever the config says (no actions)")
    parser.add_argument("--wall", action="store_true",
                        help="wall terminal: read-only views rotating unattended ([wall] in "
                        "config)")
    parser.add_argument("--screen", choices=START_SCREENS, default="dashboard",
                        help="the screen it opens on (default: dashboard; a wall opens on "
                        "its own)")
    parser.add_argument("--theme", choices=["default", "high-contrast"],
                        help="colours; high-contrast is colour-blind safe (default: [wall] "
                        "theme on a wall, else default)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = sub.add_parser("check-config", help="validate a config file and say so")
    check.add_argument("file", type=Path)
    check.add_argument("--probe", action="store_true",
                       help="also poll each source once and report what it found or why "
                       "it failed (exit 1 if any failed)")

    staffing = sub.add_parser("staffing", help="Erlang C: agents needed for a target")
    staffing.add_argument("--contacts", type=float, required=True,
                          help="contacts arriving per interval")
    staffing.add_argument("--interval", type=_positive(float), required=True,
                          help="interval length in seconds")
    staffing.add_argument("--aht", type=_positive(float), required=True, help="seconds")
    staffing.add_argument("--target", type=_fraction, required=True, help="e.g. 0.8")
    staffing.add_argument("--threshold", type=float, required=True, help="seconds, e.g. 20")
    staffing.add_argument("--max-occupancy", type=_fraction, help="e.g. 0.85")
    staffing.add_argument("--json", action="store_true", help="one JSON object on stdout")

    audit = sub.add_parser("audit", help="check or export the audit log")
    # Also after the subcommand (SUPPRESS: absent here, the top-level value stands).
    audit.add_argument("--db", type=Path, default=argparse.SUPPRESS,
                       help="SQLite store to read (must exist; never created)")
    audit.add_argument("--config", type=Path, default=argparse.SUPPRESS,
                       help="TOML config: its [audit] key and anchor files are checked too")
    audit.add_argument("--verify", action="store_true",
                       help="check the hash chain; exit 1 if it was tampered with")
    audit.add_argument("--json", action="store_true", help="export records as JSON lines")
    audit.add_argument("--since", type=_when, help="only records at or after this time "
                       "(ISO date/time, or e.g. 2h / 30m / 7d ago)")

    export = sub.add_parser("export", help="export stored history (CSV or JSON)",
                            description="Export one local day of stored history. Columns "
                            "are stable (docs/export.md); times are UTC with the local time "
                            "and zone beside them.")
    export.add_argument("what", choices=["intervals", "agents", "abandoned", "escalations"],
                        help="intervals: per queue per closed reporting interval; agents: "
                        "each agent's day (handled, AHT, time per state); abandoned: "
                        "each abandoned contact and its call-back; escalations: each "
                        "occurrence, who took it and when")
    export.add_argument("--date", type=past_day, required=True,
                        help="the centre's local day, YYYY-MM-DD (or 'today', 'yesterday')")
    export.add_argument("--queue", help="one queue id (default: every queue)")
    export.add_argument("--format", choices=["csv", "json"], default="csv")
    export.add_argument("-o", "--output", type=Path, help="write to this file (refused if "
                        "it exists) instead of standard output")
    export.add_argument("--db", type=Path, default=argparse.SUPPRESS,
                        help="SQLite store to read (must exist; never created)")
    export.add_argument("--config", type=Path, default=argparse.SUPPRESS,
                        help="TOML config: its [console] timezone and sl_formula")

    from supervisor_tui.cli.report import add_parser as add_report_parser

    add_report_parser(sub)
    sim = sub.add_parser("simulate", help="run one simulated queue headless")
    sim.add_argument("--agents", type=_positive(int), required=True)
    sim.add_argument("--arrivals-per-hour", type=float, required=True)
    sim.add_argument("--aht", type=_positive(float), required=True, help="seconds")
    sim.add_argument("--threshold", type=float, required=True, help="seconds")
    sim.add_argument("--service", choices=["exponential", "lognormal"], default="exponential")
    patience = sim.add_mutually_exclusive_group()
    patience.add_argument("--patience", type=_positive(float),
                          help="mean customer patience in seconds")
    patience.add_argument("--no-abandon", action="store_true", help="customers never abandon")
    sim.add_argument("--duration", type=_positive(float), default=3600.0, help="seconds")
    sim.add_argument("--seed", type=int, default=1)
    sim.add_argument("--json", action="store_true", help="one JSON object on stdout")
    _add_serve_sim(sub)
    from supervisor_tui.cli.crisis import add_parsers as add_crisis_parsers

    add_crisis_parsers(sub)
    from supervisor_tui.cli.surveys import add_parsers as add_survey_parsers

    add_survey_parsers(sub)
    from supervisor_tui.cli.schedule import add_parser as add_schedule_parser

    add_schedule_parser(sub)
    from supervisor_tui.cli.store_copy import add_parser as add_store_parser

    add_store_parser(sub)  # store copy: SQLite into PostgreSQL (cli/store_copy.py)
    from supervisor_tui.cli.forecast import add_parser as add_forecast_parser

    add_forecast_parser(sub)
    return parser


def _add_serve_sim(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from supervisor_tui.protocol.serve_args import add_parser

    add_parser(sub)


def _config(args: argparse.Namespace) -> Config | int:
    """The config named by ``--config`` (or the default one, if any), or the usage exit
    status after saying why on stderr."""
    from supervisor_tui.config import ConfigError, load_config

    try:
        return load_config(args.config, required=args.config is not None)
    except ConfigError as err:
        print(err, file=sys.stderr)
        return EXIT_USAGE


def _fail(message: str, code: int = EXIT_USAGE) -> int:
    print(f"supervisor-tui: {message}", file=sys.stderr)
    return code


def _report(data: dict, as_json: bool, human: str) -> int:
    print(json.dumps(data) if as_json else human)
    return 0


def cmd_check_config(path: Path, probe: bool = False) -> int:
    from supervisor_tui.config import ConfigError, load_config

    try:
        config = load_config(path, required=True)
    except ConfigError as err:
        print(err, file=sys.stderr)
        return EXIT_USAGE
    names = ", ".join(f"{n} ({s.type})" for n, s in config.sources.items()) or \
        f"the built-in simulator (scenario {config.simulator.scenario!s})"
    print(f"{path}: OK — poll every {config.console.poll_interval_s:g} s, "
          f"{config.console.interval_minutes}-minute intervals in {config.console.timezone}, "
          f"sources: {names}")
    _crisis_warnings(config)
    _audit_warnings(config)
    from supervisor_tui.cli import store_place

    if not store_place.check(config):
        return 1
    return _probe(config) if probe else 0


def _audit_warnings(config: Config) -> None:
    """Who this account acts as here, and whether the audit anchors can be used."""
    import os

    from supervisor_tui.identity import identity_for

    who = identity_for(config)
    print(f"identity: {who.label} (uid {who.uid}), role {config.roles.role_of(who.user)}")
    if who.note:
        print(f"  warning: {who.note}")
    elif config.identity.trusted_override_for:
        from supervisor_tui.identity import config_cannot_be_changed_by_caller

        problem = config_cannot_be_changed_by_caller(config.path)
        if problem:
            print(f"  warning: SUPERVISOR_TUI_USER would be ignored: {problem}")
    audit = config.audit
    key, anchor = audit.key_file, audit.anchor_file
    if key is not None:
        if not key.exists():
            print(f"  audit key {key} does not exist yet: the first console creates it (0600)")
        elif not os.access(key, os.R_OK):
            print(f"  warning: cannot read the audit key {key}: actions will be refused")
    if anchor is not None:
        target = anchor if anchor.exists() else anchor.parent
        if not os.access(target, os.W_OK):
            print(f"  warning: cannot write the audit anchor {anchor}: actions will be "
                  "refused")


def _crisis_warnings(config: Config) -> None:
    """Every crisis channel whose secret is not set in this environment: found now,
    not when the phones are melting. (A warning: another console may have it.)"""
    import os

    crisis = config.crisis
    builtin = [n for n in crisis.templates if crisis.is_builtin(n)]
    print(f"crisis: {len(crisis.channels)} channel(s), {len(crisis.templates)} template(s)"
          + (f" (built in: {', '.join(sorted(builtin))})" if builtin else ""))
    for name, channel in crisis.channels.items():
        missing = [var for var in channel.env_vars() if not os.environ.get(var)]
        if missing:
            print(f"  warning: crisis channel {name} cannot send from here: "
                  f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set")


def _probe(config: Config) -> int:
    """Poll each source once: what it found, or why it failed (one line each)."""
    import time

    from supervisor_tui.domain.model import ContactState
    from supervisor_tui.domain.text import clean
    from supervisor_tui.sources.base import SourceError
    from supervisor_tui.sources.build import build_source
    from supervisor_tui.sources.registry import SimulatorSettings

    async def one(name: str, settings: SourceSettings) -> bool:
        started = time.perf_counter()
        try:
            source = build_source(name, settings, config.console.policy, config.simulator)
        except SourceError as err:
            print(f"  {name}: FAILED — {clean(str(err), 200)}")
            return False
        try:
            snap = await asyncio.wait_for(source.snapshot(), settings.timeout_s)
        except TimeoutError:
            print(f"  {name}: FAILED — no answer within {settings.timeout_s:g} s")
            return False
        except Exception as err:  # a probe reports; it never shows a traceback
            print(f"  {name}: FAILED — {clean(str(err) or type(err).__name__, 200)}")
            return False
        finally:
            await source.close()
        waiting = sum(1 for c in snap.contacts if c.state == ContactState.WAITING)
        caps = ", ".join(sorted(c.value for c in source.capabilities))
        print(f"  {name}: OK in {(time.perf_counter() - started) * 1000:.0f} ms — "
              f"{len(snap.queues)} queues, {len(snap.agents)} agents, {waiting} waiting; "
              f"can {caps}")
        for note in source.notes:
            print(f"    note: {clean(note, 200)}")
        return True

    async def run() -> bool:
        if not config.sources:
            return await one("simulator", SimulatorSettings())
        results = [await one(n, s) for n, s in config.sources.items() if s.enabled]
        return all(results)

    print("probing sources:")
    return 0 if asyncio.run(run()) else 1


def _open_store(path: Path | None, config: Config | None = None) -> Store:
    """The store of ``--db``, else of the config (``[store] url``), else the default file.
    Raises StoreError."""
    from supervisor_tui.cli.store_place import location
    from supervisor_tui.store import Store, StoreError

    try:
        where = location(config, path)
    except ValueError as err:
        raise StoreError(str(err)) from None
    return Store.open(where)


def _open_existing_audit(args: argparse.Namespace) -> AuditLog | int:
    """The audit log of an existing store, or an exit status: reading the log must never
    create a store (a mistyped --db would otherwise verify as an empty, intact log)."""
    import sqlite3

    import sqlite_utils

    from supervisor_tui.cli.store_place import location
    from supervisor_tui.store.audit import AUDIT, AuditError, AuditLog

    config = _config(args)
    if isinstance(config, int):
        return config
    try:
        path = location(config, args.db)
    except ValueError as err:
        return _fail(str(err))
    if not isinstance(path, Path):  # PostgreSQL: read the table there, never create it
        return _open_pg_audit(path, config)
    if not path.is_file():
        return _fail(f"no store at {path} (check --db): nothing to read, nothing created")
    try:
        # mode=rw: open what is there, never create.
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=5.0,
                               isolation_level=None)
        found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                             [AUDIT]).fetchone()
    except sqlite3.Error as err:
        return _fail(f"cannot read {path}: {err}")
    if not found:
        conn.close()
        return _fail(f"{path} has no audit log (not a supervisor-tui store?)")
    try:
        return AuditLog.for_config(sqlite_utils.Database(conn), config.audit, create=False)
    except AuditError as err:
        return _fail(f"cannot check the audit log: {err}")


def _open_pg_audit(url: str, config: Config) -> AuditLog | int:
    import psycopg

    from supervisor_tui.store.audit import AUDIT, AuditError, AuditLog
    from supervisor_tui.store.backend import first_line
    from supervisor_tui.store.postgres import PgDb, redact

    try:
        db = PgDb.connect(url)
        found = db.table_exists(AUDIT)
    except psycopg.Error as err:
        return _fail(f"cannot read the store at {redact(url)}: {first_line(err)}")
    if not found:
        db.close()
        return _fail(f"{redact(url)} has no audit log (not a supervisor-tui store?)")
    try:
        return AuditLog.for_config(db, config.audit, create=False)
    except AuditError as err:
        return _fail(f"cannot check the audit log: {err}")


def cmd_export(args: argparse.Namespace) -> int:
    from supervisor_tui import export
    from supervisor_tui.cli.store_place import existing
    from supervisor_tui.domain.intraday import day_bounds
    from supervisor_tui.store import Store, StoreError

    config = _config(args)
    if isinstance(config, int):
        return config
    try:
        path = existing(config, args.db, "export")
    except ValueError as err:
        return _fail(str(err))
    zone = config.console.policy.zone
    day = resolve_day(args.date, zone)
    start, end = day_bounds(day, config.console.policy)
    try:
        store = Store.open(path)
    except StoreError as err:
        return _fail(str(err), 1)
    failed: tuple[type[Exception], ...] = (StoreError, *store.db.Error)  # the backend's
    if args.what != "intervals":  # the day's events: supervisor_tui/export_events.py
        from supervisor_tui.export_events import KINDS, export_day

        noun = KINDS[args.what][0]
        try:
            text, count = export_day(args.what, store, day, config.console.policy,
                                     args.queue, args.format)
        except failed as err:
            return _fail(f"cannot read {noun}: {err}", 1)
        finally:
            store.close()
        return _emit(args, text, count, noun, day, zone.key)
    try:
        rows = store.intervals(start, end, args.queue)
    except failed as err:
        return _fail(f"cannot read intervals: {err}", 1)
    finally:
        store.close()
    formula = config.console.sl_formula
    records = [export.interval_record(r, zone, formula) for r in rows]
    text = (export.to_json("intervals", day, zone, formula, records) if args.format == "json"
            else export.to_csv(records, export.INTERVAL_EXPORT_COLUMNS))
    return _emit(args, text, len(records), "intervals", day, zone.key)


def _emit(args: argparse.Namespace, text: str, count: int, noun: str, day: date,
          zone: str) -> int:
    """An export's text to standard output or to ``-o`` (never over an existing file);
    an empty day is said on standard error."""
    if args.output is None:
        sys.stdout.write(text)
    else:
        try:
            with args.output.open("x", encoding="utf-8", newline="") as f:  # never overwrite
                f.write(text)
        except OSError as err:
            return _fail(f"cannot write {args.output}: {err.strerror or err}", 1)
        print(f"{count} row(s) of {noun} of {day} ({zone}) written to {args.output}",
              file=sys.stderr)
    if not count:
        print(f"supervisor-tui: no stored {noun} for {day} ({zone})"
              + (f", queue {args.queue}" if args.queue else ""), file=sys.stderr)
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    import os

    from supervisor_tui.domain.text import clean
    from supervisor_tui.store import StoreError

    log = _open_existing_audit(args)
    if isinstance(log, int):
        return log
    try:
        if args.verify:
            result = log.verify()
            if result.ok:
                print(f"audit log OK: {result.proven}")
                for warning in result.warnings:
                    print(f"warning: {warning}", file=sys.stderr)
                return 0
            print(f"audit log TAMPERED: {result.reason} (first bad record: "
                  f"{result.first_bad_id})", file=sys.stderr)
            return 1
        for record in log.records(args.since):
            if args.json:
                print(json.dumps(record, default=str))
            else:  # (JSON escapes control characters; this goes straight to a terminal)
                print(f"{record['ts']}  {clean(record['user'], 40):<12} "
                      f"{clean(record['action'], 40):<18} {record['outcome']:<8} "
                      f"{clean(record['subject'], 120)}  {clean(record['response'] or '')}")
    except StoreError as err:
        return _fail(str(err), 1)
    except BrokenPipeError:  # `audit | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def cmd_staffing(args: argparse.Namespace) -> int:
    from supervisor_tui.domain import erlang

    if args.contacts < 0 or args.threshold < 0:
        return _fail("--contacts and --threshold cannot be negative")
    try:
        result = erlang.staffing(args.contacts, args.interval, args.aht, args.target,
                                 args.threshold, args.max_occupancy)
    except ValueError as err:
        return _fail(str(err))
    data = result.to_dict()
    return _report(data, args.json,
                   f"{data['agents']} agents: service level {data['service_level']:.1%}, "
                   f"ASA {data['asa_seconds']:.1f} s, occupancy {data['occupancy']:.1%}, "
                   f"P(wait) {data['probability_wait']:.1%} "
                   f"(traffic {data['traffic_erlangs']:.2f} Erlangs)")


def cmd_simulate(args: argparse.Namespace) -> int:
    from supervisor_tui.sim.single_queue import simulate_single_queue

    if args.arrivals_per_hour < 0 or args.threshold < 0:
        return _fail("--arrivals-per-hour and --threshold cannot be negative")
    try:
        data = simulate_single_queue(
            agents=args.agents,
            arrivals_per_hour=args.arrivals_per_hour,
            aht_s=args.aht,
            threshold_s=args.threshold,
            service=args.service,
            patience_s=None if args.no_abandon else args.patience,
            duration_s=args.duration,
            seed=args.seed,
        )
    except ValueError as err:
        return _fail(str(err))
    return _report(data, args.json, "\n".join(f"{k:28} {v}" for k, v in data.items()))


def _unwritable(path: Path) -> str | None:
    """Why this process cannot write the store at ``path`` (file, or the directory its
    WAL files go in), or None."""
    import os

    if not os.access(path, os.W_OK):
        return f"cannot write the database {path}: nothing done here is saved or audited"
    wal = [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm")]
    if not all(p.exists() and os.access(p, os.W_OK) for p in wal) and not os.access(
            path.parent, os.W_OK):
        return (f"cannot write in {path.parent} (the database's WAL files go there): "
                "nothing done here is saved or audited")
    return None


def build_app(args: argparse.Namespace, loop: asyncio.AbstractEventLoop | None = None
              ) -> SupervisorApp | int:
    """The console ``args`` ask for (not yet running), or an exit status. Given the
    ``loop`` it will run on, the sources' first reads are sent before the screens are
    imported and built (``Source.begin``)."""
    from supervisor_tui.cli.store_place import location, shown
    from supervisor_tui.store import Store, StoreError

    config = _config(args)
    if isinstance(config, int):
        return config
    overrides = {k: v for k, v in
                 {"scenario": args.scenario, "seed": args.seed, "speed": args.speed}.items()
                 if v is not None}
    if overrides:
        config = config.model_copy(
            update={"simulator": config.simulator.model_copy(update=overrides)})
    if args.poll:
        config = config.model_copy(
            update={"console": config.console.model_copy(update={"poll_interval_s": args.poll})})

    store_problem = None
    try:
        db_path = location(config, args.db)
        store: Store = Store.open(db_path)
    except (StoreError, ValueError) as err:
        # The console is still useful without history: say so and carry on in memory.
        store_problem = f"{err} — history kept in memory only"
        print(f"supervisor-tui: warning: {store_problem}", file=sys.stderr)
        store = Store.open(None)
    else:
        # Opening a read-only file succeeds (SQLite reads it): every write would then fail,
        # one by one. Say so from the start; what others write is still shown.
        store_problem = _unwritable(db_path) if isinstance(db_path, Path) else None
        if not isinstance(db_path, Path):
            print(f"supervisor-tui: store: {shown(db_path)}", file=sys.stderr)
        if store_problem:
            print(f"supervisor-tui: warning: {store_problem}", file=sys.stderr)

    from supervisor_tui.gc_policy import hold_from_start
    from supervisor_tui.identity import identity_for
    from supervisor_tui.sources.base import SourceError
    from supervisor_tui.sources.build import build_sources

    try:
        sources = build_sources(config.sources, config.console.policy, config.simulator)
    except SourceError as err:
        return _fail(str(err))
    if loop is not None:
        # Out before the screens are imported (~0.5 s): a collector serving a big centre
        # prepares its answer meanwhile, not while the console waits (issue 15).
        hold_from_start()

        async def begin() -> None:
            await asyncio.gather(*(s.begin() for s in sources))

        loop.run_until_complete(begin())
    from supervisor_tui.ui.app import SupervisorApp

    note = identity_for(config).note
    if note:
        print(f"supervisor-tui: warning: {note}", file=sys.stderr)
    # The app opens the audit log with the [audit] key and anchor (or says why not).
    return SupervisorApp(config, sources, store=store, store_problem=store_problem,
                         read_only=args.read_only, wall=args.wall, theme_name=args.theme,
                         screen=args.screen)


def cmd_run(args: argparse.Namespace) -> int:
    from supervisor_tui.ui.cropped_updates import install_cropped_updates

    loop = asyncio.new_event_loop()
    try:
        app = build_app(args, loop)
        if isinstance(app, int):
            return app
        install_cropped_updates()  # send changed cells, not whole rows (SSH)
        app.run(loop=loop)
    finally:
        loop.close()
    return app.return_code or 0


def cmd_serve_sim(args: argparse.Namespace) -> int:
    from supervisor_tui.protocol import server as serve_sim

    config = _config(args)
    if isinstance(config, int):
        return config
    return serve_sim.run(args, config)


def _on_store(args: argparse.Namespace,
              run: Callable[[argparse.Namespace, Config, Store], int]) -> int:
    """Run a sub-command with the config and the store it names, closed after."""
    from supervisor_tui.store import StoreError

    config = _config(args)
    if isinstance(config, int):
        return config
    try:
        store = _open_store(args.db, config)
    except StoreError as err:
        return _fail(str(err), 1)
    try:
        return run(args, config, store)
    finally:
        store.close()


def cmd_crisis(args: argparse.Namespace) -> int:
    from supervisor_tui.cli import crisis as crisis_cli

    return _on_store(args, crisis_cli.run)


def cmd_schedule(args: argparse.Namespace) -> int:
    from supervisor_tui.cli import schedule

    return _on_store(args, schedule.run)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in ("serve", "serve-sim"):  # serve-sim: serve with the simulator
        return cmd_serve_sim(args)
    if args.command not in ("crisis", "incident", "check-config", "staffing", "simulate",
                            "audit", "export", "report", "store", "surveys", "forecast",
                            "schedule"):
        return cmd_run(args)
    from supervisor_tui.domain.text import TerminalStream

    # What a command prints (names, titles, notes, errors from sources and receivers)
    # reaches the terminal with no escape sequence in it: no title, clipboard or link.
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = TerminalStream(out), TerminalStream(err)
    try:
        return _command(args)
    finally:
        sys.stdout, sys.stderr = out, err


def _command(args: argparse.Namespace) -> int:
    if args.command in ("crisis", "incident"):
        return cmd_crisis(args)
    if args.command == "export":
        return cmd_export(args)
    if args.command == "schedule":  # today's schedule: cli/schedule.py
        return cmd_schedule(args)
    if args.command in ("store", "report", "surveys", "forecast"):
        # store copy, the end-of-day report, survey responses, forecasts: cli/<module>.py
        # (loaded already: build_parser asked each for its sub-command)
        from supervisor_tui.cli import forecast, report, store_copy, surveys

        run = {"store": store_copy.run, "report": report.run, "surveys": surveys.run,
               "forecast": forecast.run}[args.command]
        config = _config(args)
        return config if isinstance(config, int) else run(args, config)
    if args.command == "check-config":
        return cmd_check_config(args.file, args.probe)
    if args.command == "staffing":
        return cmd_staffing(args)
    if args.command == "simulate":
        return cmd_simulate(args)
    assert args.command == "audit"
    return cmd_audit(args)
