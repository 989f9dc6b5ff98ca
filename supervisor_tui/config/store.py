"""``[store] url`` / ``url_env``: the shared store on PostgreSQL instead of the SQLite file.

The password never sits in the config file: either libpq finds it (``PGPASSWORD``,
``PGPASSFILE`` / ``~/.pgpass``, or a client certificate), or ``url_env`` names an
environment variable holding the whole URL. A URL written in the file with a password
in it is refused with a message saying where to put it instead.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

SCHEMES = ("postgresql", "postgres")


def check_url(value: str | None) -> str | None:
    """``[store] url``: a postgresql:// URL with no password in it."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in SCHEMES:
        raise ValueError("must be a postgresql:// URL, e.g. postgresql://supervisor@db.example/"
                         "supervisor (no url: the SQLite file of --db)")
    if parts.password is not None or "password=" in parts.query:
        raise ValueError("holds a password: keep it out of the file (PGPASSWORD or ~/.pgpass, "
                         "or url_env = \"NAME\" naming a variable that holds the whole URL)")
    return value


def check_env_name(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    if not value.replace("_", "a").isalnum():
        raise ValueError(f"{value!r} is not an environment variable name")
    return value


def store_location(url: str | None, url_env: str | None, db_path: Path | None,
                   default: Path, env: Mapping[str, str] | None = None) -> Path | str:
    """Where the store is: ``--db`` if given, else the URL (``url_env``'s variable first,
    then ``url``), else the default SQLite file. Raises ValueError (for humans) when
    ``url_env`` names a variable that is unset or not a postgresql:// URL."""
    if db_path is not None:
        return db_path
    env = os.environ if env is None else env
    if url_env:
        found = env.get(url_env, "").strip()
        if not found:
            raise ValueError(f"[store] url_env: ${url_env} is not set (it should hold the "
                             "store's postgresql:// URL)")
        if urlsplit(found).scheme not in SCHEMES:
            raise ValueError(f"[store] url_env: ${url_env} is not a postgresql:// URL")
        return found
    return url or default
