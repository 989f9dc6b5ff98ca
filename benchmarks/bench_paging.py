"""What one paging pass ([crisis.paging]) costs the console's event loop.

The pass decides over every active escalation (``domain.paging.due_pages``), then
records and queues one page naming all those due (``crisis.paging.PageBook.enqueue``:
one BEGIN IMMEDIATE transaction on a SQLite file in WAL mode, plus the two audit
records). Measured: the pass that pages (the first, and every ``repeat_minutes``), and
the pass right after, when nothing is due (every ``check_s``). Each of 5 runs uses a
new store file. The sends themselves are the delivery worker's (async, not counted).

    .venv/bin/python benchmarks/bench_paging.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from supervisor_tui.audited import Auditor
from supervisor_tui.crisis.config import CrisisConfig
from supervisor_tui.crisis.paging import PageBook
from supervisor_tui.domain.escalation import Escalation, EscalationKind, Severity, SubjectType
from supervisor_tui.domain.roles import Role
from supervisor_tui.paging import Pager
from supervisor_tui.store import Store
from supervisor_tui.store.audit import AuditLog

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
CONFIG = CrisisConfig.model_validate({
    "channels": {"pager": {"type": "webhook", "url": "http://127.0.0.1:9/page"}},
    "paging": {"enabled": True, "who": "Dana", "channels": ["pager"], "after_minutes": 5,
               "repeat_minutes": 10}})


def escalation(i: int, severity: Severity) -> Escalation:
    return Escalation(id=f"contact-wait:pbx:c{i}", kind=EscalationKind.CONTACT_WAIT,
                      severity=severity, reason="VIP waiting over 0:30",
                      subject_type=SubjectType.CONTACT, subject_id=f"c{i}", queue_id="sales",
                      source="pbx", first_seen=T0 - timedelta(seconds=i), since=T0,
                      label=f"c{i} (vip)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    for critical, others in ((50, 950), (2000, 8000)):
        escalations = [escalation(i, Severity.CRITICAL) for i in range(critical)] + [
            escalation(critical + i, Severity.WARNING) for i in range(others)]
        paging, quiet = [], []
        for _ in range(args.runs):
            store = Store.open(Path(tempfile.mkdtemp()) / "bench.db")
            pager = Pager(CONFIG, PageBook(store.db),
                          Auditor(AuditLog(store.db), "bench", Role.SUPERVISOR),
                          lambda t: f"{t:%H:%M}")
            now = T0 + timedelta(minutes=6)
            start = time.perf_counter()
            result = pager.run(escalations, {}, now)
            paging.append(time.perf_counter() - start)
            assert result.queued is not None and len(result.queued.pages) == critical
            start = time.perf_counter()
            result = pager.run(escalations, {}, now + timedelta(seconds=15))
            quiet.append(time.perf_counter() - start)
            assert result.queued is None
            store.close()
        print(f"{critical:>5} critical of {critical + others:>6} escalations: paging pass "
              f"median {statistics.median(paging) * 1000:.1f} ms (max "
              f"{max(paging) * 1000:.1f}); next pass, nothing due, median "
              f"{statistics.median(quiet) * 1000:.1f} ms (max {max(quiet) * 1000:.1f})")


if __name__ == "__main__":
    main()
