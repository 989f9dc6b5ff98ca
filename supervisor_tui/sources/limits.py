"""Request budgets, rate-limit errors and request statistics (no HTTP library here,
so the console can import them without paying for httpx when only the simulator runs)."""

from __future__ import annotations

import email.utils
import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from supervisor_tui.sources.base import SourceError


class RateLimited(SourceError):
    """The platform said 429 (or our own budget is spent); retry after ``retry_after`` s."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def secret_from_env(var: str | None, what: str) -> str | None:
    """The value of environment variable ``var``; a clear error when it is unset."""
    if not var:
        return None
    value = os.environ.get(var)
    if not value:
        raise SourceError(f"{what}: environment variable {var} is not set")
    return value


def parse_retry_after(value: str | None, now: Callable[[], datetime] | None = None
                      ) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = (now or (lambda: datetime.now(UTC)))()
    return max(0.0, (when - current).total_seconds())


class RequestBudget:
    """At most ``limit`` requests in any sliding window of ``window_s`` seconds."""

    def __init__(self, limit: int, window_s: float,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        if limit <= 0 or window_s <= 0:
            raise ValueError("a budget needs a positive limit and window")
        self.limit = limit
        self.window_s = window_s
        self._monotonic = monotonic
        self._sent: deque[float] = deque()

    def _trim(self, now: float) -> None:
        while self._sent and self._sent[0] <= now - self.window_s:
            self._sent.popleft()

    def remaining(self) -> int:
        self._trim(self._monotonic())
        return self.limit - len(self._sent)

    def wait_for(self, n: int = 1) -> float:
        """Seconds until ``n`` requests fit (0 if they fit now)."""
        now = self._monotonic()
        self._trim(now)
        if n > self.limit:
            raise ValueError(f"{n} requests can never fit a budget of {self.limit}")
        excess = len(self._sent) + n - self.limit
        if excess <= 0:
            return 0.0
        return self._sent[excess - 1] + self.window_s - now

    def try_acquire(self, n: int = 1) -> bool:
        if self.wait_for(n) > 0:
            return False
        now = self._monotonic()
        self._sent.extend([now] * n)
        return True

    def describe(self) -> str:
        return f"{self.limit} requests per {self.window_s:g} s"


@dataclass
class RequestStats:
    """Counts and latencies of one source's requests, for the sources screen."""

    requests: int = 0
    failures: int = 0
    rate_limited: int = 0
    last_status: int | None = None
    latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=200))
    #: requests by HTTP status ("none": no answer: timeout, refused, too large), for the
    #: collector's /metrics
    by_status: dict[str, int] = field(default_factory=dict)

    def record(self, status: int | None, latency_ms: float, ok: bool) -> None:
        self.requests += 1
        key = "none" if status is None else str(status)
        self.by_status[key] = self.by_status.get(key, 0) + 1
        self.last_status = status
        self.latencies_ms.append(latency_ms)
        if status == 429:
            self.rate_limited += 1
        if not ok:
            self.failures += 1

    def p95_ms(self) -> float | None:
        if not self.latencies_ms:
            return None
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
