"""``supervisor-tui crisis ...`` and ``supervisor-tui incident ...``.

``add_parsers`` registers both commands on the main parser; ``run`` executes one with
the loaded config and an open store. Output is for people (``--json`` for scripts);
errors are one line on stderr, never a traceback.

Exit status: 0 done (every delivery delivered); 1 refused, or a delivery failed for
good, or the store failed; 2 bad input or config; 3 some deliveries still pending
(retrying, or waiting for a console connected to a source) when the wait ran out —
they stay queued for ``crisis deliver`` or any console.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from supervisor_tui.domain.text import TerminalStream, clean

if TYPE_CHECKING:
    from supervisor_tui.config import Config
    from supervisor_tui.crisis.channels import Broadcast
    from supervisor_tui.crisis.config import CrisisConfig
    from supervisor_tui.crisis.outbox import OutboxRow
    from supervisor_tui.crisis.service import CrisisService
    from supervisor_tui.crisis.templates import Preview
    from supervisor_tui.sources.base import Source
    from supervisor_tui.store import Store

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_PENDING = 0, 1, 2, 3
PROG = "supervisor-tui"


def _variable(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    return clean(name.strip(), 100), clean(value, 2000)


def _text(text: str) -> str:
    """Free text from the command line is data too: no escape or control character
    reaches the store, the consoles, a message or an export."""
    return clean(text, 2000)


def _wait(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"cannot be negative: {text!r}")
    return value


def _incident_id(text: str) -> int:
    digits = text.strip().lstrip("#")
    if not digits.isdigit():
        raise argparse.ArgumentTypeError(f"not an incident number: {text!r} (e.g. 3 or #3)")
    return int(digits)


def _add_template_args(parser: argparse.ArgumentParser, required: bool) -> None:
    parser.add_argument("--template", required=required, metavar="NAME",
                        help="a [crisis.templates.NAME] from the config")
    parser.add_argument("--var", type=_variable, action="append", default=[],
                        metavar="KEY=VALUE", help="a template variable (repeatable); the "
                        "incident supplies title, severity, queues, impact, eta")
    parser.add_argument("--yes", action="store_true",
                        help="send without asking (required when not on a terminal)")
    parser.add_argument("--wait", type=_wait, metavar="SECONDS",
                        help="keep retrying this long (default: [crisis.delivery] "
                        "send_wait_s); the rest stays queued")


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``crisis`` and ``incident`` on the main parser's sub-commands."""
    crisis = sub.add_parser("crisis", help="crisis communications: send, status, deliver")
    csub = crisis.add_subparsers(dest="crisis_command", metavar="ACTION", required=True)
    send = csub.add_parser("send", help="preview, confirm, queue and deliver a message")
    _add_template_args(send, required=True)
    send.add_argument("--incident", type=_incident_id, metavar="ID",
                      help="default: the only active incident")
    send.add_argument("--preview", action="store_true", help="show the text, send nothing")
    send.add_argument("--channel", action="append", metavar="NAME",
                      help="send on only this of the template's channels (repeatable), e.g. "
                      "to leave out one whose secret is not set here")
    send.add_argument("--json", action="store_true", help="one JSON object on stdout")
    status = csub.add_parser("status", help="pending and failed deliveries")
    status.add_argument("--incident", type=_incident_id, metavar="ID")
    status.add_argument("--all", action="store_true", help="delivered ones too")
    status.add_argument("--json", action="store_true", help="one JSON object per line")
    deliver = csub.add_parser("deliver", help="resume every undelivered message")
    deliver.add_argument("--wait", type=_wait, metavar="SECONDS",
                         help="keep retrying this long (default: send_wait_s)")
    deliver.add_argument("--json", action="store_true", help="one JSON object on stdout")
    requeue = csub.add_parser("requeue", help="queue failed deliveries again (same keys)")
    requeue.add_argument("rows", type=int, nargs="+", metavar="DELIVERY",
                         help="delivery numbers from `crisis status`")
    csub.add_parser("templates", help="list templates, their channels and variables")

    incident = sub.add_parser("incident", help="declare, resolve, list and export incidents")
    isub = incident.add_subparsers(dest="incident_command", metavar="ACTION", required=True)
    declare = isub.add_parser("declare", help="declare an incident (banner on every console)")
    declare.add_argument("--title", required=True, type=_text)
    declare.add_argument("--severity", required=True, choices=["critical", "major", "minor"])
    declare.add_argument("--queue", action="append", default=[], metavar="QUEUE", type=_text,
                         help="an affected queue (repeatable, or comma separated)")
    declare.add_argument("--impact", default="", type=_text, help="what customers notice")
    declare.add_argument("--eta", default="", type=_text, help="next update / expected fix")
    resolve = isub.add_parser("resolve", help="resolve, optionally sending the all clear")
    resolve.add_argument("id", type=_incident_id)
    resolve.add_argument("--note", default="", type=_text)
    _add_template_args(resolve, required=False)
    listing = isub.add_parser("list", help="active incidents (--all: every one)")
    listing.add_argument("--all", action="store_true")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    export = isub.add_parser("export", help="the incident and its timeline as Markdown")
    export.add_argument("id", type=_incident_id)
    export.add_argument("--output", "-o", type=Path, help="write to FILE instead of stdout")
    note = isub.add_parser("note", help="record an action taken on the timeline")
    note.add_argument("id", type=_incident_id)
    note.add_argument("text", type=_text)


