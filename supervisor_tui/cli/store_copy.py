"""``supervisor-tui store copy``: a SQLite store into the (empty) PostgreSQL store of
``[store] url`` / ``url_env`` (store/copy.py; docs/store.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

EXIT_USAGE, EXIT_FAILED = 2, 1


def add_parser(sub: Any) -> None:
    store = sub.add_parser("store", help="the shared store: copy a SQLite store into "
                           "PostgreSQL")
    what = store.add_subparsers(dest="store_command", metavar="COMMAND", required=True)
    copy = what.add_parser("copy", help="copy a SQLite store into the empty PostgreSQL "
                           "store of [store] url (all or nothing; the audit chain verified)")
    copy.add_argument("--from", dest="source", type=Path, default=None,
                      help="the SQLite file (default: the console's, or --db)")
    copy.add_argument("--config", type=Path, default=argparse.SUPPRESS,
                      help="TOML config: its [store] url / url_env is the target")


def run(args: argparse.Namespace, config: Any) -> int:
    from supervisor_tui.cli.store_place import location
    from supervisor_tui.config import default_db_path
    from supervisor_tui.store import Store, StoreError
    from supervisor_tui.store.backend import SqliteDb, is_pg_url
    from supervisor_tui.store.copy import copy_store
    from supervisor_tui.store.postgres import redact

    def fail(message: str, code: int = EXIT_USAGE) -> int:
        print(f"supervisor-tui store copy: {message}", file=sys.stderr)
        return code

    source_path: Path = args.source or getattr(args, "db", None) or default_db_path()
    try:
        target_url = location(config, None)  # [store] url / url_env (not --db)
    except ValueError as err:
        return fail(str(err))
    if not is_pg_url(target_url):
        return fail("no PostgreSQL store to copy into: set [store] url (or url_env) in the "
                    "config given with --config")
    if not source_path.is_file():
        return fail(f"no SQLite store at {source_path} (check --from): nothing copied")
    try:
        source = SqliteDb.open(source_path)
    except Exception as err:  # sqlite3.Error, OSError: said, never a traceback
        return fail(f"cannot open {source_path}: {err}", EXIT_FAILED)
    try:
        target = Store.open(str(target_url))
    except StoreError as err:
        source.close()
        return fail(str(err), EXIT_FAILED)
    print(f"copying {source_path} into {redact(str(target_url))}")
    try:
        done = copy_store(source, target,
                          progress=lambda name, n: print(f"  {name:28} {n:>9} row(s)"))
    except StoreError as err:
        return fail(str(err), EXIT_FAILED)
    finally:
        source.close()
        target.close()
    print(f"copied {sum(done.tables.values())} row(s) in {len(done.tables)} table(s)")
    before, after = done.source_audit, done.target_audit
    if before is None or after is None:
        return 0
    print(f"audit log: {after.proven if after.ok else after.reason}")
    if before.ok and (not after.ok or after.last_hash != before.last_hash):
        return fail("the copied audit log does not verify as the file's did", EXIT_FAILED)
    if not before.ok:
        print(f"  warning: the file's own audit log does not verify: {before.reason}")
    return 0
