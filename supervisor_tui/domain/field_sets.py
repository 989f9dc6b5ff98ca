"""One ``model_fields_set`` per distinct set of given fields, shared by every model that
has it (pure).

Pydantic keeps, on each model it validates, the set of field names the input gave: a
``set`` of eight to ten names is ~0.7 kB, more than the agent it describes. A console
reading 50,000 agents and 35,000 contacts over the ``http`` source held ~100 MiB of
identical sets (tracemalloc). Models here are frozen, and pydantic copies the set when a
model is copied with changes, so a set shared among equal ones is never mutated.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel

_ATTR = "__pydantic_fields_set__"
_set_attr = object.__setattr__


class FieldSets:
    """The shared sets, by their contents (a handful: one per shape of input)."""

    def __init__(self) -> None:
        self._shared: dict[frozenset[str], set[str]] = {}

    def share(self, models: Iterable[BaseModel | None], *nested: str) -> None:
        """Give each of ``models`` (and each one's ``nested`` model fields, e.g. an
        agent's ``state``) the shared set equal to its own."""
        shared = self._shared
        for model in models:
            if model is None:
                continue
            own = getattr(model, _ATTR)
            key = frozenset(own)
            same = shared.get(key)
            if same is None:
                same = shared[key] = set(key)
            if own is not same:
                _set_attr(model, _ATTR, same)
            for name in nested:
                inner = getattr(model, name, None)
                if isinstance(inner, BaseModel):
                    self.share((inner,))
