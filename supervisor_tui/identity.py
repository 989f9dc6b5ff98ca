"""Who is at the keyboard: the OS account, not whatever the environment claims.

Roles and the audit log key on this name, so it must not be something any local user
can set. The user is the account of the process's real uid (``pwd``). ``USER`` and
``LOGNAME`` are ignored: anyone can set them.

One exception, for a shared service account behind sshd's ``ForceCommand`` (one Unix
account, one authorized key per person, each key's forced command naming its owner)::

    # ~svc-supervisor/.ssh/authorized_keys
    restrict,pty,command="env SUPERVISOR_TUI_USER=alice supervisor-tui \
        --config /etc/supervisor-tui/config.toml" ssh-ed25519 AAAA... alice

(one line in the real file).
``SUPERVISOR_TUI_USER`` is honoured only when the running account is listed in
``[identity] trusted_override_for`` *and* the config file saying so cannot be changed by
that account (owned by root, not writable by group or others, in a directory others
cannot replace it in). Otherwise it is ignored and :attr:`Identity.note` says why. The
audit record carries the uid and host as well, so an override is always visible there.
"""

from __future__ import annotations

import os
import pwd
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OVERRIDE_ENV = "SUPERVISOR_TUI_USER"
# Owners whose config files a non-root account cannot have written itself.
TRUSTED_OWNERS: frozenset[int] = frozenset({0})
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


@dataclass(frozen=True)
class Identity:
    user: str  # who acts (roles and the audit log key on this)
    account: str  # the OS account running the process (uid -> name)
    uid: int
    via: str | None = None  # the service account, when ``user`` came from the override
    note: str | None = None  # why an override was ignored, for a warning

    @property
    def label(self) -> str:
        return f"{self.user} via {self.via}" if self.via else self.user


def os_account(uid: int | None = None) -> tuple[str, int]:
    """(name, uid) of the real uid; ``uidNNN`` when the passwd database has no entry
    (containers): still the uid, never a name taken from the environment."""
    uid = os.getuid() if uid is None else uid
    try:
        return pwd.getpwuid(uid).pw_name, uid
    except KeyError:
        return f"uid{uid}", uid


def config_cannot_be_changed_by_caller(path: Path | None) -> str | None:
    """None if ``path`` is a file the running account cannot have written (owned by a
    trusted owner, no group/other write, its directory not open to replacement);
    otherwise why not."""
    if path is None:
        return "no config file"
    try:
        info = path.stat()
        parent = path.resolve().parent.stat()
    except OSError as err:
        return f"cannot check {path}: {err.strerror}"
    if info.st_uid not in TRUSTED_OWNERS:
        return f"{path} is not owned by root"
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"{path} is writable by group or others"
    if parent.st_uid not in TRUSTED_OWNERS and parent.st_uid != info.st_uid:
        return f"the directory of {path} is not owned by root"
    if parent.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not parent.st_mode & stat.S_ISVTX:
        return f"the directory of {path} is writable by group or others"
    return None


def resolve_identity(trusted_override_for: tuple[str, ...] | list[str] = (),
                     config_path: Path | None = None,
                     environ: Mapping[str, str] | None = None,
                     uid: int | None = None) -> Identity:
    """The acting user for this process; see the module docstring for the rule."""
    env = os.environ if environ is None else environ
    account, real_uid = os_account(uid)
    claimed = env.get(OVERRIDE_ENV, "").strip()
    if not claimed or claimed == account:
        return Identity(account, account, real_uid)
    if account not in trusted_override_for:
        why = (f"{OVERRIDE_ENV}={claimed!r} ignored: account {account} is not in "
               "[identity] trusted_override_for")
        return Identity(account, account, real_uid, note=why)
    problem = config_cannot_be_changed_by_caller(config_path)
    if problem is not None:
        why = f"{OVERRIDE_ENV} ignored: {problem}, so {account} could have listed itself"
        return Identity(account, account, real_uid, note=why)
    if not _NAME.match(claimed):
        return Identity(account, account, real_uid,
                        note=f"{OVERRIDE_ENV} ignored: {claimed[:40]!r} is not a user name")
    return Identity(claimed, account, real_uid, via=account)


def identity_for(config: Any) -> Identity:
    """The identity under ``config`` (a :class:`~supervisor_tui.config.Config`)."""
    return resolve_identity(tuple(config.identity.trusted_override_for), config.path)
