"""Lazy re-exports for an adapter package (PEP 562).

``supervisor_tui.sources.twilio`` keeps its public names importable, but importing the
package, as the config does to reach ``twilio.settings``, must not import the source
module and with it httpx: each name is looked up in its submodule on first use.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` resolving ``exports`` (name -> submodule of ``package``)."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{module}"), name)

    return __getattr__
