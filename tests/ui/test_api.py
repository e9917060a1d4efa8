"""The HTTP API over real components: the sample index, the answer service, a SQLite feedback store, uvicorn."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from tests.ui.conftest import ALLOWED_ORIGIN, ROLES, LiveApi
from ui.api.app import create_app
from ui.api.recorder import KeyCache, StoreRecorder
from ui.api.roles import MATRIX, Action, Role
from ui.api.settings import ApiSettings

QUESTION = "How long does the password reset link stay valid?"


def _post(api: LiveApi, path: str, key: str, body: dict[str, Any], **headers: str) -> httpx.Response:
    return httpx.post(f"{api.base_url}{path}", json=body, headers={"X-API-Key": key, **headers}, timeout=60)


@pytest.fixture(scope="module")
def ledgerly_interaction(live_api: LiveApi) -> str:
    """An interaction of tenant ledgerly (answered for its admin)."""
    response = _post(live_api, "/v1/answer", live_api.keys["admin"], {"question": QUESTION})
    assert response.status_code == 200, response.text
    return str(response.json()["interaction_id"])


@pytest.fixture(scope="module")
def ledgerly_escalation(live_api: LiveApi, ledgerly_interaction: str) -> str:
    """An escalation of tenant ledgerly (made by its widget)."""
    body = {"interaction_id": ledgerly_interaction, "reason": "customer asked", "contact": "c@example.org"}
    response = _post(live_api, "/v1/escalations", live_api.keys["widget"], body)
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def _call(api: LiveApi, action: Action, key: str, interaction_id: str, escalation_id: str = "") -> httpx.Response:
    if action is Action.answer:
        return _post(api, "/v1/answer", key, {"question": QUESTION})
    if action is Action.feedback:
        return _post(api, "/v1/feedback", key, {"interaction_id": interaction_id, "thumbs": "up"})
    if action is Action.edit:
        return _post(api, "/v1/edits", key, {"interaction_id": interaction_id, "draft": "a", "sent": "b"})
    if action is Action.escalate:
        return _post(api, "/v1/escalations", key, {"interaction_id": interaction_id, "reason": "needs a person"})
    if action is Action.read_escalations:
        return httpx.get(f"{api.base_url}/v1/escalations", headers={"X-API-Key": key}, timeout=30)
    if action is Action.update_escalations:
        return httpx.patch(
            f"{api.base_url}/v1/escalations/{escalation_id}",
            json={"assignee": "someone"},
            headers={"X-API-Key": key},
            timeout=30,
        )
    return httpx.get(f"{api.base_url}/v1/interactions", headers={"X-API-Key": key}, timeout=30)


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("role", ROLES)
def test_role_matrix_and_tenant_isolation(
    live_api: LiveApi, ledgerly_interaction: str, ledgerly_escalation: str, role: str, action: Action
) -> None:
    """Every endpoint x every role x own/other tenant: allowed roles succeed on their own tenant's data and
    get 404 for another tenant's interaction; other roles get 403; a listing never shows another tenant."""
    allowed = Role(role) in MATRIX[action]
    own = _call(live_api, action, live_api.keys[role], ledgerly_interaction, ledgerly_escalation)
    other = _call(live_api, action, live_api.other[role], ledgerly_interaction, ledgerly_escalation)
    assert own.headers.get("x-request-id")
    if not allowed:
        assert own.status_code == 403 and other.status_code == 403, (own.text, other.text)
        return
    assert own.status_code in (200, 202), own.text
    if action in (Action.feedback, Action.edit, Action.escalate, Action.update_escalations):
        assert other.status_code == 404, other.text  # parcelpoint cannot touch ledgerly's interaction
    elif action is Action.read_escalations:
        assert ledgerly_escalation not in {item["id"] for item in other.json()["items"]}
        assert ledgerly_escalation in {item["id"] for item in own.json()["items"]}
    elif action is Action.read_interactions:
        ids = {item["id"] for item in other.json()["items"]}
        assert ledgerly_interaction not in ids
        assert ledgerly_interaction in {item["id"] for item in own.json()["items"]}
    else:
        assert other.status_code == 200
        assert {c["doc_id"].split("/")[0] for c in other.json()["citations"]} <= {"parcelpoint"}


