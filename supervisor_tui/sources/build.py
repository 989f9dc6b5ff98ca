"""Settings -> Source objects: the one place that imports every adapter's source module,
each only when a source of its type is built."""

from __future__ import annotations

from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.sim.config import SimulatorConfig
from supervisor_tui.sources.asterisk.settings import AsteriskSettings
from supervisor_tui.sources.base import Source, SourceError
from supervisor_tui.sources.connect.settings import ConnectSettings
from supervisor_tui.sources.genesys.settings import GenesysSettings
from supervisor_tui.sources.http.settings import HttpSettings
from supervisor_tui.sources.registry import SimulatorSettings
from supervisor_tui.sources.settings import SourceSettings
from supervisor_tui.sources.twilio.settings import TwilioSettings
from supervisor_tui.sources.zendesk.settings import ZendeskSettings


def build_source(name: str, settings: SourceSettings, policy: IntervalPolicy,
                 simulator: SimulatorConfig) -> Source:
    source: Source
    if isinstance(settings, SimulatorSettings):
        from supervisor_tui.sources.simulator import SimulatorSource

        source = SimulatorSource(name, policy, simulator)
    else:
        source = _build_platform(name, settings, policy)
    source.poll_interval_s = settings.poll_interval_s
    source.provides = settings.provides
    return source


def _build_platform(name: str, settings: SourceSettings, policy: IntervalPolicy) -> Source:
    if isinstance(settings, HttpSettings):
        from supervisor_tui.sources.http.source import HttpSource

        return HttpSource(name, policy, settings)
    if isinstance(settings, TwilioSettings):
        from supervisor_tui.sources.twilio.source import TwilioSource

        return TwilioSource(name, policy, settings)
    if isinstance(settings, ZendeskSettings):
        from supervisor_tui.sources.zendesk.source import ZendeskSource

        return ZendeskSource(name, policy, settings)
    if isinstance(settings, GenesysSettings):
        from supervisor_tui.sources.genesys.source import GenesysSource

        return GenesysSource(name, policy, settings)
    if isinstance(settings, AsteriskSettings):
        from supervisor_tui.sources.asterisk.source import AsteriskSource

        return AsteriskSource(name, policy, settings)
    if isinstance(settings, ConnectSettings):
        from supervisor_tui.sources.connect.source import ConnectSource

        return ConnectSource(name, policy, settings)
    raise SourceError(f"source {name}: type {settings.type!r} is not available")


def build_sources(configured: dict[str, SourceSettings], policy: IntervalPolicy,
                  simulator: SimulatorConfig) -> list[Source]:
    """Every enabled configured source; none configured means the built-in simulator."""
    if not configured:
        configured = {"simulator": SimulatorSettings()}
    sources = [build_source(name, settings, policy, simulator)
               for name, settings in configured.items() if settings.enabled]
    if not sources:
        raise SourceError("every configured source is disabled (enabled = false)")
    return sources
