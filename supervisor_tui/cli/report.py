"""``supervisor-tui report --date DAY [--format md|html|csv|json] [--out FILE]``: the
end-of-day report of one local day of the shared store (docs/report.md)."""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from supervisor_tui.cli.days import past_day, resolve_day

if TYPE_CHECKING:
    from supervisor_tui.config import Config
    from supervisor_tui.report.mail import MailPlan
    from supervisor_tui.store import Store

# (Everything past argparse is imported when the command runs: building the parser for
# another command loads no store, crisis or report module.)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``report`` sub-command (--date parsed as ``export`` does: cli/days.py)."""
    report = sub.add_parser(
        "report", help="the end-of-day report: KPIs vs targets, missed intervals, "
        "escalations, incidents (Markdown, HTML, CSV or JSON)",
        description="One local day of the shared store as an end-of-day report: KPIs vs "
        "targets per channel group, queue group and queue, intervals that missed service "
        "level, escalations and how fast they were taken, incidents and their timelines. "
        "md and html are for people (html: one self-contained page with charts); csv and "
        "json are long rows for BI tools (docs/report.md).")
    report.add_argument("--date", type=past_day, required=True,
                        help="the centre's local day, YYYY-MM-DD (or 'today', 'yesterday')")
    report.add_argument("--format", choices=["md", "html", "csv", "json"], default="md")
    report.add_argument("--out", type=Path, help="write to this file (refused if it exists "
                        "unless --force) instead of standard output")
    report.add_argument("--force", action="store_true", help="with --out: replace the file")
    report.add_argument("--email", action="store_true", help="also e-mail the Markdown "
                        "report to [report] email_to through the crisis outbox (once per "
                        "day across consoles; the daily mail the console sends at [report] "
                        "at)")
    report.add_argument("--db", type=Path, default=argparse.SUPPRESS,
                        help="SQLite store to read (must exist; never created)")
    report.add_argument("--config", type=Path, default=argparse.SUPPRESS,
                        help="TOML config: [console] timezone, sl_formula, min_sample; "
                        "[groups]")


def run(args: argparse.Namespace, config: Config) -> int:
    from supervisor_tui.cli.store_place import existing
    from supervisor_tui.report import render
    from supervisor_tui.report.collect import collect
    from supervisor_tui.report.mail import plan_of, settings_of
    from supervisor_tui.store import Store, StoreError

    def fail(message: str, code: int = 2) -> int:
        print(f"supervisor-tui: {message}", file=sys.stderr)
        return code

    if args.force and args.out is None:
        return fail("--force only goes with --out FILE")
    plan = plan_of(config)
    if args.email and plan is None:
        return fail("--email needs [report] email_to and an e-mail channel in "
                    "[crisis.channels] (docs/report.md)")
    if args.format == "html" and args.out is None and sys.stdout.isatty():
        return fail("an HTML report is a page for a browser: give --out FILE "
                    "(or redirect standard output)")
    try:  # --db, else [store] url / url_env, else the default file
        path = existing(config, args.db, "report")
    except ValueError as err:
        return fail(str(err))
    zone = config.console.policy.zone
    day = resolve_day(args.date, zone)
    try:
        store = Store.open(path)
    except StoreError as err:
        return fail(str(err), 1)
    failed: tuple[type[Exception], ...] = (StoreError, *store.db.Error)  # SQLite's or psycopg's
    try:
        report = collect(store, day, settings_of(config))
        mailed = 0 if plan is None or not args.email else _email(store, config, plan, day)
    except failed as err:
        return fail(f"cannot read the store: {err}", 1)
    finally:
        store.close()
    text = render(report, args.format)
    if args.out is None:
        sys.stdout.write(text)
    else:
        try:
            with args.out.open("w" if args.force else "x", encoding="utf-8",
                               newline="") as f:
                f.write(text)
        except FileExistsError:
            return fail(f"{args.out} exists (add --force to replace it)")
        except OSError as err:
            return fail(f"cannot write {args.out}: {err.strerror or err}", 1)
        print(f"report of {day} ({zone.key}) written to {args.out}", file=sys.stderr)
    if report.empty:
        print(f"supervisor-tui: nothing stored for {day} ({zone.key}): the report says so",
              file=sys.stderr)
    return mailed


def _email(store: Store, config: Config, plan: MailPlan, day: date) -> int:
    """Queue ``day``'s mail (unless a console did) and deliver it now; 0 when every
    delivery went, 1 otherwise (what is left stays queued for any console)."""
    import asyncio
    from datetime import UTC

    from supervisor_tui.actions import current_user
    from supervisor_tui.crisis.outbox import DELIVERED
    from supervisor_tui.crisis.service import CrisisError, CrisisService
    from supervisor_tui.report.mail import queue_mail, sent_for, settings_of
    from supervisor_tui.store.audit import AuditLog

    user = current_user(config)
    now = datetime.now(UTC)
    queued = queue_mail(store, plan, settings_of(config), day, now, user)
    if queued is None:
        print(f"supervisor-tui: the report of {day} was already queued as message "
              f"{sent_for(store, day)} (crisis status shows its deliveries)", file=sys.stderr)
        return 0
    try:
        service = CrisisService(config.crisis, store.db, user=user,
                                role=config.roles.role_of(user),
                                audit=AuditLog.for_config(store.db, config.audit))
    except CrisisError as err:
        print(f"supervisor-tui: queued, not sent: {err}", file=sys.stderr)
        return 1

    async def deliver() -> list[Any]:
        try:
            until = now.timestamp() + config.crisis.delivery.send_wait_s
            return await service.worker.drain(queued.row_ids, until)
        finally:
            await service.aclose()

    rows = asyncio.run(deliver())
    for row in rows:
        said = "delivered" if row.state == DELIVERED else f"{row.state}: {row.last_error}"
        print(f"report mail to {row.recipient} on {row.channel}: {said}", file=sys.stderr)
    return 0 if rows and all(r.state == DELIVERED for r in rows) else 1
