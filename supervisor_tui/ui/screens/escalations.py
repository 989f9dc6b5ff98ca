"""Escalation desk: everything that needs a human, most severe and oldest first.

State (acknowledged / taken by whom / snoozed / resolved, notes, and notices to owners)
lives in the shared store, so every console on the host sees the same owners within
one poll.

Every key that acts captures the item's id and label when it is pressed; inputs and
confirmations open as dialogs naming that item ("Note on c328 Dana Jensen (gold)"),
and the desk does not re-render under them, so the cursor never moves while one is
open and the action lands on the item that was chosen even if its row cleared.

A contact that left the queue stops counting at once: its row is greyed ("answered
after 1:39", the wait frozen) for a few seconds, then gone. Ages run from the
source's timestamps; "≥ 1:42" where only this console's first sight is known, and
on stale data, where waits freeze at the last data's time.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from supervisor_tui.desk import UNDOABLE, DeskActions, Outcome
from supervisor_tui.domain.board import Board
from supervisor_tui.domain.escalation import (
    Escalation,
    Severity,
    age_text,
    count_by_severity,
    ended_text,
    sort_key,
    start_known,
    started_at,
)
from supervisor_tui.domain.roles import ROLE_RANK, Role
from supervisor_tui.domain.text import clean
from supervisor_tui.store import (
    ACKNOWLEDGED,
    GIVE,
    OPEN,
    RELEASE,
    RESOLVED,
    SNOOZED,
    TAKEN,
    Change,
    StoreError,
)
from supervisor_tui.store.rows import EscalationNote, EscalationNotice
from supervisor_tui.ui.screens.base import BoardScreen
from supervisor_tui.ui.screens.move_agents import MoveAgentsScreen
from supervisor_tui.ui.screens.reassign import ReassignScreen
from supervisor_tui.ui.widgets.grid import Column, Grid
from supervisor_tui.ui.widgets.keys_footer import KeysFooter
from supervisor_tui.ui.widgets.status_bar import StatusBar

SEVERITY_STYLE = {"critical": ("‼ CRIT", "bold white on red"), "warning": ("! WARN", "bold yellow"),
                  "info": ("· info", "cyan")}
GONE = Style(dim=True, italic=True)
UNDO_S = 8.0  # wall seconds "u to undo" stays on offer
FLASH_S = 6.0  # wall seconds an outcome line stays
SLID_S = 3.0  # wall seconds after the cursor fell onto a row during which keys ask again
NOTICE_MINUTES = 15  # notices to you shown this long (centre time)
USER_NAME = re.compile(r"^[A-Za-z0-9._-]{1,32}$")
VERB = {TAKEN: "Take", ACKNOWLEDGED: "Acknowledge", RESOLVED: "Resolve", SNOOZED: "Snooze",
        GIVE: "Give", OPEN: "Reopen", RELEASE: "Release"}


class DeskInput(ModalScreen[str | None]):
    """One line of text about one item: the title names it; Enter gives, Esc cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    DeskInput, DeskConfirm { align: center middle; }
    DeskInput > Vertical, DeskConfirm > Vertical {
        width: 90%; max-width: 90; height: auto; border: thick $accent;
        background: $surface; padding: 0 1;
    }
    DeskInput Static, DeskConfirm Static { height: auto; }
    """

    def __init__(self, title: str, placeholder: str, value: str = "") -> None:
        super().__init__()
        self.title_line = title
        self.placeholder = placeholder
        self.value = value  # prefilled (e.g. a suggested file path), editable

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.title_line, style="bold"), id="prompt-title")
            yield Input(self.value, placeholder=self.placeholder, id="prompt-input")
            yield Static(Text("Enter saves · Esc cancels", style="dim"))

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class DeskConfirm(ModalScreen[bool]):
    """y does it, Esc (or n) does not. The question names the item and its owner."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Confirm"),
        Binding("escape,n", "answer(False)", "Cancel"),
    ]
    DEFAULT_CSS = DeskInput.DEFAULT_CSS

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.question, style="bold"), id="prompt-title")
            yield Static(Text("y confirms · Esc cancels", style="dim"))

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class EscalationDeskScreen(BoardScreen):
    #: the app shows no new-critical notice over this screen: it lists them
    LISTS_NOTICES: ClassVar[bool] = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("k", "change('acknowledged')", "Acknowledge"),
        Binding("t", "change('taken')", "Take"),
        Binding("x", "change('resolved')", "Resolve"),
        Binding("n", "note", "Note"),
        Binding("u", "undo", "Undo the last take / acknowledge / resolve (a few seconds)",
                show=False),
        Binding("f", "toggle_mine", "Mine only (what you have taken) / all", show=False),
        Binding("r", "reassign", "Reassign"),
        Binding("m", "move_agents", "Move agents"),
        Binding("z", "change('snoozed')", "Snooze (hide for a while; for a contact still "
                "waiting)", show=False),
        Binding("l", "change('release')", "Release (give up ownership)", show=False),
        Binding("g", "give", "Give to… (hand over to another supervisor)", show=False),
        Binding("o", "change('open')", "Reopen", show=False),
        Binding("h", "toggle_resolved", "Show resolved and snoozed", show=False),
        # E, not x (x resolves here): the day's occurrences to a CSV file (export_file)
        Binding("E", "export", "Export today's escalations (CSV)", show=False),
    ]
    # Keys a viewer does not see (domain.roles.REQUIRED_ROLE; BoardScreen.check_action).
    GATED: ClassVar[dict[str, str]] = {
        "change": "escalation", "undo": "escalation", "note": "escalation",
        "give": "escalation", "toggle_mine": "escalation", "reassign": "reassign_contact",
        "move_agents": "move_agents"}

    def __init__(self) -> None:
        super().__init__()
        self.show_resolved = False
        self.mine_only = False
        self._frozen = False  # stale data: ages stop at the last data's time
        self._undo: tuple[Change, str, float] | None = None  # change, label, until (mono)
        self._flash_until = 0.0
        # After the row under the cursor left: (its label, until (mono), where it fell).
        self._slid: tuple[str, float, str | None] | None = None

    @property
    def desk(self) -> DeskActions:
        return DeskActions(self.sup.actions.auditor, self.sup.store)

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield Static(id="desk-summary", markup=False)
        yield Static(id="desk-notices", markup=False)
        yield Static(id="desk-flash", markup=False)
        grid = Grid(self._columns(), key_of=lambda e: e.id, now=self._now,
                    empty_text="Nothing needs a human right now", id="desk")
        grid.row_style = lambda e: GONE if e.ended is not None else None
        yield grid
        yield Static(id="desk-detail", markup=False)
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#desk", Grid).focus()
        self.query_one("#desk-notices", Static).display = False
        self.query_one("#desk-flash", Static).display = False
        self.watch(self.app, "escalations", lambda _: self._escalations_changed(), init=False)
        self.watch(self.app, "pages", lambda _: self._escalations_changed(own=True), init=False)

    # -- time ------------------------------------------------------------------

    def _now(self) -> datetime:
        """Centre time; on STALE data, the last data's time (ages freeze, read '≥')."""
        self._frozen = self.sup.board is not None and self.sup.state.is_stale()
        return self.sup.state.data_now()

    def _local(self, moment: datetime) -> str:
        return f"{self.sup.state.local(moment):%H:%M:%S}"

    # -- rows ------------------------------------------------------------------

    def _columns(self) -> list[Column[Escalation]]:
        def sev(e: Escalation, now: datetime) -> Text:
            if e.ended is not None:
                return Text("– gone", style="dim")
            return Text(*SEVERITY_STYLE[e.severity])

        def age(e: Escalation, now: datetime) -> str:
            return age_text(e, now, self.sup.state.tracker.observing_since, frozen=self._frozen)

        def state(e: Escalation, now: datetime) -> Text:
            st = self.sup.state.escalation_state(e)
            if st is None or st["state"] == OPEN:
                paged = self.sup.pages.get(e.id)  # the on-call supervisor was paged
                if paged is not None and not e.ended:
                    return Text(paged.short(), style="bold magenta")
                return Text("new", style="dim" if e.ended else "bold")
            if st["state"] == TAKEN:
                mine = st["owner"] == self.sup.user
                return Text(f"◉ {clean(st['owner'], 16)}", style="bold green" if mine else "cyan")
            if st["state"] == SNOOZED and not self.sup.state.is_handled(e):
                return Text("snooze over", style="bold")
            return Text(st["state"], style="dim")

        def why(e: Escalation, now: datetime) -> str:
            ended = ended_text(e)
            text = f"{e.reason} — {ended}" if ended else e.reason
            return clean(text, 160)

        return [
            Column("sev", "Sev", 6, sev, priority=0),
            Column("age", "Age", 7, age, align="right", priority=0),
            Column("state", "Owner", 12, state, priority=1),
            Column("queue", "Queue", 12, lambda e, now: self.queue_name(e.queue_id, 30),
                   priority=2),
            Column("reason", "Why", 30, why, priority=0, flex=True, max_width=120),
        ]

    def _mine(self, e: Escalation) -> bool:
        st = self.sup.state.escalation_state(e)
        return st is not None and st["state"] == TAKEN and st["owner"] == self.sup.user

    def _visible(self) -> list[Escalation]:
        sup = self.sup
        shown = [e for e in sup.escalations if self.show_resolved or not sup.state.is_handled(e)]
        departed = [e for e in sup.state.tracker.result.departed
                    if self.show_resolved or not sup.state.is_handled(e)]
        if departed:
            # Greyed below the live ones: in a surge dozens leave each minute, and in
            # place they pushed the live criticals off an 80x24 desk.
            shown = shown + sorted(departed, key=sort_key)
        if self.mine_only:
            shown = [e for e in shown if self._mine(e)]
        return shown

    def _escalations_changed(self, *, own: bool = False) -> None:
        """Re-render from the app's escalations; ``own``: after this user's own change
        (a row they resolved leaving is no surprise)."""
        if not self._ready:
            return
        if not self.is_current or self.app.screen is not self:
            # Thousands of rows in a meltdown: only when seen. And never under a dialog
            # (a modal leaves this screen "current" behind it): the rows and the cursor
            # stay as they were when its key was pressed; caught up when it closes.
            self._behind = True
            return
        shown = self._visible()
        grid = self.query_one("#desk", Grid)
        before = grid.cursor_key, grid.cursor_row
        grid.set_rows(shown)
        if before[0] is not None and grid.cursor_key != before[0] and not own:
            # The chosen row left the desk and the cursor fell onto a neighbour: a key
            # pressed a moment later was meant for the row that left, not this one.
            gone = before[1]
            self._slid = (clean(gone.label or gone.id, 60) if gone is not None else "",
                          self.sup.state.monotonic() + SLID_S, grid.cursor_key)
        live = [e for e in shown if e.ended is None]
        counts = count_by_severity(live)
        taken = sum(1 for e in live if (st := self.sup.state.escalation_state(e)) is not None
                    and st["state"] == TAKEN)
        crit, warn, info = (counts[s] for s in (Severity.CRITICAL, Severity.WARNING,
                                                Severity.INFO))
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append(f" ‼ {crit} critical", "bold red" if crit else "dim")
        line.append(f"  ! {warn} warning", "yellow" if warn else "dim")
        line.append(f"  · {info} info", "cyan" if info else "dim")
        line.append(f"  ◉ {taken} taken", "green" if taken else "dim")
        mine = sum(1 for e in live if self._mine(e))
        if mine and not self.mine_only:
            line.append(f" ({mine} yours: f)", "green")
        if len(live) < len(shown):
            line.append(f"  – {len(shown) - len(live)} left the queue", "dim")
        if self.mine_only:
            line.append("  (mine only: f shows all)", "bold")
        if self.show_resolved:
            line.append("  (showing resolved)", "dim")
        if self._frozen:
            line.append("  STALE: ages frozen", "bold red")
        line.append(f"  you are {clean(self.sup.user, 24)} ({self.sup.actions.role.value})",
                    "dim")
        self.query_one("#desk-summary", Static).update(line)
        self._show_notices()
        self._show_detail()

    def show_board(self, board: Board) -> None:
        self._escalations_changed()

    def refresh_ages(self) -> None:
        was = self._frozen
        self._now()  # data just went stale (or live again): say so in the summary too
        if self._frozen != was:
            self._escalations_changed(own=True)
        self.query_one("#desk", Grid).refresh_changed()
        if self._flash_until and self.sup.state.monotonic() >= self._flash_until:
            self._flash_until = 0.0
            self.query_one("#desk-flash", Static).display = False

    def _selected(self) -> Escalation | None:
        return self.query_one("#desk", Grid).cursor_row

    def on_grid_highlighted(self, event: Grid.Highlighted) -> None:
        if self._slid is not None and event.key != self._slid[2]:
            self._slid = None  # the user moved the cursor: what it is on now is chosen
        self._show_detail()

    def _show_detail(self) -> None:
        esc = self._selected()
        text = Text(no_wrap=False)
        if esc is not None:
            text.append(clean(esc.label or esc.id, 60), "bold")
            text.append("  ")
            text.append(clean(esc.reason, 200))
            ended = ended_text(esc)
            if ended:
                text.append(f" — {ended}", "dim")
            start = started_at(esc)
            if start_known(esc, self.sup.state.tracker.observing_since):
                text.append(f"   since {self._local(start)}", "dim")
            else:
                text.append(f"   first seen {self._local(start)} (began earlier)", "dim")
            paged = self.sup.pages.get(esc.id)
            if paged is not None:
                when = f"{self.sup.state.local(paged.last_at):%H:%M}"
                text.append(f"\n  {paged.text(when)}", "magenta")
            store = self.sup.store
            try:
                notes = store.escalation_notes(esc.id) if store else []
            except StoreError as err:
                notes = [EscalationNote(id=-1, escalation_id=esc.id, ts="", user="",
                                        note=f"(notes unavailable: {err})")]
            for note in notes[-3:]:
                when = self._local(datetime.fromisoformat(note["ts"])) if note["ts"] else ""
                text.append(f"\n  {when} {clean(note['user'], 16)}: ", "dim")
                text.append(clean(note["note"], 200))
        self.query_one("#desk-detail", Static).update(text)

    def _show_notices(self) -> None:
        """Notices to you (someone resolved or took over your item, gave you one), from
        the shared store: the last few minutes' on the desk, unread ones in bold (and
        marked read once shown)."""
        store, widget = self.sup.store, self.query_one("#desk-notices", Static)
        if store is None:
            return
        now = self.sup.state.centre_now()
        try:
            notices = store.notices_for(self.sup.user, now - timedelta(minutes=NOTICE_MINUTES))
            fresh = [n for n in notices if not n["seen_at"]]
            store.mark_notices_seen([n["id"] for n in fresh], now)
        except StoreError as err:
            notices, fresh = [EscalationNotice(
                id=-1, escalation_id="", to_user=self.sup.user, from_user="", ts="",
                text=f"notices unavailable: {err}", seen_at="")], []
        widget.display = bool(notices)
        text = Text(no_wrap=True, overflow="ellipsis")
        for i, n in enumerate(reversed(notices[-2:])):
            when = self._local(datetime.fromisoformat(n["ts"])) if n["ts"] else ""
            text.append("\n" if i else "")
            text.append(f" ✉ {when} ", "bold yellow")
            text.append(clean(n["text"], 150), "bold" if n in fresh else "")
        widget.update(text)

    def _flash(self, message: str, ok: bool, seconds: float = FLASH_S) -> None:
        widget = self.query_one("#desk-flash", Static)
        widget.update(Text(f" {message}", style="bold green" if ok else "bold yellow",
                           no_wrap=True, overflow="ellipsis"))
        widget.display = True
        self._flash_until = self.sup.state.monotonic() + seconds

    # -- acting on the chosen item ------------------------------------------------

    def _chosen(self) -> tuple[Escalation, str] | None:
        """The item under the cursor when the key was pressed, and its name. Refused
        (once) if the cursor has just fallen onto it because the row under it left."""
        esc = self._selected()
        if esc is None:
            self._flash("Nothing selected", ok=False)
            return None
        label = clean(esc.label or esc.id, 60)
        slid, self._slid = self._slid, None
        if slid is not None and self.sup.state.monotonic() < slid[1]:
            self._flash(f"Not done: {slid[0] or 'the row you were on'} just left the desk and "
                        f"the cursor moved to {label}; press again to act on {label}",
                        ok=False)
            return None
        return esc, label

    def _still_waiting(self, esc: Escalation) -> bool:
        board = self.sup.board
        if board is None or esc.subject_type != "contact" or esc.ended is not None:
            return False
        return any(c.id == esc.subject_id
                   for c in board.waiting_by_queue.get(esc.queue_id or "", ()))

    def action_change(self, verb: str) -> None:
        assert verb in (OPEN, ACKNOWLEDGED, TAKEN, RESOLVED, SNOOZED, RELEASE)
        chosen = self._chosen()
        if chosen is None:
            return
        esc, label = chosen
        if esc.ended is not None and verb in (TAKEN, ACKNOWLEDGED, SNOOZED):
            why = f"{label} {ended_text(esc)}: nothing to {VERB[verb].lower()} (x resolves)"
            self._report(self.desk.refuse(esc.id, verb, why, label), verb, label)
            return
        if verb == RESOLVED and self._still_waiting(esc):
            why = (f"{label} is still waiting: acknowledge (k) or snooze (z) it; "
                   "resolve once it is answered")
            self._report(self.desk.refuse(esc.id, verb, why, label), verb, label)
            return
        until = None
        if verb == SNOOZED:
            until = self.sup.state.centre_now() + timedelta(
                minutes=self.sup.config.escalations.snooze_minutes)
        self._apply(esc.id, label, verb, until=until)

    def _apply(self, eid: str, label: str, verb: str, *, force: bool = False,
               to_user: str = "", until: datetime | None = None) -> None:
        out = self.desk.change(eid, verb, self.sup.state.centre_now(), label=label, force=force,
                               to_user=to_user, until=until)
        if out.confirm:
            owner = out.result.message.removeprefix("already taken by ")
            what = f"{VERB[verb]} {label}" + (f" to {to_user}" if to_user else "")
            if verb == TAKEN:
                what = f"Take over {label} from {owner}"
            question = f"{what}? It is {out.result.message}; {owner} will be told."

            def answered(yes: bool | None) -> None:
                if yes:
                    self._apply(eid, label, verb, force=True, to_user=to_user, until=until)
                else:
                    self._flash(f"Not done: {label} left with {owner}", ok=False)

            self.app.push_screen(DeskConfirm(question), answered)
            return
        self._report(out, verb, label)

    def _report(self, out: Outcome, verb: str, label: str) -> None:
        result = out.result
        if result.ok and out.undoable and verb in UNDOABLE:
            assert out.change is not None
            self._undo = (out.change, label, self.sup.state.monotonic() + UNDO_S)
            self._flash(f"{clean(result.message, 100)} — done — u to undo", ok=True,
                        seconds=UNDO_S)
        elif verb == "undo" or not result.ok or verb not in UNDOABLE:
            self._flash(clean(result.message, 140), ok=result.ok)
        # A refused action's own reason stays on the flash line: a store that is down
        # also fails the re-read, and its reason (already on the desk) would replace it.
        self._refresh_states(flash=result.ok)

    def _refresh_states(self, *, flash: bool = True) -> None:
        state = self.sup.state
        before = state.problem
        state.refresh_escalation_states()
        if flash and state.problem is not None and state.problem != before:
            self._flash(state.problem, ok=False)
        self._escalations_changed(own=True)

    def action_undo(self) -> None:
        undo, self._undo = self._undo, None
        if undo is None or self.sup.state.monotonic() >= undo[2]:
            self._flash("Nothing to undo (offered for a few seconds after t, k, x, z, l, g)",
                        ok=False)
            return
        change, label, _ = undo
        self._report(self.desk.undo(change, self.sup.state.centre_now(), label), "undo", label)

    def action_note(self) -> None:
        chosen = self._chosen()
        if chosen is None:
            return
        esc, label = chosen
        eid = esc.id

        def save(text: str | None) -> None:
            if text:
                self._report(self.desk.note(eid, text, self.sup.state.centre_now(), label), "note",
                             label)

        self.app.push_screen(DeskInput(f"Note on {label}", "what was done or agreed"), save)

    def action_give(self) -> None:
        chosen = self._chosen()
        if chosen is None:
            return
        esc, label = chosen
        eid = esc.id

        def give(name: str | None) -> None:
            if not name:
                return
            name = name.removeprefix("to ").strip()
            if not USER_NAME.match(name):
                self._flash("Give to whom? A login name (letters, digits, . _ -)", ok=False)
                return
            role = self.sup.config.roles.role_of(name)
            if ROLE_RANK[role] < ROLE_RANK[Role.SUPERVISOR]:
                why = f"{name} is a {role.value}: only supervisors can own escalations"
                self._report(self.desk.refuse(eid, GIVE, why, label), GIVE, label)
                return
            self._apply(eid, label, GIVE, to_user=name)

        self.app.push_screen(DeskInput(f"Give {label} to", "login name, e.g. bob"), give)

    def on_grid_selected(self, event: Grid.Selected) -> None:
        """Enter: reassign a waiting contact; otherwise open the item's queue."""
        event.stop()
        esc = self._selected()
        if esc is None:
            return
        supervisor = ROLE_RANK[self.sup.actions.role] >= ROLE_RANK[Role.SUPERVISOR]
        if supervisor and self._still_waiting(esc):
            self.action_reassign()
            return
        board = self.sup.board
        if board is not None and esc.queue_id in board.rows_by_id:
            self.sup.open_queue(esc.queue_id or "")
        else:
            self._flash(f"{clean(esc.label or esc.id, 60)}: no queue to open", ok=False)

    def action_toggle_mine(self) -> None:
        self.mine_only = not self.mine_only
        self._escalations_changed(own=True)

    def action_toggle_resolved(self) -> None:
        self.show_resolved = not self.show_resolved
        self._escalations_changed(own=True)

    def action_reassign(self) -> None:
        esc = self._selected()
        board = self.sup.board
        if esc is None or board is None or esc.subject_type != "contact":
            self.notify("Select an escalation about a waiting contact", severity="warning",
                        markup=False)
            return
        contact = next((c for c in board.waiting_by_queue.get(esc.queue_id or "", ())
                        if c.id == esc.subject_id), None)
        if contact is None:
            self.notify("That contact is no longer waiting", severity="warning",
                        markup=False)
            return
        self.app.push_screen(ReassignScreen([contact], contact.queue_id))

    def action_move_agents(self) -> None:
        """Pull agents onto the escalation's queue: the usual answer to a drowning one."""
        esc = self._selected()
        board = self.sup.board
        if esc is None or board is None or esc.queue_id not in board.rows_by_id:
            self.notify("Select an escalation about a queue or a contact in one",
                        severity="warning",
                        markup=False)
            return
        self.app.push_screen(MoveAgentsScreen(esc.queue_id))

    def action_export(self) -> None:
        """E: today's escalation occurrences as the store keeps them (first seen, who
        acknowledged, took and resolved them, when) to a CSV file whose path is typed."""
        from supervisor_tui.export_events import export_day  # (export_file imports this)
        from supervisor_tui.ui.screens.export_file import ask_export

        board, store = self.sup.board, self.sup.store
        if board is None:
            return
        if store is None:
            self._flash("No store on this console: escalations are not kept, so there is "
                        "nothing to export", ok=False)
            return
        policy = self.sup.config.console.policy
        today = self.sup.state.local(board.taken_at).date()
        ask_export(self, "Export today's escalations (CSV: each occurrence, who took it "
                   "and when) to", f"escalations-{today}.csv",
                   lambda: export_day("escalations", store, today, policy,
                                      queues=self.scope_queues()), "escalation")

    def title_text(self) -> str:
        return "Escalations"
