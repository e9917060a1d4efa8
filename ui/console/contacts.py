"""A ticket's contact fields (the customer's name and address) sealed at rest.

A reply greets the customer by name, so the console needs the name; the data dir must hold no personal
data in the clear. The fields are therefore stored encrypted (Fernet: AES-128-CBC with an HMAC) under a key
that never lies in the data dir: ``DESKPILOT_CONSOLE_CONTACT_KEY`` when set, else a key made at process
start that dies with the process (a restarted console then greets with a plain "Hi,").
"""

from __future__ import annotations

from functools import cache

from cryptography.fernet import Fernet, InvalidToken

SEALED_PREFIX = "sealed:v1:"


@cache
def _process_key() -> bytes:
    return Fernet.generate_key()


class ContactSealer:
    """Seals and opens contact fields with one key (``None``: this process's own key)."""

    def __init__(self, key: str | None = None) -> None:
        try:
            self._fernet = Fernet(key.encode("ascii") if key else _process_key())
        except (ValueError, UnicodeEncodeError) as exc:
            raise ValueError(
                "DESKPILOT_CONSOLE_CONTACT_KEY is not a Fernet key (32 url-safe base64 bytes); make one with "
                '`python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`'
            ) from exc

    def seal(self, value: str) -> str:
        """``value`` as stored ("" stays "")."""
        if not value.strip():
            return ""
        return SEALED_PREFIX + self._fernet.encrypt(value.encode("utf-8")).decode("ascii")

    def open(self, stored: str) -> str:
        """The clear value of a stored field; "" when it was sealed under another key (e.g. before a restart)
        or is a redaction placeholder. Fields written before sealing existed pass through as they are."""
        if not stored.startswith(SEALED_PREFIX):
            return "" if stored.startswith("<") else stored
        try:
            return self._fernet.decrypt(stored.removeprefix(SEALED_PREFIX).encode("ascii")).decode("utf-8")
        except InvalidToken:
            return ""
