"""Abandoned: today's abandoned contacts as the sources report them (VIP and gold
first, then newest), with what was done about each: a call-back queued on the source
(a contact agents answer) or tracked in the shared store (marked done / no answer here).

Short abandons (under the queue's short-abandon time: out of every rate) are hidden
until ``h`` shows them; the header says how many. ``b`` calls the cursor row's customer
back (confirmed with ``y``); ``D`` / ``X`` mark a tracked call-back done / no answer.
Every one is an audited attempt (``Actions.create_callback`` / ``mark_callback``).
``x`` exports today's abandoned contacts as stored (short ones too) to a CSV file.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from supervisor_tui.domain import fmt
from supervisor_tui.domain.board import Board
from supervisor_tui.domain.model import (
    MAX_ABANDONED,
    AbandonedContact,
    ActionResult,
    Channel,
    Contact,
    ContactState,
    Snapshot,
    Tier,
)
from supervisor_tui.domain.text import clean
from supervisor_tui.export_events import export_day
from supervisor_tui.store import CALLBACK_DONE, CALLBACK_NO_ANSWER, CALLBACK_WAITING
from supervisor_tui.store.rows import Callback
from supervisor_tui.ui.screens.base import BoardScreen
from supervisor_tui.ui.screens.escalations import DeskConfirm
from supervisor_tui.ui.screens.export_file import ask_export
from supervisor_tui.ui.widgets.grid import Column, Grid
from supervisor_tui.ui.widgets.keys_footer import KeysFooter
from supervisor_tui.ui.widgets.status_bar import StatusBar
from supervisor_tui.ui.widgets.tables import TIER_STYLE

PERMISSION = "callback"
TIER_RANK = {Tier.VIP: 0, Tier.GOLD: 1, Tier.STANDARD: 2}
#: the Call-back column's words for a call-back tracked in the store
TRACKED_LABEL = {CALLBACK_WAITING: "tracked · waiting", CALLBACK_DONE: "tracked · done",
                 CALLBACK_NO_ANSWER: "tracked · no answer"}


def row_key(ab: AbandonedContact) -> str:
    return f"{ab.source}:{ab.id}"


@dataclass(frozen=True, slots=True)
class AbandonedRow:
    ab: AbandonedContact
    status: str  # what was done about it, in words ("" nothing yet)
    tracked: Callback | None  # the store's call-back for it, if tracked there


def order(rows: list[AbandonedRow]) -> list[AbandonedRow]:
    """VIP and gold first, then the newest."""
    return sorted(rows, key=lambda r: (TIER_RANK[r.ab.tier], -r.ab.abandoned_at.timestamp()))


def callback_contacts(snap: Snapshot) -> dict[tuple[str, str], Contact]:
    """The live contacts that are call-backs queued on a source, by (source, id): one
    pass over the contacts, however many call-backs."""
    ids = {(ab.source, ab.callback_id) for ab in snap.abandoned if ab.callback_id}
    if not ids:
        return {}
    return {(c.source, c.id): c for c in snap.contacts if (c.source, c.id) in ids}


def source_status(ab: AbandonedContact, live: dict[tuple[str, str], Contact]) -> str:
    """A call-back queued on the source, followed through the snapshot's contacts."""
    contact = live.get((ab.source, ab.callback_id or ""))
    where = f"queued ({clean(ab.source, 20)})"
    if contact is None:
        return f"{where} · ended"
    if contact.state is ContactState.WAITING:
        return f"{where} · waiting"
    return f"{where} · answered"


def callbacks_waiting(board: Board, tracked: Iterable[Callback] = ()) -> Counter[str]:
    """Call-backs waiting per queue: queued on a source and not yet answered, or
    tracked in the store and not yet marked done / no answer."""
    waiting: Counter[str] = Counter(
        c.queue_id for c in callback_contacts(board.snapshot).values()
        if c.state is ContactState.WAITING)
    waiting.update(r["queue_id"] for r in tracked if r["state"] == CALLBACK_WAITING)
    return waiting


def abandoned_today(board: Board) -> str:
    """Today's abandons: the list's length, unless the source sent only its newest
    ``MAX_ABANDONED``; then the day's counters (short ones included, as the list), and
    how many of them are listed."""
    listed = len(board.snapshot.abandoned)
    if listed < MAX_ABANDONED:
        return str(listed)
    counted = sum(r.day_stats.abandoned for r in board.rows)
    total = str(counted) if counted >= listed else f"{listed}+"
    return f"{total} · the newest {listed} listed"


