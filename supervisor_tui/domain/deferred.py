"""Work a poll hands over, done later: at the first read of what it feeds, or once the
poll is painted (pure).

A book only some screens read (the agents' day figures, the FCR contact log) takes each
poll's input at once and works through it when read or caught up: a screen that does not
show the book's figures never waits for them, and the figures are the same as if worked
out at each poll (the inputs are taken in order). Nobody reading or catching up, it never
holds more than a few polls' inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Deferred(Generic[T]):
    def __init__(self, work: Callable[[T], None], most: int = 2) -> None:
        self._work = work
        self._most = most
        #: taken, not yet worked through (oldest first)
        self.items: list[T] = []

    def add(self, item: T) -> None:
        if len(self.items) >= self._most:  # nobody reads or catches up: hold few
            self.catch_up()
        self.items.append(item)

    def catch_up(self) -> None:
        """Work through what was taken, in order."""
        items = self.items
        while items:
            self._work(items.pop(0))
