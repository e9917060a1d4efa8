"""Delivering an agent's reply to the customer: a port (:class:`Delivery`) and its adapters.

- :class:`SmtpDelivery`: an e-mail through the configured SMTP server (``smtplib``; STARTTLS, implicit TLS or
  plain; optional login), plain text with an HTML alternative whose sources are links.
- :class:`WebhookDelivery`: a JSON POST to a helpdesk, shaped like a Zendesk ticket update or a Freshdesk
  reply (ticket id, requester e-mail, subject, body as HTML and plain text, a public comment).
- :class:`RecordOnly`: nothing leaves the machine; the console says so on every ticket and after each Send.

``DESKPILOT_DELIVERY_MODE`` picks one; ``auto`` (the default) takes SMTP when ``DESKPILOT_SMTP_HOST`` is set,
else the webhook when ``DESKPILOT_DELIVERY_WEBHOOK_URL`` is set, else record-only. A misconfiguration never
stops the console: :func:`delivery_from` returns an adapter that refuses every send with an error naming the
setting at fault. Every failure is a :class:`DeliveryError` whose message names the setting to check.
"""

from __future__ import annotations

import html
import ipaddress
import re
import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from typing import Any, Literal, Protocol

import httpx
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Mode = Literal["auto", "smtp", "webhook", "none"]
_EMAIL = re.compile(r"^[^@\s<>\"']+@[^@\s<>\"']+\.[^@\s<>\"']+$")
_URL = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)]")


class DeliverySettings(BaseSettings):
    """How a sent reply reaches the customer (env prefix ``DESKPILOT_``)."""

    model_config = SettingsConfigDict(env_prefix="DESKPILOT_", extra="ignore")

    delivery_mode: Mode = Field(
        default="auto",
        description="smtp, webhook or none (record only); auto = smtp when SMTP_HOST is set, else webhook when "
        "DELIVERY_WEBHOOK_URL is set, else none.",
    )
    smtp_host: str = Field(default="", description="The SMTP server, e.g. smtp.example.com.")
    smtp_port: int | None = Field(
        default=None, ge=1, le=65535, description="None = 587 for starttls, 465 for ssl, 25 for none."
    )
    smtp_security: Literal["starttls", "ssl", "none"] = Field(
        default="starttls",
        description="starttls (upgrade after connecting), ssl (TLS from the first byte) or none (loopback or a "
        "trusted relay only: a password is never sent over it to another host).",
    )
    smtp_user: str = Field(default="", description="Login name; empty = no login.")
    smtp_password: SecretStr | None = Field(default=None, description="Password of SMTP_USER.")
    smtp_from: str = Field(
        default="", description='The sender, e.g. "Ledgerly Support <support@ledgerly.example>"; required for smtp.'
    )
    smtp_timeout_s: float = Field(default=15.0, gt=0, description="Seconds to wait for the server at each step.")
    smtp_ca_file: str = Field(default="", description="A CA bundle to trust instead of the system's (a private relay).")
    delivery_webhook_url: str = Field(default="", description="The helpdesk endpoint replies are POSTed to.")
    delivery_webhook_style: Literal["zendesk", "freshdesk"] = Field(
        default="zendesk", description="The payload shape: a Zendesk ticket update or a Freshdesk reply."
    )
    delivery_webhook_auth_header: str = Field(
        default="Authorization", description="The header that carries DELIVERY_WEBHOOK_AUTH."
    )
    delivery_webhook_auth: SecretStr | None = Field(
        default=None, description='The header\'s value, e.g. "Bearer abc" or "Basic dXNlcjpwYXNz"; None = no header.'
    )
    delivery_webhook_timeout_s: float = Field(default=10.0, gt=0, description="Seconds before the POST gives up.")

    @field_validator("smtp_port", "smtp_password", "delivery_webhook_auth", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        """``VAR=`` (as compose passes an unset variable) means unset, not an empty password or port."""
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        return None if isinstance(value, str) and not value.strip() else value

    def resolved_mode(self) -> Literal["smtp", "webhook", "none"]:
        """The adapter ``delivery_mode`` stands for."""
        if self.delivery_mode != "auto":
            return self.delivery_mode
        if self.smtp_host.strip():
            return "smtp"
        return "webhook" if self.delivery_webhook_url.strip() else "none"

    def resolved_smtp_port(self) -> int:
        """The SMTP port: the configured one, else the usual one for ``smtp_security``."""
        if self.smtp_port is not None:
            return self.smtp_port
        return {"starttls": 587, "ssl": 465, "none": 25}[self.smtp_security]


@dataclass(frozen=True)
class OutgoingReply:
    """One reply as the customer gets it (no ``[n]`` marker, no placeholder: see assistant/render.sent_reply)."""

    ticket_id: str
    tenant: str
    to_email: str
    to_name: str
    subject: str
    text: str
    locale: str = "en"
    agent_name: str = ""

    def html(self) -> str:
        """The text as a small HTML document: paragraphs and line breaks kept, http(s) urls as links."""
        paragraphs = []
        for paragraph in re.split(r"\n[ \t]*\n", self.text.strip()):
            escaped = html.escape(paragraph)
            linked = _URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped)
            paragraphs.append(f"<p>{linked.replace(chr(10), '<br>' + chr(10))}</p>")
        lang = html.escape(self.locale or "en", quote=True)
        return f'<!DOCTYPE html>\n<html lang="{lang}"><body>\n{chr(10).join(paragraphs)}\n</body></html>\n'


