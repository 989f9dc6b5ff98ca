"""The shared store across processes (and, on PostgreSQL, across hosts): races with one
winner, an outbox drained by two processes, a server that goes away and comes back,
the audit log's guards on PostgreSQL, and what check-config says about a store URL.

Races run on both backends (``store_at``); PostgreSQL is the test server of
tests/pg_server.py, reached directly or through a relay that can be cut.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from supervisor_tui.cli import main
from supervisor_tui.store import TAKEN, Store, StoreError
from supervisor_tui.store.audit import AUDIT, AuditLog
from tests import pg_server
from tests import store_race_workers as workers
from tests.crisis_helpers import ENV, Receiver
from tests.test_crisis_outbox import declare, hooks_config, service_for

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


# -- N processes take the same escalation at once -------------------------------------------


def test_n_processes_taking_one_escalation_have_exactly_one_winner(
        store_at: Path | str) -> None:
    procs, rounds = 4, 20
    results, exits = workers.take_race(store_at, procs, rounds, "sup", timeout_s=120)
    assert exits == [0] * procs
    store = Store.open(store_at)
    states = store.escalation_states()
    winners = set()
    for n in range(rounds):
        this = [r for r in results if r[0] == n]
        won = [r[1] for r in this if r[2]]
        assert len(won) == 1, this  # exactly one winner every round
        winners.add(won[0])
        # the others are told who has it, never silently overwritten
        assert sorted(r[3] for r in this if not r[2]) == [f"already taken by {won[0]}"] * 3
        row = states[f"queue-sl:race{n}"]
        assert (row["owner"], row["seq"]) == (won[0], 1)
    assert len(winners) > 1, "the takes should have raced (one process won every round)"


def test_consoles_starting_together_on_an_empty_database_all_open_it(
        store_at: Path | str) -> None:
    ctx = workers.context()
    go, out = ctx.Barrier(4), ctx.Queue()
    running = [ctx.Process(target=workers.opener, args=(store_at, go, out)) for _ in range(4)]
    for w in running:
        w.start()
    said = [out.get(timeout=120) for _ in running]
    for w in running:
        w.join(30)
    assert said == ["ok"] * 4  # no catalog collision, no "already exists"
    assert AuditLog(Store.open(store_at).db).verify().ok


# -- two processes drain one outbox ------------------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def test_two_processes_draining_one_outbox_never_send_a_message_twice(
        store_at: Path | str, receiver: Receiver) -> None:
    channels = [f"c{i}" for i in range(6)]
    config = hooks_config(receiver.url, *channels, backoff_base_s=0.05)
    setup = service_for(config, Store.open(store_at))
    declare(setup)
    for _ in range(5):  # 30 rows, ordered per channel
        setup.queue("t", {})
    receiver.plan(6, 500)  # a few retries in the mix
    # c0 answers slowly: whoever holds a c0 row is busy while the other channels' next
    # rows come due, so both processes get work
    receiver.plan(1000, 200, hang_s=0.15, path="/c0")
    receiver.plan(1000, 200, hang_s=0.02)
    ctx = workers.context()
    go, out = ctx.Barrier(2), ctx.Queue()
    running = [ctx.Process(target=workers.drainer, args=(store_at, config, ENV, n, go, out))
               for n in range(2)]
    for w in running:
        w.start()
    done = [out.get(timeout=120) for _ in running]
    for w in running:
        w.join(30)
        assert w.exitcode == 0
    rows = setup.status(include_settled=True)
    assert len(rows) == 30 and {r.state for r in rows} == {"delivered"}
    by = [set(ids) for _, ids in done]
    assert not by[0] & by[1] and by[0] | by[1] == {r.id for r in rows}
    assert by[0] and by[1], "both processes should have delivered some"
    sent = [r.key for r in receiver.requests]
    assert len(set(sent)) == 30 and len(sent) == 36  # one 200 per key, 6 failed attempts
    for row in rows:  # each key sent exactly once per recorded attempt
        assert sent.count(row.key) == row.attempts
    # and messages to one recipient went out in order
    for channel in channels:
        keys = [r.key for r in rows if r.channel == channel]
        firsts = [sent.index(k) for k in keys]
        assert firsts == sorted(firsts)


# -- the server goes away and comes back --------------------------------------------------------


@pytest.fixture
def relayed(pg: pg_server.PgServer) -> Iterator[tuple[str, pg_server.Proxy]]:
    """A fresh schema reached through a relay the test can cut."""
    url = pg_server.schema_url(pg.url)
    proxy = pg_server.Proxy(pg_server.port_of(pg.url))
    proxy.start()
    yield proxy.url(url), proxy
    proxy.stop()
    pg_server.drop_schema(pg.url, url)


def test_a_lost_server_is_a_store_error_then_used_again_when_back(
        relayed: tuple[str, pg_server.Proxy], monkeypatch: pytest.MonkeyPatch) -> None:
    from supervisor_tui.store.postgres import PgDb

    monkeypatch.setattr(PgDb, "retry_after_s", 0.5)
    url, proxy = relayed
    store = Store.open(url)
    assert store.change_escalation("queue-sl:sales", TAKEN, "ann", T0).done
    proxy.stop()  # the server goes away mid-session
    start = time.monotonic()
    for attempt in (lambda: store.escalation_states(),  # the open connection is cut
                    lambda: store.change_escalation("queue-sl:sales", TAKEN, "bob", T0)):
        with pytest.raises(StoreError, match=r"cannot (read|save) escalation state: .+"):
            attempt()
    # the reconnect failed: until retry_after_s, calls fail at once with its reason
    with pytest.raises(StoreError, match=r"Connection refused \(trying again in 0 s\)"):
        store.notices_for("ann", T0)
    assert time.monotonic() - start < 2  # said at once, no hang
    proxy.start()  # back: the next call after the pause reconnects by itself
    time.sleep(0.5)
    assert store.escalation_states()["queue-sl:sales"]["owner"] == "ann"
    refused = store.change_escalation("queue-sl:sales", TAKEN, "bob", T0)
    assert (refused.done, refused.why) == (False, "already taken by ann")


def test_every_store_book_says_a_lost_server_in_one_line(
        relayed: tuple[str, pg_server.Proxy]) -> None:
    """The driver's reasons run to several lines ("Is the server running…?"); a status
    line shows one: the agent figures, abandoned contacts, forecasts, schedules and
    surveys say the first, as the desk does."""
    from supervisor_tui.store.abandoned import read_abandoned
    from supervisor_tui.store.agent_days import read_agent_days
    from supervisor_tui.store.forecasts import day_summary
    from supervisor_tui.store.schedules import read_schedule

    url, proxy = relayed
    store = Store.open(url)
    proxy.stop()
    for read in (lambda: read_agent_days(store, "2026-03-02"),
                 lambda: read_abandoned(store, T0, T0 + timedelta(days=1)),
                 lambda: day_summary(store, "2026-03-02"),
                 lambda: read_schedule(store, "2026-03-02")):
        with pytest.raises(StoreError) as said:
            read()
        assert str(said.value).startswith("cannot ") and "\n" not in str(said.value)


def test_an_unreachable_or_refusing_server_is_said_when_opening(
        pg: pg_server.PgServer) -> None:
    dead = pg_server.Proxy(1)  # a port nobody listens on: never started
    with pytest.raises(StoreError, match=r"cannot open the PostgreSQL store "
                       rf"postgresql://postgres@127\.0\.0\.1:{dead.port}/postgres: .*"):
        Store.open(f"postgresql://postgres@127.0.0.1:{dead.port}/postgres")
    with pytest.raises(StoreError, match="database \"nope\" does not exist"):
        Store.open(pg.url.rsplit("/", 1)[0] + "/nope")
    port = pg_server.port_of(pg.url)  # a login the server refuses
    with pytest.raises(StoreError, match=rf"store postgresql://nobody@127\.0\.0\.1:{port}/postgres"
                       r": .*role \"nobody\" does not exist") as refused:
        Store.open(f"postgresql://nobody:secret@127.0.0.1:{port}/postgres")
    assert "secret" not in str(refused.value)  # the password is never said


# -- the audit log's guards on PostgreSQL -------------------------------------------------------


@pytest.fixture
def pg_at(pg: pg_server.PgServer) -> Iterator[str]:
    url = pg_server.schema_url(pg.url)
    yield url
    pg_server.drop_schema(pg.url, url)


def fill(log: AuditLog, n: int) -> None:
    for i in range(n):
        log.append(user="ana", role="supervisor", action="x", subject=f"s{i}", outcome="done")


def test_postgres_audit_table_refuses_edits_and_verify_finds_what_a_superuser_did(
        pg_at: str) -> None:
    log = AuditLog(Store.open(pg_at).db)
    fill(log, 5)
    raw = psycopg.connect(pg_at, autocommit=True)
    for sql in (f'UPDATE {AUDIT} SET "user" = \'mallory\' WHERE id = 1',
                f"DELETE FROM {AUDIT} WHERE id = 2", f"TRUNCATE {AUDIT}"):
        with pytest.raises(psycopg.Error, match="append-only"):
            raw.execute(sql)
    assert log.verify().ok
    # Someone able to switch the triggers off edits a row, then cuts the tail.
    raw.execute(f"ALTER TABLE {AUDIT} DISABLE TRIGGER USER")
    raw.execute(f"UPDATE {AUDIT} SET outcome = 'refused' WHERE id = 3")
    result = log.verify()
    assert (result.ok, result.first_bad_id) == (False, 3) and "edited" in result.reason
    raw.execute(f"DELETE FROM {AUDIT} WHERE id >= 3")
    result = log.verify()
    assert (result.ok, result.checked, result.first_bad_id) == (False, 2, 3)
    assert "rows 3..5 were written and are gone" in result.reason
    raw.close()


def test_audit_verify_reads_a_postgres_store_and_never_creates_one(
        pg_at: str, pg: pg_server.PgServer, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[store]\nurl = "{pg_at}"\n')
    assert main(["audit", "--verify", "--config", str(config)]) == 2  # no log there yet
    assert "has no audit log" in capsys.readouterr().err
    fill(AuditLog(Store.open(pg_at).db), 3)
    assert main(["audit", "--verify", "--config", str(config)]) == 0
    assert "3 record(s)" in capsys.readouterr().out


# -- check-config on a store URL --------------------------------------------------------------


def test_check_config_says_whether_the_store_url_answers(
        pg_at: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[store]\nurl = "{pg_at}"\n')
    assert main(["check-config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "store: PostgreSQL 1" in out and "reachable" in out and "schema t_" in out
    dead = pg_server.Proxy(1)
    config.write_text(f'[store]\nurl = "postgresql://sup@127.0.0.1:{dead.port}/x"\n')
    assert main(["check-config", str(config)]) == 1
    assert (f"store: error: cannot reach PostgreSQL at postgresql://sup@127.0.0.1:"
            f"{dead.port}/x: ") in capsys.readouterr().out
    config.write_text('[store]\nurl = "postgresql://sup:hunter2@db.example/x"\n')
    assert main(["check-config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "store.url" in err and "holds a password" in err and "hunter2" not in err
    config.write_text('[store]\nurl_env = "STUI_TEST_STORE_URL"\n')
    monkeypatch.delenv("STUI_TEST_STORE_URL", raising=False)
    assert main(["check-config", str(config)]) == 1
    assert "$STUI_TEST_STORE_URL is not set" in capsys.readouterr().out
    monkeypatch.setenv("STUI_TEST_STORE_URL", pg_at)
    assert main(["check-config", str(config)]) == 0
    assert "reachable" in capsys.readouterr().out


def test_a_failed_statement_leaves_the_connection_usable(pg_at: str) -> None:
    store = Store.open(pg_at)
    with pytest.raises(StoreError, match="cannot read intervals"):
        store._interval_query("select nope from queue_intervals", [])
    assert store.change_escalation("queue-sl:a", TAKEN, "ann", T0).done


# -- the console on PostgreSQL ----------------------------------------------------------------


async def test_console_on_postgres_takes_an_item_and_survives_the_server_going_away(
        relayed: tuple[str, pg_server.Proxy], tmp_path: Path) -> None:
    from supervisor_tui.cli import build_app, build_parser
    from supervisor_tui.ui.app import SupervisorApp
    from tests.helpers import ScriptedSource, centre, make_config, screen_text, wait_for
    from tests.test_app_escalations import open_desk

    url, proxy = relayed
    config = tmp_path / "c.toml"
    config.write_text(f'[store]\nurl = "{url}"\n')
    # `supervisor-tui --config c.toml` opens the PostgreSQL store of [store] url
    built = build_app(build_parser().parse_args(["--config", str(config)]))
    assert isinstance(built, SupervisorApp) and built.store is not None
    assert built.store.db.dialect == "postgres" and not built.not_shared
    built.store.close()

    app = SupervisorApp(make_config(poll_interval_s=0.2), [ScriptedSource([centre()])],
                        store=Store.open(url), user="ann")
    async with app.run_test(size=(80, 24)) as pilot:
        grid = await open_desk(pilot)
        await pilot.press("t")  # ann takes the most severe item
        await wait_for(pilot, lambda: "Taken: c1 (vip)" in screen_text(app))
        taken = Store.open(url).escalation_states()[grid.cursor_key]
        assert (taken["state"], taken["owner"]) == ("taken", "ann")
        proxy.stop()  # the server goes away: the console says so and keeps going
        await wait_for(pilot, lambda: "cannot" in screen_text(app), timeout=15)
        await pilot.press("t")  # an action now: refused with the store's reason
        await wait_for(pilot, lambda: "cannot save escalation state: connection failed"
                       in screen_text(app), timeout=15)
        assert "notices unavailable: cannot read notices" in screen_text(app)
        assert app.is_running and app.board is not None


def test_a_role_with_row_rights_only_uses_the_tables_their_owner_made(
        pg_at: str, pg: pg_server.PgServer) -> None:
    from supervisor_tui.crisis.incidents import IncidentStore
    from supervisor_tui.crisis.paging import PageBook

    owner = Store.open(pg_at)  # the owner's first start makes the tables
    AuditLog(owner.db)
    PageBook(owner.db)
    owner.close()
    schema = pg_at.rsplit("search_path%3D", 1)[1]
    role = f"console_{schema}"
    raw = psycopg.connect(pg.url, autocommit=True)
    for sql in (f"CREATE ROLE {role} LOGIN", f"GRANT USAGE ON SCHEMA {schema} TO {role}",
                f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} "
                f"TO {role}", f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {schema} TO {role}"):
        raw.execute(sql)
    try:
        store = Store.open(pg_at.replace("postgres@", f"{role}@", 1))
        log = AuditLog(store.db)
        assert store.change_escalation("queue-sl:sales", TAKEN, "ann", T0).done
        log.append(user="ann", role="supervisor", action="take", subject="s", outcome="done")
        assert log.verify().ok
        incident = IncidentStore(store.db).declare(title="Payments down", severity="major",
                                                   queues=["sales"], user="ann", now=T0)
        assert incident.id == 1
        PageBook(store.db)
        with pytest.raises(psycopg.Error, match=r"must be owner|permission denied"):
            store.db.execute(f"DROP TABLE {AUDIT}")  # row rights only, as granted
        store.close()
    finally:
        raw.execute(f"DROP OWNED BY {role}")
        raw.execute(f"DROP ROLE {role}")
        raw.close()


# -- store copy: a SQLite store into PostgreSQL ------------------------------------------------


def test_store_copy_moves_a_sqlite_store_into_postgres_whole(
        pg_at: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from datetime import timedelta

    from supervisor_tui.store import RESOLVED

    path = tmp_path / "old.db"
    old = Store.open(path)
    assert old.change_escalation("queue-sl:sales", TAKEN, "ann", T0).done
    assert old.change_escalation("queue-sl:sales", TAKEN, "bob", T0, force=True).done
    old.add_escalation_note("queue-sl:sales", "bob", "calling back", T0)
    assert old.set_escalation_state("contact-wait:sim:c1", RESOLVED, "ann", T0)[0]
    old.record_history([{"ts": T0.isoformat(), "queue_id": "sales", "service_level": 0.8,
                         "waiting": 3, "longest_wait_s": 12.5, "offered": 10, "answered": 8,
                         "abandoned": 1}])
    assert old.set_live_setting("queue.sales.sl_target", "0.85", "ann", T0, 0).done
    log = AuditLog(old.db)
    fill(log, 4)
    service = service_for(hooks_config("http://127.0.0.1:9", "a"), old)
    declare(service)
    service.queue("t", {})
    audited = len(log.records())  # the fills, the declaration and the queued message
    assert audited > 5
    old.close()
    config = tmp_path / "c.toml"
    config.write_text(f'[store]\nurl = "{pg_at}"\n')

    assert main(["store", "copy", "--from", str(path), "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "audit_log" in out
    assert f"audit log: {audited} record(s), hash chain intact" in out

    before, after = Store.open(path), Store.open(pg_at)
    assert after.escalation_states() == before.escalation_states()
    assert after.notices_for("ann", T0 - timedelta(days=1)) == before.notices_for(
        "ann", T0 - timedelta(days=1))
    assert after.escalation_notes("queue-sl:sales") == before.escalation_notes(
        "queue-sl:sales")
    assert after.history_since(T0 - timedelta(days=1)) == before.history_since(
        T0 - timedelta(days=1))
    assert after.live_settings() == before.live_settings()
    moved = AuditLog(after.db)
    assert moved.records() == AuditLog(before.db).records()
    # ids go on after the copied ones; the chain goes on from the copied head
    after.add_escalation_note("queue-sl:sales", "ann", "done", T0)
    assert [n["id"] for n in after.escalation_notes("queue-sl:sales")] == [1, 2]
    assert moved.append(user="ann", role="supervisor", action="x", subject="s",
                        outcome="done")["id"] == audited + 1
    assert moved.verify().ok
    copied = service_for(hooks_config("http://127.0.0.1:9", "a"), after)
    assert [r.key for r in copied.status(include_settled=True)] == [
        r.key for r in service_for(hooks_config("http://127.0.0.1:9", "a"),
                                   before).status(include_settled=True)]
    assert declare(copied) == 2
    # never merged into a store that has rows
    assert main(["store", "copy", "--from", str(path), "--config", str(config)]) == 1
    assert "already has rows in" in capsys.readouterr().err


def test_reading_a_schedule_does_not_wait_for_a_writer(tmp_path: Path) -> None:
    # Every console re-reads the day's schedule; with another process in the middle of a
    # write (here: holding SQLite's write lock), the read answers at once, whole.
    from datetime import timedelta

    from supervisor_tui.domain.schedule import Expected, ScheduleEntry
    from supervisor_tui.store.schedules import read_schedule, save_schedule

    path = tmp_path / "store.db"
    store, writer = Store.open(path), Store.open(path)
    entries = [ScheduleEntry("Ana", T0, T0 + timedelta(hours=4), "Phones", Expected.ON_DUTY)]
    saved = save_schedule(store, "2026-11-22", entries, origin="day.csv", digest="d1",
                          rejected=0, user="ann", now=T0)
    empty = save_schedule(store, "2026-11-23", [], origin="none.csv", digest="d0",
                          rejected=0, user="ann", now=T0)
    with writer._transaction("hold the write lock"):  # (a wait would end "locked")
        assert read_schedule(store, "2026-11-22") == (saved, entries)
        assert read_schedule(store, "2026-11-23") == (empty, [])  # an import of nothing
        assert read_schedule(store, "2026-11-24") == (None, [])


def test_schedule_and_adherence_round_trip_on_both_backends(store_at: Path | str) -> None:
    from datetime import timedelta

    from supervisor_tui.domain.adherence import SavedAdherence
    from supervisor_tui.domain.schedule import Expected, ScheduleEntry
    from supervisor_tui.store.schedules import (
        read_adherence,
        read_schedule,
        save_schedule,
        write_adherence,
    )

    store, other = Store.open(store_at), Store.open(store_at)
    entries = [ScheduleEntry("Ana", T0, T0 + timedelta(hours=4), "Phones", Expected.ON_DUTY),
               ScheduleEntry("Ana", T0 + timedelta(hours=4), T0 + timedelta(hours=5),
                             "Lunch", Expected.AWAY)]
    first = save_schedule(store, "2026-11-22", entries, origin="day.csv", digest="d1",
                          rejected=0, user="ann", now=T0)
    again = save_schedule(other, "2026-11-22", entries[:1], origin="day.csv", digest="d2",
                          rejected=1, user="bob", now=T0)
    assert again.seq == first.seq + 1  # one import replaces the other, seq grows
    meta, read = read_schedule(store, "2026-11-22")
    assert meta == again and read == entries[:1]
    saved = {"sim:a1": SavedAdherence(scheduled_s=86399.123, out_s=61.3,
                                      until=T0 + timedelta(hours=4), first=T0)}
    write_adherence(store, "2026-11-22", saved)
    assert read_adherence(other, "2026-11-22") == saved  # seconds kept exactly
