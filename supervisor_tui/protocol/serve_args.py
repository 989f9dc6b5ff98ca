"""The ``serve`` and ``serve-sim`` command lines, apart from the server so that every
other command starts without importing Starlette and uvicorn (~0.3 s)."""

from __future__ import annotations

import argparse
from pathlib import Path
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
    """Register ``serve`` and its alias ``serve-sim`` on the CLI's sub-parsers; returns
    ``serve-sim``'s parser."""
    serve: argparse.ArgumentParser = subparsers.add_parser(
        "serve", help="poll the configured sources once and serve them to many consoles",
        description="The collector: poll the configured sources (none configured: the "
        "simulator) once, however many consoles watch, and serve the merged centre over "
        f"the supervisor-tui HTTP protocol (v{PROTOCOL_VERSION}, see docs/protocol.md): "
        "snapshots and deltas, actions (each sent to the item's own source), an event "
        "stream that names each new version as it appears, each source's health, and "
        "Prometheus metrics at /metrics. Consoles connect with a [sources.NAME] section "
        "of type \"http\". Any address but loopback requires a bearer token from the "
        "environment.")
    _options(serve)
    sim: argparse.ArgumentParser = subparsers.add_parser(
        "serve-sim", help="serve the simulator over HTTP for other consoles (serve with "
        "the simulator as its only source)",
        description="`serve` with the built-in simulator as its only source, whatever the "
        "config's [sources]: several consoles can watch and act on one simulated centre. "
        "Snapshots change at most once a second unless --poll-interval says otherwise.")
    _options(sim)
    return sim


def _options(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS: an unset option leaves the top-level --config/--scenario/... alone.
    parser.add_argument("--config", type=Path, default=argparse.SUPPRESS,
                        help="TOML config: its [sources] and [simulator]")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=_port, default=DEFAULT_PORT,
                        help=f"TCP port (default {DEFAULT_PORT})")
    parser.add_argument("--poll-interval", type=_positive_float, default=None, metavar="S",
                        help="seconds between polls of a source without its own "
                        "poll_interval_s (default: the config's console poll_interval_s; "
                        "serve-sim: 1)")
    parser.add_argument("--scenario", choices=["normal", "surge", "outage"],
                        default=argparse.SUPPRESS, help="simulator scenario (overrides config)")
    parser.add_argument("--seed", type=int, default=argparse.SUPPRESS,
                        help="simulator seed (overrides config)")
    parser.add_argument("--speed", type=_positive_float, default=argparse.SUPPRESS,
                        help="simulator speed factor (overrides config)")
    parser.add_argument("--token-env", default=DEFAULT_TOKEN_ENV, metavar="VAR",
                        help="environment variable holding the bearer token "
                        f"(default {DEFAULT_TOKEN_ENV}); required off loopback")
    parser.add_argument("--open-metrics", action="store_true",
                        help="serve /metrics without the token (for a scraper on a trusted "
                        "network; it shows source names, counts and ages, never customer "
                        "data). Default: the same token as everything else")
    parser.add_argument("--tls-cert", metavar="FILE", help="serve HTTPS with this certificate")
    parser.add_argument("--tls-key", metavar="FILE", help="private key for --tls-cert")
