"""Audit log, live: every action attempt with who, what, outcome and the chain check."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from supervisor_tui.domain.board import Board
from supervisor_tui.domain.text import clean
from supervisor_tui.store import StoreError
from supervisor_tui.store.audit import AuditLog
from supervisor_tui.ui.screens.base import BoardScreen
from supervisor_tui.ui.widgets.grid import Column, Grid
from supervisor_tui.ui.widgets.keys_footer import KeysFooter
from supervisor_tui.ui.widgets.status_bar import StatusBar

OUTCOME_STYLE = {"done": "green", "allowed": "dim", "refused": "yellow", "failed": "bold red"}
Record = dict[str, Any]


def audit_columns() -> list[Column[Record]]:
    return [
        Column("ts", "Time (UTC)", 19, lambda r, now: r["ts"][:19].replace("T", " "),
               priority=1),
        Column("user", "User", 10, lambda r, now: clean(r["user"], 30), priority=0),
        Column("action", "Action", 16, lambda r, now: clean(r["action"], 30), priority=0),
        Column("outcome", "Outcome", 8, lambda r, now: Text(
            r["outcome"], style=OUTCOME_STYLE.get(r["outcome"], "")), priority=0),
        Column("subject", "Subject", 16, lambda r, now: clean(r["subject"], 60), priority=2),
        Column("response", "Response", 20, lambda r, now: clean(r["response"] or "", 200),
               priority=1, flex=True, max_width=120),
    ]


class AuditScreen(BoardScreen):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("v", "verify", "Verify chain")]

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield Static(id="audit-summary", markup=False)
        yield Grid(audit_columns(), key_of=lambda r: str(r["id"]), now=self.sup.state.centre_now,
                   empty_text="No action has been taken yet", id="audit")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#audit", Grid).focus()

    def show_board(self, board: Board) -> None:
        audit = self.sup.audit
        if not isinstance(audit, AuditLog):  # None, or a sink this console cannot read
            self.query_one("#audit-summary", Static).update(Text(
                " The audit log is unavailable: actions are refused." if audit is None
                else " This console's audit sink cannot be read here.", "bold red"))
            return
        try:
            records = list(reversed(audit.records()))  # newest first
        except StoreError as err:
            self.query_one("#audit-summary", Static).update(Text(f" {err}", "bold red"))
            return
        self.query_one("#audit", Grid).set_rows(records)
        self.query_one("#audit-summary", Static).update(
            Text(f" {len(records)} record(s), newest first · v verifies the hash chain", "dim"))

    def action_verify(self) -> None:
        audit = self.sup.audit
        if not isinstance(audit, AuditLog):
            self.notify("No audit log to verify on this console", severity="warning")
            return
        result = audit.verify()
        if result.ok:
            self.notify("Audit log OK: " + "; ".join((result.proven, *result.warnings)),
                        severity="warning" if result.warnings else "information",
                        timeout=10)
        else:
            self.notify(f"Audit log TAMPERED: {result.reason} (record {result.first_bad_id})",
                        severity="error", timeout=20)

    def title_text(self) -> str:
        state = self.sup.state
        return f"Audit log · {state.local(state.clock()):%Y-%m-%d}"
