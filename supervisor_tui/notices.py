"""New-critical notices that don't get in the way (pure: no Textual).

In a surge the rules raise a new critical escalation every few seconds; a toast for
each covered the dialog the supervisor was using. Instead:

- new critical escalations are gathered and shown as **one** notice ("3 new critical —
  e"), at most once every ``every_s`` seconds;
- nothing is shown while a dialog (any modal screen) is on top: the notice waits until
  it closes, and on the escalation desk itself (which lists them anyway) none is shown;
- a counter of the new critical not yet looked at rides in the status bar until the
  desk is opened;
- each category (escalation kind) can be muted or snoozed (config, ``N``, the command
  palette); the bell rings only for the categories chosen in ``[notify] bell``.

Example (TOML)::

    [notify]
    every_s = 10            # at most one new-critical notice this often
    mute = ["agent_acw"]    # never pop up for these (still counted, still on the desk)
    bell = ["tier_wait", "contact_flag"]   # ring only for these
    snooze_minutes = 15     # N and the palette's "snooze" silence a category this long
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from supervisor_tui.domain.escalation import Escalation, EscalationKind

CATEGORY_LABEL: dict[EscalationKind, str] = {
    EscalationKind.CONTACT_WAIT: "contacts waiting too long",
    EscalationKind.TIER_WAIT: "VIP / gold waits",
    EscalationKind.CONTACT_FLAG: "flagged contacts",
    EscalationKind.QUEUE_SL: "queue service level",
    EscalationKind.QUEUE_ABANDON: "queue abandons",
    EscalationKind.AGENT_ACW: "agents in after-contact work",
    EscalationKind.AGENT_AWAY: "agents away",
    EscalationKind.AGENT_LONG_CONTACT: "agents on one contact too long",
    EscalationKind.AGENT_ADHERENCE: "agents out of schedule adherence",
    EscalationKind.VIP_LOW_SCORE: "low survey scores from VIPs",
}


class NotifyConfig(BaseModel):
    """``[notify]``: how new critical escalations are announced."""

    model_config = ConfigDict(extra="forbid")

    every_s: float = Field(10.0, ge=0, le=3600, description="at most one new-critical "
                           "notice this often; those arriving in between join the next one")
    timeout_s: float = Field(8.0, gt=0, le=600, description="how long a notice stays up")
    mute: list[EscalationKind] = Field(
        default_factory=list, description="categories (escalation kinds) never announced; "
        "still counted in the status bar and listed on the desk")
    bell: list[EscalationKind] = Field(
        default_factory=lambda: list(EscalationKind), description="categories that ring "
        "the terminal bell (when [console] bell is on); [] for none")
    snooze_minutes: float = Field(15.0, gt=0, le=24 * 60,
                                  description="N and the palette's snooze last this long")


def category_label(kind: EscalationKind | str) -> str:
    try:
        return CATEGORY_LABEL[EscalationKind(kind)]
    except ValueError:
        return str(kind)


@dataclass(frozen=True)
class Notice:
    title: str
    message: str  # plain text: shown with markup off
    kinds: tuple[EscalationKind, ...]


class NoticeDesk:
    """Holds, combines and silences new-critical notices; the app shows what ``due``
    returns. ``clock``: monotonic seconds (injectable for tests)."""

    def __init__(self, config: NotifyConfig, clock: Callable[[], float]) -> None:
        self.config = config
        self.clock = clock
        self.muted: set[EscalationKind] = set(config.mute)
        self.snoozed: dict[EscalationKind, float] = {}  # kind -> until (clock)
        self.pending: dict[str, Escalation] = {}  # to announce, oldest first
        self.unseen: dict[str, Escalation] = {}  # new critical not looked at yet
        self.last_shown: float | None = None
        self.last_rung: float | None = None
        self.last_kinds: tuple[EscalationKind, ...] = ()

    # -- silencing -------------------------------------------------------------------

    def silenced(self, kind: EscalationKind) -> str | None:
        """"muted" / "snoozed for 12 min", or None when the category is announced."""
        if kind in self.muted:
            return "muted"
        until = self.snoozed.get(kind)
        if until is not None:
            left = until - self.clock()
            if left > 0:
                return f"snoozed for {max(round(left / 60), 1)} min"
            del self.snoozed[kind]
        return None

    def mute(self, kind: EscalationKind) -> None:
        self.muted.add(kind)
        self._drop_silenced()

    def snooze(self, kinds: Iterable[EscalationKind], minutes: float | None = None) -> None:
        until = self.clock() + 60 * (minutes or self.config.snooze_minutes)
        for kind in kinds:
            self.snoozed[kind] = until
        self._drop_silenced()

    def unmute(self, kind: EscalationKind) -> None:
        self.muted.discard(kind)
        self.snoozed.pop(kind, None)

    def _drop_silenced(self) -> None:
        self.pending = {k: e for k, e in self.pending.items() if not self.silenced(e.kind)}

    # -- flow ------------------------------------------------------------------------

    def arrive(self, escalations: Iterable[Escalation]) -> bool:
        """New critical escalations: held for the next notice (unless their category
        is silenced) and counted. Returns whether to ring the bell now (a chosen,
        unsilenced category; at most once per ``every_s``)."""
        ring = False
        for esc in escalations:
            self.unseen[esc.id] = esc
            if self.silenced(esc.kind):
                continue
            self.pending[esc.id] = esc
            ring = ring or esc.kind in self.config.bell
        now = self.clock()
        if ring and (self.last_rung is None or now - self.last_rung >= self.config.every_s):
            self.last_rung = now
            return True
        return False

    def forget_except(self, active: set[str]) -> None:
        """Drop what is no longer active (or handled): it needs no notice any more."""
        self.pending = {k: e for k, e in self.pending.items() if k in active}
        self.unseen = {k: e for k, e in self.unseen.items() if k in active}

    def seen(self) -> None:
        """The supervisor is looking at the desk: nothing is new any more."""
        self.unseen.clear()
        self.pending.clear()

    @property
    def unseen_count(self) -> int:
        return len(self.unseen)

    def due(self, blocked: bool, now: datetime) -> Notice | None:
        """The combined notice to show now, if any. ``blocked``: a dialog is on top."""
        if not self.pending or blocked:
            return None
        at = self.clock()
        if self.last_shown is not None and at - self.last_shown < self.config.every_s:
            return None
        items = list(self.pending.values())
        self.pending.clear()
        self.last_shown = at
        kinds = tuple(dict.fromkeys(e.kind for e in items))
        self.last_kinds = kinds
        n = len(items)
        first = items[0].describe(now)
        more = f" (+{n - 1} more)" if n > 1 else ""
        return Notice(
            title="New critical escalation" + ("s" if n > 1 else ""),
            message=f"{n} new critical — e · {first}{more}",
            kinds=kinds,
        )
