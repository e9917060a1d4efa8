"""Console sign-in throttling: exponential backoff per client address, and a short one per username.

A client that keeps failing waits longer and longer (up to ``DESKPILOT_CONSOLE_SIGNIN_CLIENT_BACKOFF_MAX_S``).
A username that keeps failing, from wherever, only slows down: its wait never passes
``DESKPILOT_CONSOLE_SIGNIN_USER_BACKOFF_MAX_S``, so a flood of wrong passwords for someone else's name cannot
lock that person out; the flooding client is stopped by its own backoff.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

FREE_FAILURES = 5
"""Consecutive failures (per client, per username) before any wait."""


@dataclass(frozen=True)
class Backoff:
    """1 s after ``free`` consecutive failures, doubling with each further one, up to ``max_s``."""

    max_s: float
    free: int = FREE_FAILURES
    base_s: float = 1.0

    def wait_after(self, failures: int) -> float:
        """The wait owed after ``failures`` consecutive failures."""
        if failures < self.free:
            return 0.0
        return min(self.max_s, self.base_s * 2.0 ** min(failures - self.free, 60))


class _Failures:
    """Consecutive failures and the time of the last one, per key; idle keys are forgotten."""

    def __init__(self, backoff: Backoff, clock: Callable[[], float], forget_after_s: float, max_keys: int) -> None:
        self.backoff, self._clock = backoff, clock
        self._forget_after_s, self._max_keys = forget_after_s, max_keys
        self._seen: dict[str, tuple[int, float]] = {}

    def wait(self, key: str) -> float:
        count, last = self._seen.get(key, (0, 0.0))
        return max(0.0, self.backoff.wait_after(count) - (self._clock() - last)) if count else 0.0

    def failed(self, key: str) -> None:
        now = self._clock()
        count, last = self._seen.get(key, (0, now))
        if now - last > self._forget_after_s:
            count = 0
        self._seen[key] = (count + 1, now)
        if len(self._seen) > self._max_keys:  # forget the idlest half rather than grow without bound
            for stale, _ in sorted(self._seen.items(), key=lambda kv: kv[1][1])[: self._max_keys // 2]:
                del self._seen[stale]

    def clear(self, key: str) -> None:
        self._seen.pop(key, None)


class SignInThrottle:
    """Whether a sign-in may be checked now, and what a failure or a success changes."""

    def __init__(
        self,
        client_backoff_max_s: float,
        user_backoff_max_s: float,
        clock: Callable[[], float] = time.monotonic,
        forget_after_s: float = 3600.0,
        max_keys: int = 100_000,
    ) -> None:
        self._clients = _Failures(Backoff(client_backoff_max_s), clock, forget_after_s, max_keys)
        self._users = _Failures(Backoff(user_backoff_max_s), clock, forget_after_s, max_keys)
        self._lock = threading.Lock()

    def wait(self, client: str, username: str) -> float:
        """Seconds before this client may try this username again (0: check the password now)."""
        with self._lock:
            return max(self._clients.wait(client), self._users.wait(username))

    def failed(self, client: str, username: str) -> None:
        """A wrong password (or unknown user) from ``client``."""
        with self._lock:
            self._clients.failed(client)
            self._users.failed(username)

    def succeeded(self, client: str, username: str) -> None:
        """The right password: both start over."""
        with self._lock:
            self._clients.clear(client)
            self._users.clear(username)