class AbandonedScreen(BoardScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("b", "call_back", "Call back"),
        Binding("D", "mark('done')", "Done"),
        Binding("X", "mark('no_answer')", "No answer"),
        Binding("h", "toggle_short", "Short ones"),  # (short: x fits at 80 columns)
        Binding("x", "export", "Export"),
    ]
    GATED: ClassVar[dict[str, str]] = {"call_back": PERMISSION, "mark": PERMISSION}

    def __init__(self) -> None:
        super().__init__()
        self.show_short = False
        self.note: Text | None = None  # the last outcome or refusal
        self.tracked: dict[str, Callback] = {}  # "<source>:<abandoned id>" -> row

    def title_text(self) -> str:
        return "supervisor-tui · abandoned today"

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield Static(id="abandoned-head", markup=False)
        local = self.sup.state.local
        columns: list[Column[AbandonedRow]] = [
            Column("who", "Customer", 16, lambda r, now: clean(r.ab.customer or r.ab.id, 40),
                   priority=0, flex=True, max_width=30),
            Column("queue", "Queue", 12, lambda r, now: self.queue_name(r.ab.queue_id),
                   priority=2, flex=True, max_width=24),
            Column("tier", "Tier", 8,
                   lambda r, now: Text(r.ab.tier.value, style=TIER_STYLE[r.ab.tier]),
                   priority=0),
            Column("waited", "Waited", 7,
                   lambda r, now: Text(fmt.duration(r.ab.waited_s)
                                       + ("*" if r.ab.short else "")),
                   align="right", priority=3),
            Column("when", "When", 8,
                   lambda r, now: local(r.ab.abandoned_at).strftime("%H:%M:%S"), priority=1),
            # Kept at 80 columns before the queue and the wait: who to call back, on what.
            Column("handle", "Number / handle", 17,
                   lambda r, now: clean(r.ab.handle or "", 40), priority=1),
            Column("status", "Call-back", 24,
                   lambda r, now: Text(r.status, style="bold green" if "waiting" in r.status
                                       else ""), priority=0, flex=True, max_width=40),
        ]
        yield Grid(columns, key_of=lambda r: row_key(r.ab), now=self.sup.state.data_now,
                   empty_text="No abandoned contacts today (h shows short abandons)",
                   id="abandoned")
        yield Static(id="abandoned-note", markup=False)
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#abandoned", Grid).focus()

    # -- data ------------------------------------------------------------------------

    def _read_tracked(self) -> None:
        self.tracked = {r["id"]: r for r in self.sup.state.tracked_callbacks()}

    def _rows(self, board: Board) -> tuple[list[AbandonedRow], int]:
        snap = board.snapshot
        rows, short = [], 0
        live = callback_contacts(snap)
        for ab in snap.abandoned:
            if ab.short and not self.show_short:
                short += 1
                continue
            tracked = self.tracked.get(row_key(ab))
            if ab.callback_id is not None:
                status = source_status(ab, live)
            elif tracked is not None:
                status = TRACKED_LABEL.get(tracked["state"], tracked["state"])
                if tracked["state"] != CALLBACK_WAITING:
                    status += f" ({clean(tracked['updated_by'], 20)})"
            else:
                status = ""
            rows.append(AbandonedRow(ab, status, tracked))
        return order(rows), short

    def show_board(self, board: Board) -> None:
        self._read_tracked()
        rows, hidden = self._rows(board)
        self.query_one("#abandoned", Grid).set_rows(rows)
        head = Text(no_wrap=True, overflow="ellipsis")
        head.append(f" Abandoned today: {abandoned_today(board)}", "bold")
        if hidden:
            head.append(f"  ({hidden} short hidden · h shows them)", "dim")
        elif self.show_short:
            head.append("  (short abandons shown, marked * · h hides them)", "dim")
        waiting = callbacks_waiting(board, self.tracked.values())
        head.append("\n Call-backs waiting: ", "bold")
        if waiting:
            head.append(" · ".join(f"{self.queue_name(q, 20)} {n}"
                                   for q, n in sorted(waiting.items())))
        else:
            head.append("none", "dim")
        self.query_one("#abandoned-head", Static).update(head)
        self._show_note()

    def refresh_ages(self) -> None:
        self.query_one("#abandoned", Grid).refresh_changed()

    def _show_note(self) -> None:
        self.query_one("#abandoned-note", Static).update(self.note or "")

    def _say(self, result: ActionResult | str, ok: bool | None = None) -> None:
        if isinstance(result, ActionResult):
            ok, message = result.ok, result.message
        else:
            message = result
        style = "bold green" if ok else "bold red" if ok is False else "yellow"
        self.note = Text(("✓ " if ok else "✗ " if ok is False else "") + clean(message, 200),
                         style=style)
        self._show_note()

    # -- actions ---------------------------------------------------------------------

    def _cursor(self) -> AbandonedRow | None:
        return self.query_one("#abandoned", Grid).cursor_row

    def action_toggle_short(self) -> None:
        self.show_short = not self.show_short
        if self.sup.board is not None:
            self.show_board(self.sup.board)

    def action_export(self) -> None:
        """x: today's abandoned contacts as the store keeps them (every console's polls;
        short ones included, and marked) to a CSV file whose path is typed."""
        board, store = self.sup.board, self.sup.store
        if board is None:
            return
        if store is None:
            self._say("no store on this console: abandoned contacts are not kept, so "
                      "there is nothing to export", ok=False)
            return
        policy = self.sup.config.console.policy
        today = self.sup.state.local(board.taken_at).date()
        ask_export(self, "Export today's abandoned contacts (CSV, short ones included) to",
                   f"abandoned-{today}.csv",
                   lambda: export_day("abandoned", store, today, policy,
                                      queues=self.scope_queues()),
                   "abandoned contact")

    def _callback_queue(self, ab: AbandonedContact) -> str | None:
        """The queue a call-back goes to: the contact's own, or (for a chat or email
        abandon queued on a source) the first voice queue of that source."""
        board = self.sup.board
        if not self.sup.actions.callback_on_source(ab.source) or board is None:
            return ab.queue_id
        row = board.rows_by_id.get(ab.queue_id)
        if row is not None and row.queue.channel is Channel.VOICE:
            return ab.queue_id
        return next((q.id for q in board.snapshot.queues
                     if q.source == ab.source and q.channel is Channel.VOICE), None)

    def action_call_back(self) -> None:
        row = self._cursor()
        if row is None:
            self._say("no abandoned contact here", ok=False)
            return
        ab = row.ab
        queue_id = self._callback_queue(ab)
        if queue_id is None:
            self._say(f"{clean(ab.source, 20)} has no voice queue to call back from", ok=False)
            return
        if self._lacking("call_back") is not None:  # refused by the action, audited
            self._create(ab, queue_id)
            return
        if ab.callback_id is not None or row.tracked is not None:
            self._say(f"already called back: {row.status}", ok=False)
            return
        where = (f"queue a call-back in {self.queue_name(queue_id, 30)} on "
                 f"{clean(ab.source, 20)}" if self.sup.actions.callback_on_source(ab.source)
                 else "track a call-back in the shared store")
        question = (f"Call back {clean(ab.customer or ab.id, 40)} ({ab.tier.value}, "
                    f"{clean(ab.handle or 'no number', 30)})? This will {where}.")

        def answered(yes: bool | None) -> None:
            if yes:
                self._create(ab, queue_id)
            else:
                self._say("not called back")

        self.app.push_screen(DeskConfirm(question), answered)

    @work(exclusive=True, group="callback")
    async def _create(self, ab: AbandonedContact, queue_id: str) -> None:
        result = await self.sup.actions.create_callback(ab, queue_id, self.sup.store,
                                                        self.sup.state.clock())
        self._say(result)
        self.sup.state.forget_callbacks()
        self.sup.poll_now()

    def action_mark(self, state: str) -> None:
        row = self._cursor()
        if row is None:
            self._say("no abandoned contact here", ok=False)
            return
        tracked = row.tracked
        if tracked is None and self._lacking("mark") is None:
            self._say("only a tracked call-back is marked here; one queued on a source "
                      "is done when an agent answers it" if row.ab.callback_id else
                      "no call-back for this contact yet (b calls back)", ok=False)
            return
        key = tracked["id"] if tracked is not None else row_key(row.ab)
        result = self.sup.actions.mark_callback(key, state, self.sup.store,
                                                self.sup.state.clock())
        self._say(result)
        self.sup.state.forget_callbacks()
        if self.sup.board is not None:
            self.show_board(self.sup.board)
