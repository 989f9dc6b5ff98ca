"""Domain objects shared by every layer.

Pure pydantic: no Textual, no I/O. Snapshots are immutable (frozen models) so every
widget rendering from one snapshot shows the same numbers.

Sources built from trusted in-process data (the simulator) may use
``Model.model_construct`` to skip validation on the hot path; sources parsing data
from the network must validate.
"""

from __future__ import annotations

from dataclasses import MISSING
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Self, cast

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    TypeAdapter,
    model_validator,
)
from pydantic.dataclasses import dataclass
from pydantic.fields import FieldInfo

from supervisor_tui.domain.field_sets import share_own, shared
from supervisor_tui.domain.text import clean


# -- what validation lets in from a source (issue #11: garbage never shown as live) ----
# Text is data: every name or free text from a source is cleaned of escape sequences,
# control and bidi characters (safe_text.clean) as it is validated, so nothing that
# reaches a screen, a CLI or an export can drive the terminal. Ids are bounded only:
# an action must name the very id the source sent.
def _name(value: str) -> str:
    return value if value.isprintable() and len(value) <= 200 else clean(value, 200)


Name = Annotated[str, AfterValidator(_name)]
Id = Annotated[str, Field(max_length=256)]
#: the longest threshold or short-abandon time a queue can have (email: days, not years)
MAX_THRESHOLD_S = 30 * 86400.0
#: a total of seconds over one window (all handle time of a day): ~300 years is garbage
MAX_TOTAL_S = 1e10
Seconds = Annotated[float, Field(ge=0, le=MAX_THRESHOLD_S, allow_inf_nan=False)]
TotalSeconds = Annotated[float, Field(ge=0, le=MAX_TOTAL_S, allow_inf_nan=False)]
#: dates outside these years are garbage (and year 1 / 9999 overflow date arithmetic)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
When = Annotated[datetime, Field(ge=EARLIEST, le=LATEST)]


_set = object.__setattr__  # a frozen dataclass's fields, set as it is made


def replace_fields(record: Any, update: dict[str, Any]) -> Any:
    """A copy of a slotted frozen dataclass with ``update``'s fields changed, without
    validation (what ``model_copy`` does for a model)."""
    fields = record.__dataclass_fields__
    unknown = update.keys() - fields.keys()
    if unknown:
        raise ValueError(f"{type(record).__name__} has no field {min(unknown)!r}")
    copy = object.__new__(type(record))
    for name in fields:
        _set(copy, name, update[name] if name in update else getattr(record, name))
    return copy


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def model_post_init(self, context: Any, /) -> None:
        # One shared field-name set per shape, as each model is made (memory:
        # domain/field_sets.py).
        share_own(self)

    @classmethod
    def of_fields(cls, values: dict[str, Any]) -> Self:
        """A model of ``values``, already validated and naming every field, taken as
        its ``__dict__`` (``model_construct`` less its alias and default handling: 4x
        cheaper; 5,000 queues on a big centre's first read)."""
        if values.keys() != cls.__pydantic_fields__.keys():
            return cast(Self, cls.model_construct(**values))
        model: Self = cls.__new__(cls)
        _set(model, "__dict__", values)
        _set(model, "__pydantic_fields_set__", shared(frozenset(values)) or set(values))
        _set(model, "__pydantic_extra__", None)
        _set(model, "__pydantic_private__", None)
        return model


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
    id: Id
    name: Name
    channel: Channel = Channel.VOICE
    sl_target: float = Field(0.8, ge=0, le=1, allow_inf_nan=False,
                             description="fraction, e.g. 0.8 for 80%")
    threshold_s: Seconds = 20.0
    short_abandon_s: Seconds = 5.0
    source: Id = "simulator"
    # The vendor (BPO) or site that runs this queue, as the source names it (None: the
    # source does not say; [vendors] in the config may attribute it: domain/vendors.py)
    site: Name | None = None


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


# -- records: the few kinds a snapshot holds by the ten thousand -------------------------
# An agent, its state and a contact are slotted frozen pydantic dataclasses, not models:
# a model keeps its fields in its own ``__dict__`` (272 bytes for nine fields, on top of
# the 80-byte object), a slotted record in the object itself (Agent 104 bytes, AgentState
# 56, Contact 112). At 50,000 agents and 35,000 contacts that is ~30 MiB (issue 15:
# memory). They are validated exactly as the models were, the wire schema is the same,
# and they answer ``model_copy`` / ``model_dump`` like the models around them.
# (Comments, not docstrings: a docstring would enter the protocol's JSON schema.)
_RECORD = ConfigDict(extra="forbid")


