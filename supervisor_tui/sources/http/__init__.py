"""The ``http`` source: any server speaking supervisor-tui's own protocol v1.

``supervisor-tui serve-sim`` is one such server; a site can write its own bridge to a
platform we have no adapter for (docs/protocol.md). Everything the server sends is
validated with ``protocol``: a broken server is a one-line ``SourceError``, never a
traceback, and never numbers shown as if they were good.

Once it holds a snapshot, the source asks for a delta (``A-IM: snapshot-delta``): at
10,000 agents only a few hundred records change a second, so validating just those
keeps a poll in milliseconds, and every unchanged record stays the very object of the
last snapshot (the index and the escalation tracker reuse work by identity). A delta
that does not fit our snapshot drops it, and the next poll asks for the full one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from supervisor_tui.sources.lazy import lazy_exports

if TYPE_CHECKING:
    from supervisor_tui.sources.http.settings import HttpSettings as HttpSettings
    from supervisor_tui.sources.http.source import HttpSource as HttpSource

# settings.py (no HTTP library), source.py (httpx): names come from their module on
# first use, so the config loads settings only.
__getattr__ = lazy_exports(__name__, {"HttpSettings": "settings", "HttpSource": "source"})
