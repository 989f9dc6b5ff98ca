"""kill -9 at a slow receiver: nothing lost, no extra copies to channels that keep
every copy (SMS, email, Slack, Teams), and the rows whose outcome is unknown are shown
as such by `crisis status`.

The delivering process is `supervisor-tui crisis deliver` in a subprocess, killed with
SIGKILL twice mid-run and then run to the end; the receivers (loopback HTTP playing
Twilio, Slack, Teams and webhooks; aiosmtpd) count copies per key as they arrive, and
one answer in ten takes longer than the channels' timeout. Before the fix the same run
gave 0.1-0.2 extra copies per delivery (benchmarks/bench_crisis_duplicates.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.crisis_dupes import ROOT, run


def test_kill_9_at_a_slow_receiver_loses_nothing_and_doubles_no_sms_or_email(
        tmp_path: Path) -> None:
    result = run(tmp_path, messages=4, recipients=6, kills=2, kill_after_s=(1.0, 2.0),
                 extra_delivery="unknown_outcome_wait_s = 600", deadline_s=60)
    assert result.deliveries == 4 * (2 * 6 + 5)
    assert result.lost == 0
    assert result.other_pending == 0 and result.behind_held == 0
    # Every row is delivered, or held because its last attempt may have arrived.
    assert result.states.get("delivered", 0) + result.held == result.deliveries
    assert result.extra_non_idempotent == 0, result.extra
    # Webhooks are re-sent at once with the same key (the receiver drops the repeat).
    assert result.extra["webhook"] <= 2 * 3 + result.unknown_rows
    if result.held:  # and `crisis status` says which ones, and why
        out = subprocess.run(
            [sys.executable, "-m", "supervisor_tui.cli.crisis", "--config",
             str(tmp_path / "config.toml"), "--db", str(tmp_path / "store.db"), "crisis",
             "status"], cwd=ROOT, capture_output=True, text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT), "BENCH_TWILIO_TOKEN": "x"}).stdout
        unknown = [line for line in out.splitlines() if " unknown " in line]
        assert len(unknown) == result.held
        assert all("outcome unknown, it may have arrived" in line for line in unknown)
        assert f"({result.held} outcome unknown)" in out
