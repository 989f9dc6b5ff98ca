"""Crisis communications: incidents (active first), and the selected incident's deliveries
as they happen, or its timeline.

Declare, send, follow up and resolve open dialogs that end with a typed confirmation
word. Everything lives in the shared store and the durable outbox (``crisis/``): this
screen only asks the service and shows what the store says, refreshed every second and
at once when this console's delivery worker records an attempt.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Input, Static

from supervisor_tui.crisis.config import MessageKind
from supervisor_tui.crisis.db import CrisisStoreError
from supervisor_tui.crisis.incidents import Incident, TimelineEvent
from supervisor_tui.crisis.outbox import (
    DELIVERED,
    FAILED,
    QUEUED,
    RETRYING,
    SENDING,
    OutboxRow,
    QueuedMessage,
)
from supervisor_tui.crisis.service import CrisisError, CrisisService
from supervisor_tui.domain import fmt
from supervisor_tui.domain.board import Board, SLStatus
from supervisor_tui.domain.text import clean
from supervisor_tui.ui.screens.base import BoardScreen
from supervisor_tui.ui.screens.crisis_forms import DeclareForm, ResolveForm, SendForm
from supervisor_tui.ui.screens.emergency import EmergencySwitch
from supervisor_tui.ui.widgets.grid import Column, Grid
from supervisor_tui.ui.widgets.incident_banner import severity_badge
from supervisor_tui.ui.widgets.keys_footer import KeysFooter
from supervisor_tui.ui.widgets.lean import LeanText
from supervisor_tui.ui.widgets.status_bar import StatusBar

# Every state has a symbol and a word, not just a colour.
STATE_STYLE = {
    QUEUED: ("… queued", "dim"),
    SENDING: ("↗ sending", "bold cyan"),
    RETRYING: ("↻ retrying", "bold yellow"),
    DELIVERED: ("✓ delivered", "bold green"),
    FAILED: ("✗ failed", "bold white on red"),
}
UNKNOWN_STYLE = ("? unknown", "bold magenta")  # retrying after an attempt that may have arrived
EVENT_STYLE = {"unknown": "bold magenta", "declared": "bold", "message": "bold cyan",
               "delivered": "green",
               "retrying": "yellow", "failed": "bold red", "resolved": "bold green",
               "note": "magenta", "updated": "cyan", "requeued": "yellow"}


def troubled_queues(board: Board | None) -> list[str]:
    """Names of the queues missing their service level or with contacts over threshold
    now: the usual suspects of an incident, offered as its affected queues."""
    if board is None:
        return []
    return [clean(r.queue.name, 40) for r in board.rows
            if r.status is SLStatus.MISSED or r.over_threshold > 0]


def first_template(service: CrisisService, *kinds: MessageKind) -> str | None:
    """The first template (by name) of the first of ``kinds`` that has one: configured
    templates first, then the built-in floor ones."""
    config = service.config
    for builtin in (False, True):
        for kind in kinds:
            for name in service.template_names():
                if config.is_builtin(name) == builtin and config.templates[name].kind is kind:
                    return name
    return None


def state_style(row: OutboxRow) -> tuple[str, str]:
    if row.unknown and row.state == RETRYING:
        return UNKNOWN_STYLE
    return STATE_STYLE.get(row.state, (row.state, ""))


def attempt_by(row: OutboxRow) -> str:
    """ "bob@host:pid" of the console that made the last attempt (without the nonce)."""
    by = row.attempt_by or ""
    return by.rsplit(":", 1)[0] if by.count(":") >= 2 else by


class CrisisScreen(BoardScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("i", "declare", "Declare"),
        Binding("s", "send", "Send"),
        Binding("u", "follow_up", "Follow-up"),
        Binding("r", "resolve", "Resolve"),
        Binding("t", "toggle_timeline", "Timeline"),
        Binding("x", "export", "Export"),
        Binding("n", "note", "Note", show=False),
        Binding("f", "requeue", "Retry failed", show=False),
        Binding("g", "emergency", "Emergency group on/off", show=False),
        Binding("tab", "app.focus_next", "Switch table", show=False),
        Binding("escape", "leave_input", "Back to list", show=False),
    ]
    # Keys a role without them does not see (domain.roles.REQUIRED_ROLE; BoardScreen.check_action).
    GATED: ClassVar[dict[str, str]] = {
        "declare": "crisis_declare", "send": "crisis_message", "follow_up": "crisis_message",
        "resolve": "crisis_resolve", "requeue": "crisis_requeue", "note": "crisis_note",
        "emergency": "emergency_group"}

    def __init__(self) -> None:
        super().__init__()
        self.show_timeline = False
        self.input_mode: str | None = None  # "note" or "export" while the input is open
        self.last_export: Path | None = None
        self.error: str | None = None
        self._lower = ""  # the section title shown

    @property
    def service(self) -> CrisisService | None:
        return self.sup.crisis

    def _zone(self) -> tzinfo:
        return self.sup.config.console.policy.zone

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield LeanText(id="crisis-summary")
        yield Input(id="crisis-input")
        yield Grid(self._incident_columns(), key_of=lambda i: str(i.id), now=self.sup.state.clock,
                   empty_text="No incidents." + self._hint("crisis_declare",
                                                           "Press i to declare one."),
                   id="incidents")
        yield LeanText(id="crisis-detail")
        yield Static(id="crisis-lower-title", classes="section-title", markup=False)
        yield Grid(self._delivery_columns(), key_of=lambda r: str(r.id), now=self.sup.state.clock,
                   empty_text="No messages for this incident yet."
                   + self._hint("crisis_message", "Press s to send one."),
                   id="deliveries")
        yield Grid(self._timeline_columns(), key_of=lambda e: str(e.id), now=self.sup.state.clock,
                   empty_text="Nothing on the timeline yet.", id="timeline")
        yield KeysFooter()

    def _hint(self, action: str, press: str) -> str:
        """The key's hint ("Press i to declare one.") for a user who may; otherwise
        why not: never a key that would only be refused."""
        service = self.service
        if service is None:
            return ""
        why = service.refusal(action)
        return f" {press}" if why is None else f" ({why}.)"

    def on_mount(self) -> None:
        self.query_one("#incidents", Grid).focus()
        self.watch(self.app, "crisis_revision", self._revised, init=False)
        self.refresh_crisis()

    def _revised(self, _: int) -> None:
        if self.is_current:  # hidden: on_screen_resume catches up
            self.refresh_crisis()

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        self.refresh_crisis()  # e.g. a dialog just closed

    # -- columns -------------------------------------------------------------------

    def _incident_columns(self) -> list[Column[Incident]]:
        def age(i: Incident, now: datetime) -> str:
            end = now if i.active else (i.resolved_at or now)
            return fmt.duration((end - i.declared_at).total_seconds())

        return [
            Column("id", "#", 4, lambda i, now: f"#{i.id}", priority=0),
            Column("sev", "Severity", 10, lambda i, now: Text(*severity_badge(i.severity)),
                   priority=0),
            Column("state", "State", 8, lambda i, now: Text(
                i.state, "bold" if i.active else "dim"), priority=1),
            Column("age", "Open", 8, age, align="right", priority=0),
            Column("title", "Title", 20, lambda i, now: clean(i.title, 120), priority=0,
                   flex=True, max_width=60),
            Column("queues", "Queues", 16, lambda i, now: clean(", ".join(i.queues), 80),
                   priority=2, flex=True, max_width=40),
            Column("by", "By", 10, lambda i, now: clean(i.declared_by, 20), priority=3),
        ]

    def _delivery_columns(self) -> list[Column[OutboxRow]]:
        def detail(r: OutboxRow, now: datetime) -> Text:
            if r.state == DELIVERED:
                when = datetime.fromisoformat(r.delivered_at) if r.delivered_at else None
                at = f"at {when.astimezone(self._zone()):%H:%M:%S}" if when else ""
                return Text(at + (f" · {clean(r.external_id, 40)}" if r.external_id else ""),
                            "dim")
            service = self.service
            waiting = service.waiting_for_source(r) if service and not r.settled else None
            if waiting:
                return Text(waiting, "yellow")
            text = Text()
            if r.state == RETRYING:  # first: the reason may be long, the wait is short
                wait = max(r.next_attempt_at - now.timestamp(), 0)
                if r.unknown:
                    text.append(f"may have arrived; not re-sent for {fmt.duration(wait)} · ",
                                "magenta")
                else:
                    text.append(f"next try in {fmt.duration(wait)} · ", "yellow")
            text.append(clean(r.last_error or "", 300), "red" if r.state == FAILED else "")
            return text

        return [
            Column("msg", "Msg", 4, lambda r, now: str(r.message_id), align="right",
                   priority=2),
            Column("target", "Channel → recipient", 28, lambda r, now: clean(r.target, 80),
                   priority=0, flex=True, max_width=34),
            Column("type", "Type", 10, lambda r, now: r.channel_type, priority=3),
            Column("state", "State", 11, lambda r, now: Text(*state_style(r)), priority=0),
            Column("tries", "Try", 3, lambda r, now: str(r.attempts), align="right",
                   priority=1),
            Column("detail", "Detail / reason", 20, detail, priority=0, flex=True,
                   max_width=120),
        ]

    def _timeline_columns(self) -> list[Column[TimelineEvent]]:
        return [
            Column("ts", "Time", 8, lambda e, now: f"{e.ts.astimezone(self._zone()):%H:%M:%S}",
                   priority=0),
            Column("kind", "Event", 9, lambda e, now: Text(e.kind, EVENT_STYLE.get(e.kind, "")),
                   priority=0),
            Column("user", "By", 10, lambda e, now: clean(e.user, 20), priority=2),
            Column("text", "Details", 30, lambda e, now: clean(e.text, 300), priority=0,
                   flex=True, max_width=160),
        ]

    # -- refresh -------------------------------------------------------------------

    def selected(self) -> Incident | None:
        return self.query_one("#incidents", Grid).cursor_row

    def tick(self, ages: bool = True) -> None:
        super().tick(ages)
        self.refresh_crisis()  # deliveries settle, other consoles act: once a second

    def refresh_crisis(self) -> None:
        if not self._ready or not self.is_mounted:
            return
        service = self.service
        if service is None:
            self._summary(Text("Crisis communications need the shared store, which is not "
                               "available: see the status bar.", "bold yellow"))
            self._lower_title()
            return
        try:
            incidents = service.incident_list(limit=200)
            incidents.sort(key=lambda i: (not i.active, -i.id))  # active first, newest first
            self.query_one("#incidents", Grid).set_rows(incidents)
            selected = self.selected()
            pending = service.status()  # pending and failed, every incident
            rows: list[OutboxRow] = []
            events: list[TimelineEvent] = []
            if selected is not None:
                rows = service.status(selected.id, include_settled=True)
                rows.sort(key=lambda r: (-r.message_id, r.id))  # newest message first
                if self.show_timeline:
                    events = service.timeline(selected.id)
            self.error = None
        except (CrisisError, CrisisStoreError) as err:
            self.error = str(err)
            self._summary(Text(f"crisis store: {clean(err, 160)}", "bold red"))
            return
        self.query_one("#deliveries", Grid).set_rows(rows)
        if self.show_timeline:
            timeline = self.query_one("#timeline", Grid)
            at_end = timeline.cursor >= len(timeline.rows) - 1
            timeline.set_rows(events)
            if at_end and events:
                timeline.action_jump(-1)  # follow new events as they come in
        self._summary(self._summary_text(incidents, pending))
        self._detail(selected)
        self._lower_title(selected)

    def _summary(self, text: Text) -> None:
        self.query_one("#crisis-summary", LeanText).update(text)

    def _summary_text(self, incidents: list[Incident], pending: list[OutboxRow]) -> Text:
        service = self.service
        assert service is not None
        line = Text(no_wrap=True, overflow="ellipsis")
        active = sum(i.active for i in incidents)
        line.append(f" {active} active", "bold red" if active else "dim")
        failed = sum(r.state == FAILED for r in pending)
        unknown = sum(r.unknown for r in pending)
        waiting = len(pending) - failed
        line.append(f"  ↻ {waiting} pending", "yellow" if waiting else "dim")
        if unknown:
            line.append(f" ({unknown} outcome unknown)", "bold magenta")
        line.append(f"  ✗ {failed} failed", "bold red" if failed else "dim")
        why = service.refusal("crisis_message")
        if self.sup.crisis_read_only:
            line.append("\n ⛔ read-only console: view and export only", "bold yellow")
        elif why:
            # A line of its own: at 80 columns the reason must not be cut off.
            may = "add notes and export" if service.can("crisis_note") else "export"
            line.append(f"\n ⛔ {why}; you may {may}", "bold yellow")
        else:
            line.append(f"  you are {service.user} ({service.role.value})", "dim")
        broken = service.channel_problems()
        if broken and not self.sup.crisis_read_only:
            # Said once per channel, on a line of its own: at 3 a.m. nobody guesses this.
            names = ", ".join(f"{n}: {why.removesuffix(' here')}"
                              for n, why in sorted(broken.items()))
            line.append(f"\n ⚠ cannot send here: {names}", "bold yellow")
        return line

    def _detail(self, inc: Incident | None) -> None:
        text = Text(no_wrap=True, overflow="ellipsis")
        if inc is not None:
            declared = inc.declared_at.astimezone(self._zone())
            text.append(f" #{inc.id} ", "bold")
            text.append(f"declared {declared:%H:%M} by {clean(inc.declared_by, 20)}", "dim")
            if inc.resolved_at is not None:
                resolved = inc.resolved_at.astimezone(self._zone())
                text.append(f" · resolved {resolved:%H:%M} by "
                            f"{clean(inc.resolved_by or '', 20)}", "green")
            text.append(f" · impact: {clean(inc.impact or '—', 120)}")
            text.append(f" · ETA: {clean(inc.eta or '—', 40)}")
        grid = self.query_one("#deliveries", Grid)
        row: OutboxRow | None = grid.cursor_row if grid.has_focus else None
        if row is not None:
            # The whole reason: at 80 columns the table's Detail column cuts it short.
            word, style = state_style(row)
            text.append(f"\n {clean(row.target, 60)} ", "bold")
            text.append(word, style)
            by = f" by {clean(attempt_by(row), 60)}" if row.attempt_by else ""
            text.append(f" (attempt {row.attempts}{by}) ")
            waiting = self.service.waiting_for_source(row) if self.service else None
            text.append(clean(waiting or row.last_error or "", 300))
        elif self.last_export is not None:
            text.append(f"\n exported to {clean(self.last_export, 200)}", "green")
        self.query_one("#crisis-detail", LeanText).update(text)

    def _lower_title(self, inc: Incident | None = None) -> None:
        what = "Timeline" if self.show_timeline else "Deliveries (newest message first)"
        about = f" of #{inc.id} {clean(inc.title, 60)}" if inc else ""
        other = "t: deliveries" if self.show_timeline else "t: timeline"
        title = f"{what}{about}   ({other})"
        if title != self._lower:  # Static repaints on every update: only on a change
            self._lower = title
            self.query_one("#crisis-lower-title", Static).update(title)
        self.query_one("#deliveries", Grid).display = not self.show_timeline
        self.query_one("#timeline", Grid).display = self.show_timeline

    def on_grid_highlighted(self, event: Grid.Highlighted) -> None:
        if event.grid.id == "incidents":
            self.refresh_crisis()
        elif event.grid.id == "deliveries":
            self._detail(self.selected())

    def on_grid_selected(self, event: Grid.Selected) -> None:
        if event.grid.id == "incidents":  # Enter: down to this incident's deliveries
            self.query_one("#timeline" if self.show_timeline else "#deliveries", Grid).focus()

    # -- actions -------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # g only where a connected source can switch an emergency group.
        if action == "emergency" and not self.sup.actions.emergency_sources():
            return False
        return super().check_action(action, parameters)

    # -- emergency group ------------------------------------------------------------

    def action_emergency(self) -> None:
        inc = self.selected()
        self._offer_emergency(None, inc.id if inc is not None and inc.active else None)

    def _offer_emergency(self, active: bool | None, incident_id: int | None,
                         why: str = "") -> None:
        """Ask to switch the platform's emergency group (after a declare: on; after a
        resolve: off; on g: which). Offered only where a source can and the role may."""
        actions = self.sup.actions
        names = actions.emergency_sources()
        refusal = actions.refusal("emergency_group", names[0] if names else None)
        if not names or refusal is not None:
            if active is None:  # asked for with g: say why not, audited (offers stay quiet)
                why = refusal or "No connected source can switch an emergency group"
                if names:
                    why = actions.auditor.refuse("emergency_group",
                                                 f"emergency group on {names[0]}", {}, why).message
                self.notify(why, title="Emergency group", severity="warning", timeout=8)
            return

        def chosen(on: bool | None) -> None:
            if on is not None:
                self._switch_emergency(names, on, incident_id)

        self.app.push_screen(EmergencySwitch(names, active, why), chosen)

    @work(group="emergency")
    async def _switch_emergency(self, names: list[str], on: bool,
                                incident_id: int | None) -> None:
        word = "on" if on else "off"
        for name in names:
            result = await self.sup.actions.set_emergency(name, on, incident=incident_id)
            self.notify(clean(result.message, 200),
                        title=f"Emergency group {word} on {clean(name, 24)}"
                        if result.ok else "Emergency group not switched",
                        severity="information" if result.ok else "error", timeout=10)
            service = self.service
            if incident_id is not None and service is not None and result.ok:
                try:  # on the incident's timeline, for the review afterwards
                    service.note(incident_id, f"emergency group {word} on {name}: "
                                 f"{result.message}")
                except CrisisError as err:
                    self.notify(clean(err, 160), title="Timeline note", severity="warning")
        self.refresh_crisis()

    def _allowed(self, action: str) -> CrisisService | None:
        """The service if this user may do ``action``; otherwise say why (and record the
        refused attempt, as the CLI does) and return None."""
        service = self.service
        if service is None:
            self.notify("Crisis communications need the shared store.", severity="error")
            return None
        why = service.refusal(action)
        if why is None:
            return service
        self.notify(why, title="Refused", severity="error", timeout=8)
        audit = self.sup.audit
        if audit is not None:
            try:
                audit.append(user=service.user, role=service.role.value, action=action,
                             subject="crisis screen", params={}, outcome="refused",
                             response=why)
            except Exception as err:  # the refusal stands; say the record failed
                self.notify(f"audit log: {clean(err, 120)}", severity="warning")
        return None

    def _active_selected(self, verb: str) -> Incident | None:
        inc = self.selected()
        if inc is None or not inc.active:
            self.notify(f"Select an active incident to {verb} (i declares one).",
                        severity="warning")
            return None
        return inc

    def action_declare(self) -> None:
        service = self._allowed("crisis_declare")
        if service is None:
            return

        def declared(incident: Incident | None) -> None:
            if incident is None:
                return
            self.notify(f"Declared #{incident.id} ({incident.severity}): "
                        f"{clean(incident.title, 80)}")
            self.sup.poll_banners()
            self.refresh_crisis()
            self.query_one("#incidents", Grid).move_to_key(str(incident.id))
            self.refresh_crisis()
            self._offer_emergency(True, incident.id, f"Incident #{incident.id} declared.")

        self.app.push_screen(DeclareForm(service, troubled_queues(self.sup.board)), declared)

    def _open_send(self, *kinds: MessageKind) -> None:
        service = self._allowed("crisis_message")
        if service is None:
            return
        inc = self._active_selected("message")
        if inc is None:
            return
        template = first_template(service, *kinds)
        if template is None:
            self.notify("No crisis templates configured: add [crisis.templates.NAME] to the "
                        "config (see docs/crisis.md).", severity="warning", timeout=8)
            return
        self.app.push_screen(SendForm(service, inc, template), self._queued)

    def _queued(self, queued: QueuedMessage | None) -> None:
        if queued is None:
            return
        self.notify(f"Message {queued.message_id} queued: {len(queued.row_ids)} "
                    "deliveries. Delivering…")
        self.sup.deliver_now()
        self.sup.poll_banners()  # an all clear resolves the incident
        self.refresh_crisis()
        self._offer_off_if_resolved(queued.incident_id)

    def action_send(self) -> None:
        inc = self.selected()
        has_messages = inc is not None and self.service is not None and bool(
            self.service.outbox.messages(inc.id))
        # The first message is the initial notice; later ones are follow-ups.
        if has_messages:
            self._open_send(MessageKind.UPDATE, MessageKind.INITIAL, MessageKind.RESOLVED)
        else:
            self._open_send(MessageKind.INITIAL, MessageKind.UPDATE, MessageKind.RESOLVED)

    def action_follow_up(self) -> None:
        self._open_send(MessageKind.UPDATE, MessageKind.INITIAL, MessageKind.RESOLVED)

    def action_resolve(self) -> None:
        service = self._allowed("crisis_resolve")
        if service is None:
            return
        inc = self._active_selected("resolve")
        if inc is None:
            return
        if first_template(service, MessageKind.RESOLVED) is not None:
            self._open_send(MessageKind.RESOLVED)  # the all clear resolves it when queued
            return

        def resolved(incident: Incident | None) -> None:
            if incident is not None:
                self.notify(f"Resolved #{incident.id}.")
                self.sup.poll_banners()
                self.refresh_crisis()
                self._offer_emergency(False, incident.id, f"Incident #{incident.id} resolved.")

        self.app.push_screen(ResolveForm(service, inc), resolved)

    def _offer_off_if_resolved(self, incident_id: int) -> None:
        service = self.service
        try:
            resolved = service is not None and not service.incident(incident_id).active
        except CrisisError:
            return
        if resolved:
            self._offer_emergency(False, incident_id, f"Incident #{incident_id} resolved.")

    def action_requeue(self) -> None:
        service = self._allowed("crisis_requeue")
        inc = self.selected()
        if service is None or inc is None:
            return
        failed = [r.id for r in service.status(inc.id) if r.state == FAILED]
        if not failed:
            self.notify("No failed deliveries for this incident.", severity="warning")
            return
        try:
            count = service.requeue_failed(failed)
        except CrisisError as err:
            self.notify(str(err), severity="error")
            return
        self.notify(f"{count} failed delivery(ies) queued again (same keys).")
        self.sup.deliver_now()
        self.refresh_crisis()

    def action_toggle_timeline(self) -> None:
        self.show_timeline = not self.show_timeline
        self.refresh_crisis()

    # -- note and export: one line input, as on the escalation desk -------------------

    def _open_input(self, mode: str, value: str, placeholder: str) -> None:
        box = self.query_one("#crisis-input", Input)
        self.input_mode = mode
        box.value = value
        box.placeholder = placeholder
        box.display = True
        box.focus()

    def action_note(self) -> None:
        inc = self.selected()
        if inc is None:
            self.notify("Select an incident first.", severity="warning")
            return
        if self._allowed("crisis_note") is None:
            return
        self._open_input("note", "", f"action taken on #{inc.id}, for the timeline (Enter "
                         "saves, Esc cancels)")

    def action_export(self) -> None:
        inc = self.selected()
        if inc is None:
            self.notify("Select an incident to export.", severity="warning")
            return
        default = Path.cwd() / f"incident-{inc.id}.md"
        self._open_input("export", str(default), "Markdown file to write (Enter writes, "
                         "Esc cancels)")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "crisis-input":
            return
        mode, value = self.input_mode, event.value.strip()
        self.action_leave_input()
        inc, service = self.selected(), self.service
        if not value or inc is None or service is None:
            return
        if mode == "note":
            try:
                service.note(inc.id, value)
            except CrisisError as err:
                self.notify(str(err), severity="error")
                return
            self.notify(f"Noted on #{inc.id}.")
        elif mode == "export":
            self._export(service, inc, Path(value).expanduser())
        self.refresh_crisis()

    def _export(self, service: CrisisService, inc: Incident, path: Path) -> None:
        try:
            document = service.export_markdown(inc.id)
            path.write_text(document, encoding="utf-8")
        except (CrisisError, OSError) as err:
            self.notify(f"Not exported: {clean(err, 160)}", severity="error", timeout=10)
            return
        self.last_export = path.resolve()
        self.notify(f"Exported #{inc.id} to {self.last_export}", timeout=10)

    def action_leave_input(self) -> None:
        box = self.query_one("#crisis-input", Input)
        box.value = ""
        box.display = False
        self.input_mode = None
        self.query_one("#incidents", Grid).focus()

    def title_text(self) -> str:
        return "Crisis"
