"""Token buckets in Redis, shared by every API replica that uses the same ``DESKPILOT_REDIS_URL``.

Each take is one atomic script on the Redis server, timed by the server's clock, so replicas whose clocks
differ still agree. While Redis does not answer, each replica limits in its own memory instead.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from ui.api.ratelimit import RateLimiter

log = logging.getLogger("deskpilot.api")

# KEYS[1] the bucket; ARGV rate (tokens/s), capacity, this request's cost. Returns the wait in seconds, as a
# string (Lua numbers come back from Redis as integers).
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate, capacity, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or capacity
local ts = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate)
local wait = 0
if tokens >= cost then tokens = tokens - cost else wait = (cost - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 1)
return tostring(wait)
"""


class RedisRateLimiter:
    """Allows ``per_minute`` requests per key on average, with bursts up to the same number, across replicas."""

    def __init__(self, url: str, prefix: str, name: str, per_minute: int, retry_after_s: float = 1.0) -> None:
        import redis

        self.rate, self.capacity = per_minute / 60.0, float(per_minute)
        # The limit is part of the name: replicas configured alike share buckets, a differently limited
        # deployment on the same Redis does not.
        self._namespace = f"{prefix}:ratelimit:{name}:{per_minute}:"
        client: Any = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._take = client.register_script(_TAKE)
        self._error = redis.RedisError
        self._local = RateLimiter(per_minute)
        self._retry_after_s, self._down_until = retry_after_s, 0.0

    def take(self, key: str, cost: float = 1.0) -> float:
        """0 when a request of ``cost`` tokens may go ahead, else the seconds to wait before retrying."""
        cost = min(cost, self.capacity)
        if time.monotonic() < self._down_until:
            return self._local.take(key, cost)
        try:
            return float(self._take(keys=[self._namespace + key], args=[self.rate, self.capacity, cost]))
        except self._error as exc:
            self._down_until = time.monotonic() + self._retry_after_s
            log.warning("Redis (DESKPILOT_REDIS_URL) unavailable, rate limits are per replica meanwhile: %s", exc)
            return self._local.take(key, cost)
