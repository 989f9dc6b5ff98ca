"""Every source type's settings: the config builds its ``type``-tagged union from here.

Settings modules only, never an adapter's source module: validating a config file loads
no adapter and no HTTP library. ``sources/build.py`` turns settings into sources.
"""

from __future__ import annotations

import importlib
from typing import Any, Literal

from supervisor_tui.sources.genesys.settings import GenesysSettings
from supervisor_tui.sources.http.settings import HttpSettings
from supervisor_tui.sources.settings import SourceSettings
from supervisor_tui.sources.twilio.settings import TwilioSettings
from supervisor_tui.sources.zendesk.settings import ZendeskSettings


class SimulatorSettings(SourceSettings):
    """The built-in simulator; its centre is the top-level ``[simulator]`` section."""

    type: Literal["simulator"] = "simulator"


#: every source type's settings class; config.py builds its ``type``-tagged union from it
SETTINGS_TYPES: tuple[type[SourceSettings], ...] = (
    SimulatorSettings, HttpSettings, TwilioSettings, ZendeskSettings, GenesysSettings)


def __getattr__(name: str) -> Any:
    # Transitional, until cli/ imports them from sources.build: looked up on first use
    # and by name, so importing the registry loads no adapter (and has no static edge
    # to them for import-linter's contracts).
    if name in ("build_source", "build_sources"):
        return getattr(importlib.import_module("supervisor_tui.sources.build"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