# -- running -----------------------------------------------------------------------------


def _fail(message: str, code: int = EXIT_USAGE) -> int:
    print(f"{PROG}: {message}", file=sys.stderr)
    return code


def _build_service(args: argparse.Namespace, config: Config, crisis: CrisisConfig,
                   store: Store, broadcasters: dict[str, Broadcast]) -> CrisisService:
    from supervisor_tui.actions import current_user
    from supervisor_tui.config import Role
    from supervisor_tui.crisis.service import CrisisService
    from supervisor_tui.store.audit import AuditLog

    user = current_user(config)
    role = Role.VIEWER if getattr(args, "read_only", False) else config.roles.role_of(user)
    return CrisisService(crisis, store.db, user=user, role=role,
                         audit=AuditLog.for_config(store.db, config.audit),
                         broadcasters=broadcasters)


def _needs_sources(args: argparse.Namespace) -> bool:
    return (args.command == "crisis" and args.crisis_command in ("send", "deliver")) or (
        args.command == "incident" and args.incident_command == "resolve"
        and args.template is not None)


def _connect_sources(config: Config,
                     crisis: CrisisConfig) -> tuple[dict[str, Broadcast], list[Source]]:
    """Broadcast functions of the sources the agents channels name. The built-in
    simulator lives inside each console, so the CLI never broadcasts to one of its own:
    those rows are left for a console."""
    from supervisor_tui.crisis.config import AgentsChannel
    from supervisor_tui.sources.base import Capability
    from supervisor_tui.sources.build import build_source
    from supervisor_tui.sources.registry import SimulatorSettings

    wanted = {name for ch in crisis.channels.values() if isinstance(ch, AgentsChannel)
              for name in ch.sources}
    unknown = sorted(wanted - set(config.sources) - {"simulator"})
    if unknown:
        raise ValueError(f"the agents channel names source(s) {', '.join(unknown)}, which "
                         "[sources] does not configure")
    broadcasters: dict[str, Broadcast] = {}
    opened: list[Source] = []
    for name in sorted(wanted & set(config.sources)):
        settings = config.sources[name]
        if isinstance(settings, SimulatorSettings) or not settings.enabled:
            continue
        source = build_source(name, settings, config.console.policy, config.simulator)
        opened.append(source)
        if source.supports(Capability.BROADCAST):
            broadcasters[name] = source.broadcast
    return broadcasters, opened


def run(args: argparse.Namespace, config: Config, store: Store,
        crisis: CrisisConfig | None = None) -> int:
    """Run ``crisis ...`` or ``incident ...``; ``crisis`` defaults to ``config.crisis``."""
    if crisis is None:
        crisis = config.crisis
    assert crisis is not None
    # Whatever this prints (titles, template text, receivers' error texts) reaches the
    # terminal with no escape sequence in it: no window title, clipboard write or link.
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = TerminalStream(out), TerminalStream(err)
    try:
        return _run(args, config, store, crisis)
    finally:
        sys.stdout, sys.stderr = out, err


