"""Settings of the HTTP API (env prefix ``DESKPILOT_``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ApiSettings(BaseSettings):
    """Where the API listens, who may call it, and how much."""

    model_config = SettingsConfigDict(env_prefix="DESKPILOT_", extra="ignore")

    api_host: str = Field(default="127.0.0.1")
    api_port: int = Field(default=8000, ge=1, le=65535)
    cors_origins: dict[str, list[str]] = Field(
        default_factory=dict,
        description='Per tenant, the web origins a widget may call from: {"ledgerly": ["https://help.ledgerly.example"]}.',
    )
    rate_limit_per_key: int = Field(default=60, ge=1, description="Requests per minute per API key.")
    rate_limit_per_client: int = Field(default=120, ge=1, description="Requests per minute per client address.")
    max_question_chars: int = Field(default=2000, ge=10)
    max_body_bytes: int = Field(default=64_000, ge=1024)
    page_size_max: int = Field(default=200, ge=1)
    oidc_jwks_url: str = Field(default="", description="JWKS of the identity provider; empty = OIDC off.")
    oidc_jwks_file: str = Field(default="", description="A JWKS JSON file instead of a URL (air-gapped installs).")
    oidc_issuer: str = Field(default="")
    oidc_audience: str = Field(default="")
    oidc_role_claim: str = Field(default="deskpilot_role")
    oidc_tenant_claim: str = Field(default="deskpilot_tenant")
    trust_proxy_headers: bool = Field(
        default=False, description="Take the client address from X-Forwarded-For (only behind your own proxy)."
    )

    def oidc_enabled(self) -> bool:
        """True when a JWKS is configured."""
        return bool(self.oidc_jwks_url or self.oidc_jwks_file)
