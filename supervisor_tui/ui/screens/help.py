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
    ("Counting", "A contact counts once per queue, in the window in which it left the "
                 "queue: answered, abandoned, or flowed out (moved to another queue). "
                 "Offered = answered + abandoned + flowed out; contacts still waiting are "
                 "counted apart (Wait#). So no rate can pass 100%. See docs/metrics.md."),
    ("Window", "Figures cover the window named in the tiles and headers: the interval "
               "(10:00-10:30), a rolling last 15m / 30m / 60m, or today; w switches. "
               "'last 4 of 15m' (in a narrow header '4/15m') while the console has seen "
               "less: 4 of the window's 15 minutes."),
    ("75%·4", "Greyed with its count: fewer contacts than the minimum sample "
              "(default 10) stand behind the figure, so read it as an early sign."),
    ("SL", "Service level: answered within the queue's threshold / (answered + "
           "abandoned after the threshold). Target and threshold per queue. "
           "✓ on target · ! within 5 points · ✗ missed · · no contacts yet, decided on "
           "the whole percent shown. Tiles are per channel group (live: voice, chat, "
           "social; email apart), never mixing a 20 s target with a 1 h one."),
    ("Wait# / Oldest", "Contacts waiting now, and how long the oldest has waited, "
                       "measured against now (red: past the queue's threshold, 'late'). On "
                       "STALE data waits stop and read ≥ 0:26."),
    ("Longest vs its target", "The queue whose oldest waiting contact is furthest into "
                              "its own threshold: '1:42 of 20s', named."),
    ("ASA", "Average speed of answer: total wait of answered contacts / answered."),
    ("AHT", "Average handle time: talk + hold + after-contact work / handled."),
    ("Aband", "Abandoned / offered, short abandons (under the queue's short-abandon "
              "time) left out of both and shown apart: '9 of 120 · +1 short' under a "
              "tile, '9+1' (counted+short) in the queue detail and intraday tables."),
    ("Av/On/ACW/Aw", "Agents with the queue's skill: available / on a contact / in "
                     "after-contact work / away."),
    ("Need", "Erlang C: agents needed to meet the target, from the arrival rate and AHT "
             "of the last 30 min (or today while fewer than the minimum sample), red "
             "when more than the effective agents: those on this queue's contacts and "
             "the available ones who serve it (not those busy elsewhere). The queue detail "
             "shows the inputs (44/h × 9:20 AHT = 6.8 Erl, 14.0 effective). With a "
             "forecast imported (supervisor-tui forecast import), '14 fc': the agents the "
             "forecast of the interval under way requires instead."),
    ("Intraday (I)", "Today interval by interval for a channel group or a queue ([ ] "
                     "switch; ctrl+p there picks one by name), beside the same local "
                     "interval of the same day last week (LW), with bars of offered and "
                     "SL. Each closed interval is stored per queue as it ends; 10:00-now is "
                     "the open one so far. ≥: the console missed that interval's end, so "
                     "these are its last poll's figures. St/Need: effective agents vs "
                     "Erlang C need at the interval's last poll."),
    ("Forecast (I, then f)", "With a forecast imported: Fc forecast contacts (the interval "
                             "under way pro-rated to the minutes gone), Var (offered - Fc) / "
                             "Fc, FcAHT, and Req/Sch/In: agents the forecast requires "
                             "(Erlang C for the queue's target and threshold, at most 85% "
                             "busy, for voice, chat and social; for email, workload = "
                             "contacts x AHT / interval / 85% occupancy) / scheduled (the "
                             "imported schedule, else the forecast file) / in (effective "
                             "agents at the interval's last poll). f shows last week's "
                             "columns instead."),
    ("Projected day SL", "(answered within threshold so far + each interval still to "
                         "come's forecast contacts x the service level its staffing gives) "
                         "/ (counted so far + those contacts). Staffing: scheduled agents, "
                         "else the effective agents now; service level: Erlang C (email: "
                         "the share of the workload the agents can work). Counted so far: "
                         "the day's SL denominator by the console's formula."),
    ("Group band (g)", "With [groups] configured, g cycles the dashboard's tiles between "
                       "the centre and each group: sums of its queues (each once), agents "
                       "with a skill in any of them (counted once), one SL per target and "
                       "threshold (the worst in the tile, labelled '75% 20s'; all on the line "
                       "above), ASA over its live queues when it also has email. "
                       "'⚠ not reported': a configured queue no source reports now."),
    ("Teams (M)", "Per team as the sources report it: agents in and by state; Occ now = "
                  "(on + ACW) / (on + ACW + available), '67% 4/6' with its sample; who is "
                  "longest in their current state; AHT today = handle time / contacts the "
                  "console saw the team's agents finish today, 'n12' the count. Enter lists "
                  "the team's agents."),
    ("Surveys", "Once today has a scored response (the collector's POST /v1/surveys, or "
                "`surveys import`): CSAT = % of CSAT answers 4-5 on 1-5, with n (and the "
                "average); NPS = % promoters (9-10) - % detractors (0-6), -100..100, with "
                "n; both per team (M, wide), agent and queue (details). FCR = first "
                "contacts with no further contact by the same customer within "
                "fcr_window_h; 'open': still inside their window, counted as resolved "
                "so far. A VIP's low score is a desk item. docs/surveys.md."),
    ("Vendors (V)", "Per outsourcing vendor or site ([vendors], or the site a source "
                    "reports): its queues' counters summed over the window shown, SL by "
                    "its contract's formula with n, AHT, abandon and adherence against the "
                    "contract, red where missed; agents by state (* its queues' agents when "
                    "none is its own). ≠: a queue counts SL at its own threshold, not the "
                    "contract's. docs/vendors.md."),
    ("Tiers (t)", "On the dashboard, t shows per customer tier (VIP, gold, standard): SL "
                  "against the tier's own target ([tiers]), abandon, ASA, offered. Gold "
                  "and VIP are as the source counts them and standard is the rest of the "
                  "queue, so tiers add up to the queue. 'tiers: not reported by X': that "
                  "source gives no split, so none is shown. The queue detail has the block."),
    ("Scope", "A user in [roles.scopes] sees only their queues (their agents, contacts, "
              "abandoned, escalations) on every screen; actions outside them, and crisis "
              "or live settings (the whole centre), are refused and audited."),
    ("Abandoned (A)", "Today's abandoned contacts as the source reports them (the last "
                      "500), VIP and gold first, then newest; short abandons (under the "
                      "queue's short-abandon time) hidden until h. b calls back: queued on "
                      "the source as a waiting voice contact (counted like any other when it "
                      "leaves the queue), else tracked in the shared store (D done, X no "
                      "answer). 'Call-backs waiting' counts both, per queue."),
    ("⚑", "Agent too long in after-contact work or away (limits in config), or on one "
          "contact longer than long_contact_aht_multiple (3) x the queue's AHT today."),
    ("80%/20s* · *live", "A queue's SL target / threshold set live on the Thresholds "
                         "screen (T), not the source's; the source's own counting is "
                         "unchanged. T lists every live setting and who changed it."),
    ("STALE", "The data stopped updating; numbers shown are the last good ones."),
    ("‼ 3 new critical — e", "Status bar: new critical escalations nobody has looked at; "
                             "opening the desk (e) clears it. Their notices come as one, "
                             "never over a dialog; N snoozes the last one's categories, "
                             "ctrl+p \"notices\" mutes or snoozes any category."),
    ("paged 2×", "Escalation desk, Owner: an unowned critical item was paged to the "
                 "on-call supervisor ([crisis.paging]) this many times; again every "
                 "repeat_minutes until someone takes or acknowledges it. The detail line "
                 "says when, to whom, how and whether it was delivered."),
    ("‼ CRITICAL 12:34", "Incident banner (every console on this host): an active "
                         "incident, open for 12 min 34 s; TO AGENTS is the latest "
                         "broadcast. It closes when the incident is resolved (crisis: c)."),
    ("Deliveries", "Each crisis message, per channel and recipient: … queued · ↗ sending · "
                   "↻ retrying (next try, last reason) · ✓ delivered · ✗ failed (reason; "
                   "f queues it again with the same key, so it is never sent twice)."),
]


# Navigation and terminal plumbing, summed up in one line below instead of listed.
GENERIC_ACTIONS = {
    "scroll_left", "scroll_right", "scroll_up", "scroll_down", "page_left", "page_right",
    "page_up", "page_down", "scroll_home", "scroll_end", "focus_next", "focus_previous",
    "copy_text", "cursor", "page", "jump", "screen.copy_text", "app.focus_next",
    "app.focus_previous", "command_palette", "app.command_palette",
}


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
        keys: dict[str, list[str]] = {}  # description -> keys, in binding order
        for active in self.under.active_bindings.values():
            binding = active.binding
            if not binding.description or binding.action.split("(")[0] in GENERIC_ACTIONS:
                continue
            shown = binding.key_display or self.app.get_key_display(binding)
            keys.setdefault(binding.description, []).append(shown)
        # Text, not markup, everywhere here: "[" is a key and "[groups]" a config table.
        for description, shown_keys in keys.items():
            table.add_row(Text(" ".join(sorted(set(shown_keys), key=len))), Text(description))
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
                glossary.add_row(Text(term), Text(meaning))
            yield Static(glossary)
            yield Static(Text("Press esc to close.", style="dim"))