def test_credentials_are_required_and_checked(live_api: LiveApi) -> None:
    """No key: 401; an unknown or revoked key: 401; errors are JSON with the request id, never a traceback."""
    assert httpx.post(f"{live_api.base_url}/v1/answer", json={"question": QUESTION}).status_code == 401
    bad = _post(live_api, "/v1/answer", "dp_0000_nope", {"question": QUESTION})
    assert bad.status_code == 401 and bad.json()["request_id"] == bad.headers["x-request-id"]
    key_id, key = live_api.store.create_api_key("ledgerly", "agent", "short-lived")
    assert _post(live_api, "/v1/answer", key, {"question": QUESTION}).status_code == 200
    live_api.store.revoke_api_key(key_id)
    fresh = TestClient(
        create_app(
            live_api.served.app.state.service,
            StoreRecorder(live_api.store, live_api.served.writer),
            KeyCache(live_api.store),
            ApiSettings(),
        )
    )
    assert fresh.post("/v1/answer", json={"question": QUESTION}, headers={"X-API-Key": key}).status_code == 401
    assert (
        httpx.post(
            f"{live_api.base_url}/v1/answer", json={"question": QUESTION}, headers={"Authorization": "Basic x"}
        ).status_code
        == 401
    )


def test_input_limits_give_clear_4xx(live_api: LiveApi, ledgerly_interaction: str) -> None:
    """Too long a question, too big a body, an unknown reason code, a malformed id: 4xx naming the field."""
    key = live_api.keys["agent"]
    long = _post(live_api, "/v1/answer", key, {"question": "x" * 5000})
    assert long.status_code == 422 and "question" in long.json()["detail"]
    big = httpx.post(
        f"{live_api.base_url}/v1/answer",
        content=json.dumps({"question": "y" * 200_000}),
        headers={"X-API-Key": key, "Content-Type": "application/json"},
    )
    assert big.status_code == 413
    reason = _post(
        live_api, "/v1/feedback", key, {"interaction_id": ledgerly_interaction, "thumbs": "down", "reasons": ["meh"]}
    )
    assert reason.status_code == 422 and "reasons" in reason.json()["detail"]
    malformed = _post(live_api, "/v1/feedback", key, {"interaction_id": "42", "thumbs": "up"})
    assert malformed.status_code == 422 and "interaction_id" in malformed.json()["detail"]


def test_widget_keys_are_public_safe(live_api: LiveApi, ledgerly_interaction: str) -> None:
    """A widget key answers only on the widget channel with the extractive generator, and its votes and
    escalations land in the store."""
    key = live_api.keys["widget"]
    before = live_api.count("escalation", "ledgerly"), live_api.count("feedback", "ledgerly")
    answer = _post(live_api, "/v1/answer", key, {"question": QUESTION, "channel": "agent", "generator": "llm"})
    assert answer.status_code == 200 and not answer.json()["answer"].startswith("Hi,")  # widget phrasing, no draft
    iid = answer.json()["interaction_id"]
    assert (
        _post(
            live_api, "/v1/feedback", key, {"interaction_id": iid, "thumbs": "down", "reasons": ["missing_info"]}
        ).status_code
        == 202
    )
    assert (
        _post(live_api, "/v1/escalations", key, {"interaction_id": iid, "reason": "customer asked"}).status_code == 202
    )
    assert (live_api.count("escalation", "ledgerly"), live_api.count("feedback", "ledgerly")) == (
        before[0] + 1,
        before[1] + 1,
    )
    stored = live_api.store.get_interaction(iid, "ledgerly")
    assert stored is not None and stored.channel == "widget" and stored.generator == "extractive"


