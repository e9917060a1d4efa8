"""The public surface under abuse, over a live API (uvicorn on loopback, real store and index): oversized and
chunked bodies, spoofed proxy headers, naive datetimes, odd paths."""

from __future__ import annotations

import socket
import threading
import time
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
import psutil
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from evals.canary import arm_counts
from feedback.records import FeedbackIn
from tests.ui.conftest import LiveApi, on_loopback
from ui.api.app import create_app
from ui.api.recorder import KeyCache, StoreRecorder
from ui.api.settings import ApiSettings

MB = 1024 * 1024


class _PeakRss:
    """Samples this process's RSS every few milliseconds (the server runs in a thread of this process)."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.start = self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self) -> _PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def _chunked_post(base_url: str, path: str, total: int, chunk: int = 64 * 1024) -> tuple[bytes, int]:
    """POSTs up to ``total`` bytes as a chunked body over a raw socket, no credentials, reading the reply
    while sending, and stops sending once the reply has come; returns (the reply's bytes, bytes sent)."""
    where = urlsplit(base_url)
    sock = socket.create_connection((where.hostname, where.port), timeout=30)
    reply = bytearray()
    done = threading.Event()

    def read() -> None:
        try:
            while data := sock.recv(65536):
                reply.extend(data)
        except OSError:
            pass
        done.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    head = f"POST {path} HTTP/1.1\r\nHost: {where.netloc}\r\nContent-Type: application/json\r\n"
    sock.sendall((head + "Transfer-Encoding: chunked\r\n\r\n").encode())
    piece = f"{chunk:x}\r\n".encode() + b"9" * chunk + b"\r\n"
    sent = 0
    try:
        while sent < total and not reply and not done.is_set():
            sock.sendall(piece)
            sent += chunk
        if sent >= total:
            sock.sendall(b"0\r\n\r\n")
    except OSError:  # the server closed the connection: the reply (if any) is in
        pass
    done.wait(30)
    sock.close()
    return bytes(reply), sent


def test_chunked_body_over_the_limit_is_refused_before_auth_without_reading_it(live_api: LiveApi) -> None:
    """A 50 MB chunked body without any key gets 413 (not 401 after reading it all), the server stops reading
    it, and the server's memory does not grow by more than 20 MB."""
    limit = live_api.settings.api.max_body_bytes
    with _PeakRss() as rss:
        reply, sent = _chunked_post(live_api.base_url, "/v1/answer", 50 * MB)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert b"request body over" in reply and b"x-request-id" in reply.lower()
    # The socket buffers on both sides hold a few MB; the rest of the 50 MB is never sent.
    assert sent < 20 * MB, f"the client could send {sent / MB:.1f} MB before the server refused"
    assert rss.peak - rss.start < 20 * MB, f"server RSS grew by {(rss.peak - rss.start) / MB:.1f} MB"
    # A chunked body under the limit still reaches the route (which then asks for credentials).
    small, _ = _chunked_post(live_api.base_url, "/v1/answer", limit // 2, chunk=1024)
    assert small.startswith(b"HTTP/1.1 4") and not small.startswith(b"HTTP/1.1 413"), small[:200]


def test_declared_content_length_over_the_limit_is_refused_without_a_key(live_api: LiveApi) -> None:
    """A Content-Length over the limit is refused before any byte of the body is read, without credentials."""
    where = urlsplit(live_api.base_url)
    with socket.create_connection((where.hostname, where.port), timeout=10) as sock:
        sock.sendall(
            f"POST /v1/feedback HTTP/1.1\r\nHost: {where.netloc}\r\nContent-Length: {50 * MB}\r\n"
            "Content-Type: application/json\r\n\r\n".encode()
        )
        started = time.monotonic()
        reply = sock.recv(65536)
    assert reply.startswith(b"HTTP/1.1 413") and time.monotonic() - started < 5, reply[:200]


def _app(live_api: LiveApi, **api: object) -> tuple[FastAPI, ApiSettings]:
    """Another API app over the live one's service and store, with its own settings (limits start full)."""
    settings = ApiSettings(**api)  # type: ignore[arg-type]
    recorder = StoreRecorder(live_api.store, live_api.served.writer)
    return create_app(live_api.served.app.state.service, recorder, KeyCache(live_api.store), settings), settings


def _list(url: str, key: str, forwarded_for: str) -> int:
    headers = {"X-API-Key": key, "X-Forwarded-For": forwarded_for}
    return httpx.get(f"{url}/v1/interactions", headers=headers, timeout=30).status_code


def test_spoofed_forwarded_for_does_not_escape_the_client_limit(live_api: LiveApi) -> None:
    """By default no proxy is trusted: 15 requests from one loopback client, each claiming another address in
    X-Forwarded-For, share that client's budget of 5 and get 429 once it is spent."""
    app, settings = _app(live_api, rate_limit_per_key=1000, rate_limit_per_client=5)
    with on_loopback(app, settings) as url:
        codes = [_list(url, live_api.keys["analyst"], f"203.0.113.{i}") for i in range(15)]
    assert codes == [200] * 5 + [429] * 10


def test_forwarded_for_is_believed_only_from_the_configured_proxies(live_api: LiveApi) -> None:
    """Behind a trusted proxy (here loopback) each forwarded client has its own budget; a proxy must be named."""
    app, settings = _app(
        live_api,
        rate_limit_per_key=1000,
        rate_limit_per_client=2,
        trust_proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
    )
    with on_loopback(app, settings) as url:
        key = live_api.keys["analyst"]
        assert [_list(url, key, f"198.51.100.{i}") for i in range(6)] == [200] * 6
        assert [_list(url, key, "198.51.100.77") for _ in range(3)] == [200, 200, 429]
    with pytest.raises(ValidationError, match="DESKPILOT_FORWARDED_ALLOW_IPS"):
        ApiSettings(trust_proxy_headers=True)


def test_connections_with_unfinished_headers_are_closed(live_api: LiveApi) -> None:
    """A client that never finishes its request's headers is cut off after the header timeout, on a fresh
    connection and on a kept-alive one after a first response."""
    app, settings = _app(live_api, header_timeout_s=1.0, keep_alive_timeout_s=30)
    with on_loopback(app, settings) as url:
        where = urlsplit(url)
        for warm in (False, True):
            with socket.create_connection((where.hostname, where.port), timeout=10) as sock:
                if warm:
                    sock.sendall(f"GET /healthz HTTP/1.1\r\nHost: {where.netloc}\r\n\r\n".encode())
                    first = b""
                    while not first.endswith(b'{"status":"ok"}'):
                        first += sock.recv(65536)
                    assert first.startswith(b"HTTP/1.1 200")
                started = time.monotonic()
                sock.sendall(f"GET /healthz HTTP/1.1\r\nHost: {where.netloc}\r\nX-Slow: ".encode())
                assert sock.recv(65536) == b"", "the server answered instead of closing"
                assert time.monotonic() - started < 5


def test_naive_datetimes_are_read_as_utc(live_api: LiveApi) -> None:
    """A date or a datetime without a timezone in ``since``/``until`` is UTC, not a 500."""
    key = {"X-API-Key": live_api.keys["analyst"]}
    httpx.post(
        f"{live_api.base_url}/v1/answer",
        json={"question": "How do I reset my password?"},
        headers={"X-API-Key": live_api.keys["admin"]},
        timeout=60,
    ).raise_for_status()
    url = f"{live_api.base_url}/v1/interactions"
    naive = httpx.get(url, params={"since": "2020-01-01", "until": "2999-01-01T00:00:00"}, headers=key, timeout=30)
    aware = httpx.get(url, params={"since": "2020-01-01T00:00:00Z", "until": "2999-01-01T00:00:00+00:00"}, headers=key)
    assert naive.status_code == 200, naive.text
    assert naive.json()["total"] == aware.json()["total"] > 0
    future = httpx.get(url, params={"since": "2999-01-01"}, headers=key, timeout=30)
    assert future.status_code == 200 and future.json()["total"] == 0


def test_odd_widget_file_names_are_404_without_credentials(live_api: LiveApi) -> None:
    """A NUL byte, a traversal or an empty-looking name under /widget/ is a plain 404, never a 500."""
    for name in ("%00", "a%00.js", "..%2fapp.py", "%2e%2e", ".env", "deskpilot-widget.js%00.png"):
        response = httpx.get(f"{live_api.base_url}/widget/{name}", timeout=10)
        assert response.status_code == 404, (name, response.status_code, response.text)
    assert httpx.get(f"{live_api.base_url}/widget/deskpilot-widget.js", timeout=10).status_code == 200


def test_oidc_needs_an_issuer_and_an_audience() -> None:
    """OIDC on (a JWKS configured) without an issuer or an audience refuses to start, naming what is missing."""
    with pytest.raises(ValidationError, match="DESKPILOT_OIDC_ISSUER and DESKPILOT_OIDC_AUDIENCE"):
        ApiSettings(oidc_jwks_url="https://idp.example/jwks")
    with pytest.raises(ValidationError, match="DESKPILOT_OIDC_AUDIENCE is not set"):
        ApiSettings(oidc_jwks_file="/etc/jwks.json", oidc_issuer="https://idp.example")
    assert not ApiSettings().oidc_enabled()


def _escalation_series(base_url: str) -> set[str]:
    text = httpx.get(f"{base_url}/metrics", timeout=10).text
    return {line.rsplit(" ", 1)[0] for line in text.splitlines() if line.startswith("deskpilot_escalations_total{")}


def test_unknown_escalation_queues_are_422_and_add_no_metric_series(live_api: LiveApi) -> None:
    """60 made-up queues from a public widget key: each a 422 naming the tenant's queues, no row, no series."""
    key = live_api.keys["widget"]
    before, rows = _escalation_series(live_api.base_url), live_api.count("escalation", "ledgerly")
    for i in range(60):
        response = httpx.post(
            f"{live_api.base_url}/v1/escalations",
            json={"reason": "help", "queue": f"made-up-{i}"},
            headers={"X-API-Key": key},
            timeout=30,
        )
        assert response.status_code == 422 and "DESKPILOT_ESCALATION_QUEUES" in response.json()["detail"]
    assert _escalation_series(live_api.base_url) == before
    assert live_api.count("escalation", "ledgerly") == rows
    ok = httpx.post(
        f"{live_api.base_url}/v1/escalations",
        json={"reason": "help", "queue": "support"},
        headers={"X-API-Key": key},
        timeout=30,
    )
    assert ok.status_code == 202 and 'deskpilot_escalations_total{queue="support"}' in _escalation_series(
        live_api.base_url
    )


def test_escalation_queues_are_per_tenant() -> None:
    """A tenant with its own list gets only those; the others get the "*" list."""
    settings = ApiSettings(escalation_queues={"ledgerly": ["vip"], "*": ["support"]})
    assert settings.queues_of("ledgerly") == ["vip"] and settings.queues_of("parcelpoint") == ["support"]


def test_one_vote_per_interaction_and_reviewer(live_api: LiveApi) -> None:
    """14 votes from one widget key on one answer count once, as the latest; the rollout gate's counts too. A
    late replay of an older vote changes nothing."""
    key = live_api.keys["widget"]
    answer = httpx.post(
        f"{live_api.base_url}/v1/answer",
        json={"question": "How do I change my plan?"},
        headers={"X-API-Key": key},
        timeout=60,
    )
    iid = answer.json()["interaction_id"]
    stored = live_api.store.get_interaction(iid, "ledgerly")
    assert stored is not None
    votes_before = live_api.count("feedback", "ledgerly")
    arm_before = arm_counts(live_api.store.engine, [stored.variant], tenants=["ledgerly"])[stored.variant]
    for i in range(14):
        thumbs = "down" if i % 2 == 0 else "up"
        body = {"interaction_id": iid, "thumbs": thumbs, "comment": f"vote {i}"}
        response = httpx.post(f"{live_api.base_url}/v1/feedback", json=body, headers={"X-API-Key": key}, timeout=30)
        assert response.status_code == 202, response.text
    votes = live_api.store.list_feedback("ledgerly", interaction_id=iid).items
    assert [(v.thumbs, v.comment) for v in votes] == [("up", "vote 13")]
    assert live_api.count("feedback", "ledgerly") == votes_before + 1
    arm = arm_counts(live_api.store.engine, [stored.variant], tenants=["ledgerly"])[stored.variant]
    assert (arm.votes, arm.up) == (arm_before.votes + 1, arm_before.up + 1)
    late = FeedbackIn(
        tenant="ledgerly",
        interaction_id=iid,
        thumbs="down",
        reviewer=votes[0].reviewer,
        created_at=votes[0].created_at - timedelta(minutes=5),
    )
    assert not live_api.store.record_feedback(late).created
    assert [v.comment for v in live_api.store.list_feedback("ledgerly", interaction_id=iid).items] == ["vote 13"]
