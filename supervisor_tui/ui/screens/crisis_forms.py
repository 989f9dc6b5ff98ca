"""The crisis dialogs: declare an incident, send a message (template, variables, exact
per-channel preview), resolve with a note.

Each ends with a field where the user types a word (DECLARE, SEND, RESOLVE) and presses
Enter. Enter anywhere else only moves to the next field: a message to thousands of
customers must never go out because a key was pressed one time too many. Refusals and
errors from the service are shown in the dialog, which stays open.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import ClassVar, Generic, TypeVar, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Label, Select, Static

from supervisor_tui.crisis.config import BUILTIN_VARIABLES, MessageKind, Severity, placeholders
from supervisor_tui.crisis.incidents import Incident
from supervisor_tui.crisis.outbox import OutboxRow, QueuedMessage
from supervisor_tui.crisis.service import CrisisError, CrisisService
from supervisor_tui.crisis.templates import Preview
from supervisor_tui.domain.text import clean
from supervisor_tui.ui.view import AppView
from supervisor_tui.ui.widgets.keys_footer import KeysFooter

T = TypeVar("T")
CONFIRM_HINT = "then Enter · Esc cancels"

# The preview's problems speak CLI ("pass --var eta=..."); here there is a field to fill.
_PASS_VAR = re.compile(r"\(pass --var (\w+)=\.\.\.\)")


def field(label: str, widget: Widget, field_id: str | None = None) -> Horizontal:
    """One form line: a label, then the input (one row tall, so forms fit 80x24)."""
    return Horizontal(Label(label, markup=False), widget, classes="field", id=field_id)


def problem_text(problem: str) -> str:
    return _PASS_VAR.sub(r"(fill in \1)", problem)


def preview_text(preview: Preview) -> Text:
    """Every channel's exact subject and text, its limits and its problems."""
    text = Text()
    for ch in preview.channels:
        recipients = [clean(r, 60) for r in ch.recipients if r]
        text.append(f"── {ch.channel} ", "bold")
        text.append(f"({ch.type})", "dim")
        if recipients:
            text.append(f" to {', '.join(recipients)}")
        text.append(f" — {ch.limits}\n", "bold green" if ch.ok else "bold red")
        if ch.subject:
            text.append("   Subject: ", "dim")
            text.append(clean(ch.subject, 1000) + "\n", "bold")
        # The exact text, line by line (control characters stripped for the terminal).
        for line in ch.body.splitlines() or [""]:
            text.append(f"   {clean(line, 20_000)}\n")
        for problem in ch.problems:
            text.append(f"   ✗ {problem_text(problem)}\n", "bold red")
    for problem in preview.problems:
        text.append(f"✗ {problem_text(problem)}\n", "bold red")
    if preview.ok:
        total = sum(len(c.recipients) for c in preview.channels)
        text.append(f"✓ {len(preview.channels)} channel(s), {total} delivery(ies).", "green")
    return text


def undelivered_warning(rows: Sequence[OutboxRow], after: str) -> Text | None:
    """A loud line when customers have not had every earlier message yet."""
    if not rows:
        return None
    shown = ", ".join(f"{clean(r.target, 40)} ({'failed' if r.state == 'failed' else 'pending'})"
                      for r in rows[:3])
    more = f" and {len(rows) - 3} more" if len(rows) > 3 else ""
    text = Text(f"\n⚠ {len(rows)} earlier message(s) to customers not delivered: "
                f"{shown}{more}. {after}", "bold yellow")
    return text


def template_fields(service: CrisisService, template: str) -> list[str]:
    """The variables worth a field: those the template's texts use, plus impact and ETA
    (sending them updates the incident), built-ins first in their usual order."""
    tmpl = service.config.templates[template]
    used = {name for _, text in tmpl.texts() for name in placeholders(text)[0]}
    used |= {"impact", "eta"}
    builtin = [name for name in BUILTIN_VARIABLES if name in used]
    return builtin + sorted(used - set(builtin))


