"""The CLI contracts other tools script against."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest

from supervisor_tui import __version__
from supervisor_tui.cli import main


def run_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    assert main(args) == 0
    return json.loads(capsys.readouterr().out)


def test_staffing_json(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(["staffing", "--contacts", "100", "--interval", "1800", "--aht", "180",
                     "--target", "0.8", "--threshold", "20", "--json"], capsys)
    assert data["agents"] == 14
    for key in ("service_level", "asa_seconds", "occupancy", "probability_wait"):
        assert isinstance(data[key], float)


def test_staffing_with_occupancy_cap(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(["staffing", "--contacts", "100", "--interval", "1800", "--aht", "180",
                     "--target", "0.8", "--threshold", "20", "--max-occupancy", "0.65",
                     "--json"], capsys)
    assert data["agents"] == 16 and data["occupancy"] <= 0.65


def test_simulate_json(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(["simulate", "--agents", "20", "--arrivals-per-hour", "300", "--aht",
                     "180", "--threshold", "20", "--no-abandon", "--duration", "3600",
                     "--seed", "3", "--json"], capsys)
    for key in ("offered", "answered", "abandoned", "answered_within_threshold",
                "service_level", "asa_seconds", "occupancy"):
        assert key in data
    assert data["abandoned"] == 0
    assert 200 < data["offered"] < 400


def test_simulate_is_deterministic_by_seed(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["simulate", "--agents", "10", "--arrivals-per-hour", "150", "--aht", "200",
            "--threshold", "20", "--patience", "60", "--duration", "1800", "--seed", "9",
            "--json"]
    assert run_json(args, capsys) == run_json(args, capsys)


def test_bad_arguments_exit_2_without_traceback() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "supervisor_tui", "staffing", "--contacts", "10", "--interval",
         "0", "--aht", "180", "--target", "0.8", "--threshold", "20"],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "interval" in proc.stderr


def test_version() -> None:
    proc = subprocess.run([sys.executable, "-m", "supervisor_tui", "--version"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and __version__ in proc.stdout


def test_audit_verify_and_export(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    from supervisor_tui.store import Store
    from supervisor_tui.store.audit import AuditLog

    db = tmp_path / "s.db"
    log = AuditLog(Store.open(db).db)
    log.append(user="ann", role="supervisor", action="reassign_contact", subject="contact c1",
               outcome="done", params={"to_queue": "billing"}, response="moved")
    assert main(["--db", str(db), "audit", "--verify"]) == 0
    assert "1 record(s)" in capsys.readouterr().out
    assert main(["--db", str(db), "audit", "--json", "--since", "1h"]) == 0
    record = json.loads(capsys.readouterr().out.splitlines()[0])
    assert record["user"] == "ann" and record["outcome"] == "done"
    # Tamper with the file behind the app's back: the chain check must notice.
    import sqlite3

    conn = sqlite3.connect(db)
    conn.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
    conn.execute("UPDATE audit_log SET user = 'mallory'")
    conn.commit()
    assert main(["--db", str(db), "audit", "--verify"]) == 1
    assert "TAMPERED" in capsys.readouterr().err


def test_check_config_probe_reports_what_each_source_found(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from supervisor_tui.protocol.server import ProtocolServer, serve_in_thread
    from tests.test_serve_sim import make_sim

    with serve_in_thread(ProtocolServer(make_sim()).app) as base:
        dead = tmp_path / "dead.toml"
        good = tmp_path / "good.toml"
        good.write_text(f'[sources.centre]\ntype = "http"\nurl = "{base}"\n')
        with socket_port() as port:
            dead.write_text(f'[sources.centre]\ntype = "http"\nurl = "http://127.0.0.1:{port}"\n'
                            "timeout_s = 2\n")
        assert main(["check-config", "--probe", str(good)]) == 0
        out = capsys.readouterr().out
        assert "centre: OK" in out and "queues" in out and "agents" in out
        assert main(["check-config", "--probe", str(dead)]) == 1
        out = capsys.readouterr().out
        assert "centre: FAILED — cannot reach 127.0.0.1" in out
        assert "Traceback" not in out


def socket_port():  # type: ignore[no-untyped-def]
    """A port nothing listens on (bound, then released)."""
    import contextlib
    import socket

    @contextlib.contextmanager
    def free():  # type: ignore[no-untyped-def]
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        yield port

    return free()


def test_audit_refuses_a_store_that_does_not_exist(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    """A mistyped --db used to create an empty store and call it intact."""
    missing = tmp_path / "typo" / "supervisr.db"
    for args in (["--db", str(missing), "audit", "--verify"],
                 ["audit", "--verify", "--db", str(missing)],
                 ["audit", "--json", "--db", str(missing)]):
        assert main(args) == 2, args
        err = capsys.readouterr().err
        assert f"no store at {missing}" in err and "nothing created" in err
        assert "intact" not in err
    assert not missing.exists() and not missing.parent.exists()
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("create table t (x)").connection.commit()
    assert main(["audit", "--verify", "--db", str(other)]) == 2
    assert "has no audit log" in capsys.readouterr().err
    assert sqlite3.connect(other).execute(
        "select name from sqlite_master where name = 'audit_log'").fetchone() is None


def test_audit_takes_db_and_config_after_the_subcommand(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from supervisor_tui.config import load_config
    from supervisor_tui.store import Store
    from supervisor_tui.store.audit import AuditLog

    config_file = tmp_path / "c.toml"
    config_file.write_text('[audit]\nkey_file = "audit.key"\nanchor_file = "audit.anchor"\n')
    db = tmp_path / "s.db"
    log = AuditLog.for_config(Store.open(db).db, load_config(config_file).audit)
    for i in range(3):
        log.append(user="ann", role="supervisor", action="x", subject=str(i), outcome="done")
    assert main(["audit", "--verify", "--db", str(db), "--config", str(config_file)]) == 0
    out = capsys.readouterr().out
    assert "3 record(s), hash chain intact, 3 MAC(s) valid, matches the anchor file up to " \
        "record 3" in out
    # Top-level --db still works, and one after the subcommand wins.
    assert main(["--db", str(tmp_path / "nope.db"), "audit", "--json", "--db", str(db)]) == 0
    assert [json.loads(line)["subject"] for line in capsys.readouterr().out.splitlines()] \
        == ["0", "1", "2"]
    # Truncate the log behind the app's back: with the anchor, verify notices.
    conn = sqlite3.connect(db)
    conn.execute("DROP TRIGGER audit_log_no_delete")
    conn.execute("DELETE FROM audit_log WHERE id = 3")
    conn.execute("UPDATE sqlite_sequence SET seq = 2 WHERE name = 'audit_log'")
    conn.commit()
    assert main(["audit", "--verify", "--db", str(db)]) == 0  # no anchor: cannot tell
    capsys.readouterr()
    assert main(["audit", "--verify", "--db", str(db), "--config", str(config_file)]) == 1
    assert "truncated?" in capsys.readouterr().err
    # A key file that is gone is reported, not re-created by the check.
    (tmp_path / "audit.key").unlink()
    assert main(["audit", "--verify", "--db", str(db), "--config", str(config_file)]) == 2
    assert "audit key file" in capsys.readouterr().err
    assert not (tmp_path / "audit.key").exists()


def test_audit_listing_never_writes_escape_sequences(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from supervisor_tui.store import Store
    from supervisor_tui.store.audit import AuditLog

    db = tmp_path / "s.db"
    AuditLog(Store.open(db).db).append(
        user="ann", role="supervisor", action="reassign_contact", subject="contact \x1b[2Jc1",
        outcome="failed", response="502 \x1b]52;c;ZXZpbA==\x07 from the platform")
    assert main(["audit", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert "contact" in out and "from the platform" in out
