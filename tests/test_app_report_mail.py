"""The console e-mails the end-of-day report once ``[report] at`` has passed (80x24): its
minute check queues today's report through the crisis outbox and its delivery worker
sends it to a real SMTP server on loopback; a second console on the same store, and a
second check, send nothing more; a wall (read-only) console never queues it."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes
from pathlib import Path

from supervisor_tui.config import Config, parse_config
from supervisor_tui.store import Store
from supervisor_tui.ui.app import SupervisorApp
from tests.crisis_helpers import smtp_server
from tests.helpers import ScriptedSource, centre, wait_for

NOW = datetime(2026, 11, 22, 18, 31, tzinfo=UTC)  # past 18:30 in UTC


def mail_config(port: int) -> Config:
    return parse_config({
        "console": {"timezone": "UTC", "poll_interval_s": 0.2},
        "report": {"email_to": ["director@example.com"], "at": "18:30"},
        "crisis": {"channels": {"mail": {
            "type": "email", "host": "127.0.0.1", "port": port, "security": "none",
            "from_addr": "reports@example.com", "to": ["ops@example.com"],
            "timeout_s": 5}}}}, "test")


async def test_the_console_mails_todays_report_once(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with smtp_server() as (sink, port):
        config = mail_config(port)
        app = SupervisorApp(config, [ScriptedSource([centre()])], store=Store.open(db),
                            user="ann", clock=lambda: NOW)
        other = SupervisorApp(config, [ScriptedSource([centre()])], store=Store.open(db),
                              user="bob", clock=lambda: NOW)
        wall = SupervisorApp(config, [ScriptedSource([centre()])], store=Store.open(db),
                             user="tv", clock=lambda: NOW, read_only=True)
        assert not hasattr(wall, "_report_mailer")  # (set up on mount, below)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: app.board is not None)
            app._report_mail_tick()  # the minute timer's call, now
            await wait_for(pilot, lambda: len(sink.messages) == 1)
            app._report_mail_tick()
            await pilot.pause(0.3)
        async with other.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: other.board is not None)
            other._report_mail_tick()  # another console on the store: already queued
            await pilot.pause(0.3)
        async with wall.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: wall.board is not None)
            assert not hasattr(wall, "_report_mailer")  # a wall only looks
    assert len(sink.messages) == 1
    msg = message_from_bytes(sink.messages[0][2])
    assert msg["To"] == "director@example.com"
    assert msg["Subject"].startswith("End-of-day report 2026-11-22 (UTC)")
    assert "No data stored for this day" in msg.get_payload(decode=True).decode()