@dataclass(frozen=True)
class Receipt:
    """What a delivery did: ``delivered`` is False only for record-only."""

    channel: Literal["smtp", "webhook", "none"]
    delivered: bool
    detail: str
    """For the agent: where it went ("e-mailed to x@y via smtp.example.com:587")."""
    reference: str = ""
    """The message id, or the helpdesk's id for the update."""


class DeliveryError(Exception):
    """A reply could not be delivered; the message says why and names the setting to check."""


class Delivery(Protocol):
    """The port the console sends replies through."""

    @property
    def channel(self) -> Literal["smtp", "webhook", "none"]:
        """Which adapter this is."""
        ...

    @property
    def delivers(self) -> bool:
        """False when nothing leaves the machine (record-only, or a configuration error)."""
        ...

    def describe(self) -> str:
        """One line for the agent: where a sent reply goes."""
        ...

    def send(self, reply: OutgoingReply) -> Receipt:
        """Deliver ``reply``; raises :class:`DeliveryError`."""
        ...


class RecordOnly:
    """Nothing is delivered: the reply is only recorded (the agent sends it from elsewhere)."""

    channel: Literal["none"] = "none"
    delivers = False

    def describe(self) -> str:
        return (
            "Delivery is off (DESKPILOT_DELIVERY_MODE=none, or no SMTP_HOST / DELIVERY_WEBHOOK_URL set): "
            "Send records the reply, nothing reaches the customer."
        )

    def send(self, reply: OutgoingReply) -> Receipt:
        return Receipt("none", False, "recorded only: nothing was delivered (delivery is off)")


class Misconfigured:
    """A delivery whose settings are wrong: every send fails with the reason (the console keeps running)."""

    delivers = False

    def __init__(self, channel: Literal["smtp", "webhook"], reason: str) -> None:
        self.channel: Literal["smtp", "webhook"] = channel
        self.reason = reason

    def describe(self) -> str:
        return f"Delivery is misconfigured, nothing can be sent: {self.reason}"

    def send(self, reply: OutgoingReply) -> Receipt:
        raise DeliveryError(self.reason)


def _loopback(host: str) -> bool:
    if host.casefold() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _valid_address(address: str) -> bool:
    return bool(_EMAIL.match(address))


