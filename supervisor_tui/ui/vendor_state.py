"""The console's vendors, tiers and scope between polls (no Textual): a part of
``ConsoleState`` kept in its own module.

- the user's scope ([roles.scopes]): each snapshot is narrowed to it before the board is
  built, so every screen, export and escalation rule sees only the user's queues;
- the tier counters' rolling windows (``domain.tiers.TierBook``);
- each vendor's and each queue's tier figures, worked out once per board and window
  whichever screens ask.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from supervisor_tui.config.vendors import tier_targets, vendor_rules
from supervisor_tui.domain.board import LIVE, Board
from supervisor_tui.domain.model import Agent, Snapshot, Tier
from supervisor_tui.domain.scope import Scope, narrow
from supervisor_tui.domain.tiers import TierBlock, TierBook, TierTarget, centre_tiers, queue_tiers
from supervisor_tui.domain.vendors import (
    VendorFigures,
    VendorRule,
    attribute,
    vendor_figures,
)

if TYPE_CHECKING:
    from supervisor_tui.config import Config

#: (scheduled seconds, adhering seconds) of one agent today, or None: not scheduled
AgentAdherence = Callable[[Agent], tuple[float, float] | None]


def scope_for(config: Config, user: str) -> Scope | None:
    """``user``'s scope from [roles.scopes], or None (the whole centre)."""
    entries = config.roles.scopes.get(user)
    return Scope(user, tuple(entries)) if entries else None


class VendorDesk:
    def __init__(self, config: Callable[[], Config], scope: Scope | None = None) -> None:
        self._config = config  # the configuration in force (live settings may change it)
        self.scope = scope
        minutes = config().console
        self.tier_book = TierBook(tuple({*minutes.rolling_minutes,
                                         minutes.erlang_window_minutes}))
        #: how one agent's adherence is read (set by the console when a schedule exists)
        self.adherence_of: AgentAdherence | None = None
        self._cache: dict[tuple[str, str, str | None], object] = {}
        self._unknown_said: tuple[str, ...] = ()
        #: a scope problem not yet announced (the app pops it once)
        self.said: str | None = None
        self._cache_for: Board | None = None
        self._settings_for: Config | None = None
        self._rules: tuple[VendorRule, ...] = ()
        self._targets: dict[Tier, TierTarget] = {}

    def _settings(self) -> tuple[tuple[VendorRule, ...], dict[Tier, TierTarget]]:
        """The vendors' rules and the tiers' targets, built again only when the
        configuration in force is another object (live settings), not at every ask."""
        cfg = self._config()
        if cfg is not self._settings_for:
            self._settings_for = cfg
            self._rules = vendor_rules(cfg.vendors, cfg.console.sl_formula)
            self._targets = tier_targets(cfg.tiers)
        return self._rules, self._targets

    @property
    def rules(self) -> tuple[VendorRule, ...]:
        return self._settings()[0]

    @property
    def targets(self) -> dict[Tier, TierTarget]:
        return self._settings()[1]

    @property
    def configured(self) -> bool:
        """Any vendor configured (the view is worth a key in the footer)."""
        return bool(self._config().vendors)

    # -- a poll ----------------------------------------------------------------

    def narrow(self, snapshot: Snapshot) -> Snapshot:
        """The snapshot as this user may see it (unchanged without a scope)."""
        scope = self.scope
        if scope is None:
            return snapshot
        scope.resolve(snapshot, self.rules, self._config().groups)
        if scope.unknown != self._unknown_said:  # said once per change, not every poll
            self._unknown_said = scope.unknown
            if scope.unknown:
                self.said = (f"[roles.scopes] {scope.user}: {', '.join(scope.unknown)} "
                             "names no configured vendor or group, and no source reports "
                             "it: those queues are not shown")
        return narrow(snapshot, scope, self.rules)

    def observe(self, snapshot: Snapshot) -> None:
        self.tier_book.observe(snapshot)

    def settle(self) -> None:
        self.tier_book.settle()

    def vendor_agents(self, board: Board, key: str) -> tuple[Agent, ...]:
        """The agents of vendor ``key`` by the attribution rule (none of its own: empty)."""
        def make() -> tuple[Agent, ...]:
            att = attribute(board, self.rules)
            return tuple(a for a in board.snapshot.agents if att.agents.get(id(a)) == key)
        result = self._cached(board, ("agents", key, None), make)
        assert isinstance(result, tuple)
        return result

    # -- figures ---------------------------------------------------------------

    def _cached(self, board: Board, key: tuple[str, str, str | None],
                make: Callable[[], object]) -> object:
        if self._cache_for is not board:
            self._cache, self._cache_for = {}, board
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def vendors(self, board: Board, window: str) -> tuple[VendorFigures, ...]:
        """Every vendor's figures over ``window`` (configured first)."""
        def make() -> tuple[VendorFigures, ...]:
            rows = vendor_figures(board, self.rules, window, self._group_adherence)
            scope = self.scope
            if scope is None:
                return rows
            # A scoped user: the vendors of what they see (a configured vendor with
            # nothing in their scope is someone else's business).
            return tuple(v for v in rows if v.key in scope.vendors or v.rows
                         or (v.agents.staffed + v.agents.offline and not v.agents_from_queues))
        result = self._cached(board, ("vendors", window, None), make)
        assert isinstance(result, tuple)
        return result

    def _group_adherence(self, agents: Iterable[Agent]) -> float | None:
        """Adhering over scheduled seconds of ``agents`` (None: none is scheduled or no
        schedule is loaded): the group rule of domain/schedule.py."""
        read = self.adherence_of
        if read is None:
            return None
        scheduled = adhering = 0.0
        for agent in agents:
            got = read(agent)
            if got is not None:
                scheduled += got[0]
                adhering += got[1]
        return adhering / scheduled if scheduled > 0 else None

    def queue_tiers(self, board: Board, queue_id: str, window: str) -> TierBlock | None:
        row = board.rows_by_id.get(queue_id)
        if row is None:
            return None
        result = self._cached(board, ("tiers", window, queue_id),
                              lambda: queue_tiers(board, row, window, self.targets,
                                                  self.tier_book))
        assert isinstance(result, TierBlock)
        return result

    def centre_tiers(self, board: Board, window: str, group: str | None = LIVE) -> TierBlock:
        """The centre's tiers over one channel group's queues (live by default: a 20 s
        voice VIP and a 1 h email VIP are not one figure)."""
        result = self._cached(board, ("centre", window, group),
                              lambda: centre_tiers(board, window, self.targets, self.tier_book,
                                                   board.group_rows(group)))
        assert isinstance(result, TierBlock)
        return result
