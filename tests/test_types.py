"""The package type-checks: mypy with the project's config ([tool.mypy] in pyproject.toml,
pydantic plugin) reports no error. Incremental (.mypy_cache/), so a re-run takes a second."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_mypy_reports_no_errors() -> None:
    run = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, f"mypy failed:\n{run.stdout}{run.stderr}"
