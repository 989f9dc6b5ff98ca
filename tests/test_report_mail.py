"""The end-of-day report by e-mail (issue 16 item 6): ``[report] email_to`` / ``at``
through the crisis outbox to a real SMTP server on loopback (aiosmtpd): once a day across
two consoles on one store, not before ``at``, and ``report --email`` for cron hosts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest

from supervisor_tui.cli import main
from supervisor_tui.config import ConfigError, load_config, parse_config
from supervisor_tui.crisis.outbox import DELIVERED
from supervisor_tui.crisis.service import CrisisService
from supervisor_tui.domain.roles import Role
from supervisor_tui.report.mail import REPORT_INCIDENT, ReportMailer, plan_of, settings_of
from supervisor_tui.store import INTERVAL_COUNTERS, Store
from tests.crisis_helpers import smtp_server

DAY_START = datetime(2026, 11, 23, 9, tzinfo=UTC)
TO = ["director@example.com", "wfm@example.com"]


def seeded(db: Path) -> None:
    """Two closed intervals of one voice queue: 40 offered, SL 30/38 (hand-made)."""
    store = Store.open(db)
    row: dict[str, Any] = dict.fromkeys(INTERVAL_COUNTERS, 0) | {
        "queue_id": "sales", "interval_minutes": 30, "channel": "voice", "sl_target": 0.8,
        "threshold_s": 20.0, "agents_staffed_at_close": 4.0, "agents_needed_at_close": 4,
        "complete": 1, "offered": 20, "answered": 19, "answered_within_threshold": 15,
        "abandoned": 1, "handled": 19, "handle_s": 19 * 200.0, "wait_answered_s": 190.0}
    rows = [row | {"interval_start": (DAY_START + timedelta(minutes=30 * i)).isoformat()}
            for i in range(2)]
    store.record_intervals(rows, DAY_START, timedelta(days=35))  # type: ignore[arg-type]
    store.close()


def config_text(port: int) -> str:
    return (f'[console]\ntimezone = "UTC"\n'
            f'[report]\nemail_to = {TO!r}\nat = "18:30"\n'.replace("'", '"')
            + '[crisis.channels.mail]\ntype = "email"\nhost = "127.0.0.1"\n'
            f'port = {port}\nsecurity = "none"\nfrom_addr = "reports@example.com"\n'
            'to = ["ops@example.com"]\ntimeout_s = 5\n')


def test_report_email_sends_once_to_each_recipient(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "s.db"
    seeded(db)
    with smtp_server() as (sink, port):
        cfg = tmp_path / "c.toml"
        cfg.write_text(config_text(port), encoding="utf-8")
        argv = ["report", "--date", "2026-11-23", "--db", str(db), "--config", str(cfg),
                "--email"]
        assert main(argv) == 0
        err = capsys.readouterr().err
        assert err.count("delivered") == 2
        assert main(argv) == 0  # a second run (or another console) sends nothing more
        assert "already queued" in capsys.readouterr().err
    assert sorted(m[1] for m in sink.messages) == [[TO[0]], [TO[1]]]
    msg = message_from_bytes(sink.messages[0][2])
    assert msg["Subject"] == ("End-of-day report 2026-11-23 (UTC): live SL 78.9% vs 80.0% "
                              "target")  # 30 within 20 s / (38 answered + 0 after): 78.9%
    body = msg.get_payload(decode=True).decode()
    assert "# End-of-day report: 2026-11-23" in body and "| sales | 40 | 38 | 2 |" in body


def test_two_consoles_queue_the_days_mail_once_and_not_before_at(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    seeded(db)
    config = parse_config({"console": {"timezone": "Europe/Paris"},
                           "report": {"email_to": TO, "at": "18:30"},
                           "crisis": {"channels": {"mail": {
                               "type": "email", "host": "127.0.0.1", "port": 1,
                               "security": "none", "from_addr": "r@example.com",
                               "to": ["x@example.com"]}}}})
    plan = plan_of(config)
    assert plan is not None and plan.channel == "mail"
    one, two = Store.open(db), Store.open(db)
    first = ReportMailer(one, plan, settings_of(config), "console-1")
    second = ReportMailer(two, plan, settings_of(config), "console-2")
    # 18:29 in Paris is 17:29 UTC: not yet; 18:31 Paris: the first console queues it.
    assert first.run(datetime(2026, 11, 23, 17, 29, tzinfo=UTC)) is None
    queued = first.run(datetime(2026, 11, 23, 17, 31, tzinfo=UTC))
    assert queued is not None and len(queued.row_ids) == 2
    assert str(queued.day) == "2026-11-23"
    assert second.run(datetime(2026, 11, 23, 17, 32, tzinfo=UTC)) is None
    assert first.run(datetime(2026, 11, 23, 17, 40, tzinfo=UTC)) is None
    rows = one.db.query("select recipient, incident_id, subject from crisis_outbox")
    assert sorted(r["recipient"] for r in rows) == TO
    assert {r["incident_id"] for r in rows} == {REPORT_INCIDENT}
    # The next day: due again, once.
    nxt = second.run(datetime(2026, 11, 24, 17, 45, tzinfo=UTC))
    assert nxt is not None and str(nxt.day) == "2026-11-24"
    assert first.run(datetime(2026, 11, 24, 17, 46, tzinfo=UTC)) is None
    one.close()
    two.close()


def test_a_console_delivery_worker_sends_what_the_mailer_queued(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    seeded(db)
    with smtp_server() as (sink, port):
        cfg = tmp_path / "c.toml"
        cfg.write_text(config_text(port), encoding="utf-8")
        config = load_config(cfg, required=True)
        plan = plan_of(config)
        assert plan is not None
        store = Store.open(db)
        queued = ReportMailer(store, plan, settings_of(config), "ann").run(
            datetime(2026, 11, 23, 18, 45, tzinfo=UTC))
        assert queued is not None
        service = CrisisService(config.crisis, store.db, user="ann", role=Role.SUPERVISOR,
                                audit=None)

        async def deliver() -> list[Any]:
            try:
                return await service.worker.drain(queued.row_ids, None)
            finally:
                await service.aclose()

        rows = asyncio.run(deliver())
        store.close()
    assert [r.state for r in rows] == [DELIVERED, DELIVERED]
    assert len(sink.messages) == 2


def test_report_mail_config_is_checked() -> None:
    with pytest.raises(ConfigError, match=r"needs a \[crisis.channels\] channel of type"):
        parse_config({"report": {"email_to": TO}})
    with pytest.raises(ConfigError, match="not a time of day"):
        parse_config({"report": {"at": "6pm"}})
    with pytest.raises(ConfigError, match="not e-mail addresses"):
        parse_config({"report": {"email_to": ["nobody"]}})
    hook = {"type": "webhook", "url": "https://example.com/h"}
    with pytest.raises(ConfigError, match="mail is a webhook channel"):
        parse_config({"report": {"email_to": TO, "channel": "mail"},
                      "crisis": {"channels": {"mail": hook}}})
    assert plan_of(parse_config({})) is None


def test_email_without_config_is_a_clear_message(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "s.db"
    seeded(db)
    assert main(["report", "--date", "2026-11-23", "--db", str(db), "--email"]) == 2
    assert "--email needs [report] email_to" in capsys.readouterr().err


def test_an_unreadable_mails_table_is_a_store_message_not_a_driver_error(
        tmp_path: Path) -> None:
    """A store whose report-mails table is not what this version wrote (an old or
    hand-edited file): asking whether the day's mail went says so as a store error."""
    from datetime import date

    from supervisor_tui.report.mail import sent_for
    from supervisor_tui.store import StoreError

    store = Store.open(tmp_path / "s.db")
    store.db.execute("CREATE TABLE report_mails (day TEXT PRIMARY KEY)")  # no message_id
    with pytest.raises(StoreError, match=r"^cannot read the report mails: .*message_id"):
        sent_for(store, date(2026, 3, 2))