def _run(args: argparse.Namespace, config: Config, store: Store,
         crisis: CrisisConfig) -> int:
    from supervisor_tui.crisis.service import CrisisError
    from supervisor_tui.sources.base import SourceError
    from supervisor_tui.store import StoreError

    try:
        broadcasters, opened = (_connect_sources(config, crisis) if _needs_sources(args)
                                else ({}, []))
    except (ValueError, SourceError) as err:
        return _fail(str(err))
    try:
        service = _build_service(args, config, crisis, store, broadcasters)
        return asyncio.run(_dispatch(args, service, opened))
    except CrisisError as err:
        return _fail(str(err), EXIT_USAGE if err.code in ("invalid", "not_found")
                     else EXIT_FAILED)
    except StoreError as err:
        return _fail(str(err), EXIT_FAILED)
    except KeyboardInterrupt:
        # Whatever was queued stays queued: say how to finish it.
        return _fail("interrupted; undelivered messages stay queued — run "
                     f"`{PROG} crisis deliver`", EXIT_PENDING)


async def _dispatch(args: argparse.Namespace, service: CrisisService,
                    opened: list[Source]) -> int:
    try:
        if args.command == "crisis":
            handler = {"send": _send, "status": _status, "deliver": _deliver,
                       "requeue": _requeue, "templates": _templates}[args.crisis_command]
        else:
            handler = {"declare": _declare, "resolve": _resolve, "list": _list,
                       "export": _export, "note": _note}[args.incident_command]
        return await handler(args, service)
    finally:
        await service.aclose()
        for source in opened:
            await source.close()


# -- crisis ------------------------------------------------------------------------------


def print_preview(preview: Preview, title: str) -> None:
    print(f"Template {preview.template} ({preview.kind}) for incident {title}")
    for ch in preview.channels:
        recipients = [r for r in ch.recipients if r]
        to = f" to {', '.join(recipients)}" if recipients else ""
        print(f"\n── {ch.channel} ({ch.type}){to} — {ch.limits}")
        if ch.subject:
            print(f"   Subject: {ch.subject}")
        for line in ch.body.splitlines() or [""]:
            print(f"   {line}")
        for problem in ch.problems:
            print(f"   !! {problem}")
    for problem in preview.problems:
        print(f"\n!! {problem}")
    print()


def _confirm(question: str) -> bool | None:
    """The answer, or None when nobody can answer (stdin is not a terminal)."""
    if not sys.stdin.isatty():
        return None
    try:
        return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")
    except EOFError:
        return False


def _row_line(row: OutboxRow, why_waiting: str | None = None) -> str:
    detail = row.last_error or ""
    if row.state == "delivered":
        detail = f"delivered at {(row.delivered_at or '')[11:19]} UTC"
    elif why_waiting:
        detail = why_waiting
    elif row.state == "retrying":
        from datetime import UTC, datetime

        at = datetime.fromtimestamp(row.next_attempt_at, UTC).strftime("%H:%M:%S")
        detail = (f"outcome unknown, it may have arrived ({detail}); not sent again before "
                  f"{at} UTC" if row.unknown else f"{detail}; next attempt at {at} UTC")
    if row.attempt_by and not row.settled:
        detail += f" [last attempt by {row.attempt_by.rsplit(':', 1)[0]}]"
    state = "unknown" if row.unknown else row.state
    return (f"  {row.id:>5}  {state:<10} {row.target:<36} attempts {row.attempts:<3} "
            f"{detail}").rstrip()


def _row_doc(row: OutboxRow, service: CrisisService) -> dict[str, Any]:
    return {"delivery": row.id, "message": row.message_id, "incident": row.incident_id,
            "channel": row.channel, "type": row.channel_type, "recipient": row.recipient,
            "state": row.state, "attempts": row.attempts, "error": row.last_error,
            "http_status": row.last_status, "idempotency_key": row.key,
            "delivered_at": row.delivered_at, "waiting_for": service.waiting_for_source(row),
            "outcome_unknown": row.unknown, "attempt_by": row.attempt_by}


def _outcome(rows: Sequence[OutboxRow]) -> int:
    if any(r.state == "failed" for r in rows):
        return EXIT_FAILED
    if any(r.state != "delivered" for r in rows):
        return EXIT_PENDING
    return EXIT_OK


