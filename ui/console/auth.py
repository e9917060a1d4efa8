"""Console sign-in: local users with salted scrypt password hashes, or Streamlit's OIDC login when configured.

With an ``[auth]`` section in ``.streamlit/secrets.toml`` (next to ``ui/console/app.py`` or in the working
directory) the console offers ``st.login``; the role and tenant then come from the identity's claims
(``DESKPILOT_OIDC_ROLE_CLAIM`` / ``DESKPILOT_OIDC_TENANT_CLAIM``, as for the API). Widget credentials never
open the console: only the staff roles (agent, analyst, admin) do.

``python -m ui.console.auth`` prints the hash of a password for ``DESKPILOT_CONSOLE_USERS``.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import streamlit as st

from ui.api.roles import STAFF, Role
from ui.api.settings import ApiSettings
from ui.console.settings import ALL_TENANTS, ConsoleSettings
from ui.console.throttle import SignInThrottle

SESSION_KEY = "console_identity"
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
# Compared against when the user is unknown, so a miss costs as much as a wrong password.
_DUMMY_HASH = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="


@dataclass(frozen=True)
class Identity:
    """Who is signed in to the console."""

    username: str
    role: Role
    tenant: str
    """A tenant, or ``*`` for every tenant."""
    name: str = ""
    via: str = "password"
    """``password`` or ``oidc``."""

    @property
    def actor(self) -> str:
        """The pseudonymous actor recorded with votes, edits, escalations and audit events."""
        return f"console:{self.username}"

    @property
    def all_tenants(self) -> bool:
        """True when this user may see every tenant."""
        return self.tenant == ALL_TENANTS

    def tenants(self, known: Iterable[str]) -> list[str]:
        """The tenants this user may see, out of ``known``."""
        return sorted(set(known)) if self.all_tenants else [self.tenant]

    def may_see(self, tenant: str) -> bool:
        """Whether this user may see ``tenant``'s data."""
        return self.all_tenants or tenant == self.tenant


class LoginRefused(Exception):
    """Wrong credentials, a locked-out user, or a role that may not use the console."""


def hash_password(password: str, salt: bytes | None = None) -> str:
    """``scrypt$n$r$p$salt$hash`` of ``password`` with a random 16-byte salt (or the given one)."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, dklen=32, **_SCRYPT)
    n, r, p = _SCRYPT["n"], _SCRYPT["r"], _SCRYPT["p"]
    return f"scrypt${n}${r}${p}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, encoded: str) -> bool:
    """Whether ``password`` matches the ``scrypt$...`` hash; constant-time comparison."""
    try:
        scheme, n, r, p, salt_b64, hash_b64 = encoded.split("$")
        if scheme != "scrypt":
            return False
        salt, expected = base64.b64decode(salt_b64), base64.b64decode(hash_b64)
        digest = hashlib.scrypt(
            password.encode("utf-8"), salt=salt, n=int(n), r=int(r), p=int(p), dklen=len(expected) or 32
        )
    except ValueError:
        return False
    return hmac.compare_digest(digest, expected)


_throttles: dict[tuple[float, float], SignInThrottle] = {}
_throttles_lock = threading.Lock()


def throttle_of(settings: ConsoleSettings) -> SignInThrottle:
    """The process's sign-in throttle for these backoff settings (shared by every browser session)."""
    limits = (settings.console_signin_client_backoff_max_s, settings.console_signin_user_backoff_max_s)
    with _throttles_lock:
        if limits not in _throttles:
            _throttles[limits] = SignInThrottle(*limits)
        return _throttles[limits]


def staff_only(identity: Identity) -> Identity:
    """``identity`` if its role may use the console; LoginRefused otherwise (widget credentials never may)."""
    if identity.role not in STAFF:
        raise LoginRefused(
            f"the {identity.role.value} role cannot open the console; it is for agents, analysts and admins"
        )
    return identity


def authenticate(settings: ConsoleSettings, username: str, password: str, client: str = "local") -> Identity:
    """The identity of a local user whose password matches; LoginRefused otherwise, or while ``client`` (its
    address) or the username must wait after failed sign-ins (``ui/console/throttle.py``)."""
    username = username.strip()
    throttle = throttle_of(settings)
    wait = throttle.wait(client, username)
    if wait:
        raise LoginRefused(f"too many failed sign-ins; try again in {max(1, round(wait))} s")
    user = settings.users().get(username)
    ok = verify_password(password, user.password_hash if user else _DUMMY_HASH)
    if user is None or not ok:
        throttle.failed(client, username)
        raise LoginRefused("unknown user or wrong password")
    throttle.succeeded(client, username)
    return staff_only(Identity(username=username, role=user.role, tenant=user.tenant, name=user.name))


