"""supervisor-tui: a live terminal console for contact-centre supervisors."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("supervisor-tui")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+local"
