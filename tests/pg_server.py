"""A real PostgreSQL server on loopback for the store tests, and a fresh schema per test.

``SUPERVISOR_TEST_PG_URL`` names an existing server (its user must be able to create
schemas); otherwise one is started for the test session from the system's binaries
(``pg_config --bindir``, else ``/usr/lib/postgresql/*/bin``): ``initdb`` into a temp
directory, ``pg_ctl start`` on a free port of 127.0.0.1 with its socket in that
directory, stopped at the end (also when the tests fail). initdb refuses to run as
root, so as root both run as the ``postgres`` user. No server found or started is a
test FAILURE with the reason, never a skip: the Postgres half must run for real.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

ENV_URL = "SUPERVISOR_TEST_PG_URL"


class NoServer(RuntimeError):
    pass


def _bindir() -> Path:
    found: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True,
                             check=False)
        if out.returncode == 0 and out.stdout.strip():
            found.append(Path(out.stdout.strip()))
    found += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    for path in found:
        if (path / "initdb").is_file() and (path / "pg_ctl").is_file():
            return path
    raise NoServer("no PostgreSQL server binaries (initdb, pg_ctl) found: looked in "
                   f"`pg_config --bindir` and /usr/lib/postgresql/*/bin; install the server "
                   f"(Debian: postgresql) or set {ENV_URL}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgServer:
    """A running server: ``url`` for its superuser's ``postgres`` database."""

    url: str
    _stop: list[str] | None = None
    _dir: Path | None = None
    _as: list[str] | None = None

    def stop(self) -> None:
        if self._stop is not None:
            subprocess.run(self._stop, capture_output=True, check=False, timeout=60)
            self._stop = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


def start() -> PgServer:
    """The server named by ``SUPERVISOR_TEST_PG_URL``, or a new one. Raises NoServer."""
    given = os.environ.get(ENV_URL)
    if given:
        return PgServer(given)
    bindir = _bindir()
    base = Path(tempfile.mkdtemp(prefix="stui-pg-"))
    data, sock = base / "data", base / "sock"
    data.mkdir()
    sock.mkdir()
    run_as: list[str] = []
    user = "postgres"
    if os.geteuid() == 0:  # initdb and postgres refuse root: run as the postgres user
        runuser = shutil.which("runuser")
        if runuser is None:
            raise NoServer("running as root and no `runuser` to start PostgreSQL as postgres")
        run_as = [runuser, "-u", "postgres", "--"]
        shutil.chown(base, "postgres")
        shutil.chown(data, "postgres")
        shutil.chown(sock, "postgres")
        os.chmod(base, 0o755)
    else:
        import getpass

        user = getpass.getuser()
    log = base / "server.log"
    if run_as:
        log.touch()
        shutil.chown(log, "postgres")
    init = subprocess.run([*run_as, str(bindir / "initdb"), "-D", str(data), "-U", user,
                           "-A", "trust", "-E", "UTF8", "--no-sync", "--no-instructions"],
                          capture_output=True, text=True, check=False, timeout=120)
    if init.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        raise NoServer(f"initdb failed: {init.stderr.strip()[-500:]}")
    port = _free_port()
    # fsync off and a small footprint: a throwaway server for tests on a small machine.
    opts = (f"-c listen_addresses=127.0.0.1 -p {port} -k {sock} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=60 "
            "-c shared_buffers=32MB")
    started = subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-l",
                              str(log), "-o", opts, "-w", "-t", "60", "start"],
                             capture_output=True, text=True, check=False, timeout=90)
    stop = [*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w",
            "stop"]
    if started.returncode != 0:
        subprocess.run(stop, capture_output=True, check=False, timeout=60)
        tail = log.read_text(errors="replace")[-800:] if log.exists() else ""
        shutil.rmtree(base, ignore_errors=True)
        raise NoServer(f"pg_ctl start failed: {started.stderr.strip()[-300:]} {tail}")
    return PgServer(f"postgresql://{quote(user)}@127.0.0.1:{port}/postgres", stop, base,
                    run_as)


_lock = threading.Lock()


def schema_url(server_url: str) -> str:
    """A new empty schema on the server, and a URL whose connections use it only."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with _lock, psycopg.connect(server_url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    sep = "&" if "?" in server_url else "?"
    return f"{server_url}{sep}options={quote(f'-csearch_path={name}')}"


def drop_schema(server_url: str, url: str) -> None:
    import psycopg

    name = url.rsplit("search_path%3D", 1)[-1]
    try:
        with psycopg.connect(server_url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
    except psycopg.Error:
        pass  # a test that stopped its own server, or a schema already gone


class Proxy:
    """A TCP relay on 127.0.0.1 in front of the server: ``stop()`` is the server going
    away (every connection cut, new ones refused), ``start()`` it coming back on the same
    port. What a console sees of a server that is down, restarted, or a dropped link."""

    def __init__(self, target_port: int) -> None:
        self.target = target_port
        self.port = _free_port()
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()

    def url(self, server_url: str) -> str:
        return server_url.replace(f":{self.target}/", f":{self.port}/", 1)

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target), timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        if self._listener is not None:
            # shutdown wakes the accepting thread (a bare close would leave it listening)
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            conns, self._conns = self._conns, []
        for s in conns:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()


def port_of(url: str) -> int:
    from urllib.parse import urlsplit

    port = urlsplit(url).port
    assert port is not None, url
    return port
