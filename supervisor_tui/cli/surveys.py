"""``supervisor-tui surveys import FILE``: survey responses from a CSV (or JSON) export
into the shared store, where every console on it reads them (no collector needed).

Rows that do not validate are listed by line and left out; the rest are stored (each
once: importing the same file again adds nothing). ``--tool`` names whose response ids
the file carries, so a Qualtrics export completes the id-only notifications its
webhook sent instead of counting twice.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from supervisor_tui.config import Config

EXIT_OK, EXIT_USAGE, EXIT_FAILED = 0, 2, 1
_MAX_FILE = 50 * 1024 * 1024


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    surveys = sub.add_parser("surveys", help="survey responses (CSAT / NPS): import a file")
    ssub = surveys.add_subparsers(dest="surveys_command", metavar="ACTION", required=True)
    imp = ssub.add_parser(
        "import", help="store the responses of a CSV or JSON file (docs/surveys.md)",
        description="Columns (any order, header names as docs/surveys.md lists): "
        "response_id or contact_id, csat (1-5) and/or nps (0-10), and optionally queue, "
        "agent, team, customer, tier, answered_at. A JSON file holds the generic objects "
        "(or the tool's, with --tool and its [surveys.map]).")
    imp.add_argument("file", type=Path, metavar="FILE")
    imp.add_argument("--tool", choices=["csv", "qualtrics", "medallia", "generic"],
                     default="csv", help="whose response ids these are (default csv)")
    imp.add_argument("--db", type=Path, default=argparse.SUPPRESS,
                     help="SQLite store (default: user data dir)")
    imp.add_argument("--config", type=Path, default=argparse.SUPPRESS,
                     help="TOML config: its time zone and [surveys.map]")
    imp.add_argument("--json", action="store_true", help="one JSON object on stdout")


def run(args: argparse.Namespace, config: Config) -> int:
    from supervisor_tui.cli.store_place import location
    from supervisor_tui.domain.survey_shapes import (
        SurveyError,
        maps_with,
        parse_body,
        parse_csv,
    )
    from supervisor_tui.domain.surveys import SurveyTool
    from supervisor_tui.poller import utcnow
    from supervisor_tui.store import Store, StoreError
    from supervisor_tui.store.surveys import save_surveys

    def fail(message: str, code: int = EXIT_USAGE) -> int:
        print(f"supervisor-tui surveys import: {message}", file=sys.stderr)
        return code

    path: Path = args.file
    try:
        if path.stat().st_size > _MAX_FILE:
            return fail(f"{path}: over {_MAX_FILE // 2**20} MiB")
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return fail(f"{path}: no such file")
    except UnicodeDecodeError:
        return fail(f"{path}: not UTF-8 text (save the export as UTF-8 CSV)")
    except OSError as err:
        return fail(f"{path}: cannot read ({err.strerror})")
    zone = ZoneInfo(config.console.timezone)
    now = utcnow()
    tool = SurveyTool(args.tool)
    rejected: list[str] = []
    try:
        if path.suffix.lower() == ".json" or text.lstrip()[:1] in ("[", "{"):
            try:
                body = json.loads(text)
            except json.JSONDecodeError as err:
                return fail(f"{path}: not JSON ({err.msg} at line {err.lineno})")
            responses = parse_body(body, SurveyTool.GENERIC if tool is SurveyTool.CSV
                                   else tool, maps_with(config.surveys.map), zone, now)
        else:
            responses, rejected = parse_csv(text, zone, now, tool)
    except SurveyError as err:
        return fail(f"{path}: {err}")
    try:
        store = Store.open(location(config, getattr(args, "db", None)))
    except (StoreError, ValueError) as err:
        return fail(str(err), EXIT_FAILED)
    try:
        saved = save_surveys(store, responses, zone, now)
    except StoreError as err:
        return fail(str(err), EXIT_FAILED)
    finally:
        store.close()
    days = sorted({r.answered_at.astimezone(zone).date().isoformat() for r in responses})
    if args.json:
        print(json.dumps({"file": str(path), "stored": saved.added,
                          "completed": saved.completed, "duplicates": saved.duplicates,
                          "rejected": rejected, "days": days}))
    else:
        span = f" ({days[0]}" + (f" to {days[-1]})" if len(days) > 1 else ")") if days else ""
        print(f"{path}: {saved.added} responses stored{span}, {saved.completed} pending "
              f"ones completed, {saved.duplicates} already stored, {len(rejected)} rows "
              "rejected")
        for line in rejected[:50]:
            print(f"  rejected {line}")
        if len(rejected) > 50:
            print(f"  ... and {len(rejected) - 50} more")
    return EXIT_FAILED if rejected and not responses else EXIT_OK
