"""One ``model_fields_set`` per distinct set of given fields, shared by every model that
has it (pure).

Pydantic keeps, on each model it validates, the set of field names the input gave: a
``set`` of eight to ten names is ~0.7 kB, more than the agent it describes. A console
reading 50,000 agents and 35,000 contacts over the ``http`` source held ~100 MiB of
identical sets (tracemalloc). Models here are frozen, and pydantic copies the set when a
model is copied with changes, so a set shared among equal ones is never mutated.

The domain models share theirs as each one is validated (``Frozen.model_post_init``):
shared only after a whole snapshot was decoded, the 80,000 sets were all alive at once,
and their freed memory stayed in the allocator's arenas between the objects that
survived (RSS +170 MiB for 100 MiB held; +100 MiB when shared at once).
"""

from __future__ import annotations

from pydantic import BaseModel

_ATTR = "__pydantic_fields_set__"
_set_fields_set = BaseModel.__dict__[_ATTR].__set__  # its slot: cheaper than setattr

#: the shared sets, by their contents (a handful: one per model and shape of input)
_SHARED: dict[frozenset[str], set[str]] = {}
#: ids of the shared sets (alive for good in ``_SHARED``, so an id is never reused)
_SHARED_IDS: set[int] = set()
#: more distinct shapes than this is not a few shapes: stop adding (a set each again)
_MOST = 4096


def shared(names: frozenset[str]) -> set[str] | None:
    """The shared set of ``names`` (None: too many shapes already; make one's own)."""
    same = _SHARED.get(names)
    if same is None:
        if len(_SHARED) >= _MOST:
            return None
        same = _SHARED[names] = set(names)
        _SHARED_IDS.add(id(same))
    return same


def share_own(model: BaseModel) -> None:
    """Give ``model`` the shared set equal to its own ``model_fields_set``."""
    own = getattr(model, _ATTR)
    if id(own) in _SHARED_IDS:  # already a shared one (model_construct with a shared set)
        return
    same = shared(frozenset(own))
    if same is not None:
        _set_fields_set(model, same)
