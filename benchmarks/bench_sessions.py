"""Many managers on one host: N real consoles in pseudo-terminals, one centre, one store.

Starts ``supervisor-tui serve-sim`` (the shared centre), then N consoles at 80x24, each
polling it through an ``http`` source and sharing one SQLite store — what N managers
logged in over SSH look like. After a warm-up it samples, per console process, CPU
time (utime + stime from /proc) and resident memory, and the bytes each writes to its
terminal.

    .venv/bin/python benchmarks/bench_sessions.py [--sessions 20] [--seconds 60]
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import select
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

EXE = Path(sys.executable).with_name("supervisor-tui")
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def rss_mib(pid: int) -> float:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE / 2**20


def spawn(config: Path, db: Path, user: str) -> tuple[int, int]:
    pid, fd = pty.fork()
    if pid == 0:
        os.environ.update({"TERM": "xterm-256color", "SUPERVISOR_TUI_USER": user})
        os.execv(str(EXE), [str(EXE), "--config", str(config), "--db", str(db)])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    return pid, fd


def drain(fds: dict[int, int], seconds: float, counts: dict[int, int]) -> None:
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        ready, _, _ = select.select(list(fds), [], [], min(left, 0.2))
        for fd in ready:
            try:
                counts[fd] = counts.get(fd, 0) + len(os.read(fd, 65536))
            except OSError:
                fds.pop(fd, None)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=15.0)
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.toml"
        config.write_text(f'[console]\npoll_interval_s = 2.0\n\n[sources.centre]\n'
                          f'type = "http"\nurl = "http://127.0.0.1:{port}"\n')
        db = Path(tmp) / "shared.db"
        server = subprocess.Popen([str(EXE), "serve-sim", "--port", str(port), "--seed", "7"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(2.0)
        consoles = [spawn(config, db, f"manager{i:02d}") for i in range(args.sessions)]
        fds = {fd: pid for pid, fd in consoles}
        try:
            drain(fds, args.warmup, {})
            cpu0 = {pid: cpu_s(pid) for pid, _ in consoles}
            server_cpu0 = cpu_s(server.pid)
            counts: dict[int, int] = {}
            started = time.monotonic()
            drain(fds, args.seconds, counts)
            took = time.monotonic() - started
            cpu = [(cpu_s(pid) - cpu0[pid]) / took * 100 for pid, _ in consoles]
            rss = [rss_mib(pid) for pid, _ in consoles]
            server_cpu = (cpu_s(server.pid) - server_cpu0) / took * 100
            wire = [counts.get(fd, 0) / took * 60 / 1024 for _, fd in consoles]
        finally:
            for pid, _fd in consoles:
                os.kill(pid, signal.SIGTERM)
            time.sleep(1.0)
            for pid, fd in consoles:
                os.close(fd)
                os.waitpid(pid, 0)
            server.terminate()
            server.wait(10)
    print(f"{args.sessions} consoles at 80x24 on one serve-sim and one store, "
          f"{took:.0f} s after {args.warmup:.0f} s warm-up ({os.cpu_count()} cores)")
    print(f"  CPU per console: mean {statistics.fmean(cpu):.1f}% of a core, "
          f"max {max(cpu):.1f}%; all consoles {sum(cpu):.0f}%")
    print(f"  RSS per console: mean {statistics.fmean(rss):.0f} MiB, max {max(rss):.0f} MiB")
    print(f"  terminal output per console: mean {statistics.fmean(wire):.1f} KiB/min")
    print(f"  serve-sim CPU: {server_cpu:.1f}% of a core")


if __name__ == "__main__":
    main()
