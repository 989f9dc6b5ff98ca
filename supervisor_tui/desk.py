"""Escalation desk actions (no UI): each key a supervisor presses is one audited attempt.

The desk screen captures the escalation's id and label when the key is pressed and
passes them here, so what happens names the item that was chosen, whatever the rows
did meanwhile. Every attempt — done, refused by role or by rule, or failed in the
store — is one audit record (action "escalation", params: verb, label, and whom it
was forced past or given to). An attempt that only needs the user's confirmation
(someone else's item) is not recorded until it is confirmed and made.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from supervisor_tui.audited import Auditor
from supervisor_tui.domain.model import ActionCode, ActionResult
from supervisor_tui.store import (
    ACKNOWLEDGED,
    GIVE,
    OPEN,
    RELEASE,
    RESOLVED,
    SNOOZED,
    TAKEN,
    Change,
    Store,
    StoreError,
)
from supervisor_tui.store.escalation_log import record_desk_change, record_desk_undo
from supervisor_tui.store.rows import EscalationState

# Changes worth a few seconds of "u to undo" (a note is undone by another note).
UNDOABLE = frozenset({ACKNOWLEDGED, TAKEN, RESOLVED, SNOOZED, RELEASE, GIVE})
DONE_WORD = {TAKEN: "Taken", ACKNOWLEDGED: "Acknowledged", RESOLVED: "Resolved",
             OPEN: "Reopened", SNOOZED: "Snoozed", RELEASE: "Released", GIVE: "Given"}


@dataclass(frozen=True)
class Outcome:
    result: ActionResult
    change: Change | None = None

    @property
    def confirm(self) -> bool:
        """Refused only because it is someone else's: ask, then ``force``."""
        return self.change is not None and self.change.confirm

    @property
    def undoable(self) -> bool:
        return self.result.ok and self.change is not None and self.change.after is not None


