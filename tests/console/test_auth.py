"""Signing in: hashed local passwords, OIDC claims, and roles that may not open the console."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.console.support import PASSWORD, TIMEOUT, Console, login
from ui.api.roles import Role
from ui.api.settings import ApiSettings
from ui.console import ENTRY
from ui.console.auth import (
    SESSION_KEY,
    Identity,
    LoginRefused,
    authenticate,
    hash_password,
    identity_from_claims,
    verify_password,
)
from ui.console.settings import DEMO_PASSWORD, DEMO_USERS, ConsoleSettings

PAGES = ENTRY.parent / "pages"


def test_passwords_are_salted_scrypt_hashes() -> None:
    first, second = hash_password("s3cret-pass"), hash_password("s3cret-pass")
    assert first != second, "each hash has its own salt"
    assert first.startswith("scrypt$16384$8$1$") and "s3cret" not in first
    assert verify_password("s3cret-pass", first) and verify_password("s3cret-pass", second)
    assert not verify_password("s3cret-pasS", first)
    assert not verify_password("s3cret-pass", "pbkdf2$1$x$y$z$w")
    assert not verify_password("s3cret-pass", "garbage")


def test_demo_users_sign_in_with_the_documented_password_only_when_no_users_are_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DESKPILOT_CONSOLE_USERS", raising=False)
    demo = ConsoleSettings()
    assert demo.demo_users_active()
    for name, user in DEMO_USERS.items():
        identity = authenticate(demo, name, DEMO_PASSWORD)
        assert (identity.role, identity.tenant) == (user.role, user.tenant)
    with pytest.raises(LoginRefused, match="wrong password"):
        authenticate(demo, "nora", "not-the-password")
    configured = ConsoleSettings(console_users={"zoe": DEMO_USERS["ava"]})
    assert not configured.demo_users_active()
    with pytest.raises(LoginRefused):
        authenticate(configured, "ava", DEMO_PASSWORD)
    off = ConsoleSettings(console_demo_users=False)
    with pytest.raises(LoginRefused):
        authenticate(off, "ava", DEMO_PASSWORD)


def test_oidc_claims_give_role_and_tenant_and_widget_claims_are_refused() -> None:
    api = ApiSettings()
    claims = {
        "sub": "u-1",
        "email": "ana@ledgerly.example",
        "deskpilot_role": "analyst",
        "deskpilot_tenant": "ledgerly",
    }
    identity = identity_from_claims(claims, api)
    assert (identity.role, identity.tenant, identity.via) == (Role.analyst, "ledgerly", "oidc")
    with pytest.raises(LoginRefused, match="widget role cannot open the console"):
        identity_from_claims({**claims, "deskpilot_role": "widget"}, api)
    with pytest.raises(LoginRefused, match="claims"):
        identity_from_claims({"sub": "u-2"}, api)
    with pytest.raises(LoginRefused, match="unknown role"):
        identity_from_claims({**claims, "deskpilot_role": "root"}, api)


def test_a_widget_role_cannot_open_the_console(console: Console) -> None:
    at = login("wendy")
    assert any("widget role cannot open the console" in e.value for e in at.error)
    assert SESSION_KEY not in at.session_state
    assert not at.radio, "no inbox is shown"
    assert at.button(key="login_submit"), "still on the sign-in page"


def test_a_wrong_password_is_refused(console: Console) -> None:
    at = login("sam", password=PASSWORD + "x")
    assert any("wrong password" in e.value for e in at.error)
    assert SESSION_KEY not in at.session_state


def test_pages_check_the_role_themselves(console: Console) -> None:
    analyst = Identity(username="lena", role=Role.analyst, tenant="ledgerly")
    for page, allowed in (("agent.py", False), ("admin.py", False), ("analyst.py", True)):
        at = AppTest.from_file(str(PAGES / page), default_timeout=TIMEOUT)
        at.session_state[SESSION_KEY] = analyst
        at.run()
        refused = any("analyst role cannot open this page" in e.value for e in at.error)
        assert refused is not allowed, page
    at = AppTest.from_file(str(PAGES / "agent.py"), default_timeout=TIMEOUT).run()
    assert any("Sign in first" in w.value for w in at.warning)


def test_each_role_gets_its_own_pages(console: Console) -> None:
    agent = login("ava")
    assert agent.radio(key="inbox_ticket") is not None
    assert not agent.metric
    analyst = login("lena")
    assert [m.label for m in analyst.metric][:2] == ["Answers", "Deflection rate"]
    assert analyst.selectbox(key="f_tenant").options == ["ledgerly"], "a tenant analyst sees only their tenant"