class SmtpDelivery:
    """E-mail through an SMTP server with ``smtplib``."""

    channel: Literal["smtp"] = "smtp"
    delivers = True

    def __init__(self, settings: DeliverySettings) -> None:
        problem = smtp_problem(settings)
        if problem:
            raise DeliveryError(problem)
        self.settings = settings
        self.host = settings.smtp_host.strip()
        self.port = settings.resolved_smtp_port()
        self.sender = settings.smtp_from.strip()

    def describe(self) -> str:
        return f"Send e-mails the reply to the customer from {self.sender} via {self.host}:{self.port}."

    def message(self, reply: OutgoingReply) -> EmailMessage:
        """The e-mail for ``reply``: plain text with an HTML alternative."""
        _, sender_address = parseaddr(self.sender)
        domain = sender_address.rpartition("@")[2] or None
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = formataddr((reply.to_name, reply.to_email)) if reply.to_name else reply.to_email
        message["Subject"] = reply.subject
        message["Date"] = formatdate(localtime=False, usegmt=True)
        message["Message-ID"] = make_msgid(domain=domain)
        message["X-Deskpilot-Ticket"] = reply.ticket_id
        message.set_content(reply.text)
        message.add_alternative(reply.html(), subtype="html")
        message["Content-Language"] = reply.locale or "en"  # after the body: set_content drops Content-* headers
        return message

    def send(self, reply: OutgoingReply) -> Receipt:
        if not _valid_address(reply.to_email):
            raise DeliveryError(
                f"ticket {reply.ticket_id} has no usable customer e-mail address"
                + (f" ({reply.to_email!r})" if reply.to_email else "")
                + ": nothing was sent"
            )
        message = self.message(reply)
        where = f"the SMTP server {self.host}:{self.port}"
        s = self.settings
        try:
            with self._connect() as client:
                client.ehlo()
                if s.smtp_security == "starttls":
                    if not client.has_extn("starttls"):
                        raise DeliveryError(
                            f"{where} does not offer STARTTLS (DESKPILOT_SMTP_SECURITY=starttls): set "
                            "DESKPILOT_SMTP_SECURITY=ssl for a TLS port, or check DESKPILOT_SMTP_HOST/PORT"
                        )
                    client.starttls(context=self._tls())
                    client.ehlo()
                if s.smtp_user:
                    password = s.smtp_password.get_secret_value() if s.smtp_password else ""
                    client.login(s.smtp_user, password)
                refused = client.send_message(message)
        except DeliveryError:
            raise
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(
                f"{where} refused the login of {s.smtp_user!r} (DESKPILOT_SMTP_USER / DESKPILOT_SMTP_PASSWORD): "
                f"{_smtp_text(exc)}"
            ) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise DeliveryError(
                f"{where} does not support login (DESKPILOT_SMTP_USER is set): {_smtp_text(exc)}"
            ) from exc
        except smtplib.SMTPSenderRefused as exc:
            raise DeliveryError(f"{where} refused the sender (DESKPILOT_SMTP_FROM): {_smtp_text(exc)}") from exc
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"{where} refused the customer's address {reply.to_email}: {exc.recipients}") from exc
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(f"{where} refused the message: {_smtp_text(exc)}") from exc
        except ssl.SSLError as exc:
            raise DeliveryError(
                f"TLS with {where} failed (DESKPILOT_SMTP_SECURITY={s.smtp_security}"
                f"{', DESKPILOT_SMTP_CA_FILE' if s.smtp_ca_file else ''}): {exc}"
            ) from exc
        except socket.gaierror as exc:
            raise DeliveryError(f"cannot resolve DESKPILOT_SMTP_HOST={self.host!r}: {exc}") from exc
        except TimeoutError as exc:
            raise DeliveryError(
                f"{where} did not answer within {s.smtp_timeout_s:g} s (DESKPILOT_SMTP_TIMEOUT_S)"
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(
                f"cannot reach {where} (DESKPILOT_SMTP_HOST / DESKPILOT_SMTP_PORT): {exc or type(exc).__name__}"
            ) from exc
        if refused:
            raise DeliveryError(f"{where} refused the customer's address {reply.to_email}: {refused}")
        message_id = str(message["Message-ID"])
        return Receipt("smtp", True, f"e-mailed to {reply.to_email} via {self.host}:{self.port}", message_id)

    def _tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.settings.smtp_ca_file or None)

    def _connect(self) -> smtplib.SMTP:
        timeout = self.settings.smtp_timeout_s
        if self.settings.smtp_security == "ssl":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=timeout, context=self._tls())
        return smtplib.SMTP(self.host, self.port, timeout=timeout)