def _summary(rows: Sequence[OutboxRow]) -> str:
    counts = {s: sum(r.state == s for r in rows) for s in ("delivered", "failed")}
    pending = len(rows) - counts["delivered"] - counts["failed"]
    unknown = sum(r.unknown for r in rows)
    return (f"{counts['delivered']} delivered, {counts['failed']} failed, {pending} pending"
            + (f" ({unknown} outcome unknown)" if unknown else ""))


def _variables(args: argparse.Namespace) -> dict[str, str]:
    return dict(args.var)


async def _send(args: argparse.Namespace, service: CrisisService) -> int:
    incident = service.target_incident(args.incident)
    variables = _variables(args)
    preview = service.preview(args.template, variables, incident.id, args.channel)
    if not args.json or args.preview:
        print_preview(preview, f"#{incident.id} {incident.title}")
    if not preview.ok:
        broken = [c.channel for c in preview.channels if not c.ok]
        working = [c.channel for c in preview.channels if c.ok]
        hint = (f" (to send to the others: {' '.join('--channel ' + c for c in working)})"
                if broken and working else "")
        return _fail("not sent: " + "; ".join(preview.all_problems()) + hint)
    if args.preview:
        return EXIT_OK
    if not args.yes:
        answer = _confirm(f"Send to {sum(len(c.recipients) for c in preview.channels)} "
                          "recipient(s)?")
        if answer is None:
            return _fail("not sent: add --yes to send without a terminal to confirm on")
        if not answer:
            print("Not sent.")
            return EXIT_OK
    queued = service.queue(args.template, variables, incident.id, channels=args.channel)
    if not args.json:
        print(f"Queued message {queued.message_id}: {len(queued.row_ids)} deliveries. "
              "Delivering...")
    report = await service.send_queued(queued, args.wait)
    return _report_rows(list(report.rows), service, args.json,
                        {"message": queued.message_id, "incident": incident.id})


def _report_rows(rows: list[OutboxRow], service: CrisisService, as_json: bool,
                 extra: dict[str, Any]) -> int:
    code = _outcome(rows)
    if as_json:
        print(json.dumps({**extra, "exit": code,
                          "deliveries": [_row_doc(r, service) for r in rows]}))
        return code
    for row in rows:
        print(_row_line(row, service.waiting_for_source(row)))
    print(_summary(rows))
    if code == EXIT_PENDING:
        print(f"Pending deliveries stay queued: `{PROG} crisis deliver` or any console "
              "will finish them.")
    return code


async def _status(args: argparse.Namespace, service: CrisisService) -> int:
    rows = service.status(args.incident, include_settled=args.all)
    if args.json:
        for row in rows:
            print(json.dumps(_row_doc(row, service)))
        return EXIT_OK
    if not rows:
        print("Nothing pending or failed." if not args.all else "No deliveries.")
        return EXIT_OK
    for row in rows:
        print(_row_line(row, service.waiting_for_source(row)))
    print(_summary(rows))
    return EXIT_OK


async def _deliver(args: argparse.Namespace, service: CrisisService) -> int:
    rows = await service.deliver(args.wait)
    if not rows and not args.json:
        print("Nothing to deliver.")
        return EXIT_OK
    return _report_rows(rows, service, args.json, {})


async def _requeue(args: argparse.Namespace, service: CrisisService) -> int:
    count = service.requeue_failed(args.rows)
    print(f"{count} failed delivery(ies) queued again; `{PROG} crisis deliver` sends them.")
    return EXIT_OK if count == len(set(args.rows)) else EXIT_FAILED


async def _templates(args: argparse.Namespace, service: CrisisService) -> int:
    if not service.template_names():
        print("No templates: add [crisis.templates.NAME] to the config.")
    for name in service.template_names():
        template = service.config.templates[name]
        print(f"{name} ({template.kind.value}): {', '.join(template.channels)}")
        if template.description:
            print(f"    {template.description}")
        print(f"    variables: {', '.join(service.template_variables(name))}")
    return EXIT_OK


# -- incident ----------------------------------------------------------------------------


async def _declare(args: argparse.Namespace, service: CrisisService) -> int:
    queues = [q.strip() for item in args.queue for q in item.split(",") if q.strip()]
    incident = service.declare(args.title, args.severity, queues, args.impact, args.eta)
    print(f"Declared incident #{incident.id} ({incident.severity}): {incident.title}")
    return EXIT_OK


