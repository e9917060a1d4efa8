"""The answer lock serves waiting tenants in turn: a tenant with a queue of requests does not keep another
tenant waiting behind all of them."""

from __future__ import annotations

import threading
import time

from ui.api.fairlock import FairLock


def test_waiting_tenants_take_turns_and_each_tenant_keeps_its_order() -> None:
    lock = FairLock()
    order: list[str] = []
    release = threading.Event()

    def holder() -> None:
        with lock.hold("busy"):
            release.wait(10)

    def request(tenant: str, name: str) -> None:
        with lock.hold(tenant):
            order.append(name)

    first = threading.Thread(target=holder)
    first.start()
    time.sleep(0.05)
    threads = []
    for name in ("busy-1", "busy-2", "busy-3", "busy-4"):  # a burst from one tenant queues first ...
        threads.append(threading.Thread(target=request, args=("busy", name)))
        threads[-1].start()
        while lock.waiting() < len(threads):
            time.sleep(0.005)
    threads.append(threading.Thread(target=request, args=("quiet", "quiet-1")))  # ... then one from another
    threads[-1].start()
    while lock.waiting() < len(threads):
        time.sleep(0.005)
    release.set()
    for thread in (first, *threads):
        thread.join(10)
    # The other tenant's one request waits behind one of the burst, not all four; the burst keeps its order.
    assert order == ["busy-1", "quiet-1", "busy-2", "busy-3", "busy-4"], order
    assert lock.waiting() == 0


def test_a_plain_queue_without_other_tenants_is_first_come_first_served() -> None:
    lock = FairLock()
    order: list[int] = []
    gate = threading.Event()

    def holder() -> None:
        with lock.hold("t"):
            gate.wait(10)

    first = threading.Thread(target=holder)
    first.start()
    time.sleep(0.05)
    threads = []
    for n in range(5):
        threads.append(threading.Thread(target=lambda n=n: _append(lock, order, n)))
        threads[-1].start()
        while lock.waiting() < n + 1:
            time.sleep(0.005)
    gate.set()
    for thread in (first, *threads):
        thread.join(10)
    assert order == [0, 1, 2, 3, 4]


def _append(lock: FairLock, order: list[int], n: int) -> None:
    with lock.hold("t"):
        order.append(n)
