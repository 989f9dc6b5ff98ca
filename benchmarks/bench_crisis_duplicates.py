"""Duplicate copies at a slow receiver when the delivering process is killed with -9.

250 deliveries (10 messages x 25: SMS and email to 10 recipients each, Slack, Teams
and three webhooks) through `supervisor-tui crisis deliver` in a subprocess that is
killed with SIGKILL three times mid-run and started again until everything settled.
The loopback receivers (HTTP and aiosmtpd) answer after 0.05-0.4 s, and 10% of
answers take 2.5 s against a 1 s channel timeout. Copies are counted per key when
they arrive. Prints lost deliveries and extra copies per channel type.

    .venv/bin/python benchmarks/bench_crisis_duplicates.py [--runs 3] [--json]
    # the code before the fix, from an unpacked older tree:
    .venv/bin/python benchmarks/bench_crisis_duplicates.py --root /tmp/before --legacy
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from _report import report  # noqa: E402

from tests.crisis_dupes import ROOT, run  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--recipients", type=int, default=10)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--unknown-wait", type=float, default=900.0,
                        help="[crisis.delivery] unknown_outcome_wait_s for the run")
    parser.add_argument("--root", type=Path, default=ROOT,
                        help="the source tree whose supervisor_tui delivers")
    parser.add_argument("--legacy", action="store_true",
                        help="the tree predates unknown_outcome_wait_s: do not set it")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    extra = "" if args.legacy else f"unknown_outcome_wait_s = {args.unknown_wait}"
    results = []
    for n in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            r = run(Path(tmp), messages=args.messages, recipients=args.recipients,
                    kills=args.kills, extra_delivery=extra, root=args.root, seed=5 + n,
                    deadline_s=300)
        results.append({
            "case": f"run {n + 1}: {r.deliveries} deliveries, {r.kills} x kill -9, "
                    f"{r.seconds} s", "lost": r.lost,
            "extra copies (all)": r.extra_total,
            "extra copies sms/email/chat": r.extra_non_idempotent,
            "per channel type": r.extra,
            "rows outcome unknown": r.unknown_rows, "final states": r.states,
            "held at the end": f"{r.held} ({r.held_received} of them received), "
                               f"{r.behind_held} queued behind them, "
                               f"{r.other_pending} other pending",
            "superseded (not re-sent)": f"{r.superseded} ({r.superseded_received} of them "
                                        "received)"})
    report(results, args.json, width=28)


if __name__ == "__main__":
    main()
