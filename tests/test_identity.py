"""Who acts: the OS account, whatever the environment says, unless a root-owned config
trusts this account (a service account behind sshd ForceCommand) to name the person."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest

from supervisor_tui import identity
from supervisor_tui.cli import build_app, build_parser
from supervisor_tui.config import Role
from supervisor_tui.identity import os_account, resolve_identity

ACCOUNT, UID = os_account()


@pytest.fixture
def trusting_owner(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files this test writes count as root-owned (true when the suite runs as root)."""
    monkeypatch.setattr(identity, "TRUSTED_OWNERS", frozenset({0, os.getuid()}))


def console_args(tmp_path: Path, config: Path | None) -> argparse.Namespace:
    argv = ["--db", str(tmp_path / "s.db")] + (["--config", str(config)] if config else [])
    return build_parser().parse_args(argv)


def write_config(tmp_path: Path, trusted: list[str], mode: int = 0o644) -> Path:
    path = tmp_path / "etc" / "config.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(f'[roles]\ndefault = "viewer"\nusers = {{ alice = "admin" }}\n'
                    f'[identity]\ntrusted_override_for = {trusted!r}\n'.replace("'", '"'))
    path.chmod(mode)
    return path


def test_the_environment_does_not_make_anyone_alice(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("USER", "LOGNAME", "SUPERVISOR_TUI_USER"):
        monkeypatch.setenv(var, "alice")
    app = build_app(console_args(tmp_path, write_config(tmp_path, trusted=[])))
    assert not isinstance(app, int)
    assert (app.user, app.actions.role) == (ACCOUNT, Role.VIEWER)
    assert app.identity.uid == UID and app.identity.via is None
    assert "not in [identity] trusted_override_for" in (app.identity.note or "")
    # And without any config at all.
    assert build_app(console_args(tmp_path, None)).user == ACCOUNT  # type: ignore[union-attr]


@pytest.mark.usefixtures("trusting_owner")
def test_a_trusted_service_account_names_the_person(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPERVISOR_TUI_USER", "alice")
    app = build_app(console_args(tmp_path, write_config(tmp_path, trusted=[ACCOUNT])))
    assert not isinstance(app, int)
    assert (app.user, app.actions.role) == ("alice", Role.ADMIN)
    assert (app.identity.via, app.identity.uid, app.identity.label) == (
        ACCOUNT, UID, f"alice via {ACCOUNT}")
    # The audit record still says which OS account and host it came from.
    app.audit.append(user=app.user, role="admin", action="x", subject="s", outcome="done")
    record = app.audit.records()[-1]
    assert (record["user"], record["uid"]) == ("alice", UID) and record["host"]


@pytest.mark.usefixtures("trusting_owner")
def test_the_override_needs_a_config_the_account_cannot_rewrite(tmp_path: Path) -> None:
    env = {"SUPERVISOR_TUI_USER": "alice"}
    path = write_config(tmp_path, trusted=[ACCOUNT], mode=0o666)
    who = resolve_identity([ACCOUNT], path, env)
    assert who.user == ACCOUNT and "writable by group or others" in (who.note or "")
    path.chmod(0o644)
    path.parent.chmod(0o777)  # anyone could swap the file
    who = resolve_identity([ACCOUNT], path, env)
    assert who.user == ACCOUNT and "directory" in (who.note or "")
    path.parent.chmod(0o755)
    assert resolve_identity([ACCOUNT], path, env).user == "alice"
    # Another account listed is not this one; a name that is not a name is refused.
    assert resolve_identity(["svc-supervisor"], path, env).user == ACCOUNT
    assert resolve_identity([ACCOUNT], path, {"SUPERVISOR_TUI_USER": "al ice;rm"}).user \
        == ACCOUNT


def test_a_config_owned_by_someone_untrusted_is_not_enough(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    monkeypatch.setattr(identity, "TRUSTED_OWNERS", frozenset({987654}))
    path = write_config(tmp_path, trusted=[ACCOUNT])
    who = resolve_identity([ACCOUNT], path, {"SUPERVISOR_TUI_USER": "alice"})
    assert who.user == ACCOUNT and "not owned by root" in (who.note or "")


def test_an_account_without_a_passwd_entry_is_its_uid() -> None:
    assert os_account(2_000_000_001) == ("uid2000000001", 2_000_000_001)


async def test_the_console_says_when_it_ignored_the_override(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.helpers import wait_for

    monkeypatch.setenv("SUPERVISOR_TUI_USER", "alice")
    app = build_app(console_args(tmp_path, write_config(tmp_path, trusted=[])))
    assert not isinstance(app, int)
    async with app.run_test(size=(100, 24)) as pilot:
        await wait_for(pilot, lambda: app.board is not None)
        notes = [n.message for n in app._notifications if n.title == "Identity"]
        assert notes == [f"SUPERVISOR_TUI_USER='alice' ignored: account {ACCOUNT} is not in "
                         f"[identity] trusted_override_for; acting as {ACCOUNT}"]
        assert f"{ACCOUNT} (viewer)" in app.screen._compositor.render_strips()[0].text


def test_check_config_says_who_and_what_would_be_ignored(tmp_path: Path, capsys,  # type: ignore[no-untyped-def]
                                                         monkeypatch) -> None:
    from supervisor_tui.cli import main

    monkeypatch.delenv("SUPERVISOR_TUI_USER", raising=False)

    path = write_config(tmp_path, trusted=[ACCOUNT], mode=0o666)
    path.write_text(path.read_text() + '[audit]\nkey_file = "audit.key"\n')
    assert main(["check-config", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"identity: {ACCOUNT} (uid {UID}), role viewer" in out
    assert "SUPERVISOR_TUI_USER would be ignored" in out and "writable by group" in out
    assert "audit key" in out and "does not exist yet" in out
