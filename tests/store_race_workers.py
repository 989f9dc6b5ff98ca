"""What each process of the cross-process store races runs (tests/test_store_pg.py,
benchmarks/bench_store_race.py): a module of its own, light to import, preloaded once
by the fork server so that starting a process costs a fork, not an interpreter."""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from supervisor_tui.crisis.config import CrisisConfig
from supervisor_tui.crisis.service import CrisisService
from supervisor_tui.domain.roles import Role
from supervisor_tui.store import TAKEN, Store
from supervisor_tui.store.audit import AuditLog

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def context() -> Any:
    """Processes forked from a clean server (never from pytest, with its threads and
    sockets) that has this module imported already."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([__name__])
    return ctx


def taker(where: Path | str, user: str, rounds: int, go: Any, out: Any) -> None:
    """Press "take" on escalation ``queue-sl:race<n>`` with the others, ``rounds`` times."""
    store = Store.open(where)
    store.escalation_states()  # connected and warm before the first round
    for n in range(rounds):
        go.wait(60)  # every process presses at the same moment
        start = time.perf_counter()
        change = store.change_escalation(f"queue-sl:race{n}", TAKEN, user, T0)
        out.put((n, user, change.done, change.why, time.perf_counter() - start))
    store.close()


def take_race(where: Path | str, procs: int, rounds: int, prefix: str,
              timeout_s: float) -> tuple[list[tuple[Any, ...]], list[int | None]]:
    """``procs`` takers (users ``<prefix>0``...) racing ``rounds`` times on a store whose
    tables are made first: every take's (round, user, done, why, seconds), and each
    process's exit code."""
    Store.open(where).close()  # tables made before the race
    ctx = context()
    go, out = ctx.Barrier(procs), ctx.Queue()
    running = [ctx.Process(target=taker, args=(where, f"{prefix}{i}", rounds, go, out))
               for i in range(procs)]
    for w in running:
        w.start()
    results = [out.get(timeout=timeout_s) for _ in range(procs * rounds)]
    for w in running:
        w.join(60)
    return results, [w.exitcode for w in running]


def drainer(where: Path | str, config: dict[str, Any], env: dict[str, str], n: int,
            go: Any, out: Any) -> None:
    """A console's delivery worker draining the shared outbox; reports what it delivered."""
    store = Store.open(where)
    delivered: list[int] = []
    service = CrisisService(
        CrisisConfig.model_validate(config), store.db, user=f"p{n}", role=Role.SUPERVISOR,
        audit=AuditLog(store.db), env=env,
        listener=lambda a: delivered.append(a.row.id) if a.state == "delivered" else None)
    go.wait(60)
    asyncio.run(service.deliver(wait_s=30))
    out.put((n, delivered))


def opener(where: Path | str, go: Any, out: Any) -> None:
    """Open a new store (every table, index, the audit guards) at the same moment as the
    others: what consoles starting together on an empty database do."""
    from supervisor_tui.crisis.paging import PageBook

    go.wait(60)
    try:
        store = Store.open(where)
        AuditLog(store.db)
        PageBook(store.db)
        store.close()
        out.put("ok")
    except Exception as err:  # reported to the test, which names it
        out.put(f"{type(err).__name__}: {err}")
