"""The ``serve-sim`` command line, apart from the server so that every other command
starts without importing Starlette and uvicorn (~0.3 s)."""

from __future__ import annotations

import argparse
from typing import Any

from supervisor_tui.protocol.documents import PROTOCOL_VERSION

DEFAULT_TOKEN_ENV = "SUPERVISOR_TUI_TOKEN"
DEFAULT_PORT = 8765


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0: {text!r}")
    return value


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) < 65536:  # 0: any free port
        raise argparse.ArgumentTypeError(f"not a TCP port: {text!r}")
    return int(text)


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``serve-sim`` on the CLI's sub-parsers."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "serve-sim", help="serve the simulator over HTTP for other consoles",
        description="Serve the simulated centre over the supervisor-tui HTTP protocol "
        f"(v{PROTOCOL_VERSION}, see docs/protocol.md). Consoles connect with a "
        "[sources.NAME] section of type \"http\". Any address but loopback requires a "
        "bearer token from the environment.")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=_port, default=DEFAULT_PORT,
                        help=f"TCP port (default {DEFAULT_PORT})")
    # SUPPRESS: an unset option leaves the top-level --scenario/--seed/--speed alone.
    parser.add_argument("--scenario", choices=["normal", "surge", "outage"],
                        default=argparse.SUPPRESS, help="simulator scenario (overrides config)")
    parser.add_argument("--seed", type=int, default=argparse.SUPPRESS,
                        help="simulator seed (overrides config)")
    parser.add_argument("--speed", type=_positive_float, default=argparse.SUPPRESS,
                        help="simulator speed factor (overrides config)")
    parser.add_argument("--token-env", default=DEFAULT_TOKEN_ENV, metavar="VAR",
                        help="environment variable holding the bearer token "
                        f"(default {DEFAULT_TOKEN_ENV}); required off loopback")
    parser.add_argument("--tls-cert", metavar="FILE", help="serve HTTPS with this certificate")
    parser.add_argument("--tls-key", metavar="FILE", help="private key for --tls-cert")
    return parser
