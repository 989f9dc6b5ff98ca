"""Help: the keys of the screen underneath (read from its live bindings, so it can't
drift from the code) and what each number means."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

GLOSSARY = [
    ("SL", "Service level this interval: answered within the queue's threshold / "
           "(answered + abandoned after the threshold). Target and threshold per queue. "
           "✓ on target · ! within 5 points · ✗ missed · · no contacts yet."),
    ("Wait# / Oldest", "Contacts waiting now, and how long the oldest has waited, "
                       "measured against now (red: past the queue's threshold)."),
    ("ASA", "Average speed of answer: total wait of answered contacts / answered."),
    ("AHT", "Average handle time: talk + hold + after-contact work / handled."),
    ("Aband", "Abandoned / offered, short abandons (under the queue's short-abandon "
              "time) excluded from both."),
    ("Av/On/ACW/Aw", "Agents with the queue's skill: available / on a contact / in "
                     "after-contact work / away."),
    ("Need", "Erlang C: agents needed now to meet the target from this interval's "
             "arrival rate and AHT (red when fewer are working)."),
    ("⚑", "Agent too long in after-contact work or away (limits in config)."),
    ("STALE", "The data stopped updating; numbers shown are the last good ones."),
]


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "dismiss", "Close"),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90%; max-width: 110; height: 90%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    """

    def __init__(self, under: Screen) -> None:
        super().__init__()
        self.under = under

    def _keys(self) -> Table:
        table = Table(title="Keys on this screen", box=None, expand=True, title_justify="left")
        table.add_column("Key", style="bold cyan", no_wrap=True)
        table.add_column("Does")
        seen: set[str] = set()
        for _key, active in self.under.active_bindings.items():
            binding = active.binding
            if not binding.description or binding.description in seen:
                continue
            seen.add(binding.description)
            shown = binding.key_display or self.app.get_key_display(binding)
            table.add_row(shown, binding.description)
        table.add_row("ctrl+p", "Command palette: every command, and jump to a queue by name")
        table.add_row("↑ ↓ PgUp PgDn Home End", "Move in a table · Enter opens")
        table.add_row("esc", "Close this help")
        return table

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(self._keys())
            glossary = Table(title="What the numbers mean", box=None, expand=True,
                             title_justify="left")
            glossary.add_column("", style="bold", no_wrap=True)
            glossary.add_column("")
            for term, meaning in GLOSSARY:
                glossary.add_row(term, meaning)
            yield Static(glossary)
            yield Static(Text("Press esc to close.", style="dim"))