class ChannelBox(Checkbox):
    """One channel's tick box in the send form; its key is in the footer."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_button", "Tick/untick channel", show=True)]

    @property
    def _button(self) -> Content:
        # A shape, not only a colour: ✓ ticked, blank unticked (16 colours, 3 a.m.).
        self.BUTTON_INNER = "✓" if self.value else " "
        return super()._button


class CrisisForm(ModalScreen[T], Generic[T]):
    """Frame of the crisis dialogs; subclasses set ``word`` and implement ``submit``."""

    DEFAULT_CSS = """
    CrisisForm { align: center middle; }
    CrisisForm > Vertical {
        width: 94%; max-width: 120; height: 94%; max-height: 44;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    CrisisForm .form-title { height: auto; }
    CrisisForm #vars { height: auto; }
    CrisisForm .field { height: 1; }
    CrisisForm .field > Label { width: 12; color: $text-muted; }
    CrisisForm .field > Input, CrisisForm .field > Select { width: 1fr; }
    CrisisForm .field Input { background: $boost; }
    CrisisForm .field Input:focus { background: $accent 30%; }
    CrisisForm #confirm-field { margin-top: 1; }
    CrisisForm #confirm-field > Label { width: auto; margin-right: 1; color: $text;
                                        text-style: bold; }
    CrisisForm .form-hint { height: auto; color: $text-muted; }
    CrisisForm #form-message { height: auto; }
    CrisisForm #channels { layout: grid; grid-size: 3; grid-columns: 1fr 1fr 1fr;
                           height: auto; }
    CrisisForm #channels > Checkbox { height: 1; width: 1fr; }
    CrisisForm #channel-notes { height: auto; }
    CrisisForm #preview-pane { height: 1fr; min-height: 3; border-top: solid $primary; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    word = "CONFIRM"

    def __init__(self, service: CrisisService) -> None:
        super().__init__()
        self.service = service

    @property
    def sup(self) -> AppView:
        return cast("AppView", self.app)

    def confirm_field(self) -> Horizontal:
        return field(f"Type {self.word}", Input(placeholder=CONFIRM_HINT, id="confirm",
                                                compact=True), "confirm-field")

    def say(self, message: str | Text, ok: bool = False) -> None:
        text = message if isinstance(message, Text) else Text(
            message, "bold green" if ok else "bold red")
        self.query_one("#form-message", Static).update(text)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id != "confirm":
            self.focus_next()  # Enter never confirms from another field
            return
        typed = event.value.strip()
        event.input.value = ""
        if typed.upper() != self.word:
            self.say(f"Type {self.word} to confirm — nothing was done.")
            return
        self.submit()

    def submit(self) -> None:
        raise NotImplementedError


class DeclareForm(CrisisForm[Incident | None]):
    """Title, severity, affected queues (prefilled with the queues in trouble now),
    impact and ETA."""

    word = "DECLARE"

    def __init__(self, service: CrisisService, queues: Sequence[str]) -> None:
        super().__init__(service)
        self.queues = list(queues)

    def compose(self) -> ComposeResult:
        with Vertical():
            title = Text("Declare an incident", "bold")
            title.append(" — its banner shows on every console on this host until it is "
                         "resolved.", "dim")
            yield Static(title, classes="form-title")
            yield field("Title", Input(placeholder="what is broken, e.g. Payments IVR down",
                                       id="title", compact=True))
            yield field("Severity", Select([(s.value, s.value) for s in Severity],
                                           value=Severity.MAJOR.value, allow_blank=False,
                                           compact=True, id="severity"))
            yield field("Queues", Input(", ".join(self.queues), id="queues", compact=True,
                                        placeholder="affected queues, comma separated"))
            yield field("Impact", Input(placeholder="what customers notice", id="impact",
                                        compact=True))
            yield field("ETA", Input(placeholder="next update or fix expected, e.g. 11:30",
                                     id="eta", compact=True))
            hint = ("Queues are prefilled with those missing their service level or with "
                    "contacts over threshold now." if self.queues else
                    "No queue is in trouble right now: list the affected ones, if any.")
            yield Static(hint, classes="form-hint", markup=False)
            yield Static(id="form-message", markup=False)
            yield self.confirm_field()
        yield KeysFooter()

    def on_mount(self) -> None:
        why = self.service.refusal("crisis_declare")
        if why:
            self.say(f"⛔ {why}")
        self.query_one("#title", Input).focus()

    def submit(self) -> None:
        def value(widget_id: str) -> str:
            return self.query_one(f"#{widget_id}", Input).value.strip()

        severity = self.query_one("#severity", Select).value
        queues = [q.strip() for q in value("queues").split(",") if q.strip()]
        try:
            incident = self.service.declare(value("title"), str(severity), queues,
                                            value("impact"), value("eta"))
        except CrisisError as err:
            self.say(f"Not declared: {err}")
            return
        self.dismiss(incident)