def _smtp_text(exc: smtplib.SMTPResponseException | smtplib.SMTPException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        raw = exc.smtp_error
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        return f"{exc.smtp_code} {text}".strip()
    return str(exc)


def smtp_problem(settings: DeliverySettings) -> str:
    """What is wrong with the SMTP settings, naming the setting ("" when they can be used)."""
    if not settings.smtp_host.strip():
        return "DESKPILOT_SMTP_HOST is not set (DESKPILOT_DELIVERY_MODE=smtp needs an SMTP server)"
    _, address = parseaddr(settings.smtp_from)
    if not settings.smtp_from.strip():
        return "DESKPILOT_SMTP_FROM is not set: replies need a sender address, e.g. support@example.com"
    if not _valid_address(address):
        return f"DESKPILOT_SMTP_FROM={settings.smtp_from!r} is not an e-mail address"
    if settings.smtp_user and settings.smtp_password is None:
        return "DESKPILOT_SMTP_USER is set but DESKPILOT_SMTP_PASSWORD is not"
    if settings.smtp_user and settings.smtp_security == "none" and not _loopback(settings.smtp_host.strip()):
        return (
            "DESKPILOT_SMTP_SECURITY=none would send DESKPILOT_SMTP_PASSWORD unencrypted to "
            f"{settings.smtp_host}: use starttls or ssl"
        )
    return ""


class WebhookDelivery:
    """A JSON POST to a helpdesk: a Zendesk-style ticket update or a Freshdesk-style reply."""

    channel: Literal["webhook"] = "webhook"
    delivers = True

    def __init__(self, settings: DeliverySettings, transport: httpx.BaseTransport | None = None) -> None:
        problem = webhook_problem(settings)
        if problem:
            raise DeliveryError(problem)
        self.settings = settings
        self.url = settings.delivery_webhook_url.strip()
        self.transport = transport

    def describe(self) -> str:
        host = httpx.URL(self.url).host
        return f"Send posts the reply to the helpdesk at {host} ({self.settings.delivery_webhook_style} style)."

    def payload(self, reply: OutgoingReply) -> dict[str, Any]:
        """The JSON body for ``reply`` in the configured style."""
        if self.settings.delivery_webhook_style == "freshdesk":
            return {
                "ticket_id": reply.ticket_id,
                "email": reply.to_email,
                "name": reply.to_name,
                "subject": reply.subject,
                "body": reply.html(),
                "body_text": reply.text,
                "private": False,
                "tags": ["deskpilot", reply.tenant],
            }
        return {
            "ticket": {
                "external_id": reply.ticket_id,
                "subject": reply.subject,
                "requester": {"email": reply.to_email, "name": reply.to_name, "locale": reply.locale},
                "comment": {"body": reply.text, "html_body": reply.html(), "public": True},
                "tags": ["deskpilot", reply.tenant],
            }
        }

    def send(self, reply: OutgoingReply) -> Receipt:
        s = self.settings
        headers = {"Content-Type": "application/json", "X-Deskpilot-Ticket": reply.ticket_id}
        if s.delivery_webhook_auth is not None:
            headers[s.delivery_webhook_auth_header] = s.delivery_webhook_auth.get_secret_value()
        try:
            with httpx.Client(timeout=s.delivery_webhook_timeout_s, transport=self.transport) as client:
                response = client.post(self.url, json=self.payload(reply), headers=headers)
        except httpx.TimeoutException as exc:
            raise DeliveryError(
                f"the helpdesk at {self.url} did not answer within {s.delivery_webhook_timeout_s:g} s "
                "(DESKPILOT_DELIVERY_WEBHOOK_TIMEOUT_S)"
            ) from exc
        except httpx.HTTPError as exc:
            raise DeliveryError(
                f"cannot reach the helpdesk at {self.url} (DESKPILOT_DELIVERY_WEBHOOK_URL): {exc}"
            ) from exc
        if response.status_code in (401, 403):
            raise DeliveryError(
                f"the helpdesk at {self.url} refused the credentials ({response.status_code}): check "
                f"DESKPILOT_DELIVERY_WEBHOOK_AUTH and DESKPILOT_DELIVERY_WEBHOOK_AUTH_HEADER"
            )
        if response.status_code >= 300:
            raise DeliveryError(
                f"the helpdesk at {self.url} answered {response.status_code} {response.reason_phrase} "
                f"(DESKPILOT_DELIVERY_WEBHOOK_URL / DELIVERY_WEBHOOK_STYLE): {response.text[:200]}"
            )
        return Receipt("webhook", True, f"posted to the helpdesk at {httpx.URL(self.url).host}", _reference(response))


def _reference(response: httpx.Response) -> str:
    """The helpdesk's id for what was created (``{"ticket": {"id": 1}}``, ``{"id": 1}``), if it says one."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if isinstance(body, dict):
        inner = body.get("ticket") if isinstance(body.get("ticket"), dict) else body
        for key in ("id", "audit_id", "conversation_id"):
            if isinstance(inner, dict) and inner.get(key) is not None:
                return str(inner[key])
    return ""


def webhook_problem(settings: DeliverySettings) -> str:
    """What is wrong with the webhook settings, naming the setting ("" when they can be used)."""
    url = settings.delivery_webhook_url.strip()
    if not url:
        return "DESKPILOT_DELIVERY_WEBHOOK_URL is not set (DESKPILOT_DELIVERY_MODE=webhook needs it)"
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        return f"DESKPILOT_DELIVERY_WEBHOOK_URL={url!r} is not a URL: {exc}"
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return f"DESKPILOT_DELIVERY_WEBHOOK_URL={url!r} is not an http(s) URL"
    if parsed.scheme == "http" and settings.delivery_webhook_auth is not None and not _loopback(parsed.host):
        return (
            "DESKPILOT_DELIVERY_WEBHOOK_URL is plain http: DESKPILOT_DELIVERY_WEBHOOK_AUTH would cross the network "
            "unencrypted; use https"
        )
    if not settings.delivery_webhook_auth_header.strip() or not re.fullmatch(
        r"[A-Za-z0-9-]+", settings.delivery_webhook_auth_header.strip()
    ):
        return f"DESKPILOT_DELIVERY_WEBHOOK_AUTH_HEADER={settings.delivery_webhook_auth_header!r} is not a header name"
    return ""


def delivery_from(settings: DeliverySettings | None = None) -> Delivery:
    """The adapter the settings ask for; a :class:`Misconfigured` one (never an exception) when they are wrong."""
    settings = settings if settings is not None else DeliverySettings()
    mode = settings.resolved_mode()
    if mode == "none":
        return RecordOnly()
    try:
        return SmtpDelivery(settings) if mode == "smtp" else WebhookDelivery(settings)
    except DeliveryError as exc:
        return Misconfigured(mode, str(exc))
