"""Real process in a pseudo-terminal: start-up to first data, and bytes on the wire.

Starts ``supervisor-tui`` (default simulator) in a pty of the given size, measures the
time until a queue row is on the terminal (queue names appear only with data), then
counts the bytes the app writes to its terminal over a steady-state window — what an
SSH session would carry.

    .venv/bin/python benchmarks/bench_startup.py [--runs 5] [--size 80x24]
        [--bytes-seconds 60]
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import select
import signal
import statistics
import struct
import sys
import tempfile
import termios
import time
from pathlib import Path

EXE = Path(sys.executable).with_name("supervisor-tui")
MARKER = b"Tech Support"
SSH = "--ssh" in sys.argv  # a default queue name: drawn only once data has arrived


def spawn(cols: int, rows: int, db: str, extra: tuple[str, ...] = ()) -> tuple[int, int]:
    pid, fd = pty.fork()
    if pid == 0:  # child
        os.environ.update({"TERM": "xterm-256color", "COLUMNS": str(cols), "LINES": str(rows)})
        if SSH:  # what sshd sets: the console then refreshes clocks and waits every 2 s
            os.environ["SSH_CONNECTION"] = "192.0.2.10 50022 192.0.2.1 22"
        # A fixed seed: the same centre every run, so byte counts compare across changes.
        os.execv(str(EXE), [str(EXE), "--db", db, "--seed", "7", *extra])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    return pid, fd


def read_for(fd: int, seconds: float, until: bytes | None = None) -> tuple[bytes, float]:
    start = time.perf_counter()
    data = b""
    while (elapsed := time.perf_counter() - start) < seconds:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            data += chunk
            if until is not None and until in data:
                return data, time.perf_counter() - start
    return data, elapsed


def stop(pid: int, fd: int) -> None:
    os.kill(pid, signal.SIGTERM)
    read_for(fd, 0.5)
    os.close(fd)
    os.waitpid(pid, 0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--size", default="80x24")
    parser.add_argument("--bytes-seconds", type=float, default=60.0)
    parser.add_argument("--ssh", action="store_true",
                        help="run as in an SSH session (SSH_CONNECTION set)")
    args = parser.parse_args()
    cols, rows = (int(x) for x in args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        times = []
        for i in range(args.runs):
            pid, fd = spawn(cols, rows, f"{tmp}/run{i}.db")
            _, took = read_for(fd, 10.0, until=MARKER)
            times.append(took)
            stop(pid, fd)
        print(f"start-up to first data at {cols}x{rows}: median {statistics.median(times):.2f} s,"
              f" max {max(times):.2f} s over {args.runs} runs")
        if args.bytes_seconds > 0:
            pid, fd = spawn(cols, rows, f"{tmp}/bytes.db")
            read_for(fd, 10.0, until=MARKER)
            read_for(fd, 3.0)  # let the first full paint finish
            data, took = read_for(fd, args.bytes_seconds)
            stop(pid, fd)
            per_min = len(data) / took * 60
            where = " over SSH" if SSH else ""
            print(f"steady-state output at {cols}x{rows}{where}: {per_min / 1024:.1f} KiB/min "
                  f"({len(data)} bytes in {took:.0f} s)")


if __name__ == "__main__":
    main()