class SendForm(CrisisForm[QueuedMessage | None]):
    """Pick a template, fill its variables (defaults from the incident), read the exact
    text per channel, type SEND (RESOLVE for an all clear, which resolves the incident)."""

    def __init__(self, service: CrisisService, incident: Incident, template: str) -> None:
        super().__init__(service)
        self.incident = incident
        self.template = template
        self.values: dict[str, str] = {}  # typed so far, kept across template changes
        self.fields: list[str] = []
        self.preview: Preview | None = None
        # Channels this console cannot send on (a secret not set here): unticked.
        self.broken = service.channel_problems()
        self.ticked: dict[str, bool] = {}  # the current template's channels

    @property
    def word(self) -> str:  # type: ignore[override]
        kind = self.service.config.templates[self.template].kind
        return "RESOLVE" if kind is MessageKind.RESOLVED else "SEND"

    def compose(self) -> ComposeResult:
        options = []
        for name in self.service.template_names():
            tmpl = self.service.config.templates[name]
            options.append((f"{name} ({tmpl.kind.value}) → {', '.join(tmpl.channels)}", name))
        with Vertical():
            yield Static(classes="form-title", id="send-title", markup=False)
            yield field("Template", Select(options, value=self.template, allow_blank=False,
                                           compact=True, id="template"))
            yield Container(id="channels")
            yield Static(id="channel-notes", markup=False)
            yield Vertical(id="vars")
            with VerticalScroll(id="preview-pane"):
                yield Static(id="preview", markup=False)
            yield Static(id="form-message", markup=False)
            yield self.confirm_field()
        yield KeysFooter()

    async def on_mount(self) -> None:
        await self._build_fields()
        self.query_one("#template", Select).focus()

    def _title(self) -> Text:
        inc = self.incident
        title = Text("Message about ", "bold")
        title.append(f"#{inc.id} {clean(inc.title, 80)}", "bold")
        title.append(f" ({inc.severity})", "dim")
        if self.word == "RESOLVE":
            title.append("\nSending this all clear also resolves the incident.", "bold yellow")
            warning = undelivered_warning(
                self.service.undelivered(inc.id),
                "They are still sent, each before this all clear.")
            if warning is not None:
                title.append(warning)
        why = self.service.refusal("crisis_message")
        if why:
            title.append(f"\n⛔ {why}", "bold red")
        return title

    async def _build_fields(self) -> None:
        self.query_one("#send-title", Static).update(self._title())
        self.query_one("#confirm-field Label", Label).update(f"Type {self.word}")
        try:
            defaults = self.service.preview(self.template, {}, self.incident.id).variables
        except CrisisError as err:
            defaults = {}
            self.say(str(err))
        self.fields = template_fields(self.service, self.template)
        channels = self.service.config.templates[self.template].channels
        self.ticked = {name: name not in self.broken for name in channels}
        boxes = self.query_one("#channels", Container)
        await boxes.remove_children()
        await boxes.mount_all([
            ChannelBox(f"{name} ({self.service.config.channels[name].type})", ticked,
                       id=f"ch-{name}", compact=True)
            for name, ticked in self.ticked.items()])
        self._channel_notes()
        box = self.query_one("#vars", Vertical)
        await box.remove_children()
        await box.mount_all([
            field(name, Input(self.values.get(name, defaults.get(name, "")),
                              id=f"var-{name}", compact=True,
                              placeholder=BUILTIN_VARIABLES.get(name, "")))
            for name in self.fields])
        self._show_preview()

    def given(self) -> dict[str, str]:
        return {name: self.query_one(f"#var-{name}", Input).value for name in self.fields}

    def chosen(self) -> list[str]:
        """The ticked channels, in the template's order."""
        return [name for name, ticked in self.ticked.items() if ticked]

    def _channel_notes(self) -> None:
        text = Text()
        for name, ticked in self.ticked.items():
            why = self.broken.get(name)
            if why:
                text.append(f"✗ {name}: {why}" + ("" if ticked else " — unticked") + "\n",
                            "bold yellow")
            elif not ticked:
                text.append(f"· {name}: unticked, not sent\n", "dim")
        text.rstrip()
        self.query_one("#channel-notes", Static).update(text)

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        name = (event.checkbox.id or "").removeprefix("ch-")
        if name in self.ticked:
            self.ticked[name] = event.value
            self._channel_notes()
            self._show_preview()

    def _show_preview(self) -> None:
        chosen = self.chosen()
        if not chosen:
            self.preview = None
            self.query_one("#preview", Static).update(Text(
                "No channel ticked: tick at least one (space) to send.", "bold red"))
            return
        try:
            self.preview = self.service.preview(self.template, self.given(), self.incident.id,
                                                chosen)
        except CrisisError as err:
            self.preview = None
            self.query_one("#preview", Static).update(Text(str(err), "bold red"))
            return
        self.query_one("#preview", Static).update(preview_text(self.preview))

    async def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id != "template" or event.value == self.template:
            return
        self.values.update(self.given())
        self.template = str(event.value)
        await self._build_fields()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id and event.input.id.startswith("var-"):
            self._show_preview()

    def submit(self) -> None:
        self._show_preview()
        if self.preview is None or not self.preview.ok:
            problems = self.preview.all_problems() if self.preview else [
                "no channel ticked" if not self.chosen() else "see the preview"]
            hint = (" — untick a broken channel to send to the others"
                    if self.preview is not None and any(not c.ok for c in self.preview.channels)
                    else "")
            self.say("Not sent: " + "; ".join(problem_text(p) for p in problems) + hint)
            return
        try:
            queued = self.service.queue(self.template, self.given(), self.incident.id,
                                        channels=self.chosen())
        except CrisisError as err:
            self.say(f"Not sent: {err}")
            return
        self.dismiss(queued)


