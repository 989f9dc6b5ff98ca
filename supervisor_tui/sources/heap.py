"""Hand the C heap's freed memory back to the system after a large, rare parse.

Validating a full snapshot of 50,000 agents and 35,000 contacts (in a worker thread, off
the event loop) allocates ~100 MiB of temporaries in that thread's malloc arena; once
freed, glibc keeps them mapped, so the console's RSS stays 100 MiB above what it holds
(measured with benchmarks/bench_dashboard.py --remote: 411 MiB, 312 after a trim).
``malloc_trim`` returns it. Only full snapshots call this (the first poll, a restart of
the collector): deltas are small. A no-op where the C library has no ``malloc_trim``.

What this cannot return: pymalloc's arenas stay mapped while any object in them lives,
and the records that changed since the last full snapshot stay live among the parse's
freed copies. Five full re-fetches at 50,000 agents took the console from 287 to 520
MiB of RSS (298 MiB of pymalloc arenas, 206 in use); a more compact representation of
agents and contacts is the way out, not a tuning of the allocator (M_MMAP_THRESHOLD and
pydantic's ``cache_strings`` made no difference). That representation is in place since
(``domain.model.Record``: slotted records, an agent 104 bytes instead of 352, a contact
112 instead of 352; queue ids, teams and skill lists shared: ``protocol.shared_text``);
the five re-fetches have not been measured again with it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable


def _find() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to do
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


_TRIM = _find()


def release_freed() -> bool:
    """Give freed heap memory back to the system; False where this cannot be done."""
    if _TRIM is None:
        return False
    _TRIM(0)
    return True
