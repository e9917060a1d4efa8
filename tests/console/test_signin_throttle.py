"""Console sign-in limits: exponential backoff per client address, a short capped one per username."""

from __future__ import annotations

import time

import pytest

from ui.api.roles import Role
from ui.console.auth import LoginRefused, authenticate, hash_password
from ui.console.settings import ConsoleSettings, ConsoleUser
from ui.console.throttle import FREE_FAILURES, SignInThrottle

PASSWORD = "correct horse battery"


def _settings(user_cap_s: float, client_cap_s: float = 900.0) -> ConsoleSettings:
    user = ConsoleUser(role=Role.agent, tenant="ledgerly", password_hash=hash_password(PASSWORD))
    return ConsoleSettings(
        console_users={"zoe": user, "max": user},
        console_signin_user_backoff_max_s=user_cap_s,
        console_signin_client_backoff_max_s=client_cap_s,
    )


def _flood(settings: ConsoleSettings, client: str, username: str, seconds: float) -> tuple[int, int]:
    """Wrong passwords from ``client`` for ``seconds``; returns (refused as wrong, refused as throttled)."""
    wrong = throttled = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with pytest.raises(LoginRefused) as refused:
            authenticate(settings, username, "guess", client)
        if "too many" in str(refused.value):
            throttled += 1
            time.sleep(0.01)
        else:
            wrong += 1
    return wrong, throttled


def test_a_user_flooded_from_one_client_signs_in_from_another_after_the_short_backoff() -> None:
    """Client A floods zoe with wrong passwords for 3 s: A is stopped by its own backoff, zoe is only slowed
    (at most the 1.5 s username cap), and zoe's right password from client B works once that has passed."""
    settings = _settings(user_cap_s=1.5)
    wrong, throttled = _flood(settings, "198.51.100.7", "zoe", 3.0)
    assert throttled > 0 and wrong <= FREE_FAILURES + 2, (wrong, throttled)
    time.sleep(1.6)
    identity = authenticate(settings, "zoe", PASSWORD, "203.0.113.9")
    assert identity.username == "zoe"


def test_a_client_guessing_across_usernames_is_held_back_by_its_own_limit() -> None:
    """Failures spread over many usernames still count against the client: after five it must wait, while
    another client signs in at once."""
    settings = _settings(user_cap_s=30.0)
    for i in range(FREE_FAILURES):
        with pytest.raises(LoginRefused, match="wrong password"):
            authenticate(settings, f"user{i}", "guess", "198.51.100.8")
    with pytest.raises(LoginRefused, match="too many"):
        authenticate(settings, "max", PASSWORD, "198.51.100.8")
    assert authenticate(settings, "max", PASSWORD, "203.0.113.10").username == "max"


def test_the_client_backoff_doubles_up_to_its_cap_and_the_user_backoff_stays_short() -> None:
    """With a settable clock: 1, 2, 4 ... s per further failure from one client, capped; the username's wait
    never passes its cap, however many clients fail it; a success starts both over."""
    now = [0.0]
    throttle = SignInThrottle(client_backoff_max_s=60.0, user_backoff_max_s=5.0, clock=lambda: now[0])
    waits: list[float] = []
    for _ in range(FREE_FAILURES + 8):
        assert throttle.wait("a", "zoe") == 0.0 or waits
        throttle.failed("a", "zoe")
        waits.append(throttle.wait("a", "nobody"))
        now[0] += waits[-1]  # the client waits out its backoff each time
    assert waits[: FREE_FAILURES - 1] == [0.0] * (FREE_FAILURES - 1)
    assert waits[FREE_FAILURES - 1 :] == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0]
    for client in range(50):
        throttle.failed(f"c{client}", "zoe")
    assert throttle.wait("fresh", "zoe") == 5.0
    throttle.succeeded("fresh", "zoe")
    assert throttle.wait("fresh", "zoe") == 0.0
