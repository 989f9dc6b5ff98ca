"""The agent-state change vocabulary (pure): one set of words for every source.

A supervisor asks a source to put an agent into one of these; the simulator, serve-sim
(protocol v1 ``PUT /v1/agents/{id}/state``), Twilio and any future adapter accept the
same strings and map them to their platform:

- ``available``: routable now (from away, offline or after-contact work)
- ``away:<reason>``: not routable, for a named reason (``away:break``, ``away:lunch``)
- ``end_acw``: end after-contact work now (the agent becomes available)
- ``logout``: offline

An agent on a contact is never changed mid-contact: sources refuse with
``ActionCode.ON_CONTACT`` and say which contact ("try when it ends").
"""

from __future__ import annotations

from dataclasses import dataclass

AVAILABLE = "available"
AWAY = "away"
END_ACW = "end_acw"
LOGOUT = "logout"

#: away reasons offered when the source names none of its own
DEFAULT_AWAY_REASONS = ("break", "lunch", "training", "meeting")


@dataclass(frozen=True, slots=True)
class StateRequest:
    """A parsed request: ``verb`` is one of AVAILABLE / AWAY / END_ACW / LOGOUT."""

    verb: str
    reason: str | None = None  # AWAY only

    @property
    def text(self) -> str:
        return f"{AWAY}:{self.reason}" if self.verb == AWAY and self.reason else self.verb

    def describe(self) -> str:
        """In words, for dialogs and outcomes ("away (lunch)", "log out")."""
        if self.verb == AWAY:
            return f"away ({self.reason})" if self.reason else "away"
        return {END_ACW: "end after-contact work", LOGOUT: "log out"}.get(self.verb, self.verb)


def parse_state(text: str) -> StateRequest | None:
    """``text`` as a request, or None if it is not in the vocabulary. Case and spaces
    around the words are forgiven; a reason is kept as given (lower-cased), 1-40 chars."""
    verb, sep, reason = text.strip().casefold().partition(":")
    verb, reason = verb.strip(), reason.strip()
    if verb == AWAY:
        if sep and not (0 < len(reason) <= 40 and reason.isprintable()):
            return None
        return StateRequest(AWAY, reason or None)
    if sep or verb not in (AVAILABLE, END_ACW, LOGOUT):
        return None
    return StateRequest(verb)


def away(reason: str) -> str:
    return f"{AWAY}:{reason}"