class Record:
    __slots__ = ()
    __dataclass_fields__: ClassVar[dict[str, Any]]
    __pydantic_fields__: ClassVar[dict[str, FieldInfo]]

    @classmethod
    def trusted(cls, **values: Any) -> Self:
        """Without validation, for trusted in-process sources (as ``model_construct``)."""
        fields = cls.__dataclass_fields__
        unknown = values.keys() - fields.keys()
        if unknown:
            raise TypeError(f"{cls.__name__} has no field {min(unknown)!r}")
        record = object.__new__(cls)
        for name, f in fields.items():
            if name in values:
                _set(record, name, values[name])
            elif f.default is not MISSING:
                _set(record, name, f.default)
            elif f.default_factory is not MISSING:
                _set(record, name, f.default_factory())
            else:
                raise TypeError(f"{cls.__name__}: {name} is required")
        return record

    def model_copy(self, *, update: dict[str, Any] | None = None) -> Self:
        """A copy with ``update``'s fields changed, unvalidated (as a model's)."""
        return cast(Self, replace_fields(self, update or {}))

    def model_dump(self, **options: Any) -> dict[str, Any]:
        return cast(dict[str, Any], _adapter(type(self)).dump_python(self, **options))

    def model_dump_json(self, **options: Any) -> str:
        return _adapter(type(self)).dump_json(self, **options).decode()


_ADAPTERS: dict[type, TypeAdapter[Any]] = {}


def _adapter(kind: type[Record]) -> TypeAdapter[Any]:
    adapter = _ADAPTERS.get(kind)
    if adapter is None:
        adapter = _ADAPTERS[kind] = TypeAdapter(kind)
    return adapter


@dataclass(frozen=True, slots=True, config=_RECORD)
class AgentState(Record):
    kind: AgentStateKind
    since: When
    reason: Name | None = None  # away reason ("break", "lunch", "training", ...)


@dataclass(frozen=True, slots=True, kw_only=True, config=_RECORD)
class Agent(Record):
    id: Id
    name: Name
    team: Name = ""
    state: AgentState
    skills: tuple[Id, ...] = ()  # queue ids this agent serves
    contact_id: Id | None = None
    queue_id: Id | None = None  # queue of the current contact
    source: Id = "simulator"
    site: Name | None = None  # the vendor or site the agent works for, as the source says


@dataclass(frozen=True, slots=True, kw_only=True, config=_RECORD)
class Contact(Record):
    id: Id
    queue_id: Id
    channel: Channel
    tier: Tier = Tier.STANDARD
    entered_at: When  # when it entered the current queue
    state: ContactState = ContactState.WAITING
    agent_id: Id | None = None
    customer: Name | None = None
    flags: tuple[ContactFlag, ...] = ()
    source: Id = "simulator"  # the source that reported it: actions on it go there


# Counters, not a model: 30,000 of them in a 5,000-queue snapshot with tier splits (six
# per queue), each a model with its own ``__dict__`` and field-name set cost ~60 ms of a
# 50,000-agent console's first decode and ~20 MiB (issue 15). A slotted record is
# validated the same, with the same schema.
@dataclass(frozen=True, slots=True, config=_RECORD)
class QueueStats(Record):
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
    wait_answered_s: TotalSeconds = 0.0  # total wait of answered contacts
    handled: NonNegativeInt = 0  # contacts whose handling (incl. ACW) finished
    handle_s: TotalSeconds = 0.0  # talk + hold + after-contact work of handled
    flowed_out: NonNegativeInt = 0  # moved to another queue before an answer

    @model_validator(mode="after")
    def _counts_add_up(self) -> Self:
        problem = implausible(self)
        if problem:
            raise ValueError(f"queue {self.queue_id}: {problem}")
        return self


#: QueueStats' additive counters in field order (queue_id and window_start are not),
#: derived from it so a counter added there is summed everywhere, never dropped...
STATS_COUNTERS: tuple[str, ...] = tuple(
    n for n in QueueStats.__pydantic_fields__ if n not in ("queue_id", "window_start"))
#: ...those that are whole counts, and those that are seconds
STATS_FLOATS: frozenset[str] = frozenset(
    n for n in STATS_COUNTERS if QueueStats.__pydantic_fields__[n].annotation is float)
STATS_INTS: frozenset[str] = frozenset(STATS_COUNTERS) - STATS_FLOATS


#: how many of today's abandoned contacts a snapshot carries at most (the newest)
MAX_ABANDONED = 500


class AbandonedContact(Frozen):
    """A contact that hung up / left while waiting, today (as the source reports it).

    ``short`` marks an abandon under the queue's short-abandon time: left out of every
    rate (docs/metrics.md) and hidden by default on the Abandoned screen."""

    id: Id
    queue_id: Id
    channel: Channel
    tier: Tier = Tier.STANDARD
    customer: Name | None = None
    handle: Name | None = None  # a number or handle to call back on, when the source has one
    waited_s: Seconds = 0.0
    abandoned_at: When
    short: bool = False
    # the contact the source queued to call the customer back (None: none queued there)
    callback_id: Id | None = None
    source: Id = "simulator"


