"""Agent detail and control: who the agent is, their state and time in it, the queues
they serve, their current contact — and the keys that change their state (available,
away for a reason, end after-contact work, log out), each confirmed with ``y``.

Opened with Enter on an agent (agents screen, queue detail) for one agent, or from the
agents screen's selection (``space``) for several: then a key pressed there opens it
with that change already asked for. Every change is one audited attempt per agent on
the agent's own source (``Actions.set_agent_state``); the outcome is shown per agent in
the source's own words. Keys the role or the agents' sources cannot use are not in the
footer; pressed anyway, they are refused with the reason, and the refusal is audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from supervisor_tui.domain import fmt
from supervisor_tui.domain.agent_control import (
    AVAILABLE,
    AWAY,
    DEFAULT_AWAY_REASONS,
    END_ACW,
    LOGOUT,
    StateRequest,
)
from supervisor_tui.domain.agent_day import agent_key
from supervisor_tui.domain.board import Board
from supervisor_tui.domain.model import Agent, AgentStateKind, Contact
from supervisor_tui.domain.text import clean
from supervisor_tui.ui.screens.action_modal import ActionModal
from supervisor_tui.ui.screens.gated import GatedKeys
from supervisor_tui.ui.widgets.adherence import schedule_lines
from supervisor_tui.ui.widgets.agent_day_text import agent_day_text
from supervisor_tui.ui.widgets.keys_footer import KeysFooter
from supervisor_tui.ui.widgets.surveys import has_scores
from supervisor_tui.ui.widgets.surveys import summary as survey_summary
from supervisor_tui.ui.widgets.tables import agent_state_text

PERMISSION = "agent_state"
#: the keys' actions -> the change each asks for (away's reason is picked after)
VERBS = {"available": AVAILABLE, "away": AWAY, "end_acw": END_ACW, "logout": LOGOUT}
SHOWN_AT_MOST = 8  # agents listed by name in a bulk change; the rest are counted


def away_reasons(configured: Sequence[str]) -> list[str]:
    """The short list offered for away: the usual reasons, then the configured ones."""
    reasons = list(DEFAULT_AWAY_REASONS)
    reasons += [r for r in configured if r and r not in reasons]
    return reasons


class AgentDetailScreen(GatedKeys, ActionModal):
    DEFAULT_CSS = """
    AgentDetailScreen #agent-body { height: 1fr; }
    AgentDetailScreen #agent-prompt { height: auto; min-height: 2; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close"),
        Binding("v", "available", "Available"),
        Binding("b", "away", "Away"),
        Binding("w", "end_acw", "End ACW"),
        Binding("o", "logout", "Log out"),
        Binding("y", "confirm", "Confirm"),
        Binding("question_mark", "app.help", "Help", key_display="?", show=False),
    ]
    GATED: ClassVar[frozenset[str]] = frozenset({*VERBS, "confirm"})

    def __init__(self, keys: Sequence[str], ask: str | None = None) -> None:
        """``keys``: the agents (``agent_key``); ``ask``: a change asked for at once (an
        action name of ``VERBS``, from a key pressed on the agents screen)."""
        super().__init__()
        self.keys = list(dict.fromkeys(keys))
        self.ask = ask
        self.pending: StateRequest | None = None
        self.reason_at = 0
        self.note: Text | None = None  # the last outcome or refusal, until the next key
        self.busy = False

    def compose(self) -> ComposeResult:
        with Vertical():
            with VerticalScroll(id="agent-body"):
                yield Static(id="agent-info", markup=False)
            yield Static(id="agent-prompt", classes="modal-preview", markup=False)
        yield KeysFooter()

    def on_mount(self) -> None:
        self.watch(self.app, "board", self._board_changed, init=True)
        if self.ask is not None:
            self.call_after_refresh(self._ask, VERBS[self.ask])  # (refused: says why)

    # -- what is shown -----------------------------------------------------------

    def agents(self, board: Board | None = None) -> list[Agent]:
        """The agents as the latest poll reports them (gone ones are left out)."""
        board = board if board is not None else self.sup.board
        if board is None:
            return []
        wanted = set(self.keys)
        found = {agent_key(a): a for a in board.snapshot.agents if agent_key(a) in wanted}
        return [found[k] for k in self.keys if k in found]

    def _refusal(self) -> str | None:
        """Why these agents' states cannot be changed by this user, or None."""
        actions = self.sup.actions
        why = actions.refusal(PERMISSION)
        if why is not None:
            return why
        sources = dict.fromkeys(a.source for a in self.agents()) or \
            dict.fromkeys(k.split(":", 1)[0] for k in self.keys)
        refusals = [actions.refusal(PERMISSION, s) for s in sources]
        # Several sources: offer the keys while one of them can (the others say why).
        return None if any(r is None for r in refusals) else refusals[0]

    def _board_changed(self, board: Board | None) -> None:
        if board is None:
            return
        agents = self.agents(board)
        now = self.sup.state.data_now()
        text = Text()
        if not agents:
            text.append("This agent is no longer reported by any source.", "bold red")
        elif len(agents) == 1:
            self._detail(text, board, agents[0], now)
        else:
            self._summary(text, agents, now)
        if len(agents) < len(self.keys) and agents:
            text.append(f"\n{len(self.keys) - len(agents)} selected agent(s) no longer "
                        "reported.", "yellow")
        self.query_one("#agent-info", Static).update(text)
        self._show_prompt()
        self.refresh_keys()  # the footer follows the sources' capabilities

    def _detail(self, text: Text, board: Board, agent: Agent, now: datetime) -> None:
        text.append(clean(agent.name, 60), "bold")
        if agent.team:
            text.append(f"  team {clean(agent.team, 30)}", "dim")
        text.append(f"  ({clean(agent.id, 30)} on {clean(agent.source, 30)})\n", "dim")
        text.append("State   ")
        text.append_text(agent_state_text(agent))
        text.append(f"  for {fmt.duration(_age(agent.state.since, now))}\n")
        zone = self.sup.config.console.policy.zone
        text.append_text(agent_day_text(self.sup.state.agent_days.get(agent_key(agent)), now,
                                        lambda when: f"{when.astimezone(zone):%H:%M}"))
        schedule = self.sup.state.schedule
        if schedule.has_schedule:  # today's schedule beside the state history
            text.append_text(schedule_lines(
                schedule.entries_for(agent), schedule.now.by_agent.get(agent_key(agent)), now,
                lambda when: f"{when.astimezone(zone):%H:%M}",
                self.sup.config.schedule.grace_min))
        surveys = self.sup.state.surveys.figures
        if has_scores(surveys):  # today's, this agent's (matched by id or name)
            text.append("Surveys ")
            text.append_text(survey_summary(surveys.agents.get(agent_key(agent))))
            text.append("\n")
        names = [self.queue_name(q, 40) for q in agent.skills]
        text.append("Serves  ")
        text.append(", ".join(names) if names else "no queue", "" if names else "dim")
        text.append("\n")
        contact = _contact_of(board, agent)
        if agent.contact_id is None:
            text.append("Contact none\n", "dim")
        else:
            text.append("Contact ")
            text.append(clean(agent.contact_id, 30), "bold")
            queue_id = agent.queue_id or (contact.queue_id if contact else None)
            if queue_id:
                text.append(f" in {self.queue_name(queue_id, 40)}")
            if contact is not None:
                if contact.customer:
                    text.append(f", {clean(contact.customer, 40)}")
                text.append(f", {contact.tier.value}")
            if agent.state.kind in (AgentStateKind.ON_CONTACT,
                                    AgentStateKind.AFTER_CONTACT_WORK):
                label = ("with the agent" if agent.state.kind is AgentStateKind.ON_CONTACT
                         else "in after-contact work")
                text.append(f"; {label} {fmt.duration(_age(agent.state.since, now))}")
            if contact is not None:
                text.append(f" (entered the queue "
                            f"{fmt.duration(_age(contact.entered_at, now))} ago)", "dim")
            text.append("\n")

    def _summary(self, text: Text, agents: list[Agent], now: datetime) -> None:
        text.append(f"{len(agents)} agents selected\n", "bold")
        for agent in agents[:SHOWN_AT_MOST]:
            text.append(f"  {clean(agent.name, 30):<30} ")
            text.append_text(agent_state_text(agent))
            text.append(f"  {fmt.duration(_age(agent.state.since, now))}\n")
        if len(agents) > SHOWN_AT_MOST:
            text.append(f"  and {len(agents) - SHOWN_AT_MOST} more\n", "dim")

    def _reasons(self) -> list[str]:
        return away_reasons(list(self.sup.config.escalations.away_limits_s))

    def _show_prompt(self) -> None:
        text = Text()
        if self.note is not None:
            text.append_text(self.note)
        elif self.busy:
            text.append("Applying…", "bold")
        elif self.pending is not None:
            who = self._who()
            if self.pending.verb == AWAY:
                text.append("Away, reason: ", "bold")
                for i, reason in enumerate(self._reasons()):
                    chosen = i == self.reason_at
                    text.append(f"[{reason}]" if chosen else f" {reason} ",
                                "bold reverse" if chosen else "dim")
                text.append("  (b: next reason)\n", "dim")
            text.append(f"{self.pending.describe().capitalize()}: {who}? ", "bold")
            text.append("y confirms, Esc cancels.", "dim")
        else:
            why = self._refusal()
            if why is not None:
                text.append(f"⛔ {why}", "bold red")
            else:
                text.append("v available · b away · w end after-contact work · o log out "
                            "· y confirms", "dim")
        self.query_one("#agent-prompt", Static).update(text)

    def _who(self) -> str:
        agents = self.agents()
        if len(agents) == 1:
            return clean(agents[0].name, 40)
        return f"{len(agents)} agents"

    def refresh_ages(self) -> None:
        self._board_changed(self.sup.board)

    # -- keys --------------------------------------------------------------------

    def key_refusal(self, action: str) -> str | None:
        # Left out of the footer when the role or the sources cannot.
        return self._refusal() if action in self.GATED else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        allowed = super().check_action(action, parameters)
        if allowed and not self._pressed_anyway and action == "confirm" and self.pending is None:
            return None  # nothing asked yet: y is shown greyed (and in help), not hidden
        return allowed

    def _ask(self, verb: str) -> None:
        if self.busy:
            return
        self.note = None
        if self._refusal() is not None:
            # Refused: say why now, through the audited path (the attempt is recorded).
            self._apply(StateRequest(verb, self._reasons()[0] if verb == AWAY else None))
            return
        if verb == AWAY and self.pending is not None and self.pending.verb == AWAY:
            self.reason_at = (self.reason_at + 1) % len(self._reasons())  # b again
        elif verb == AWAY:
            self.reason_at = 0
        reason = self._reasons()[self.reason_at] if verb == AWAY else None
        self.pending = StateRequest(verb, reason)
        self._show_prompt()
        self.refresh_keys()

    def action_available(self) -> None:
        self._ask(AVAILABLE)

    def action_away(self) -> None:
        self._ask(AWAY)

    def action_end_acw(self) -> None:
        self._ask(END_ACW)

    def action_logout(self) -> None:
        self._ask(LOGOUT)

    def action_confirm(self) -> None:
        if self.busy:
            return
        if self.pending is None:
            self.note = Text("Choose a change first: v, b, w or o.", "yellow")
            self._show_prompt()
            return
        request, self.pending = self.pending, None
        self._apply(request)

    def _apply(self, request: StateRequest) -> None:
        agents = self.agents()
        if not agents:
            self.note = Text("Nobody to change: no longer reported.", "yellow")
            self._show_prompt()
            return
        self.busy = True
        self._show_prompt()
        self._run(request, agents)

    @work(exclusive=True, group="agent-state")
    async def _run(self, request: StateRequest, agents: list[Agent]) -> None:
        try:
            results = await self.sup.actions.set_agent_state(agents, request.text)
            items = [(a.name, r) for a, r in zip(agents, results, strict=True)]
            self.note = self.outcome(f"changed ({request.describe()})", items)
        finally:
            self.busy = False
        self._show_prompt()
        self.refresh_keys()


def _age(since: datetime, now: datetime) -> float:
    return max(0.0, (now - since).total_seconds())


def _contact_of(board: Board, agent: Agent) -> Contact | None:
    if agent.contact_id is None:
        return None
    return next((c for c in board.snapshot.contacts
                 if c.id == agent.contact_id and c.source == agent.source), None)

