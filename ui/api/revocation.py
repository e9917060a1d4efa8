"""How every API process learns that a key was revoked: a revocation epoch that each revoke advances.

A cached key is trusted only while the epoch it was verified under is still the current one. In memory the
epoch reaches the API of this process (the console's admin page revokes through the same store); with
``DESKPILOT_REDIS_URL`` it lives in Redis, so a revoke from any replica or from ``deskpilot keys revoke``
reaches every replica on its next request.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from typing import Any, Protocol

from feedback.store import FeedbackStore
from ui.api.settings import ApiSettings

log = logging.getLogger("deskpilot.api")


class RevocationEpoch(Protocol):
    """A value that changes whenever any key is revoked."""

    def current(self) -> str | None:
        """The epoch now; None when it cannot be read (then no cached key is trusted)."""
        ...

    def advance(self) -> None:
        """Announce a revocation."""
        ...


class LocalEpoch:
    """The epoch of this process only."""

    def __init__(self) -> None:
        self._counter = itertools.count()
        self._value = next(self._counter)
        self._lock = threading.Lock()

    def current(self) -> str:
        """The epoch now."""
        return str(self._value)

    def advance(self) -> None:
        """Announce a revocation to this process."""
        with self._lock:
            self._value = next(self._counter)


class RedisEpoch:
    """The epoch shared by every process that uses the same Redis."""

    def __init__(self, url: str, prefix: str = "deskpilot", retry_after_s: float = 1.0) -> None:
        import redis

        self._key = f"{prefix}:api-keys:revocation-epoch"
        self._redis: Any = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._error = redis.RedisError
        self._retry_after_s = retry_after_s
        self._down_until = 0.0

    def current(self) -> str | None:
        """The shared epoch; None while Redis does not answer (keys are then verified against the store)."""
        if time.monotonic() < self._down_until:  # do not wait on a dead Redis for every request
            return None
        try:
            value = self._redis.get(self._key)
        except self._error as exc:
            self._down_until = time.monotonic() + self._retry_after_s
            log.warning("Redis (DESKPILOT_REDIS_URL) unavailable, verifying API keys against the store: %s", exc)
            return None
        return value.decode() if value is not None else "0"

    def advance(self) -> None:
        """Announce a revocation to every process sharing this Redis."""
        try:
            self._redis.incr(self._key)
        except self._error as exc:
            log.error("could not announce a key revocation through DESKPILOT_REDIS_URL: %s", exc)


def revocation_epoch(settings: ApiSettings) -> RevocationEpoch:
    """Redis's epoch when ``DESKPILOT_REDIS_URL`` is set, this process's otherwise."""
    return RedisEpoch(settings.redis_url, settings.redis_prefix) if settings.redis_url else LocalEpoch()


def announce_revocations(store: FeedbackStore, epoch: RevocationEpoch) -> None:
    """Advance ``epoch`` after every key ``store`` revokes."""
    store.on_api_key_revoked(lambda _key_id: epoch.advance())
