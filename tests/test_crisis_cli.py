"""``crisis send|status|deliver|requeue|templates`` and ``incident declare|resolve|list|
export|note``: output, exit codes, one-line errors. Run through ``crisis_cli.main`` (the
same ``add_parsers``/``run`` the main CLI wires in) against a real loopback receiver."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from supervisor_tui.cli.crisis import EXIT_FAILED, EXIT_OK, EXIT_PENDING, EXIT_USAGE, main
from tests.crisis_helpers import SID, Receiver

ROOT = Path(__file__).resolve().parent.parent
Cli = Callable[..., tuple[int, str, str]]

CONFIG = """
[roles]
default = "supervisor"
users = {{ alice = "admin" }}

[crisis.delivery]
max_attempts = 3
backoff_base_s = 0.05
backoff_max_s = 0.2
send_wait_s = 20

[crisis.channels.ops]
type = "webhook"
url = "{url}/ops"
timeout_s = 2

[crisis.channels.chat]
type = "slack"
url = "{url}/slack"

[crisis.channels.customers]
type = "sms"
account_sid = "{sid}"
auth_token_env = "TWILIO_TOKEN"
from_number = "+15005550006"
to = ["+447700900001"]
base_url = "{url}"

[crisis.channels.floor]
type = "agents"

[crisis.templates.outage]
kind = "initial"
channels = ["ops", "chat", "customers", "floor"]
text = "${{impact}} on ${{queues}}. Next update ${{eta}}."
[crisis.templates.outage.overrides.sms]
text = "${{title}}: ${{impact}}"

[crisis.templates.all_clear]
kind = "resolved"
channels = ["ops", "floor"]
subject = "Resolved: ${{title}}"
text = "All clear."
"""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def login_as(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Run as OS account ``name`` (the identity is the uid's name, not $USER)."""
    from supervisor_tui import identity

    monkeypatch.setattr(identity, "os_account", lambda uid=None: (name, 1000))


