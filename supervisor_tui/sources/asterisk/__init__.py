"""The ``asterisk`` source: app_queue over the Asterisk Manager Interface (AMI, TCP 5038).

Event-driven, not polled: one long-lived AMI session (``source.py``) logs in asking only
for the ``agent`` and ``system`` event classes, reads the roster once with
``QueueStatus`` and then keeps it from events; the console's ``snapshot()`` every poll
reads that state and sends nothing to Asterisk. A wallboard that sends QueueStatus every
second to a PBX with 1,000 queues makes app_queue lock and dump every queue each time;
here one QueueStatus runs at connect, after a reload and every ``resync_every_s``.

What is read (field names as Asterisk sends them; matched case-insensitively, since
Asterisk spells some two ways, e.g. ``ServicelevelPerf``):

- ``QueueStatus`` -> ``QueueParams`` (Queue, ServiceLevel: the queue's threshold T when
  the config names none), ``QueueMember`` (Queue, Name, Location = the interface,
  StateInterface, Membership, Status, Paused, PausedReason, LastCall, LastPause,
  Wrapuptime), ``QueueEntry`` (Queue, Channel, Uniqueid, CallerIDNum/Name, Wait,
  Priority) until ``QueueStatusComplete``.
- live: ``QueueCallerJoin`` / ``QueueCallerLeave`` (waiting callers),
  ``QueueMemberStatus`` / ``Added`` / ``Removed`` / ``Pause`` / ``Penalty`` /
  ``Ringinuse`` (members), ``AgentConnect`` / ``AgentComplete`` / ``AgentDump`` (calls),
  ``QueueCallerAbandon``; ``FullyBooted``, ``Reload`` (app_queue or all: resync),
  ``Shutdown`` (stale until reconnected and resynced).

Agents are queue members by interface: offline if the device is invalid/unavailable,
on a contact if it is in use, busy, ringing or on hold (or connected to a caller),
away if paused in every queue it serves (reason: PausedReason), in after-contact work
for the wrap-up time after a call (the member's Wrapuptime, else the queue's
``wrapup_s``: QueueStatus does not report a queue's), else available (device state
unknown included: app_queue rings those).

Interval and day counts come from the events (no QueueParams counter is used: those run
since the last reset or reload, not per interval). A caller counts once, in the window
in which it left the queue (offered = answered + abandoned + flowed out):

=========================== ==========================================================
answered                    ``AgentConnect``; its wait is HoldTime (s)
answered_within_threshold   HoldTime <= T (the queue's threshold)
abandoned                   ``QueueCallerAbandon``; short if HoldTime < short_abandon_s,
                            after the threshold if HoldTime > T and not short
flowed_out                  ``QueueCallerLeave`` with neither of those within
                            ``settle_s`` (Queue() timeout, exit key, leavewhenempty), and
                            callers this console redirected (app_queue may report a
                            redirected caller as abandoned)
handled, handle_s           ``AgentComplete``; TalkTime (bridged time, hold included;
                            wrap-up is not reported per call)
=========================== ==========================================================

Counts cover only what the session heard: from the moment it first resynced in a
window (a console started at 10:12 shows the 10:00 interval from 10:12, and its
``window_start`` says so), minus any time it was disconnected. The notes say both:
such counts are a sample. Callers who left while events were missed are not counted
(their outcome is unknown) and are named in a note. After a PBX restart, callers
waiting then were dropped by Asterisk itself.

Staleness: until the first resync, after a dropped socket, a ``Shutdown``, and during a
reload's resync, ``snapshot()`` raises ``SourceError`` saying why: the console keeps the
last numbers, marked stale, and never shows them as live. The session reconnects with
back-off (1 s doubling to ``max_backoff_s``, jittered) and pings a quiet connection.

Actions: ``Redirect`` (a waiting caller to ``move_exten@move_context``, an extension
that runs ``Queue(other)``), ``QueueAdd`` / ``QueueRemove`` (an agent's queues; static
members cannot be removed), ``QueuePause`` with ``Reason`` (away / available, in every
queue); logout removes the member from every queue. Agents on a call are never changed.
Wrap-up cannot be ended over AMI.

Limits: a caller's tier comes from its queue priority, which only ``QueueEntry`` carries
(a caller who joined since the last resync is standard until then); agents' time in
state counts from LastPause (away), the call's start (on a call), LastCall (wrap-up), or
else from when this console first saw the state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from supervisor_tui.sources.lazy import lazy_exports

if TYPE_CHECKING:
    from supervisor_tui.sources.asterisk.settings import (
        AsteriskQueueSettings as AsteriskQueueSettings,
    )
    from supervisor_tui.sources.asterisk.settings import AsteriskSettings as AsteriskSettings
    from supervisor_tui.sources.asterisk.source import AsteriskSource as AsteriskSource

__getattr__ = lazy_exports(__name__, {"AsteriskQueueSettings": "settings",
                                      "AsteriskSettings": "settings",
                                      "AsteriskSource": "source"})
