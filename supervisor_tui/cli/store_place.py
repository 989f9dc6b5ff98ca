"""Where a command's store is (``--db``, ``[store] url_env`` / ``url``, the default file),
and ``check-config``'s look at it: one place for every command."""

from __future__ import annotations

import os
from pathlib import Path

from supervisor_tui.config import Config, default_db_path
from supervisor_tui.config.store import store_location
from supervisor_tui.store.backend import first_line, is_pg_url


def location(config: Config | None, db: Path | None) -> Path | str:
    """``--db`` (a SQLite file) wins; then the config's PostgreSQL URL; then the default
    file. Raises ValueError (for humans) for an unset ``url_env``."""
    if config is None:
        return db or default_db_path()
    return store_location(config.store.url, config.store.url_env, db, default_db_path())


def existing(config: Config | None, db: Path | None, nothing: str) -> Path | str:
    """location(), for a command that only reads: a SQLite file must already be there
    (opening would create it). Raises ValueError (for humans), naming what there is
    ``nothing`` to do."""
    where = location(config, db)
    if isinstance(where, Path) and not where.is_file():
        raise ValueError(f"no store at {where} (check --db): nothing to {nothing}, "
                         "nothing created")
    return where


def shown(where: Path | str) -> str:
    """A location as it may be printed (a URL without its password)."""
    if is_pg_url(where):
        from supervisor_tui.store.postgres import redact

        return redact(str(where))
    return str(where)


def check(config: Config, env: dict[str, str] | None = None) -> bool:
    """Print where the store is and, for PostgreSQL, whether it answers (connect, one
    query, the tables' schema); False when it does not."""
    if config.store.url is None and config.store.url_env is None:
        print(f"store: SQLite file {default_db_path()} (--db to choose another)")
        return True
    try:
        where = store_location(config.store.url, config.store.url_env, None,
                               default_db_path(), os.environ if env is None else env)
    except ValueError as err:
        print(f"store: error: {err}")
        return False
    from supervisor_tui.store.postgres import PgDb, redact

    try:
        import psycopg

        db = PgDb.connect(str(where))
    except psycopg.Error as err:
        print(f"store: error: cannot reach PostgreSQL at {redact(str(where))}: "
              f"{first_line(err)}")
        return False
    try:
        version = db.execute("SHOW server_version").fetchone()[0]
        schema = db.execute("SELECT current_schema()").fetchone()[0]
    except psycopg.Error as err:
        print(f"store: error: PostgreSQL at {redact(str(where))} answered but: {err}")
        return False
    finally:
        db.close()
    print(f"store: PostgreSQL {version} at {redact(str(where))} (schema {schema}): reachable")
    return True