@pytest.fixture
def cli(receiver: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> Cli:
    """run(*args) -> (exit code, stdout, stderr), as alice (admin) on a fresh store."""
    cfg = tmp_path / "config.toml"
    cfg.write_text(CONFIG.format(url=receiver.url, sid=SID))
    login_as(monkeypatch, "alice")
    monkeypatch.setenv("TWILIO_TOKEN", "tw-token")

    def run(*args: str) -> tuple[int, str, str]:
        code = main(["--config", str(cfg), "--db", str(tmp_path / "s.db"), *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def declare(cli: Cli) -> None:
    code, out, _ = cli("incident", "declare", "--title", "Payments down", "--severity",
                       "critical", "--queue", "sales,billing", "--impact", "long waits",
                       "--eta", "11:00")
    assert code == EXIT_OK and out == "Declared incident #1 (critical): Payments down\n"


def test_send_yes_delivers_and_prints_each_channel(cli: Cli, receiver: Receiver) -> None:
    declare(cli)
    code, out, err = cli("crisis", "send", "--template", "outage", "--var", "eta=12:00",
                         "--yes")
    assert code == EXIT_OK and err == ""
    assert "── customers (sms) to +447700900001 — GSM-7, 25 septets, 1 segment" in out
    assert "   Payments down: long waits" in out
    assert "   long waits on sales, billing. Next update 12:00." in out
    assert "Queued message 1: 4 deliveries. Delivering..." in out
    for target in ("ops", "chat", "customers → +447700900001", "floor → consoles"):
        assert any(target in line and "delivered" in line for line in out.splitlines())
    assert out.rstrip().endswith("4 delivered, 0 failed, 0 pending")
    assert len(receiver.to("/ops")) == len(receiver.to("/slack")) == 1
    assert receiver.to("/ops")[0].json()["text"] == ("long waits on sales, billing. "
                                                     "Next update 12:00.")


def test_send_json_output(cli: Cli, receiver: Receiver) -> None:
    declare(cli)
    code, out, _ = cli("crisis", "send", "--template", "outage", "--yes", "--json")
    doc = json.loads(out)
    assert code == EXIT_OK and doc["exit"] == 0 and doc["incident"] == 1
    assert {d["state"] for d in doc["deliveries"]} == {"delivered"}
    ops = next(d for d in doc["deliveries"] if d["channel"] == "ops")
    assert ops["idempotency_key"] == receiver.to("/ops")[0].key


def test_a_channel_failing_for_good_exits_1(cli: Cli, receiver: Receiver) -> None:
    declare(cli)
    receiver.plan(1, 403, path="/slack", body=b"invalid_token")
    code, out, _ = cli("crisis", "send", "--template", "outage", "--yes")
    assert code == EXIT_FAILED
    line = next(x for x in out.splitlines() if " chat " in x and "attempts" in x)
    assert "failed" in line and "HTTP 403: invalid_token" in line
    assert "3 delivered, 1 failed, 0 pending" in out
    code, out, _ = cli("crisis", "status")
    assert code == EXIT_OK and "failed" in out and "chat" in out
    row = out.split()[0]
    receiver.plans.clear()
    code, out, _ = cli("crisis", "requeue", row)
    assert code == EXIT_OK and "1 failed delivery(ies) queued again" in out
    code, out, _ = cli("crisis", "deliver")
    assert code == EXIT_OK and "1 delivered, 0 failed, 0 pending" in out
    assert len({r.key for r in receiver.to("/slack")}) == 1


def test_pending_exits_3_then_status_and_deliver_finish(cli: Cli, receiver: Receiver) -> None:
    declare(cli)
    receiver.plan(1, 503, path="/ops")
    code, out, _ = cli("crisis", "send", "--template", "outage", "--yes", "--wait", "0")
    assert code == EXIT_PENDING
    assert "3 delivered, 0 failed, 1 pending" in out
    assert "`supervisor-tui crisis deliver` or any console will finish them" in out
    code, out, _ = cli("crisis", "status")
    (line,) = [x for x in out.splitlines() if "retrying" in x]
    assert "ops" in line and "HTTP 503" in line and "next attempt at" in line
    code, out, _ = cli("crisis", "deliver")
    assert code == EXIT_OK and "1 delivered, 0 failed, 0 pending" in out
    code, out, _ = cli("crisis", "status")
    assert out == "Nothing pending or failed.\n"
    code, out, _ = cli("crisis", "deliver")
    assert code == EXIT_OK and out == "Nothing to deliver.\n"
    first, second = receiver.to("/ops")
    assert first.key == second.key  # the retry carried the same key


def test_refusals_and_bad_input(cli: Cli, receiver: Receiver,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = cli("crisis", "send", "--template", "outage", "--yes")
    assert code == EXIT_USAGE and err == ("supervisor-tui: no active incident: declare one "
                                          "first\n")
    declare(cli)
    code, out, err = cli("crisis", "send", "--template", "outage")  # stdin is no terminal
    assert code == EXIT_USAGE and "add --yes" in err and receiver.requests == []
    code, _, err = cli("crisis", "send", "--template", "nope", "--yes")
    assert code == EXIT_USAGE  # the built-in floor templates are always there
    assert "no template 'nope' (known: all_clear, floor_message, floor_notice, outage)" in err
    code, _, err = cli("crisis", "send", "--template", "outage", "--var", "colour=red",
                       "--yes")
    assert code == EXIT_USAGE and "has no variable(s) colour" in err
    code, _, err = cli("crisis", "send", "--template", "outage", "--var",
                       "impact=" + "x" * 500, "--yes")
    assert code == EXIT_USAGE and err.count("\n") == 1
    assert "customers: 4 SMS segments (GSM-7); the limit is 3" in err
    code, out, _ = cli("crisis", "send", "--template", "outage", "--preview")
    assert code == EXIT_OK and "long waits on sales, billing" in out
    assert receiver.requests == []
    login_as(monkeypatch, "bob")  # a supervisor
    code, _, err = cli("crisis", "send", "--template", "outage", "--yes")
    assert code == EXIT_FAILED
    assert err == "supervisor-tui: bob is a supervisor; crisis message needs admin\n"
    code, _, err = cli("incident", "declare", "--title", "x", "--severity", "minor")
    assert code == EXIT_FAILED and "needs admin" in err
    code, _, err = cli("incident", "export", "7")
    assert code == EXIT_USAGE and err == "supervisor-tui: no incident #7\n"
    assert "Traceback" not in err


def test_config_errors_exit_2_without_traceback(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[crisis.channels.hook]\ntype = "webhook"\nurl = "https://x.io"\n'
                   '[crisis.templates.t]\nchannels = ["hook", "pager"]\n'
                   'text = "ETA ${etaa}"\n')
    proc = subprocess.run([sys.executable, "-m", "supervisor_tui.cli.crisis", "--config",
                           str(cfg), "--db", str(tmp_path / "s.db"), "crisis", "status"],
                          capture_output=True, text=True, cwd=ROOT, check=False)
    assert proc.returncode == EXIT_USAGE and "Traceback" not in proc.stderr
    assert "unknown channel(s) pager" in proc.stderr
    assert "unknown variable(s) ${etaa}" in proc.stderr


def test_incident_list_resolve_and_export(cli: Cli, receiver: Receiver, tmp_path: Path) -> None:
    declare(cli)
    assert cli("crisis", "send", "--template", "outage", "--yes")[0] == EXIT_OK
    code, out, _ = cli("incident", "note", "1", "opened overflow to billing")
    assert code == EXIT_OK
    code, out, _ = cli("incident", "list")
    assert out.startswith("#1    active    critical") and "[sales, billing]" in out
    code, out, _ = cli("incident", "resolve", "#1", "--template", "all_clear", "--yes")
    assert code == EXIT_OK and "Resolved incident #1; delivering message 2" in out
    assert receiver.to("/ops")[-1].json()["subject"] == "Resolved: Payments down"
    code, out, _ = cli("incident", "list")
    assert out == "No active incidents.\n"
    code, out, _ = cli("incident", "list", "--all", "--json")
    assert json.loads(out)["state"] == "resolved"

    code, md, _ = cli("incident", "export", "1")
    assert code == EXIT_OK
    assert md.startswith("# Incident #1: Payments down\n")
    assert "- **Severity:** critical" in md and "- **Resolved:** " in md
    assert "| Time (UTC) | Event | By | Details |" in md
    for kind in ("declared", "message", "delivered", "note", "resolved"):
        assert f"| {kind} |" in md
    assert "opened overflow to billing" in md
    assert "### Message 1: template `outage` (initial)" in md
    assert "| customers | +447700900001 | delivered | 1 |" in md
    assert "> Payments down: long waits" in md
    out_file = tmp_path / "inc.md"
    code, out, _ = cli("incident", "export", "1", "-o", str(out_file))
    assert code == EXIT_OK and out_file.read_text() == md


def test_templates_listing(cli: Cli) -> None:
    code, out, _ = cli("crisis", "templates")
    assert code == EXIT_OK
    assert "outage (initial): ops, chat, customers, floor" in out
    assert "variables: declared_at, eta, impact, incident_id, queues, severity, title" in out


def test_a_missing_secret_names_the_working_channels_and_channel_sends_to_them(
        cli: Cli, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    declare(cli)
    monkeypatch.delenv("TWILIO_TOKEN")
    code, _, err = cli("crisis", "send", "--template", "outage", "--yes")
    assert code == EXIT_USAGE
    assert "customers: environment variable TWILIO_TOKEN is not set" in err
    assert "(to send to the others: --channel ops --channel chat --channel floor)" in err
    code, out, _ = cli("crisis", "send", "--template", "outage", "--yes", "--channel", "ops",
                       "--channel", "floor")
    assert code == EXIT_OK and "2 delivered, 0 failed, 0 pending" in out
    assert "customers" not in out and receiver.to("/2010-04-01") == []


def test_resolving_warns_about_undelivered_customer_messages(
        cli: Cli, receiver: Receiver) -> None:
    declare(cli)
    receiver.plan(99, 503, path="/2010-04-01")
    code, _, _ = cli("crisis", "send", "--template", "outage", "--yes", "--wait", "0")
    assert code == EXIT_PENDING
    code, out, err = cli("incident", "resolve", "1", "--note", "fixed")
    assert code == EXIT_OK and "Resolved incident #1." in out
    assert ("warning: 1 earlier message(s) to customers not delivered: customers → "
            "+447700900001 (retrying)") in err
