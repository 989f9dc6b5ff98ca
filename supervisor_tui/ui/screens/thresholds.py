"""Thresholds (T): live settings an admin changes without a restart — queue SL targets
and thresholds (display: SL status, wait colours), escalation limits, notice policy —
each with its value in force, the config's default, who changed it and when.

Enter edits (validated with the config's own limits, the reason shown), y confirms,
Backspace/Delete puts the config's value back. Each change is one audited attempt
("live_settings", admin only) written with a compare-and-set, so a second admin who
changed it meanwhile is named instead of overwritten. Every console on the store applies
it at its next poll. Others see the values read-only; a change key pressed anyway says
why (and is audited).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Input, Label, Static

from supervisor_tui.config.live import (
    LiveSettingError,
    config_value,
    encode,
    keys_for,
    parse_text,
    validate,
)
from supervisor_tui.domain import fmt
from supervisor_tui.domain.board import Board
from supervisor_tui.domain.text import clean
from supervisor_tui.store import StoreError
from supervisor_tui.ui.screens.base import BoardScreen
from supervisor_tui.ui.widgets.grid import Column, Grid
from supervisor_tui.ui.widgets.keys_footer import KeysFooter
from supervisor_tui.ui.widgets.status_bar import StatusBar

PERMISSION = "live_settings"


@dataclass(frozen=True)
class SettingRow:
    key: str
    value: Any  # in force
    default: Any  # the config's (a queue's: the source's)
    live: bool  # a live value is in force
    by: str  # who last changed (or cleared) it
    at: str  # when, in the centre's zone
    seq: int  # the row's seq as read: the compare-and-set's expectation


def show_value(key: str, value: Any) -> str:
    if value is None:
        return fmt.DASH
    if key.endswith(".sl_target") and isinstance(value, float):
        return fmt.pct(value)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "none"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def edit_text(value: Any) -> str:
    """The value as typed back in (a list as a comma list)."""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


class SettingsGrid(Grid[SettingRow], inherit_bindings=False):
    """The table without Grid's own Enter: Enter is the screen's (gated) edit key."""

    BINDINGS: ClassVar[list[BindingType]] = [
        b for b in Grid.BINDINGS if isinstance(b, Binding) and b.key != "enter"]


class ThresholdsScreen(BoardScreen):
    DEFAULT_CSS = """
    ThresholdsScreen #edit-field { height: 1; display: none; }
    ThresholdsScreen.-editing #edit-field { display: block; }
    ThresholdsScreen #edit-field > Label { width: auto; margin-right: 1; text-style: bold; }
    ThresholdsScreen #edit-field > Input { width: 1fr; background: $boost; }
    ThresholdsScreen #thresholds-note { height: auto; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "edit", "Edit"),
        Binding("y", "confirm", "Confirm"),
        Binding("backspace,delete", "reset", "Reset to config", key_display="⌫"),
        Binding("escape", "cancel", "Cancel", show=False),
    ]
    GATED: ClassVar = {"edit": PERMISSION, "confirm": PERMISSION, "reset": PERMISSION}

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, SettingRow] = {}
        self.editing: SettingRow | None = None
        #: (row as read, new value; None = back to the config) waiting for y
        self.pending: tuple[SettingRow, Any] | None = None
        self.note: Text | None = None

    def compose(self) -> ComposeResult:
        columns: list[Column[SettingRow]] = [
            Column("key", "Setting", 30, lambda r, now: clean(r.key, 80), priority=0,
                   flex=True, max_width=48),
            Column("value", "In force", 12, lambda r, now: Text(
                show_value(r.key, r.value) + (" *live" if r.live else ""),
                style="bold yellow" if r.live else ""), priority=0, flex=True, max_width=40),
            Column("default", "Config", 10, lambda r, now: Text(
                show_value(r.key, r.default), style="dim"), priority=1, flex=True,
                max_width=30),
            Column("by", "Changed by", 10, lambda r, now: clean(r.by, 20), priority=2),
            Column("at", "When", 12, lambda r, now: r.at, priority=2),
        ]
        yield StatusBar(id="status")
        yield Static(id="thresholds-note", markup=False)
        yield SettingsGrid(columns, key_of=lambda r: r.key, now=self.sup.state.centre_now,
                           empty_text="Waiting for the first poll", id="thresholds")
        with Horizontal(id="edit-field"):
            yield Label(id="edit-label", markup=False)
            yield Input(id="edit-input", compact=True)
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#thresholds", Grid).focus()

    def title_text(self) -> str:
        return "Thresholds (live settings)"

    # -- rendering -------------------------------------------------------------------

    def _build_rows(self, board: Board) -> dict[str, SettingRow]:
        state = self.sup.state
        config, base = state.config, state.base_config
        stored, applied = state.live_rows, state.live.applied
        source_queues = state.source_queues()
        shown_queues = {r.queue.id: r.queue for r in board.rows}
        rows: dict[str, SettingRow] = {}
        for key in keys_for(base, board.snapshot.queues):
            row = stored.get(key)
            at = ""
            if row is not None and row["updated_at"]:
                try:
                    at = f"{state.local(datetime.fromisoformat(row['updated_at'])):%m-%d %H:%M}"
                except ValueError:
                    at = "?"
            rows[key] = SettingRow(
                key=key, value=config_value(config, shown_queues, key),
                default=config_value(base, source_queues, key), live=key in applied,
                by=row["updated_by"] if row else "", at=at, seq=row["seq"] if row else 0)
        return rows

    def show_board(self, board: Board) -> None:
        self.rows = self._build_rows(board)
        self.query_one("#thresholds", Grid).set_rows(list(self.rows.values()))
        self._show_note()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        allowed = super().check_action(action, parameters)
        if allowed and action == "confirm" and self.pending is None:
            return None  # greyed, not hidden: y is the key once a change is asked
        return allowed

    def _show_note(self) -> None:
        self.refresh_keys()
        text = Text()
        if self.note is not None:
            text.append_text(self.note)
            text.append("\n")
        if self.pending is not None:
            row, value = self.pending
            after = (f"the config's {show_value(row.key, row.default)}" if value is None
                     else show_value(row.key, value))
            text.append(f"{clean(row.key, 80)}: {show_value(row.key, row.value)} → {after}. ",
                        "bold")
            text.append("y confirms (every console applies it at its next poll), Esc "
                        "cancels.", "bold")
        elif self.editing is None:
            why = self.sup.actions.auditor.refusal(PERMISSION)
            if self.sup.store is None:
                why = "no shared store: live settings need one"
            if why:
                text.append(f"Read-only: {why}.", "dim")
            else:
                text.append("Enter edits · ⌫ puts the config's value back · *live: set "
                            "here, not in the config file", "dim")
        self.query_one("#thresholds-note", Static).update(text)

    # -- keys ------------------------------------------------------------------------

    def _refused(self, key: str, params: dict[str, Any]) -> bool:
        """Say (and audit) why this user may not change settings; True if refused."""
        auditor = self.sup.actions.auditor
        why = auditor.refusal(PERMISSION)
        if why is None and self.sup.store is None:
            why = "no shared store: live settings need one"
        if why is None:
            return False
        stop = auditor.refuse(PERMISSION, key, params, why)
        self.notify(stop.message, title="Thresholds", severity="warning")
        return True

    def _cursor_row(self) -> SettingRow | None:
        key = self.query_one("#thresholds", Grid).cursor_key
        return self.rows.get(key) if key is not None else None

    def action_edit(self) -> None:
        row = self._cursor_row()
        if row is None or self._refused(row.key, {"key": row.key}):
            return
        self.pending, self.note, self.editing = None, None, row
        self.query_one("#edit-label", Label).update(f"{row.key} =")
        field = self.query_one("#edit-input", Input)
        field.value = edit_text(row.value)
        self.add_class("-editing")
        field.focus()
        self._show_note()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        row = self.editing
        if row is None:
            return
        try:
            value = validate(self.sup.state.base_config, row.key,
                             parse_text(row.key, event.value))
        except LiveSettingError as err:
            self.note = Text(f"✗ {err}: nothing changed (Esc cancels)", "bold red")
            self._show_note()
            return
        self._stop_editing()
        self.pending = (row, value)
        self.note = None
        self._show_note()

    def action_reset(self) -> None:
        row = self._cursor_row()
        if row is None or self._refused(row.key, {"key": row.key}):
            return
        self._stop_editing()
        if not row.live:
            self.note = Text(f"{row.key} already uses the config's value", "dim")
            self.pending = None
        else:
            self.note, self.pending = None, (row, None)
        self._show_note()

    def action_cancel(self) -> None:
        self._stop_editing()
        self.pending, self.note = None, None
        self._show_note()

    def _stop_editing(self) -> None:
        self.editing = None
        if self.has_class("-editing"):
            self.remove_class("-editing")
            self.query_one("#thresholds", Grid).focus()

    def action_confirm(self) -> None:
        pending = self.pending
        key = pending[0].key if pending else (self._cursor_row() or SettingRow(
            "", None, None, False, "", "", 0)).key
        if self._refused(key, {"key": key}) or pending is None:
            return
        row, value = pending
        self.pending = None
        self.note = self._save(row, value)
        self._show_note()

    def _save(self, row: SettingRow, value: Any) -> Text:
        """One audited attempt: permission -> intent -> compare-and-set -> outcome."""
        store, auditor = self.sup.store, self.sup.actions.auditor
        params = {"key": row.key, "before": row.value,
                  "after": row.default if value is None else value,
                  "config": row.default, "cleared": value is None}
        stop = auditor.begin(PERMISSION, row.key, params)
        if stop is not None:
            return Text(f"✗ {stop.message}", "bold red")
        if store is None:  # (refused above: kept for the type checker)
            return Text("✗ no shared store", "bold red")
        try:
            change = store.set_live_setting(row.key, None if value is None else encode(value),
                                            self.sup.user, self.sup.state.clock(), row.seq)
        except StoreError as err:
            auditor.finish(PERMISSION, row.key, params, False, str(err))
            return Text(f"✗ {err}", "bold red")
        response = ("saved" if value is not None else "back to the config") if change.done \
            else change.why
        warning = auditor.finish(PERMISSION, row.key, params, change.done, response)
        self.sup.apply_live_settings()
        self.sup.poll_now()  # the board and rules with it, now
        if not change.done:
            return Text(f"✗ {change.why}: see the value now and try again", "bold red")
        said = "the config's value" if value is None else show_value(row.key, value)
        text = Text(f"✓ {row.key} = {said} (every console at its next poll)", "bold green")
        if warning:
            text.append(f" · {warning}", "yellow")
        return text