class DeskActions:
    def __init__(self, auditor: Auditor, store: Store | None) -> None:
        self.auditor = auditor
        self.store = store

    def _refused(self, eid: str, params: dict[str, Any]) -> Outcome | None:
        why = self.auditor.refusal("escalation")
        if why is None and self.store is None:
            why = "no shared store: escalation state cannot be kept"
        if why is None:
            return None
        return self._recorded(eid, params, "refused", why,
                              ActionResult(ok=False, code=ActionCode.REFUSED, message=why))

    def _recorded(self, eid: str, params: dict[str, Any], outcome: str, message: str,
                  result: ActionResult, change: Change | None = None) -> Outcome:
        # One record per attempt, written after the store's own transaction (the store
        # change is what is undone if the record cannot be written).
        try:
            self.auditor.record("escalation", f"escalation {eid}", params, outcome, message)
        except Exception as err:
            if outcome == "done" and change is not None and self.store is not None:
                # Not in the audit log: do not let it stand.
                with contextlib.suppress(StoreError):
                    assert change.after is not None
                    self.store.undo_escalation(
                        change, self.auditor.user,
                        datetime.fromisoformat(change.after["updated_at"]))
                return Outcome(ActionResult(ok=False, code=ActionCode.AUDIT_FAILED, message=(
                    f"not done: cannot write the audit log ({err})")))
            return Outcome(ActionResult(ok=False, code=result.code,
                                        message=f"{result.message} (and the audit log "
                                        f"failed: {err})"), change)
        return Outcome(result, change)

    def change(self, eid: str, verb: str, now: datetime, *, label: str, force: bool = False,
               to_user: str = "", until: datetime | None = None) -> Outcome:
        params: dict[str, Any] = {"verb": verb, "label": label}
        if to_user:
            params["to"] = to_user
        if until is not None:
            params["until"] = until.isoformat()
        refused = self._refused(eid, params)
        if refused is not None:
            return refused
        assert self.store is not None
        try:
            change = self.store.change_escalation(eid, verb, self.auditor.user, now,
                                                  force=force, to_user=to_user, until=until,
                                                  label=label)
        except StoreError as err:
            return self._recorded(eid, params, "failed", str(err),
                                  ActionResult(ok=False, code=ActionCode.ERROR, message=str(err)))
        if change.confirm and not force:
            return Outcome(ActionResult(ok=False, code=ActionCode.CONFIRM,
                                        message=change.why), change)
        if not change.done:
            return self._recorded(eid, params, "failed", change.why, ActionResult(
                ok=False, code=ActionCode.CONFLICT, message=change.why), change)
        if force and change.before is not None and change.before["owner"]:
            params["over"] = change.before["owner"]
        word = DONE_WORD.get(verb, verb)
        message = f"{word}: {label}" + (f" to {to_user}" if verb == GIVE else "")
        if change.told:
            message += f" ({', '.join(change.told)} told)"
        out = self._recorded(eid, params, "done", message,
                             ActionResult(ok=True, code=ActionCode.OK, message=message), change)
        store = self.store
        return self._logged(out, lambda: record_desk_change(store, eid, verb, self.auditor.user,
                                                            now, to_user))

    def _logged(self, out: Outcome, write: Callable[[], None]) -> Outcome:
        """After a change was made: the escalation log (``export escalations``) follows
        it; if it cannot, the change stands and the message says so."""
        if not out.result.ok:
            return out
        try:
            write()
        except StoreError as err:
            return Outcome(out.result.model_copy(update={
                "message": f"{out.result.message} (escalation log not saved: {err})"}),
                out.change)
        return out

    def refuse(self, eid: str, verb: str, why: str, label: str) -> Outcome:
        """A rule of the desk says no (e.g. resolving a contact still waiting): recorded."""
        params = {"verb": verb, "label": label}
        refused = self._refused(eid, params)
        if refused is not None:
            return refused
        return self._recorded(eid, params, "refused", why,
                              ActionResult(ok=False, code=ActionCode.REFUSED, message=why))

    def note(self, eid: str, text: str, now: datetime, label: str) -> Outcome:
        params = {"verb": "note", "label": label, "note": text}
        refused = self._refused(eid, params)
        if refused is not None:
            return refused
        assert self.store is not None
        try:
            self.store.add_escalation_note(eid, self.auditor.user, text, now)
        except StoreError as err:
            return self._recorded(eid, params, "failed", str(err),
                                  ActionResult(ok=False, code=ActionCode.ERROR, message=str(err)))
        message = f"Note saved on {label}"
        return self._recorded(eid, params, "done", message,
                              ActionResult(ok=True, code=ActionCode.OK, message=message))

    def undo(self, change: Change, now: datetime, label: str) -> Outcome:
        eid = change.after["id"] if change.after else ""
        params: dict[str, Any] = {"verb": "undo", "label": label,
                                  "undoes": change.after["state"] if change.after else ""}
        refused = self._refused(eid, params)
        if refused is not None:
            return refused
        assert self.store is not None
        try:
            undone = self.store.undo_escalation(change, self.auditor.user, now, label=label)
        except StoreError as err:
            return self._recorded(eid, params, "failed", str(err),
                                  ActionResult(ok=False, code=ActionCode.ERROR, message=str(err)))
        if not undone.done:
            return self._recorded(eid, params, "failed", undone.why, ActionResult(
                ok=False, code=ActionCode.CONFLICT, message=undone.why))
        message = f"Undone: {label} is {_state_words(undone.after)} again"
        out = self._recorded(eid, params, "done", message,
                             ActionResult(ok=True, code=ActionCode.OK, message=message), undone)
        store, after = self.store, change.after
        assert after is not None  # (undo_escalation refuses a change without one)
        return self._logged(out, lambda: record_desk_undo(store, eid, after))


def _state_words(row: EscalationState | None) -> str:
    if not row:
        return OPEN
    if row["state"] == TAKEN and row["owner"]:
        return f"taken by {row['owner']}"
    return "new" if row["state"] == OPEN else row["state"]