def test_cors_allowlist_per_tenant(live_api: LiveApi) -> None:
    """A preflight from an allowed origin gets CORS headers; other origins are refused, also on the request."""
    ok = httpx.options(
        f"{live_api.base_url}/v1/answer",
        headers={"Origin": ALLOWED_ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    assert ok.status_code == 204 and ok.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    evil = httpx.options(
        f"{live_api.base_url}/v1/answer",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert evil.status_code == 403 and "access-control-allow-origin" not in evil.headers
    allowed = _post(live_api, "/v1/answer", live_api.keys["widget"], {"question": QUESTION}, Origin=ALLOWED_ORIGIN)
    assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    refused = _post(live_api, "/v1/answer", live_api.other["widget"], {"question": QUESTION}, Origin=ALLOWED_ORIGIN)
    assert refused.status_code == 403, "ledgerly's help center may not use parcelpoint's widget key"


def test_rate_limits_per_key_and_per_client(live_api: LiveApi) -> None:
    """Over the per-key (or per-address) budget: 429 with Retry-After; another key is unaffected."""
    service = live_api.served.app.state.service
    recorder = StoreRecorder(live_api.store, live_api.served.writer)
    app = create_app(
        service, recorder, KeyCache(live_api.store), ApiSettings(rate_limit_per_key=3, rate_limit_per_client=5)
    )
    client = TestClient(app)
    codes = [
        client.get("/v1/interactions", headers={"X-API-Key": live_api.keys["analyst"]}).status_code for _ in range(4)
    ]
    assert codes == [200, 200, 200, 429]
    limited = client.get("/v1/interactions", headers={"X-API-Key": live_api.keys["analyst"]})
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    admin = [
        client.get("/v1/interactions", headers={"X-API-Key": live_api.keys["admin"]}).status_code for _ in range(3)
    ]
    assert admin == [200, 200, 429], "another key works until the client address has used its 5 requests"


def test_oidc_bearer_tokens_for_staff(live_api: LiveApi, tmp_path: Any) -> None:
    """JWTs signed by the configured JWKS: a staff role works, a widget role or a bad/expired token does not."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}))
    settings = ApiSettings(oidc_jwks_file=str(jwks), oidc_issuer="https://idp.example", oidc_audience="deskpilot")
    app = create_app(
        live_api.served.app.state.service,
        StoreRecorder(live_api.store, live_api.served.writer),
        KeyCache(live_api.store),
        settings,
    )
    client = TestClient(app)

    def token(role: str, **over: Any) -> str:
        claims = {
            "sub": "alice",
            "iss": "https://idp.example",
            "aud": "deskpilot",
            "exp": int(time.time()) + 300,
            "deskpilot_role": role,
            "deskpilot_tenant": "ledgerly",
            **over,
        }
        return jwt.encode(claims, private, algorithm="RS256", headers={"kid": "k1"})

    def get(tok: str) -> int:
        return client.get("/v1/interactions", headers={"Authorization": f"Bearer {tok}"}).status_code

    assert get(token("analyst")) == 200
    assert get(token("widget")) == 403
    assert get(token("analyst", exp=int(time.time()) - 10)) == 401
    assert get(token("analyst", aud="someone-else")) == 401
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(
        {"sub": "x", "exp": int(time.time()) + 60, "deskpilot_role": "admin"}, other, "RS256", {"kid": "k1"}
    )
    assert get(forged) == 401


def test_streaming_health_readiness_and_metrics(live_api: LiveApi) -> None:
    """Server-sent events end with the answer; health, readiness and Prometheus metrics are served."""
    with httpx.stream(
        "POST",
        f"{live_api.base_url}/v1/answer/stream",
        json={"question": "How do I turn on two-factor authentication?"},
        headers={"X-API-Key": live_api.keys["agent"]},
        timeout=60,
    ) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        events = [line.removeprefix("event: ").strip() for line in response.iter_lines() if line.startswith("event:")]
    assert events[-1] == "answer" and events.count("answer") == 1 and "sentence" in events
    assert httpx.get(f"{live_api.base_url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{live_api.base_url}/readyz").json()
    assert ready["ready"] and ready["index"] and ready["store"]
    metrics = httpx.get(f"{live_api.base_url}/metrics").text
    assert 'deskpilot_requests_total{route="/v1/answer/stream",status="200"}' in metrics
    assert "deskpilot_answer_stage_seconds_bucket" in metrics and "deskpilot_answers_total" in metrics


def test_demo_page_embeds_a_working_widget_key(live_api: LiveApi) -> None:
    """`deskpilot serve` serves a demo help-center page per tenant with a fresh widget key, and the script."""
    page = httpx.get(f"{live_api.base_url}/demo/ledgerly")
    assert page.status_code == 200 and "deskpilot-widget.js" in page.text
    key = live_api.served.demo_keys["ledgerly"]
    assert key in page.text
    assert httpx.get(f"{live_api.base_url}/widget/deskpilot-widget.js").status_code == 200
    assert httpx.get(f"{live_api.base_url}/widget/..%2Fapi%2Fapp.py").status_code == 404
    assert _post(live_api, "/v1/answer", key, {"question": QUESTION}).status_code == 200
