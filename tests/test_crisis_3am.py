"""Crisis communications that work at 3 a.m.: a channel whose secret is missing here
does not block the others (tick boxes), is never taken or failed by a console that
cannot send it, and is reported at start-up and by check-config; the built-in floor
broadcast needs no config; resolving warns about undelivered customer messages; the
all clear stays on the banner; an attempt whose outcome is unknown is not re-sent on a
channel that keeps every copy until a long wait has passed."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Checkbox, Static

from supervisor_tui.config import Role, RolesConfig
from supervisor_tui.crisis.config import CrisisConfig
from supervisor_tui.crisis.outbox import DELIVERED, QUEUED, RETRYING
from supervisor_tui.crisis.service import CrisisService
from supervisor_tui.store import Store
from supervisor_tui.store.audit import AuditLog
from supervisor_tui.ui.app import SupervisorApp
from supervisor_tui.ui.screens.crisis import CrisisScreen
from supervisor_tui.ui.screens.crisis_forms import SendForm
from supervisor_tui.ui.widgets.grid import Grid
from tests.crisis_helpers import ENV, FakeClock, Receiver, crisis_config
from tests.helpers import ScriptedSource, centre, make_config, screen_text, wait_for
from tests.test_app_crisis import confirm, declare, open_crisis, preview_of, tab_to


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def console(db: Path, crisis: CrisisConfig, user: str = "ann") -> SupervisorApp:
    config = make_config(poll_interval_s=0.2).model_copy(update={
        "crisis": crisis, "roles": RolesConfig(users={"ann": Role.ADMIN})})
    return SupervisorApp(config, [ScriptedSource([centre()])], store=Store.open(db),
                         user=user)


def fast(url: str, **extra: object) -> CrisisConfig:
    return crisis_config(url, delivery={"backoff_base_s": 0.05, "backoff_max_s": 0.2,
                                        "poll_s": 0.2}, **extra)  # type: ignore[arg-type]


def states(app: SupervisorApp) -> dict[str, str]:
    grid = app.screen.query_one("#deliveries", Grid)
    return {row.target: row.state for row in grid.rows}


async def test_a_missing_secret_unticks_its_channel_and_the_rest_is_sent(
        tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("TWILIO_TOKEN")  # this console has no SMS credentials
    app = console(tmp_path / "s.db", fast(receiver.url))
    async with app.run_test(size=(80, 24)) as pilot:
        # Said at start-up, before anyone needs it.
        await wait_for(pilot, lambda: any("customers_sms: TWILIO_TOKEN not set here" in
                                          n.message for n in app._notifications))
        await open_crisis(pilot)
        assert "⚠ cannot send here: customers_sms: TWILIO_TOKEN not set" in screen_text(app)
        await declare(pilot)
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, SendForm))
        form = app.screen
        assert not form.query_one("#ch-customers_sms", Checkbox).value
        # Ticked or not is a shape, not only a colour.
        await wait_for(pilot, lambda: "▐ ▌ customers_sms (sms)" in screen_text(app))
        assert "▐✓▌ hook (webhook)" in screen_text(app)
        assert form.query_one("#ch-ops_slack", Checkbox).value
        notes = form.query_one("#channel-notes", Static).content.plain  # type: ignore[union-attr]
        assert "✗ customers_sms: TWILIO_TOKEN not set here — unticked" in notes
        assert "customers_sms" not in preview_of(app)
        assert "✓ 5 channel(s), 5 delivery(ies)." in preview_of(app)
        # Untick Slack too, with the keyboard.
        await tab_to(pilot, "ch-ops_slack")
        await pilot.press("space")
        await wait_for(pilot, lambda: "ops_slack" not in preview_of(app))
        assert "✓ 4 channel(s), 4 delivery(ies)." in preview_of(app)
        await confirm(pilot, "SEND")
        await wait_for(pilot, lambda: isinstance(app.screen, CrisisScreen))
        await wait_for(pilot, lambda: states(app) and set(states(app).values()) == {DELIVERED})
        assert set(states(app)) == {"hook", "ops_teams", "status", "floor → consoles"}
        # The floor banner went out although SMS could not.
        await wait_for(pilot, lambda: "TO AGENTS" in screen_text(app))
        queued = [r for r in app.audit.records()  # type: ignore[union-attr]
                  if r["action"] == "crisis_message"]
        assert queued[0]["params"]["channels"] == ["hook", "ops_teams", "status", "floor"]
    assert receiver.to("/slack") == [] and receiver.to("/2010-04-01") == []


async def test_ticking_a_broken_channel_refuses_with_the_reason(
        tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SP_KEY")
    app = console(tmp_path / "s.db", fast(receiver.url))
    async with app.run_test(size=(120, 40)) as pilot:
        await open_crisis(pilot)
        await declare(pilot)
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, SendForm))
        await tab_to(pilot, "ch-status")
        await pilot.press("space")  # tick it anyway
        await wait_for(pilot, lambda: "environment variable SP_KEY is not set"
                       in preview_of(app))
        await confirm(pilot, "SEND")
        assert isinstance(app.screen, SendForm)
        assert "untick a broken channel to send to the others" in screen_text(app)
        assert app.crisis.status() == []  # type: ignore[union-attr]


def service(db: Store, config: CrisisConfig, env: dict[str, str], user: str,
            clock: FakeClock | None = None) -> CrisisService:
    clock = clock or FakeClock()
    return CrisisService(config, db.db, user=user, role=Role.ADMIN, audit=AuditLog(db.db),
                         env=env, clock=clock, sleep=clock.sleep, rng=random.Random(1))


async def test_a_console_without_a_secret_leaves_those_rows_to_one_that_has_it(
        tmp_path: Path, receiver: Receiver) -> None:
    db = tmp_path / "s.db"
    config = crisis_config(receiver.url)
    able = service(Store.open(db), config, ENV, "day")
    able.declare("Payments down", "critical", ["Sales"], "long waits", "11:00")
    queued = able.queue("outage", {}, channels=["customers_sms", "hook"])
    # A console without the SMS secret gets there first.
    lacking = service(Store.open(db), config, {k: v for k, v in ENV.items()
                                               if k != "TWILIO_TOKEN"}, "night")
    rows = await lacking.deliver(wait_s=5)
    by = {r.target: r for r in lacking.deliveries(queued.message_id)}
    assert by["hook"].state == DELIVERED and by["hook"].attempt_by == lacking.worker.by
    sms = by["customers_sms → +447700900001"]
    # Not claimed, not attempted, not failed: left queued for a console that can.
    assert (sms.state, sms.attempts, sms.attempt_by) == (QUEUED, 0, None)
    assert lacking.waiting_for_source(sms) == "needs TWILIO_TOKEN (not set here)"
    assert receiver.to("/2010-04-01") == [] and len(rows) == 3
    await able.deliver(wait_s=5)
    sms = {r.target: r for r in able.deliveries(queued.message_id)}[
        "customers_sms → +447700900001"]
    assert sms.state == DELIVERED and sms.attempt_by == able.worker.by
    assert sms.attempt_by.startswith("day@")
    sends = [r for r in able.audit.records() if r["action"] == "crisis_send"]
    assert {r["params"]["console"] for r in sends} == {lacking.worker.owner,
                                                       able.worker.owner}


async def test_an_unknown_outcome_on_sms_waits_long_the_webhook_retries_at_once(
        receiver: Receiver) -> None:
    # Both receivers take the request and never answer in time.
    receiver.plan(1, 200, path="/2010-04-01", hang_s=3)
    receiver.plan(1, 200, path="/hook", hang_s=3)
    config = crisis_config(receiver.url, delivery={"unknown_outcome_wait_s": 600},
                           channels={"customers_sms": {
                               "type": "sms", "account_sid": "AC" + "0" * 32,
                               "auth_token_env": "TWILIO_TOKEN",
                               "from_number": "+15005550006", "to": ["+447700900001"],
                               "base_url": receiver.url, "timeout_s": 0.5},
                               "hook": {"type": "webhook", "url": f"{receiver.url}/hook",
                                        "timeout_s": 0.5}})
    clock = FakeClock()
    svc = service(Store.open(None), config, ENV, "ann", clock)
    svc.declare("Payments down", "critical", ["Sales"], "long waits", "11:00")
    queued = svc.queue("outage", {}, channels=["customers_sms", "hook"])
    await svc.worker.deliver_due()
    by = {r.channel: r for r in svc.deliveries(queued.message_id)}
    hook, sms = by["hook"], by["customers_sms"]
    assert sms.state == RETRYING and sms.unknown
    assert sms.next_attempt_at >= clock.now.timestamp() + 600
    assert hook.state == RETRYING and not hook.unknown  # the receiver drops repeats
    assert hook.next_attempt_at < clock.now.timestamp() + 5
    kinds = [e.kind for e in svc.timeline(1)]
    assert "unknown" in kinds
    report = await svc.send_queued(queued, wait_s=100)  # 100 s later: still held
    by = {r.channel: r for r in report.rows}
    assert by["hook"].state == DELIVERED and by["customers_sms"].state == RETRYING
    assert len(receiver.to("/2010-04-01")) == 1  # one copy, not one per retry
    await svc.send_queued(queued, wait_s=700)
    assert {r.state for r in svc.deliveries(queued.message_id)} == {DELIVERED}
    assert len(receiver.to("/2010-04-01")) == 2


async def test_no_config_at_all_still_broadcasts_to_the_floor(tmp_path: Path) -> None:
    app = console(tmp_path / "s.db", CrisisConfig())
    async with app.run_test(size=(80, 24)) as pilot:
        await open_crisis(pilot)
        await declare(pilot)
        await pilot.press("s")  # the first message: the built-in notice
        await wait_for(pilot, lambda: isinstance(app.screen, SendForm))
        assert app.screen.template == "floor_notice"  # type: ignore[attr-defined]
        assert "Payments down: long waits. Next update by 11:30." in preview_of(app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, CrisisScreen))
        await pilot.press("u")  # a follow-up: free text
        await wait_for(pilot, lambda: isinstance(app.screen, SendForm))
        assert app.screen.template == "floor_message"  # type: ignore[attr-defined]
        await confirm(pilot, "SEND")
        assert "no value for ${message} (fill in message)" in screen_text(app)
        await tab_to(pilot, "var-message")
        await pilot.press(*"Use the overflow script")
        await confirm(pilot, "SEND")
        await wait_for(pilot, lambda: isinstance(app.screen, CrisisScreen))
        await wait_for(pilot, lambda: "TO AGENTS" in screen_text(app))
        line = next(x for x in screen_text(app).splitlines() if "TO AGENTS" in x)
        assert "Use the overflow script" in line


async def test_resolving_warns_about_undelivered_customer_messages_and_all_clear_stays(
        tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    receiver.plan(99, 503, path="/2010-04-01")  # the SMS provider is down
    app = console(tmp_path / "s.db", fast(receiver.url))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_crisis(pilot)
        await declare(pilot)
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, SendForm))
        await confirm(pilot, "SEND")
        await wait_for(pilot, lambda: isinstance(app.screen, CrisisScreen))
        await wait_for(pilot, lambda: states(app).get("customers_sms → +447700900001")
                       == RETRYING)
        await pilot.press("r")  # the all clear
        await wait_for(pilot, lambda: isinstance(app.screen, SendForm))
        title = app.screen.query_one("#send-title", Static).content.plain  # type: ignore[union-attr]
        assert ("⚠ 2 earlier message(s) to customers not delivered: customers_sms → "
                "+447700900001 (pending)") in title
        assert "earlier message(s) to customers" in screen_text(app)
        await confirm(pilot, "RESOLVE")
        await wait_for(pilot, lambda: isinstance(app.screen, CrisisScreen))
        await wait_for(pilot, lambda: "✓ ALL CLEAR" in screen_text(app))
        await pilot.pause(1.5)  # it stays (all_clear_banner_s, 300 s by default)
        assert "✓ ALL CLEAR  #1 Payments down · resolved" in screen_text(app)


def test_check_config_warns_about_every_missing_secret(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from supervisor_tui.cli import main

    for name in ("CRISIS_WEBHOOK_SECRET", "CRISIS_SLACK_URL", "CRISIS_TEAMS_URL",
                 "CRISIS_SMTP_PASSWORD", "TWILIO_AUTH_TOKEN", "STATUSPAGE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CRISIS_SLACK_URL", "https://hooks.slack.com/x")
    root = Path(__file__).resolve().parent.parent
    assert main(["check-config", str(root / "config.example.toml")]) == 0
    out = capsys.readouterr().out
    assert "OK" in out and "built in: floor_message, floor_notice" in out
    warned = [line for line in out.splitlines() if "warning: crisis channel" in line]
    assert len(warned) == 5
    assert ("  warning: crisis channel customers_sms cannot send from here: "
            "TWILIO_AUTH_TOKEN is not set") in warned
    assert not any("ops_slack" in line for line in warned)


async def test_the_screen_shows_outcome_unknown_rows(
        tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    # The SMS provider takes both requests and answers after our 2 s timeout.
    receiver.plan(2, 201, path="/2010-04-01", hang_s=4)
    app = console(tmp_path / "s.db", fast(receiver.url))
    async with app.run_test(size=(120, 30)) as pilot:
        await open_crisis(pilot)
        await declare(pilot)
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, SendForm))
        await confirm(pilot, "SEND")
        await wait_for(pilot, lambda: isinstance(app.screen, CrisisScreen))
        await wait_for(pilot, lambda: screen_text(app).count("? unknown") == 2)
        line = next(x for x in screen_text(app).splitlines()
                    if "customers_sms → +447700900001" in x)
        assert "may have arrived; not re-sent for 14:5" in line
        assert "(2 outcome unknown)" in screen_text(app)
        await pilot.pause(1.0)  # the worker keeps its hands off them
    assert len(receiver.to("/2010-04-01")) == 2


async def test_the_tick_box_key_is_in_the_footer(tmp_path: Path) -> None:
    app = console(tmp_path / "s.db", CrisisConfig())
    async with app.run_test(size=(100, 30)) as pilot:
        await open_crisis(pilot)
        await declare(pilot)
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, SendForm))
        await tab_to(pilot, "ch-floor")
        await wait_for(pilot, lambda: "Tick/untick channel" in screen_text(app))
        await pilot.press("space")
        await wait_for(pilot, lambda: "No channel ticked" in preview_of(app))