class ResolveForm(CrisisForm[Incident | None]):
    """Resolve without a message (no all-clear template configured): a note says why."""

    word = "RESOLVE"

    def __init__(self, service: CrisisService, incident: Incident) -> None:
        super().__init__(service)
        self.incident = incident

    def compose(self) -> ComposeResult:
        with Vertical():
            title = Text(f"Resolve #{self.incident.id} {clean(self.incident.title, 80)}",
                         "bold")
            title.append("\nNo all-clear template is configured, so no message is sent; the "
                         "banner shows ALL CLEAR on every console for a while.", "dim")
            warning = undelivered_warning(
                self.service.undelivered(self.incident.id),
                "They are still sent after the incident is resolved.")
            if warning is not None:
                title.append(warning)
            yield Static(title, classes="form-title")
            yield field("Note", Input(placeholder="what fixed it (for the timeline)",
                                      id="note", compact=True))
            yield Static(id="form-message", markup=False)
            yield self.confirm_field()
        yield KeysFooter()

    def on_mount(self) -> None:
        why = self.service.refusal("crisis_resolve")
        if why:
            self.say(f"⛔ {why}")
        self.query_one("#note", Input).focus()

    def submit(self) -> None:
        note = self.query_one("#note", Input).value.strip()
        try:
            incident, _ = self.service.resolve(self.incident.id, note)
        except CrisisError as err:
            self.say(f"Not resolved: {err}")
            return
        self.dismiss(incident)
