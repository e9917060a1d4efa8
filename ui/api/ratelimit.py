"""Token-bucket rate limits, per API key and per client address: in process memory, or in Redis when
``DESKPILOT_REDIS_URL`` is set (``ui/api/redislimit.py``).

A request takes tokens by its cost, not one each: a long question (redacted, embedded and searched whole)
costs more than a short one (:func:`request_cost`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ui.api.settings import ApiSettings


class Limiter(Protocol):
    """A set of token buckets, one per key."""

    def take(self, key: str, cost: float = 1.0) -> float:
        """0 when a request of ``cost`` tokens may go ahead, else the seconds to wait before retrying."""
        ...


def request_cost(body_bytes: int, bytes_per_token: int) -> float:
    """Tokens a request takes: one for a body up to ``bytes_per_token`` bytes, then in proportion to its size
    (the question's length drives redaction, embedding and search time)."""
    return max(1.0, body_bytes / bytes_per_token)


class RateLimiter:
    """Allows ``per_minute`` requests per key on average, with bursts up to the same number."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(per_minute)
        self._clock, self._max_keys = clock, max_keys
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, cost: float = 1.0) -> float:
        """0 when a request of ``cost`` tokens may go ahead, else the seconds to wait before retrying (a cost
        above the bucket's size counts as a full bucket)."""
        cost = min(cost, self.capacity)
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens >= cost:
                self._buckets[key] = (tokens - cost, now)
                wait = 0.0
            else:
                self._buckets[key] = (tokens, now)
                wait = (cost - tokens) / self.rate
            if len(self._buckets) > self._max_keys:  # forget the idlest half rather than grow without bound
                for stale, _ in sorted(self._buckets.items(), key=lambda kv: kv[1][1])[: self._max_keys // 2]:
                    del self._buckets[stale]
            return wait


def limiter(settings: ApiSettings, name: str, per_minute: int) -> Limiter:
    """The ``name`` buckets (``per_minute`` each): in Redis when ``DESKPILOT_REDIS_URL`` is set, else here."""
    if not settings.redis_url:
        return RateLimiter(per_minute)
    from ui.api.redislimit import RedisRateLimiter

    return RedisRateLimiter(settings.redis_url, settings.redis_prefix, name, per_minute)
