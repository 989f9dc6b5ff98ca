"""The layers are executable: import-linter's contracts (pyproject.toml) hold, and
importing the pure domain or the config loads no UI or network library — checked in a
fresh interpreter, because a static checker cannot see imports deferred into functions."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = ["model", "metrics", "erlang", "intervals", "index", "board", "escalation",
          "preview", "trend", "rolling", "text", "fmt", "roles"]
ADAPTERS = ["http", "twilio", "genesys", "zendesk", "asterisk", "connect"]


def test_import_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    # No argument: it reads [tool.importlinter] from pyproject.toml in cwd.
    proc = subprocess.run([str(lint)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "broken" not in proc.stdout.lower().replace("0 broken", "")


@pytest.mark.parametrize("modules", [
    [f"supervisor_tui.domain.{m}" for m in DOMAIN],
    # The registry imports each adapter's settings module only, never its source module,
    # and an adapter package loads its source module only when its source is asked for.
    ["supervisor_tui.config"],
    ["supervisor_tui.sources.registry"],
    [f"supervisor_tui.sources.{a}{m}" for a in ADAPTERS for m in ("", ".settings")],
])
def test_importing_does_not_load_ui_or_network_libraries(modules: list[str]) -> None:
    code = ("import importlib, sys\n"
            f"for m in {modules!r}: importlib.import_module(m)\n"
            "heavy = sorted({n.split('.')[0] for n in sys.modules} & "
            "{'textual', 'rich', 'httpx', 'starlette', 'uvicorn', 'sqlite_utils'})\n"
            "print(','.join(heavy))\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, check=True)
    assert proc.stdout.strip() == "", f"{modules} loaded {proc.stdout.strip()}"
