"""The built-in contact-centre simulator: the default source, benchmark load and drill ground.

``config`` holds the ``[simulator]`` settings (and the default centre), ``engine`` the
discrete-event engine, ``single_queue`` the headless one-queue run behind
``supervisor-tui simulate``.
"""

from supervisor_tui.sim.config import (
    Scenario,
    SimulatorConfig,
    default_centre,
    scaled_centre,
)

__all__ = ["Scenario", "SimulatorConfig", "default_centre", "scaled_centre"]
