"""Settings of the agent console (env prefix ``DESKPILOT_``): who may sign in, where the console keeps its files."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from ui.api.roles import Role

REPO = Path(__file__).resolve().parents[2]
SAMPLE_TICKETS = REPO / "data" / "samples" / "inbox" / "tickets.json"
ALL_TENANTS = "*"
"""A user's tenant that means "every tenant" (analysts and admins of the whole deployment)."""


class ConsoleUser(BaseModel):
    """A local console user: a role, the tenant they work for, and a salted password hash (never the password)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Role
    tenant: str = Field(min_length=1, max_length=128, description='A tenant, or "*" for every tenant.')
    password_hash: str = Field(
        pattern=r"^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$",
        description="scrypt$n$r$p$salt$hash (base64), as printed by `python -m ui.console.auth`.",
    )
    name: str = Field(default="", max_length=128, description="Display name.")


# Demo users for the sample tenants; every one has the password "deskpilot". Only active while
# DESKPILOT_CONSOLE_USERS is empty and DESKPILOT_CONSOLE_DEMO_USERS is true (the default).
DEMO_PASSWORD = "deskpilot"
DEMO_USERS: dict[str, ConsoleUser] = {
    "ava": ConsoleUser(
        role=Role.agent,
        tenant="ledgerly",
        name="Ava (agent, Ledgerly)",
        password_hash="scrypt$16384$8$1$UZKPskd1FxsYs3BW03MMHw==$9auP5dVlG09Z4ChyZZWL5PpaPkxZRobMRVtedUaM2XE=",
    ),
    "ben": ConsoleUser(
        role=Role.agent,
        tenant="parcelpoint",
        name="Ben (agent, Parcelpoint)",
        password_hash="scrypt$16384$8$1$gRfH4qZMTARVeGpkHZdNgg==$gKCfziBhoAQ6+Ed078YSPGE5M5LsWFuHo027w841snc=",
    ),
    "nora": ConsoleUser(
        role=Role.analyst,
        tenant=ALL_TENANTS,
        name="Nora (analyst, all tenants)",
        password_hash="scrypt$16384$8$1$RyeMHCsUO+k+690wwsrywQ==$kv2JkEgxIT1dUVdE4+ORt91WzmQeMqp7mVQNakEMP+4=",
    ),
    "sam": ConsoleUser(
        role=Role.admin,
        tenant=ALL_TENANTS,
        name="Sam (admin, all tenants)",
        password_hash="scrypt$16384$8$1$uRtdlDiboDm03HcpM4ASMA==$waCU6TJ3VPPijB1HrokaAYzv8p0fIhBY3kPZqWuxiNY=",
    ),
}


class ConsoleSettings(BaseSettings):
    """Who may sign in to the console and where it keeps its tickets and ingest log."""

    model_config = SettingsConfigDict(env_prefix="DESKPILOT_", extra="ignore")

    data_dir: Path = Field(default=Path(".deskpilot"))
    console_users: dict[str, ConsoleUser] = Field(
        default_factory=dict,
        description=(
            'Local users as JSON: {"alice": {"role": "agent", "tenant": "ledgerly", "password_hash": "scrypt$..."}}; '
            "hash a password with `python -m ui.console.auth`."
        ),
    )
    console_demo_users: bool = Field(
        default=True,
        description="Offer the documented demo users (ava, ben, nora, sam) while console_users is empty.",
    )
    console_sample_tickets: Path | None = Field(
        default=None,
        description="Tickets (data/samples/inbox/tickets.json format) seeded into an empty inbox; None = the samples.",
    )
    console_dir: Path | None = Field(default=None, description="The console's own files; None = <data_dir>/console.")
    console_signin_client_backoff_max_s: float = Field(
        default=900.0,
        gt=0,
        description="After 5 failed sign-ins in a row from one address, it waits 1 s, then twice as long after "
        "each further failure, up to this.",
    )
    console_signin_user_backoff_max_s: float = Field(
        default=30.0,
        gt=0,
        description="The same backoff per username, from any address, but never longer than this: failures "
        "from elsewhere slow the real user down, they never lock them out.",
    )
    console_contact_key: SecretStr | None = Field(
        default=None,
        description=(
            "Fernet key sealing tickets' customer names and addresses at rest, so replies greet by name across "
            "restarts and replicas; None = a key that lives as long as the process. Keep it out of the data dir."
        ),
    )

    def users(self) -> dict[str, ConsoleUser]:
        """The users who may sign in with a password: the configured ones, else the demo users (if allowed)."""
        if self.console_users:
            return dict(self.console_users)
        return dict(DEMO_USERS) if self.console_demo_users else {}

    def demo_users_active(self) -> bool:
        """True while the documented demo users (with their public password) can sign in."""
        return not self.console_users and self.console_demo_users

    def resolved_console_dir(self) -> Path:
        """Where tickets, uploads and the ingest log live."""
        return self.console_dir if self.console_dir is not None else self.data_dir / "console"

    def sample_tickets(self) -> Path | None:
        """The ticket file to seed the inbox from, if it exists."""
        path = self.console_sample_tickets or SAMPLE_TICKETS
        return path if path.is_file() else None