def identity_from_claims(claims: Mapping[str, Any], api: ApiSettings) -> Identity:
    """The identity named by OIDC claims (role and tenant claims as configured for the API); LoginRefused if unusable."""
    subject = str(claims.get("email") or claims.get("sub") or "")
    role_value, tenant = claims.get(api.oidc_role_claim), claims.get(api.oidc_tenant_claim)
    if not subject or not isinstance(role_value, str) or not isinstance(tenant, str) or not tenant:
        raise LoginRefused(
            f"your identity has no {api.oidc_role_claim!r} and {api.oidc_tenant_claim!r} claims; "
            "ask your identity provider's administrator to add them"
        )
    try:
        role = Role(role_value)
    except ValueError:
        raise LoginRefused(f"unknown role {role_value!r} in the {api.oidc_role_claim!r} claim") from None
    name = str(claims.get("name") or subject)
    return staff_only(Identity(username=subject, role=role, tenant=tenant, name=name, via="oidc"))


def oidc_configured() -> bool:
    """True when ``.streamlit/secrets.toml`` has an ``[auth]`` section (Streamlit's OIDC login)."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def current() -> Identity | None:
    """The signed-in identity of this browser session, if any."""
    identity = st.session_state.get(SESSION_KEY)
    if isinstance(identity, Identity):
        return identity
    if oidc_configured() and st.user.is_logged_in:
        try:
            identity = identity_from_claims(st.user.to_dict(), ApiSettings())
        except LoginRefused:
            return None
        st.session_state[SESSION_KEY] = identity
        return identity
    return None


def require(roles: Collection[Role]) -> Identity:
    """The signed-in identity if it has one of ``roles``; otherwise an explanation, and the page stops."""
    identity = current()
    if identity is None:
        st.warning("Sign in first.")
        st.stop()
        raise AssertionError("unreachable")
    if identity.role not in roles:
        st.error(f"The {identity.role.value} role cannot open this page.")
        st.stop()
    return identity


def sign_out() -> None:
    """Forget the session's identity (and leave the identity provider's session when signed in with OIDC)."""
    identity = st.session_state.pop(SESSION_KEY, None)
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    if isinstance(identity, Identity) and identity.via == "oidc":
        st.logout()


def login_view() -> None:
    """The sign-in page: a password form for local users, an SSO button when OIDC is configured."""
    settings = ConsoleSettings()
    _, middle, _ = st.columns([1, 1.2, 1])
    with middle:
        st.title("deskpilot console")
        st.caption("Cited reply drafts for agents, feedback dashboards for analysts, index and keys for admins.")
        if oidc_configured():
            if st.user.is_logged_in:
                try:
                    identity_from_claims(st.user.to_dict(), ApiSettings())
                except LoginRefused as exc:
                    st.error(f"Signed in, but not allowed: {exc}.")
                    if st.button("Sign out", key="oidc_sign_out"):
                        st.logout()
            elif st.button("Sign in with single sign-on", type="primary", key="oidc_sign_in", width="stretch"):
                st.login()
            if not settings.console_users:
                return
            st.divider()
        with st.form("login", border=True, enter_to_submit=True):
            username = st.text_input("Username", key="login_username", autocomplete="username")
            password = st.text_input("Password", type="password", key="login_password", autocomplete="current-password")
            submitted = st.form_submit_button("Sign in", type="primary", key="login_submit", width="stretch")
        if submitted:
            try:
                # The TCP peer of the browser's connection (None on loopback), never a forwarded header.
                client = st.context.ip_address or "local"
                st.session_state[SESSION_KEY] = authenticate(settings, username, password, client)
            except LoginRefused as exc:
                st.error(f"Sign-in refused: {exc}.")
            else:
                st.rerun()
        if settings.demo_users_active():
            st.info(
                "**Demo users** (no `DESKPILOT_CONSOLE_USERS` configured), password `deskpilot`: "
                "`ava` agent for Ledgerly, `ben` agent for Parcelpoint, `nora` analyst and `sam` admin "
                "(all tenants). Configure real users before anyone else can reach this console.",
                icon=":material/info:",
            )


def main() -> None:
    """Prompt for a password twice and print its hash and a DESKPILOT_CONSOLE_USERS entry."""
    first = getpass.getpass("password: ")
    if len(first) < 8:
        raise SystemExit("use at least 8 characters")
    if getpass.getpass("again: ") != first:
        raise SystemExit("the passwords differ")
    encoded = hash_password(first)
    print(encoded)
    example = {"alice": {"role": "agent", "tenant": "ledgerly", "password_hash": encoded}}
    print(f"DESKPILOT_CONSOLE_USERS='{json.dumps(example)}'")


if __name__ == "__main__":
    main()
