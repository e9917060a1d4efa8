"""One answer at a time, shared fairly between tenants.

The embedded index and the models serve one answer at a time (``ui/api/app.py``). A plain lock wakes waiters in
no particular order, so a tenant that sends many heavy questions holds the queue and every other tenant waits
behind all of them. :class:`FairLock` serves the waiting tenants in turn (round robin), and each tenant's
requests in the order they came.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager


class FairLock:
    """A lock whose waiters are served tenant by tenant in turn, first come first served within a tenant."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._busy = False
        self._waiting: dict[str, deque[object]] = {}
        self._turns: deque[str] = deque()
        """Tenants with someone waiting, in the order they get the lock next."""

    @contextmanager
    def hold(self, tenant: str) -> Iterator[None]:
        """Hold the lock for one request of ``tenant``."""
        ticket = object()
        with self._changed:
            queue = self._waiting.setdefault(tenant, deque())
            if not queue:
                self._turns.append(tenant)
            queue.append(ticket)
            while self._busy or self._waiting[self._turns[0]][0] is not ticket:
                self._changed.wait()
            self._busy = True
            queue.popleft()
            self._turns.popleft()
            if queue:
                self._turns.append(tenant)  # its next request waits for every other tenant's turn
            else:
                del self._waiting[tenant]
        try:
            yield
        finally:
            with self._changed:
                self._busy = False
                self._changed.notify_all()

    def waiting(self) -> int:
        """Requests waiting for the lock."""
        with self._changed:
            return sum(len(queue) for queue in self._waiting.values())
