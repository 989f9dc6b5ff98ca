#!/usr/bin/env bash
# The twilio source against Twilio's own TaskRouter OpenAPI spec, served by Prism.
#
# Prism (npm: @stoplight/prism-cli) validates every request against the spec and answers
# 422 when one does not fit; it answers the rest with the spec's examples, or with -d
# with random data that fits the response schemas (a fuzz test of our validation:
# expect one-line errors, never a traceback). Exits 1 if Prism rejected any request.
#
# tests/test_twilio_contract.py runs the same check in the test suite (skipped only
# without node); tests/test_twilio_source.py checks the contract offline.
#
#   benchmarks/prism_twilio.sh [-d] [PORT]
#   PRISM=/path/to/prism benchmarks/prism_twilio.sh     # an installed prism
#
# With the static examples the snapshot itself is rejected ("counted from
# 2015-07-30..."): the example cumulative statistics are for 2015, and the source
# refuses counters for a window it did not ask for. That is the check working.
set -euo pipefail
cd "$(dirname "$0")/.."

SPEC="${SPEC:-../shared/specs/twilio_taskrouter_v1.json}"
DYNAMIC=()
if [ "${1:-}" = "-d" ]; then DYNAMIC=(-d); shift; fi
PORT="${1:-4010}"
PRISM="${PRISM:-npx --yes @stoplight/prism-cli@5}"
LOG="${TMPDIR:-/tmp}/prism_twilio.$$.log"

[ -f "$SPEC" ] || { echo "no spec at $SPEC" >&2; exit 2; }
# A process group of its own, so stopping it also stops the node process npx starts.
# shellcheck disable=SC2086
setsid $PRISM mock "${DYNAMIC[@]}" -h 127.0.0.1 -p "$PORT" "$SPEC" >"$LOG" 2>&1 &
prism_pid=$!
trap 'kill -- -"$prism_pid" 2>/dev/null || true' EXIT

.venv/bin/python - "http://127.0.0.1:$PORT" "$LOG" <<'PY'
import asyncio
import os
import socket
import sys
import time

import httpx

from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.sources.base import SourceError
from supervisor_tui.sources.twilio import TwilioSettings, TwilioSource

URL, LOG = sys.argv[1], sys.argv[2]


class Recording(httpx.AsyncBaseTransport):
    """The network, noting each answer's status (Prism says 422 for a bad request)."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.seen: list[tuple[str, str, int, str]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        self.seen.append((request.method, request.url.path, response.status_code,
                          body[:400].decode(errors="replace")))
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def wait_for_prism() -> None:
    port = int(URL.rsplit(":", 1)[1])
    deadline = time.monotonic() + 120  # npx may download prism first
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.5)
    sys.exit(f"prism did not start; see {LOG}")


async def main() -> int:
    os.environ.setdefault("PRISM_TWILIO_TOKEN", "not-a-secret")
    a32 = "a" * 32  # the spec's examples use SIDs like WSaaaa...
    settings = TwilioSettings(
        workspace_sid=f"WS{a32}", account_sid=f"AC{a32}", password_env="PRISM_TWILIO_TOKEN",
        base_url=URL, queue_defaults={"threshold_s": 10, "short_abandon_s": 5},
        move_attribute="transfer_queue", move_priority=10,
        agent_queues_attribute="routing.skills")
    transport = Recording()
    source = TwilioSource("prism", IntervalPolicy(), settings, transport=transport)
    try:
        for label in ("first poll", "second poll"):
            try:
                snap = await source.snapshot()
                print(f"{label}: {len(snap.queues)} queues, {len(snap.agents)} agents, "
                      f"{len(snap.contacts)} waiting; notes: {list(source.notes)}")
            except SourceError as err:
                print(f"{label}: rejected: {err}")
        for result in (await source.move_contact(f"WT{a32}", f"WQ{a32}"),
                       await source.set_agent_skills(f"WK{a32}", [f"WQ{a32}"]),
                       await source.set_agent_state(f"WK{a32}", "available")):
            print(f"action: {result.code}: {result.message}")
    finally:
        await source.close()
    rejected = [s for s in transport.seen if s[2] == 422]
    for method, path, status, _ in transport.seen:
        print(f"  {status} {method} {path}")
    for method, path, _, body in rejected:
        print(f"PRISM REJECTED {method} {path}: {body}")
    print(f"{len(transport.seen)} requests, {len(rejected)} rejected by the spec")
    return 1 if rejected else 0


wait_for_prism()
sys.exit(asyncio.run(main()))
PY
