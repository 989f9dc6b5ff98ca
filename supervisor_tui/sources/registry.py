"""Every source type's settings: the config builds its ``type``-tagged union from here.

Settings modules only, never an adapter's source module: validating a config file loads
no adapter and no HTTP library. ``sources/build.py`` turns settings into sources.
"""

from __future__ import annotations

from typing import Literal

from supervisor_tui.sources.asterisk.settings import AsteriskSettings
from supervisor_tui.sources.connect.settings import ConnectSettings
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
    SimulatorSettings, HttpSettings, TwilioSettings, ZendeskSettings, GenesysSettings,
    AsteriskSettings, ConnectSettings)
