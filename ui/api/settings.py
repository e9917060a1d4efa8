"""Settings of the HTTP API (env prefix ``DESKPILOT_``)."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator, model_validator
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
    rate_limit_widget_per_visitor: int = Field(
        default=20, ge=1, description="Widget requests per minute per (widget key, client address): one visitor."
    )
    rate_limit_widget_per_tenant: int = Field(
        default=600, ge=1, description="Widget requests per minute per tenant, all its visitors together."
    )
    escalation_queues: dict[str, list[str]] = Field(
        default_factory=lambda: {"*": ["support", "tier2", "billing", "security", "legal", "claims"]},
        description='Per tenant, the queues an escalation may name; "*" for tenants not listed: '
        '{"ledgerly": ["support", "tier2"], "*": ["support"]}.',
    )
    console_contact_key: SecretStr | None = Field(
        default=None,
        description="Fernet key that seals the contact (e-mail) of an escalation at rest, the same key the console "
        "opens it with; unset: the contact is stored as given, in its own column.",
    )
    rate_limit_bytes_per_token: int = Field(
        default=500,
        ge=1,
        description="A request whose body is up to this many bytes takes one rate-limit token, a larger one takes "
        "tokens in proportion: a 2,000-character question costs about four short ones.",
    )
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
        default=False,
        description="Take the client address from X-Forwarded-For set by the proxies in FORWARDED_ALLOW_IPS.",
    )
    forwarded_allow_ips: str = Field(
        default="",
        description="Your reverse proxies' addresses or networks, comma-separated (127.0.0.1,10.0.0.0/8); "
        "only their X-Forwarded-For is believed. Required with TRUST_PROXY_HEADERS.",
    )
    header_timeout_s: float = Field(
        default=10.0, gt=0, description="A connection that takes longer to send a request's headers is closed."
    )
    keep_alive_timeout_s: int = Field(default=5, ge=1, description="An idle keep-alive connection is closed after.")
    redis_url: str = Field(
        default="",
        description="Redis shared by the API replicas (redis://host:6379/0): key revocations reach every replica "
        "at once and rate limits count across replicas. Empty = this process only.",
    )
    redis_prefix: str = Field(
        default="deskpilot",
        min_length=1,
        pattern=r"^[A-Za-z0-9._-]+$",
        description="Prefix of every key the API keeps in Redis (deployments sharing one Redis use their own).",
    )

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str) -> str:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(f"DESKPILOT_REDIS_URL={value!r} is not a redis://, rediss:// or unix:// URL")
        return value

    @model_validator(mode="after")
    def _oidc_bound(self) -> ApiSettings:
        # Without both, any issuer's token for any audience signed by a key in the JWKS would be accepted.
        if self.oidc_enabled():
            missing = [n for n, v in (("ISSUER", self.oidc_issuer), ("AUDIENCE", self.oidc_audience)) if not v.strip()]
            if missing:
                names = " and ".join(f"DESKPILOT_OIDC_{m}" for m in missing)
                raise ValueError(f"OIDC is on (a JWKS is configured) but {names} is not set")
        return self

    @model_validator(mode="after")
    def _widget_ceiling_above_one_visitor(self) -> ApiSettings:
        if self.rate_limit_widget_per_tenant < 2 * self.rate_limit_widget_per_visitor:
            raise ValueError(
                f"DESKPILOT_RATE_LIMIT_WIDGET_PER_TENANT={self.rate_limit_widget_per_tenant} must be at least twice "
                f"DESKPILOT_RATE_LIMIT_WIDGET_PER_VISITOR={self.rate_limit_widget_per_visitor}: one visitor must "
                "never use up the whole tenant's widget"
            )
        return self

    @model_validator(mode="after")
    def _proxies_named(self) -> ApiSettings:
        if self.trust_proxy_headers and not self.forwarded_allow_ips.strip():
            raise ValueError(
                "DESKPILOT_TRUST_PROXY_HEADERS=true needs DESKPILOT_FORWARDED_ALLOW_IPS: the addresses of the "
                "proxies whose X-Forwarded-For to believe"
            )
        return self

    def queues_of(self, tenant: str) -> list[str]:
        """The escalation queues of ``tenant``."""
        return self.escalation_queues.get(tenant, self.escalation_queues.get("*", []))

    def oidc_enabled(self) -> bool:
        """True when a JWKS is configured."""
        return bool(self.oidc_jwks_url or self.oidc_jwks_file)
