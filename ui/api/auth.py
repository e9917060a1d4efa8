"""Who is calling: an API key (hashed at rest, bound to one role and one tenant) or an OIDC bearer token."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

from ui.api.roles import STAFF, Role
from ui.api.settings import ApiSettings


@dataclass(frozen=True)
class Principal:
    """An authenticated caller."""

    tenant: str
    role: Role
    subject: str
    """The key id or the token's subject: the actor recorded in the audit log."""
    via: str
    """``key`` or ``oidc``."""


class AuthError(Exception):
    """The credentials are missing or wrong (401), or the caller may not do this (403)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


KeyLookup = Callable[[str], Principal | None]
"""Resolves a plaintext API key to its principal (the store compares hashes), or None."""


class OidcVerifier:
    """Checks JWT bearer tokens against the configured JWKS, issuer and audience; staff roles only."""

    def __init__(self, settings: ApiSettings) -> None:
        self.settings = settings
        self._client: jwt.PyJWKClient | None = None
        self._keys: jwt.PyJWKSet | None = None
        if settings.oidc_jwks_file:
            try:
                self._keys = jwt.PyJWKSet.from_dict(json.loads(Path(settings.oidc_jwks_file).read_text()))
            except (OSError, ValueError, jwt.PyJWTError) as exc:
                raise RuntimeError(
                    f"DESKPILOT_OIDC_JWKS_FILE={settings.oidc_jwks_file!r} is not a readable JWKS ({exc})"
                ) from exc
        elif settings.oidc_jwks_url:
            self._client = jwt.PyJWKClient(settings.oidc_jwks_url, cache_keys=True, lifespan=3600)

    def _signing_key(self, token: str) -> Any:
        if self._client is not None:
            return self._client.get_signing_key_from_jwt(token).key
        assert self._keys is not None
        kid = jwt.get_unverified_header(token).get("kid")
        for key in self._keys.keys:
            if kid is None or key.key_id == kid:
                return key.key
        raise jwt.InvalidTokenError(f"no key with kid {kid!r} in the JWKS")

    def verify(self, token: str) -> Principal:
        """The principal a valid token names; AuthError(401) for a bad token, (403) for a non-staff role."""
        s = self.settings
        try:
            claims = jwt.decode(
                token,
                self._signing_key(token),
                algorithms=["RS256", "ES256", "PS256", "EdDSA"],
                audience=s.oidc_audience,
                issuer=s.oidc_issuer,
                options={"require": ["exp", "sub", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise AuthError(401, f"invalid bearer token: {exc}") from exc
        try:
            role = Role(str(claims.get(s.oidc_role_claim, "")))
        except ValueError as exc:
            raise AuthError(403, f"the token's {s.oidc_role_claim!r} claim names no deskpilot role") from exc
        if role not in STAFF:
            raise AuthError(403, "OIDC tokens are for staff roles (agent, analyst, admin); widgets use a widget key")
        tenant = str(claims.get(s.oidc_tenant_claim, ""))
        if not tenant:
            raise AuthError(403, f"the token has no {s.oidc_tenant_claim!r} claim")
        return Principal(tenant=tenant, role=role, subject=f"oidc:{claims['sub']}", via="oidc")


def authenticate(
    api_key: str | None, authorization: str | None, lookup: KeyLookup, oidc: OidcVerifier | None
) -> Principal:
    """The caller of a request, from ``X-API-Key`` or ``Authorization: Bearer`` (an API key or a JWT)."""
    token = api_key
    if token is None and authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise AuthError(401, "use 'Authorization: Bearer <token>' or the X-API-Key header")
        token = value.strip()
    if not token:
        raise AuthError(401, "missing credentials: send an API key in X-API-Key or a bearer token")
    if token.startswith("dp_"):
        principal = lookup(token)
        if principal is None:
            raise AuthError(401, "unknown or revoked API key")
        return principal
    if oidc is None:
        raise AuthError(401, "unknown API key (bearer tokens are accepted only when OIDC is configured)")
    return oidc.verify(token)
