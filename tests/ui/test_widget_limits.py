"""Widget limits are per visitor, under a per-tenant ceiling: one visitor hammering a help center's public
widget key is refused while the other visitors of that help center still get answers. Live uvicorn; each
visitor is a real TCP client from its own loopback address (127.0.0.2, .3, ...), no proxy header involved."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import ExitStack

import httpx
import pytest
from pydantic import ValidationError

from tests.ui.conftest import LiveApi, on_loopback
from ui.api.app import create_app
from ui.api.ratelimit import Limiter, RateLimiter, request_cost
from ui.api.recorder import KeyCache, StoreRecorder
from ui.api.settings import ApiSettings

QUESTION = {"question": "How long does the password reset link stay valid?"}


def _visitor(n: int) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=f"127.0.0.{n}"), timeout=60)


@pytest.fixture
def limited(live_api: LiveApi) -> Iterator[str]:
    """An API over the live one's service and store where a widget visitor may make 4 requests a minute, the
    tenant's widget 12, and any key (the widget's too, before per-visitor limits) 4."""
    settings = ApiSettings(
        rate_limit_per_key=4,
        rate_limit_per_client=1000,
        rate_limit_widget_per_visitor=4,
        rate_limit_widget_per_tenant=12,
    )
    recorder = StoreRecorder(live_api.store, live_api.served.writer)
    app = create_app(live_api.served.app.state.service, recorder, KeyCache(live_api.store), settings)
    with on_loopback(app, settings) as url:
        yield url


def _ask(client: httpx.Client, url: str, key: str) -> int:
    return client.post(f"{url}/v1/answer", json=QUESTION, headers={"X-API-Key": key}).status_code


def test_one_visitor_hammering_the_widget_key_leaves_the_others_answered(live_api: LiveApi, limited: str) -> None:
    """Visitor 2 sends 10 questions: 4 answered, then 429. Visitors 3 and 4, same widget key, are answered."""
    key = live_api.keys["widget"]
    with _visitor(2) as hammer, _visitor(3) as second, _visitor(4) as third:
        assert [_ask(hammer, limited, key) for _ in range(10)] == [200] * 4 + [429] * 6
        assert [_ask(second, limited, key) for _ in range(2)] == [200, 200]
        assert [_ask(third, limited, key) for _ in range(2)] == [200, 200]
        assert _ask(hammer, limited, key) == 429


def test_the_tenant_ceiling_holds_however_many_visitors(live_api: LiveApi, limited: str) -> None:
    """Three visitors spending 4 each reach the tenant's 12; a fourth visitor is refused too. Staff keys of the
    tenant and the widget of another tenant are not limited by it."""
    key = live_api.keys["widget"]
    for n in (5, 6, 7):
        with _visitor(n) as visitor:
            assert [_ask(visitor, limited, key) for _ in range(4)] == [200] * 4
    with _visitor(8) as late:
        assert _ask(late, limited, key) == 429
        assert _ask(late, limited, live_api.keys["agent"]) == 200
        assert _ask(late, limited, live_api.other["widget"]) == 200


@pytest.fixture
def replicas(live_api: LiveApi, redis_url: str) -> Iterator[list[str]]:
    """Two API replicas with the limits above, sharing Redis under a prefix of their own."""
    settings = ApiSettings(
        rate_limit_per_key=4,
        rate_limit_per_client=1000,
        rate_limit_widget_per_visitor=4,
        rate_limit_widget_per_tenant=12,
        redis_url=redis_url,
        redis_prefix=f"test-{uuid.uuid4().hex}",
    )
    with ExitStack() as stack:
        urls = []
        for _ in range(2):
            recorder = StoreRecorder(live_api.store, live_api.served.writer)
            app = create_app(live_api.served.app.state.service, recorder, KeyCache(live_api.store), settings)
            urls.append(stack.enter_context(on_loopback(app, settings)))
        yield urls


def test_replicas_sharing_redis_share_the_widget_limits(live_api: LiveApi, replicas: list[str]) -> None:
    """A visitor alternating between two replicas gets 4 answers in all, not 4 from each; another visitor is
    still answered by both; and the tenant's ceiling of 12 is reached across replicas too."""
    key = live_api.keys["widget"]
    with _visitor(9) as hammer, _visitor(10) as other:
        assert [_ask(hammer, replicas[i % 2], key) for i in range(8)] == [200] * 4 + [429] * 4
        assert [_ask(other, url, key) for url in replicas] == [200, 200]
    for n, url in ((11, replicas[0]), (12, replicas[1])):  # 6 spent so far; two more visitors spend 6
        with _visitor(n) as visitor:
            assert [_ask(visitor, url, key) for _ in range(3)] == [200] * 3
    with _visitor(13) as late:
        assert [_ask(late, url, key) for url in replicas] == [429, 429]


def test_the_tenant_ceiling_must_be_well_above_one_visitor() -> None:
    with pytest.raises(ValidationError, match="DESKPILOT_RATE_LIMIT_WIDGET_PER_TENANT=30 must be at least twice"):
        ApiSettings(rate_limit_widget_per_visitor=20, rate_limit_widget_per_tenant=30)


def test_a_replica_that_cannot_reach_redis_still_limits_in_its_own_memory() -> None:
    """Nothing listens on port 1: each take falls back to the replica's own buckets, which still refuse."""
    from ui.api.redislimit import RedisRateLimiter

    buckets = RedisRateLimiter("redis://127.0.0.1:1/0", "test", "visitor", per_minute=2)
    waits = [buckets.take("v:key:127.0.0.2") for _ in range(3)]
    assert waits[:2] == [0.0, 0.0] and waits[2] > 0


def test_long_questions_cost_more_of_a_visitors_limit(live_api: LiveApi, limited: str) -> None:
    """A visitor may make 4 short requests a minute; a question of about 950 characters (a body just under
    1,000 bytes: almost two tokens at 500 bytes each) takes almost two of them, so a third one is refused."""
    key = live_api.keys["widget"]
    long_question = {"question": "How long does the password reset link stay valid? " + "I tried it twice. " * 50}
    assert 1.5 < request_cost(len(json.dumps(long_question)), 500) < 2.0
    with _visitor(20) as visitor:
        statuses = [
            visitor.post(f"{limited}/v1/answer", json=long_question, headers={"X-API-Key": key}).status_code
            for _ in range(3)
        ]
    assert statuses == [200, 200, 429], statuses


def test_request_cost_grows_with_the_body_past_one_token() -> None:
    assert request_cost(120, 500) == 1.0 and request_cost(500, 500) == 1.0
    assert request_cost(2000, 500) == 4.0


@pytest.mark.parametrize("shared", [False, True], ids=["memory", "redis"])
def test_a_costly_request_takes_its_cost_from_the_bucket(shared: bool) -> None:
    """A bucket of 4: a request of cost 3 leaves room for one short request, not two; a cost above the bucket's
    size counts as the whole bucket, so it can still go through once the bucket is full again."""
    from ui.api.redislimit import RedisRateLimiter

    bucket = f"v:key:{uuid.uuid4().hex}"
    limits: Limiter = (
        RedisRateLimiter("redis://127.0.0.1:6379/0", f"test-{uuid.uuid4().hex}", "visitor", per_minute=4)
        if shared
        else RateLimiter(4)
    )
    assert [limits.take(bucket, 3.0), limits.take(bucket), limits.take(bucket) > 0] == [0.0, 0.0, True]
    assert limits.take(f"{bucket}:fresh", 50.0) == 0.0
