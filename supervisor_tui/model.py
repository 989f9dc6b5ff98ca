"""Domain objects shared by every layer.

Pure pydantic: no Textual, no I/O. Snapshots are immutable (frozen models) so every
widget rendering from one snapshot shows the same numbers.

Sources built from trusted in-process data (the simulator) may use
``Model.model_construct`` to skip validation on the hot path; sources parsing data
from the network must validate.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    model_validator,
)


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Channel(StrEnum):
    VOICE = "voice"
    CHAT = "chat"
    EMAIL = "email"
    SOCIAL = "social"


class Tier(StrEnum):
    STANDARD = "standard"
    GOLD = "gold"
    VIP = "vip"


class AgentStateKind(StrEnum):
    AVAILABLE = "available"
    ON_CONTACT = "on_contact"
    AFTER_CONTACT_WORK = "after_contact_work"
    AWAY = "away"
    OFFLINE = "offline"


class ContactState(StrEnum):
    WAITING = "waiting"
    CONNECTED = "connected"  # talking / chatting with an agent
    WRAP_UP = "wrap_up"  # agent in after-contact work for it


class ContactFlag(StrEnum):
    """Things a source itself knows about a contact that make it need a human."""

    ASKED_FOR_SUPERVISOR = "asked_for_supervisor"
    REPEAT_CONTACT = "repeat_contact"
    COMPLAINT = "complaint"


class SLFormula(StrEnum):
    """Service-level formulas in common use (see ARCHITECTURE.md "Metrics")."""

    # answered within T / (answered + abandoned after T): short/early abandons don't count
    ANSWERED_AND_ABANDONED_AFTER = "answered_and_abandoned_after"
    # answered within T / answered
    ANSWERED = "answered"
    # answered within T / offered (every abandon counts against you)
    OFFERED = "offered"


class HealthStatus(StrEnum):
    OK = "ok"
    DEGRADED = "degraded"
    DOWN = "down"


class Queue(Frozen):
    id: str
    name: str
    channel: Channel = Channel.VOICE
    sl_target: float = Field(0.8, ge=0, le=1, description="fraction, e.g. 0.8 for 80%")
    threshold_s: NonNegativeFloat = 20.0
    short_abandon_s: NonNegativeFloat = 5.0
    source: str = "simulator"


class QueueStats(Frozen):
    """Counters for one queue over one window [window_start, taken_at].

    Counters, not ratios: ratios are derived in ``metrics`` so that windows can be
    summed (queues into a total, intervals into a day) without averaging averages.

    The counting rule (docs/metrics.md): a contact counts in the window in which it left
    the queue — answered, abandoned or flowed out — so ``offered`` is answered +
    abandoned + flowed out, and contacts still waiting are not in it. Validation refuses
    counters that cannot be true (answered + abandoned > offered, a split larger than
    its total), so no rate derived from them can exceed 100%. Trusted in-process
    sources that skip validation keep the rule by construction (and are tested for it).
    """

    queue_id: str
    window_start: datetime
    offered: NonNegativeInt = 0
    answered: NonNegativeInt = 0
    answered_within_threshold: NonNegativeInt = 0
    abandoned: NonNegativeInt = 0
    abandoned_short: NonNegativeInt = 0  # under the queue's short-abandon time
    abandoned_after_threshold: NonNegativeInt = 0
    wait_answered_s: NonNegativeFloat = 0.0  # total wait of answered contacts
    handled: NonNegativeInt = 0  # contacts whose handling (incl. ACW) finished
    handle_s: NonNegativeFloat = 0.0  # talk + hold + after-contact work of handled
    flowed_out: NonNegativeInt = 0  # moved to another queue before an answer

    @model_validator(mode="after")
    def _counts_add_up(self) -> QueueStats:
        problem = implausible(self)
        if problem:
            raise ValueError(f"queue {self.queue_id}: {problem}")
        return self


def implausible(stats: QueueStats) -> str | None:
    """Why these counters cannot be true, or None. Also used on trusted sources."""
    ended = stats.answered + stats.abandoned + stats.flowed_out
    if ended > stats.offered:
        return (f"answered {stats.answered} + abandoned {stats.abandoned} + flowed out "
                f"{stats.flowed_out} exceed offered {stats.offered}")
    if stats.answered_within_threshold > stats.answered:
        return (f"answered within threshold {stats.answered_within_threshold} exceeds "
                f"answered {stats.answered}")
    if stats.abandoned_short > stats.abandoned:
        return f"short abandons {stats.abandoned_short} exceed abandoned {stats.abandoned}"
    if stats.abandoned_after_threshold > stats.abandoned - stats.abandoned_short:
        return (f"abandoned after threshold {stats.abandoned_after_threshold} exceeds "
                f"abandoned {stats.abandoned} less short {stats.abandoned_short}")
    return None


class AgentState(Frozen):
    kind: AgentStateKind
    since: datetime
    reason: str | None = None  # away reason ("break", "lunch", "training", ...)


class Agent(Frozen):
    id: str
    name: str
    team: str = ""
    state: AgentState
    skills: tuple[str, ...] = ()  # queue ids this agent serves
    contact_id: str | None = None
    queue_id: str | None = None  # queue of the current contact
    source: str = "simulator"


class Contact(Frozen):
    id: str
    queue_id: str
    channel: Channel
    tier: Tier = Tier.STANDARD
    entered_at: datetime  # when it entered the current queue
    state: ContactState = ContactState.WAITING
    agent_id: str | None = None
    customer: str | None = None
    flags: tuple[ContactFlag, ...] = ()


class QueueLive(Frozen):
    """Queue-level live counts, from platforms that report how many wait but not who
    (Zendesk Talk), or that may cut their contact list short (Genesys)."""

    queue_id: str
    waiting: NonNegativeInt = 0
    oldest_waiting_since: datetime | None = None


class SourceHealth(Frozen):
    name: str
    status: HealthStatus = HealthStatus.OK
    last_success: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    latency_ms: float | None = None
    consecutive_failures: NonNegativeInt = 0
    # The last good poll's doubts: records dropped as garbage, unmapped states...
    notes: tuple[str, ...] = ()


class Snapshot(Frozen):
    """One poll of everything, as seen at ``taken_at`` (the source's clock).

    ``clock_rate`` says how fast the source's clock runs against the wall clock (1.0
    for real platforms, the speed factor for the simulator), so the UI can age
    timestamps between polls.
    """

    taken_at: datetime
    interval_start: datetime
    day_start: datetime
    queues: tuple[Queue, ...] = ()
    interval_stats: dict[str, QueueStats] = Field(default_factory=dict)
    day_stats: dict[str, QueueStats] = Field(default_factory=dict)
    agents: tuple[Agent, ...] = ()
    contacts: tuple[Contact, ...] = ()  # waiting and in-progress contacts
    # Per queue, when the platform counts more waiting than it lists: the board shows the
    # larger count and the older wait (never fewer than the source says are waiting).
    queue_live: dict[str, QueueLive] = Field(default_factory=dict)
    health: dict[str, SourceHealth] = Field(default_factory=dict)
    clock_rate: float = 1.0


class ActionResult(Frozen):
    """What an action did, in words fit for the screen; ``code`` is for programs
    ("ok", or why not: not_waiting, unknown_contact, unsupported, refused, ...)."""

    ok: bool
    code: str
    message: str
