"""Crisis screen, dialogs and incident banner, driven with keys against a real loopback
receiver (tests/crisis_helpers.py): from template to delivered, refusals, a failing
channel, the timeline and export, and the banner shared by two consoles on one store."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Input, Static

from supervisor_tui.config import Role, RolesConfig
from supervisor_tui.crisis.outbox import DELIVERED
from supervisor_tui.store import Store
from supervisor_tui.ui.app import SupervisorApp
from supervisor_tui.ui.screens.crisis import CrisisScreen
from supervisor_tui.ui.screens.crisis_forms import DeclareForm, SendForm
from supervisor_tui.ui.widgets.grid import Grid
from supervisor_tui.ui.widgets.incident_banner import IncidentBanner
from tests.crisis_helpers import ENV, Receiver, crisis_config
from tests.helpers import ScriptedSource, centre, make_config, screen_text, wait_for

CHANNELS = ("hook", "ops_slack", "ops_teams", "status", "customers_sms → +447700900001",
            "customers_sms → +447700900002", "floor → consoles")


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    for name, value in ENV.items():  # the channels' secrets
        monkeypatch.setenv(name, value)
    r = Receiver()
    yield r
    r.close()


def console(db: Path, receiver: Receiver, user: str = "ann",
            read_only: bool = False) -> SupervisorApp:
    """ann is an admin; everyone else a supervisor (the default role)."""
    crisis = crisis_config(receiver.url, delivery={"backoff_base_s": 0.05,
                                                   "backoff_max_s": 0.2, "poll_s": 0.2})
    config = make_config(poll_interval_s=0.2).model_copy(update={
        "crisis": crisis, "roles": RolesConfig(users={"ann": Role.ADMIN})})
    return SupervisorApp(config, [ScriptedSource([centre()])], store=Store.open(db),
                         user=user, read_only=read_only)


def focused_id(app: SupervisorApp) -> str | None:
    return app.focused.id if app.focused is not None else None


async def tab_to(pilot, widget_id: str, limit: int = 30) -> None:  # type: ignore[no-untyped-def]
    """Keyboard only: tab until ``widget_id`` has the focus."""
    for _ in range(limit):
        if focused_id(pilot.app) == widget_id:
            return
        await pilot.press("tab")
    raise AssertionError(f"could not tab to #{widget_id}")


async def open_crisis(pilot) -> CrisisScreen:  # type: ignore[no-untyped-def]
    await wait_for(pilot, lambda: pilot.app.board is not None)
    await pilot.press("c")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, CrisisScreen))
    return pilot.app.screen


async def declare(pilot, title: str = "Payments down") -> None:  # type: ignore[no-untyped-def]
    app = pilot.app
    await pilot.press("i")
    await wait_for(pilot, lambda: isinstance(app.screen, DeclareForm))
    # The queues in trouble now (Sales: a VIP waiting past its threshold) are offered.
    assert app.screen.query_one("#queues", Input).value == "Sales"
    await pilot.press(*title, "enter")  # Enter moves on; it never declares
    assert isinstance(app.screen, DeclareForm) and focused_id(app) == "severity"
    await pilot.press("enter", "up", "enter")  # severity: major -> critical
    await tab_to(pilot, "impact")
    await pilot.press(*"long waits", "enter", *"11:30", "enter")
    assert focused_id(app) == "confirm"
    await pilot.press(*"DECLARE", "enter")
    await wait_for(pilot, lambda: not isinstance(app.screen, DeclareForm))


async def confirm(pilot, word: str) -> None:  # type: ignore[no-untyped-def]
    await tab_to(pilot, "confirm")
    await pilot.press(*word, "enter")


def preview_of(app: SupervisorApp) -> str:
    return app.screen.query_one("#preview", Static).content.plain  # type: ignore[union-attr]


def deliveries(app: SupervisorApp) -> dict[str, str]:
    grid = app.screen.query_one("#deliveries", Grid)
    return {row.target: row.state for row in grid.rows}


async def test_admin_declares_previews_confirms_and_sees_every_channel_delivered(
        tmp_path: Path, receiver: Receiver) -> None:
    app = console(tmp_path / "s.db", receiver)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_crisis(pilot)
        assert "No incidents. Press i to declare one." in screen_text(app)
        await declare(pilot)
        await wait_for(pilot, lambda: "‼ CRITICAL" in screen_text(app))
        incident = app.crisis.target_incident()  # type: ignore[union-attr]
        assert (incident.title, incident.severity, incident.queues) == (
            "Payments down", "critical", ("Sales",))
        assert (incident.impact, incident.eta) == ("long waits", "11:30")

        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, SendForm))
        form = app.screen
        assert form.template == "outage"
        # Variables are prefilled from the incident; the preview is the exact text.
        assert form.query_one("#var-impact", Input).value == "long waits"
        text = preview_of(app)
        assert "── hook (webhook) — 91/10000 characters" in text
        assert "Subject: [critical] Payments down" in text
        assert "We are seeing long waits on Sales. Next update by 11:30." in text
        assert ("── customers_sms (sms) to +447700900001, +447700900002 — GSM-7, 43 septets, "
                "1 segment (max 3), 2 segment(s) to all recipients") in text
        assert "Payments down: long waits. Update by 11:30." in text
        assert "── floor (agents) to consoles" in text
        assert "OUTAGE Payments down: tell callers long waits" in text
        assert "✓ 6 channel(s), 7 delivery(ies)." in text

        await pilot.press("enter")  # Enter on a variable moves on: nothing is sent
        await confirm(pilot, "SNED")
        assert isinstance(app.screen, SendForm) and receiver.requests == []
        assert "Type SEND to confirm" in screen_text(app)
        await confirm(pilot, "SEND")
        await wait_for(pilot, lambda: isinstance(app.screen, CrisisScreen))

        await wait_for(pilot, lambda: deliveries(app) == dict.fromkeys(CHANNELS, DELIVERED))
        await wait_for(pilot, lambda: screen_text(app).count("✓ delivered") == len(CHANNELS))
        # The agents channel: a broadcast line in the banner of every console.
        await wait_for(pilot, lambda: "TO AGENTS" in screen_text(app))
        assert "OUTAGE Payments down: tell callers long waits" in screen_text(app)
        rows = {r.target: r for r in app.crisis.deliveries(1)}  # type: ignore[union-attr]

    # Exactly one request per (channel, recipient), each with its delivery's key.
    assert len(receiver.requests) == 6
    assert [len(receiver.to(p)) for p in ("/hook", "/slack", "/teams", "/v1/pages")] == [
        1, 1, 1, 1]
    assert receiver.to("/hook")[0].key == rows["hook"].key
    assert receiver.to("/slack")[0].headers["idempotency-key"] == rows["ops_slack"].key
    assert receiver.to("/v1/pages")[0].key == rows["status"].key
    sms = {r.form()["To"]: r.key for r in receiver.to("/2010-04-01")}
    assert sms == {"+447700900001": rows["customers_sms → +447700900001"].key,
                   "+447700900002": rows["customers_sms → +447700900002"].key}
    assert all(r.key for r in receiver.requests)


async def test_preview_problems_refuse_the_send(tmp_path: Path, receiver: Receiver) -> None:
    app = console(tmp_path / "s.db", receiver)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_crisis(pilot)
        app.crisis.declare("Payments down", "major", ["Sales"], "long waits", "11:30")  # type: ignore[union-attr]
        incidents = app.screen.query_one("#incidents", Grid)
        await wait_for(pilot, lambda: len(incidents.rows) == 1)  # the next tick shows it
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, SendForm))
        app.screen.query_one("#var-impact", Input).value = "x" * 500
        await wait_for(pilot, lambda: "SMS segments" in preview_of(app))
        assert "✗ 4 SMS segments (GSM-7); the limit is 3" in preview_of(app)
        app.screen.query_one("#var-eta", Input).value = ""
        await wait_for(pilot, lambda: "no value for ${eta} (fill in eta)" in preview_of(app))
        await confirm(pilot, "SEND")
        assert isinstance(app.screen, SendForm)
        assert "Not sent: " in screen_text(app)
        assert receiver.requests == [] and app.crisis.status() == []  # type: ignore[union-attr]
        # Another template: its own fields and preview; what was typed is kept.
        await tab_to(pilot, "template")
        await pilot.press("enter", "down", "enter")  # all_clear, outage (shown), update
        await wait_for(pilot, lambda: app.screen.template == "update")  # type: ignore[attr-defined]
        await wait_for(pilot, lambda: "── status (statuspage)" in preview_of(app))
        assert not app.screen.query("#var-status_url")
        assert app.screen.query_one("#var-impact", Input).value == "x" * 500
        assert "Update: " + "x" * 20 in preview_of(app)


async def test_supervisor_and_viewer_are_refused_with_the_reason(
        tmp_path: Path, receiver: Receiver) -> None:
    db = tmp_path / "s.db"
    app = console(db, receiver, user="bob")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_crisis(pilot)
        assert "⛔ bob is a supervisor; crisis message needs admin" in screen_text(app)
        # The empty list offers no key that would only be refused, and says why.
        assert "No incidents. (bob is a supervisor; crisis declare" in screen_text(app)
        assert "Press i" not in screen_text(app)
        for key in ("i", "s", "r"):
            await pilot.press(key)
            await pilot.pause(0.05)
            assert isinstance(app.screen, CrisisScreen)  # no dialog opened
        notices = [n.message for n in app._notifications]
        assert "bob is a supervisor; crisis declare needs admin" in notices
        assert "bob is a supervisor; crisis message needs admin" in notices
        assert "bob is a supervisor; crisis resolve needs admin" in notices
        refused = [r for r in app.audit.records() if r["outcome"] == "refused"]  # type: ignore[union-attr]
        assert [r["action"] for r in refused] == ["crisis_declare", "crisis_message",
                                                  "crisis_resolve"]
    viewer = console(db, receiver, user="guest", read_only=True)
    async with viewer.run_test(size=(80, 24)) as pilot:
        await open_crisis(pilot)
        assert "read-only console: view and export only" in screen_text(viewer)
        assert viewer._crisis_worker is None  # a read-only console never sends
        await pilot.press("i")
        await pilot.pause(0.05)
        assert isinstance(viewer.screen, CrisisScreen)
        assert "guest is a viewer; crisis declare needs admin" in [
            n.message for n in viewer._notifications]


async def test_banner_shows_on_a_second_console_and_stays_as_all_clear_when_resolved(
        tmp_path: Path, receiver: Receiver) -> None:
    db = tmp_path / "shared.db"
    ann, bob = console(db, receiver), console(db, receiver, user="bob")
    async with ann.run_test(size=(80, 24)) as pa, bob.run_test(size=(80, 24)) as pb:
        await wait_for(pb, lambda: bob.board is not None)
        banner = bob.screen.query_one(IncidentBanner)
        assert not banner.display and "CRITICAL" not in screen_text(bob)
        await open_crisis(pa)
        await declare(pa)
        # bob's dashboard shows it within one poll (0.2 s here; the tick is 1 s).
        await wait_for(pb, lambda: "‼ CRITICAL" in screen_text(bob), timeout=1.0)
        line = next(x for x in screen_text(bob).splitlines() if "CRITICAL" in x)
        assert "#1 Payments down · Sales · ETA 11:30 · long waits" in line
        assert banner.display
        await pb.press("e")  # every main screen carries it
        await wait_for(pb, lambda: "‼ CRITICAL" in screen_text(bob))

        await pa.press("r")  # an all-clear template exists: resolve by sending it
        await wait_for(pa, lambda: isinstance(ann.screen, SendForm))
        assert ann.screen.template == "all_clear"
        assert "also resolves the incident" in screen_text(ann)
        await confirm(pa, "SEND")  # the word for an all clear is RESOLVE
        assert isinstance(ann.screen, SendForm)
        await confirm(pa, "RESOLVE")
        await wait_for(pa, lambda: isinstance(ann.screen, CrisisScreen))
        await wait_for(pb, lambda: "CRITICAL" not in screen_text(bob), timeout=1.5)
        # The all clear stays on every console's banner ([crisis] all_clear_banner_s).
        assert bob.screen.query_one(IncidentBanner).display
        line = next(x for x in screen_text(bob).splitlines() if "ALL CLEAR" in x)
        assert "✓ ALL CLEAR  #1 Payments down · resolved" in line
        await wait_for(pa, lambda: "CRITICAL" not in screen_text(ann).splitlines()[1])
        assert not ann.crisis.active_incidents()  # type: ignore[union-attr]
        await pb.pause(1.2)  # a few ticks later it is still there
        assert "✓ ALL CLEAR" in screen_text(bob)


async def test_a_failing_channel_shows_failed_with_the_reason_then_retries(
        tmp_path: Path, receiver: Receiver) -> None:
    receiver.plan(1, 401, path="/slack", body=b"invalid_token")
    app = console(tmp_path / "s.db", receiver)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_crisis(pilot)
        await declare(pilot)
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, SendForm))
        await confirm(pilot, "SEND")
        await wait_for(pilot, lambda: deliveries(app).get("ops_slack") == "failed")
        await wait_for(pilot, lambda: "HTTP 401: invalid_token" in screen_text(app))
        line = next(x for x in screen_text(app).splitlines() if "ops_slack" in x)
        assert "✗ failed" in line and "HTTP 401: invalid_token" in line
        assert "✗ 1 failed" in screen_text(app)
        await wait_for(pilot, lambda: sorted(set(deliveries(app).values())) == [
            "delivered", "failed"])
        await tab_to(pilot, "deliveries")
        await pilot.press("down")  # the whole reason of the row under the cursor
        # ... and which console made the attempt (user@host:pid).
        await wait_for(pilot, lambda: "ops_slack ✗ failed (attempt 1 by ann@" in screen_text(app))
        assert f":{os.getpid()}) HTTP 401: invalid_token" in screen_text(app)
        await pilot.press("f")  # the credential is fixed: queue it again, same key
        await wait_for(pilot, lambda: deliveries(app).get("ops_slack") == DELIVERED)
        first, second = receiver.to("/slack")
        assert first.key == second.key


async def test_timeline_note_and_export(tmp_path: Path, receiver: Receiver,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    app = console(tmp_path / "s.db", receiver)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_crisis(pilot)
        await declare(pilot)
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, SendForm))
        await confirm(pilot, "SEND")
        await wait_for(pilot, lambda: set(deliveries(app).values()) == {DELIVERED})
        await pilot.press("n", *"opened overflow to billing", "enter")
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, SendForm))
        await confirm(pilot, "RESOLVE")
        await wait_for(pilot, lambda: isinstance(app.screen, CrisisScreen))
        await pilot.press("t")
        timeline = app.screen.query_one("#timeline", Grid)
        await wait_for(pilot, lambda: any(e.kind == "resolved" for e in timeline.rows))
        kinds = [e.kind for e in timeline.rows]
        assert kinds[0] == "declared"
        for kind in ("declared", "message", "delivered", "note", "resolved"):
            assert kind in kinds
        assert kinds.count("message") == 2  # the outage, then the all clear
        assert "Timeline of #1 Payments down" in screen_text(app)
        assert "opened overflow to billing" in screen_text(app)

        await pilot.press("x")  # the default file name, in the current directory
        path = tmp_path / "incident-1.md"
        assert app.screen.query_one("#crisis-input", Input).value == str(path)
        await pilot.press("enter")
        await wait_for(pilot, lambda: path.exists())
        document = path.read_text()
        assert document.startswith("# Incident #1: Payments down\n")
        assert "| note | ann | opened overflow to billing |" in document
        assert "### Message 2: template `all_clear` (resolved)" in document
        assert any(str(path) in n.message for n in app._notifications)
        assert "exported to" in screen_text(app)


async def test_console_resumes_what_was_left_queued(tmp_path: Path, receiver: Receiver) -> None:
    """Queued by a process that died before sending: a console delivers it on start."""
    from supervisor_tui.crisis.service import CrisisService
    from supervisor_tui.store.audit import AuditLog

    db = tmp_path / "s.db"
    store = Store.open(db)
    left = CrisisService(crisis_config(receiver.url), store.db, user="ann", role=Role.ADMIN,
                         audit=AuditLog(store.db))
    left.declare("Payments down", "critical", ["Sales"], "long waits", "11:30")
    queued = left.queue("update", {})
    store.close()
    app = console(db, receiver, user="bob")  # delivering needs no role
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: len(receiver.requests) == len(queued.row_ids))
        await open_crisis(pilot)
        await wait_for(pilot, lambda: set(deliveries(app).values()) == {DELIVERED})
        assert "‼ CRITICAL" in screen_text(app)


def test_banner_text_most_severe_first_markup_as_data() -> None:
    from datetime import timedelta

    from supervisor_tui.crisis.incidents import IncidentStore
    from supervisor_tui.ui.widgets.incident_banner import render_banners
    from tests.crisis_helpers import T0

    incidents = IncidentStore(Store.open(None).db)
    incidents.declare(title="Chat slow", severity="minor", queues=[], user="ann", now=T0)
    incidents.declare(title="[bold red]IVR[/] down\x1b[2J", severity="critical",
                      queues=["Sales", "Billing"], user="ann", now=T0, eta="11:30")
    for n in range(3):
        incidents.declare(title=f"extra {n}", severity="major", queues=[], user="ann", now=T0)
    text = render_banners(incidents.banners(), T0 + timedelta(minutes=12, seconds=34))
    lines = text.plain.splitlines()
    # Markup in a title is text; the terminal escape is stripped.
    assert lines[0] == " ‼ CRITICAL  12:34  #2 [bold red]IVR[/] down · Sales, Billing · ETA 11:30"
    assert [line.split()[1] for line in lines[1:3]] == ["MAJOR", "MAJOR"]
    assert lines[3] == " +2 more active incident(s): see the crisis screen (c)"
    assert text.no_wrap and text.overflow == "ellipsis"