class QueueLive(Frozen):
    """Queue-level live counts, from platforms that report how many wait but not who
    (Zendesk Talk), or that may cut their contact list short (Genesys)."""

    queue_id: Id
    waiting: NonNegativeInt = 0
    oldest_waiting_since: When | None = None


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


class TierStats(Frozen):
    """One queue's counters split by customer tier, from a source that reports the
    split (domain/tiers.py). Tiers not listed, and whatever the listed ones leave of the
    queue's own counters, count as standard, so the tiers always add up to the queue."""

    # Every tier is counted at the queue's own threshold_s (so the remainder that is
    # standard is counted at it too).
    interval: dict[Tier, QueueStats] = Field(default_factory=dict)
    day: dict[Tier, QueueStats] = Field(default_factory=dict)


class Snapshot(Frozen):
    """One poll of everything, as seen at ``taken_at`` (the source's clock).

    ``clock_rate`` says how fast the source's clock runs against the wall clock (1.0
    for real platforms, the speed factor for the simulator), so the UI can age
    timestamps between polls.
    """

    taken_at: When
    interval_start: When
    day_start: When
    queues: tuple[Queue, ...] = ()
    interval_stats: dict[str, QueueStats] = Field(default_factory=dict)
    day_stats: dict[str, QueueStats] = Field(default_factory=dict)
    agents: tuple[Agent, ...] = ()
    contacts: tuple[Contact, ...] = ()  # waiting and in-progress contacts
    # Per queue, when the platform counts more waiting than it lists: the board shows the
    # larger count and the older wait (never fewer than the source says are waiting).
    queue_live: dict[str, QueueLive] = Field(default_factory=dict)
    health: dict[str, SourceHealth] = Field(default_factory=dict)
    clock_rate: float = Field(1.0, gt=0, le=1e6, allow_inf_nan=False)
    # Today's abandoned contacts as the source reports them, newest last; at most the
    # last MAX_ABANDONED (sources that report none leave it empty).
    abandoned: tuple[AbandonedContact, ...] = ()
    # Per queue, its counters by customer tier, from sources that report them (absent:
    # the source does not; every contact of that queue then counts as standard).
    tier_stats: dict[str, TierStats] = Field(default_factory=dict)


class ActionCode(StrEnum):
    """What an action's outcome means, for programs (``ActionResult.code``).

    The console, the simulator and serve-sim produce only these. On the wire (protocol
    v1) a code is text: a newer server's code this console does not know is kept as its
    text, shown with the message and never acted on."""

    OK = "ok"
    # Not attempted: by this console (role, rule, audit log, confirmation) or the source.
    REFUSED = "refused"
    CONFIRM = "confirm"  # someone else's item: asks, then goes ahead if confirmed
    AUDIT_FAILED = "audit_failed"
    UNSUPPORTED = "unsupported"
    BAD_REQUEST = "bad_request"
    RATE_LIMITED = "rate_limited"
    # The item was not as the console saw it.
    NOT_FOUND = "not_found"
    UNKNOWN_CONTACT = "unknown_contact"
    UNKNOWN_QUEUE = "unknown_queue"
    UNKNOWN_AGENT = "unknown_agent"
    UNKNOWN_STATE = "unknown_state"
    UNKNOWN_SCENARIO = "unknown_scenario"
    NOT_WAITING = "not_waiting"
    SAME_QUEUE = "same_queue"
    CHANNEL_MISMATCH = "channel_mismatch"
    NO_SKILL = "no_skill"
    AGENT_NOT_AVAILABLE = "agent_not_available"
    ON_CONTACT = "on_contact"  # agent mid-contact: a state change waits until it ends
    NOT_IN_ACW = "not_in_acw"  # end after-contact work asked of an agent not in it
    CHANGED = "changed"  # changed by someone else since it was read
    CONFLICT = "conflict"
    PARTIAL = "partial"
    NOT_READY = "not_ready"
    # The source failed, or its answer cannot be trusted.
    ERROR = "error"
    SOURCE_ERROR = "source_error"
    BAD_RESPONSE = "bad_response"
    NOT_CONFIRMED = "not_confirmed"  # sent, no answer: check the next snapshot
    INTERNAL = "internal"


class ActionResult(Frozen):
    """What an action did, in words fit for the screen; ``code`` is for programs
    ("ok", or why not: not_waiting, unknown_contact, unsupported, refused, ...)."""

    ok: bool
    code: str  # an ActionCode (text on the wire: see ActionCode)
    message: str