async def _resolve(args: argparse.Namespace, service: CrisisService) -> int:
    variables = _variables(args)
    undelivered = service.undelivered(args.id)
    if undelivered:
        print(f"warning: {len(undelivered)} earlier message(s) to customers not delivered: "
              + ", ".join(f"{r.target} ({r.state})" for r in undelivered[:5])
              + "; they are still sent, after the incident is resolved",
              file=sys.stderr)
    if args.template is None:
        if variables:
            return _fail("--var needs --template")
        incident, _ = service.resolve(args.id, args.note)
        print(f"Resolved incident #{incident.id}.")
        return EXIT_OK
    incident = service.incident(args.id)
    preview = service.preview(args.template, variables, incident.id)
    print_preview(preview, f"#{incident.id} {incident.title}")
    if not preview.ok:
        return _fail("not resolved: " + "; ".join(preview.all_problems()))
    if not args.yes:
        answer = _confirm("Send the all clear and resolve?")
        if answer is None:
            return _fail("not resolved: add --yes to send without a terminal to confirm on")
        if not answer:
            print("Not resolved.")
            return EXIT_OK
    incident, queued = service.resolve(args.id, args.note, args.template, variables)
    assert queued is not None  # a template was given, so the all clear is queued
    print(f"Resolved incident #{incident.id}; delivering message {queued.message_id}...")
    report = await service.send_queued(queued, args.wait)
    return _report_rows(list(report.rows), service, False, {})


async def _list(args: argparse.Namespace, service: CrisisService) -> int:
    incidents = service.incident_list(active_only=not args.all)
    for inc in incidents:
        if args.json:
            print(json.dumps({"id": inc.id, "title": inc.title, "severity": inc.severity,
                              "state": inc.state, "queues": list(inc.queues),
                              "impact": inc.impact, "eta": inc.eta,
                              "declared_at": inc.declared_at.isoformat(),
                              "declared_by": inc.declared_by,
                              "resolved_at": inc.resolved_at.isoformat()
                              if inc.resolved_at else None}))
        else:
            when = inc.declared_at.strftime("%Y-%m-%d %H:%M")
            print(f"#{inc.id:<4} {inc.state:<9} {inc.severity:<9} {when}  {inc.title}"
                  f"{'  [' + ', '.join(inc.queues) + ']' if inc.queues else ''}")
    if not incidents and not args.json:
        print("No active incidents." if not args.all else "No incidents.")
    return EXIT_OK


async def _export(args: argparse.Namespace, service: CrisisService) -> int:
    text = service.export_markdown(args.id)
    if args.output is None:
        sys.stdout.write(text)
        return EXIT_OK
    try:
        args.output.write_text(text, encoding="utf-8")
    except OSError as err:
        return _fail(f"cannot write {args.output}: {err.strerror}", EXIT_FAILED)
    print(f"Wrote incident #{args.id} to {args.output}")
    return EXIT_OK


async def _note(args: argparse.Namespace, service: CrisisService) -> int:
    service.note(args.id, args.text)
    print(f"Noted on incident #{args.id}.")
    return EXIT_OK


# -- standalone entry (python -m supervisor_tui.cli.crisis; the tests use it) --------------


def load_configs(path: Path | None) -> tuple[Config, CrisisConfig]:
    """The main config and its ``[crisis]`` table. Raises ConfigError."""
    from supervisor_tui.config import load_config

    config = load_config(path, required=path is not None)
    return config, config.crisis


def main(argv: Sequence[str] | None = None) -> int:
    from supervisor_tui.cli.store_place import location
    from supervisor_tui.config import ConfigError
    from supervisor_tui.store import Store, StoreError

    parser = argparse.ArgumentParser(prog=PROG)
    parser.add_argument("--config", type=Path)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--read-only", action="store_true")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    add_parsers(sub)
    args = parser.parse_args(argv)
    try:
        config, crisis = load_configs(args.config)
    except ConfigError as err:
        print(err, file=sys.stderr)
        return EXIT_USAGE
    try:
        store = Store.open(location(config, args.db))
    except (StoreError, ValueError) as err:
        return _fail(str(err), EXIT_FAILED)
    try:
        return run(args, config, store, crisis)
    finally:
        store.close()


if __name__ == "__main__":
    sys.exit(main())
