"""Hand out the same model object for a platform record that did not change.

The console's per-poll index and escalation tracker skip work for objects they have
seen before (``supervisor_tui/index.py``), so a source that rebuilds every agent each
poll throws that away. A source builds each record through ``Reuse.get`` with a key of
the fields the model is made from; an unchanged key returns last poll's object.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class Reuse(Generic[T]):
    def __init__(self) -> None:
        self._last: dict[str, tuple[Hashable, T]] = {}
        self._next: dict[str, tuple[Hashable, T]] = {}

    def begin(self) -> None:
        """Start a poll (a poll that failed half-way is simply forgotten)."""
        self._next = {}

    def get(self, record_id: str, key: Hashable, build: Callable[[], T]) -> T:
        previous = self._last.get(record_id)
        obj = previous[1] if previous is not None and previous[0] == key else build()
        self._next[record_id] = (key, obj)
        return obj

    def __contains__(self, record_id: str) -> bool:
        """Already built in this poll (a record listed twice)."""
        return record_id in self._next

    def commit(self) -> None:
        """The poll succeeded: its objects are the ones to reuse next time."""
        self._last, self._next = self._next, {}

    def last(self, record_id: str) -> T | None:
        """The object handed out for this record by the last successful poll."""
        previous = self._last.get(record_id)
        return previous[1] if previous is not None else None
