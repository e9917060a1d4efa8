"""The delivery port against real servers on loopback: an SMTP server (aiosmtpd) and a helpdesk HTTP endpoint."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from pydantic import SecretStr

from tests.mailbox import free_port, helpdesk_server, self_signed, smtp_server
from ui.delivery import (
    DeliveryError,
    DeliverySettings,
    Misconfigured,
    OutgoingReply,
    RecordOnly,
    SmtpDelivery,
    WebhookDelivery,
    delivery_from,
)

TEXT = (
    "Hi Maria,\n\nThanks for getting in touch. The reset link stays valid for 60 minutes.\n\n"
    "Sources:\n- Reset your password: https://help.ledgerly.example/reset-your-password\n\n"
    "If anything is unclear, just reply to this message.\n\nBest regards,\nAva"
)
REPLY = OutgoingReply(
    ticket_id="T-1042",
    tenant="ledgerly",
    to_email="maria.lopez@example.com",
    to_name="Maria López",
    subject="Re: reset link expired",
    text=TEXT,
    locale="en",
    agent_name="Ava",
)


def settings(**values: object) -> DeliverySettings:
    """Delivery settings with these values."""
    return DeliverySettings.model_validate(values)


def test_smtp_delivers_a_multipart_message_to_the_customer() -> None:
    with smtp_server() as mailbox:
        delivery = SmtpDelivery(
            settings(
                smtp_host=mailbox.host,
                smtp_port=mailbox.port,
                smtp_security="none",
                smtp_from="Ledgerly Support <support@ledgerly.example>",
            )
        )
        receipt = delivery.send(REPLY)
        [got] = mailbox.wait()
    assert receipt.delivered and receipt.channel == "smtp" and receipt.reference.endswith("@ledgerly.example>")
    assert got.mail_from == "support@ledgerly.example" and got.rcpt_tos == ["maria.lopez@example.com"]
    message = got.message
    assert message["To"] == "Maria López <maria.lopez@example.com>"
    assert message["From"] == "Ledgerly Support <support@ledgerly.example>"
    assert message["Subject"] == "Re: reset link expired" and message["Message-ID"] == receipt.reference
    assert message["X-Deskpilot-Ticket"] == "T-1042" and message["Content-Language"] == "en"
    assert got.part("plain").strip() == TEXT
    html = got.part("html")
    assert (
        '<a href="https://help.ledgerly.example/reset-your-password">https://help.ledgerly.example/reset-your-password'
        in html
    )
    assert "<p>Hi Maria,</p>" in html and "Best regards,<br>\nAva" in html


def test_smtp_starttls_and_login(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    with smtp_server(tls=(cert, key), users={"desk": "s3cret"}) as mailbox:
        base = {
            "smtp_host": mailbox.host,
            "smtp_port": mailbox.port,
            "smtp_security": "starttls",
            "smtp_from": "support@ledgerly.example",
            "smtp_ca_file": str(cert),
            "smtp_user": "desk",
        }
        SmtpDelivery(settings(**base, smtp_password="s3cret")).send(REPLY)
        assert mailbox.wait()[0].rcpt_tos == ["maria.lopez@example.com"] and mailbox.logins == ["desk"]

        with pytest.raises(DeliveryError, match="DESKPILOT_SMTP_USER / DESKPILOT_SMTP_PASSWORD"):
            SmtpDelivery(settings(**base, smtp_password="wrong")).send(REPLY)
        # Without the CA the server's certificate is not trusted: the error names the TLS settings.
        untrusted = {k: v for k, v in base.items() if k != "smtp_ca_file"}
        with pytest.raises(DeliveryError, match="DESKPILOT_SMTP_SECURITY=starttls"):
            SmtpDelivery(settings(**untrusted, smtp_password="s3cret")).send(REPLY)
    assert len(mailbox.received) == 1


def test_smtp_failures_name_the_setting_at_fault() -> None:
    down = settings(smtp_host="127.0.0.1", smtp_port=free_port(), smtp_security="none", smtp_from="a@b.example")
    with pytest.raises(DeliveryError, match=r"cannot reach the SMTP server 127\.0\.0\.1:\d+ \(DESKPILOT_SMTP_HOST"):
        SmtpDelivery(down).send(REPLY)
    with smtp_server() as mailbox:  # a plain server asked for STARTTLS
        plain = settings(smtp_host=mailbox.host, smtp_port=mailbox.port, smtp_from="a@b.example")
        with pytest.raises(DeliveryError, match="does not offer STARTTLS"):
            SmtpDelivery(plain).send(REPLY)
        no_address = replace(REPLY, to_email="")
        ok = settings(smtp_host=mailbox.host, smtp_port=mailbox.port, smtp_security="none", smtp_from="a@b.example")
        with pytest.raises(DeliveryError, match="T-1042 has no usable customer e-mail address"):
            SmtpDelivery(ok).send(no_address)
    assert not mailbox.received

    cases = {
        "DESKPILOT_SMTP_FROM is not set": settings(smtp_host="smtp.example.com"),
        "DESKPILOT_SMTP_FROM='support' is not an e-mail address": settings(
            smtp_host="smtp.example.com", smtp_from="support"
        ),
        "DESKPILOT_SMTP_USER is set but DESKPILOT_SMTP_PASSWORD is not": settings(
            smtp_host="smtp.example.com", smtp_from="a@b.example", smtp_user="desk"
        ),
        "DESKPILOT_SMTP_SECURITY=none would send DESKPILOT_SMTP_PASSWORD unencrypted": settings(
            smtp_host="smtp.example.com",
            smtp_from="a@b.example",
            smtp_user="desk",
            smtp_password="x",
            smtp_security="none",
        ),
    }
    for message, config in cases.items():
        delivery = delivery_from(config)
        assert isinstance(delivery, Misconfigured) and not delivery.delivers and message in delivery.describe()
        with pytest.raises(DeliveryError, match=message.replace("(", r"\(")):
            delivery.send(REPLY)


def test_mode_auto_picks_smtp_then_webhook_then_record_only() -> None:
    smtp = settings(smtp_host="smtp.example.com", smtp_from="a@b.example", delivery_webhook_url="https://x.example/")
    assert isinstance(delivery_from(smtp), SmtpDelivery)
    assert settings(smtp_host="smtp.example.com").resolved_smtp_port() == 587
    assert settings(smtp_security="ssl").resolved_smtp_port() == 465
    assert isinstance(delivery_from(settings(delivery_webhook_url="https://x.example/")), WebhookDelivery)
    nothing = delivery_from(settings())
    assert isinstance(nothing, RecordOnly) and not nothing.delivers
    assert "nothing reaches the customer" in nothing.describe()
    receipt = nothing.send(REPLY)
    assert not receipt.delivered and "nothing was delivered" in receipt.detail
    forced = delivery_from(settings(delivery_mode="none", smtp_host="smtp.example.com", smtp_from="a@b.example"))
    assert isinstance(forced, RecordOnly)
    assert isinstance(delivery_from(settings(delivery_mode="webhook")), Misconfigured)
    # Compose passes an unset variable as an empty string: that is unset, not an empty password or port.
    blank = settings(smtp_port="", smtp_password="", delivery_webhook_auth="  ")
    assert blank.smtp_port is None and blank.smtp_password is None and blank.delivery_webhook_auth is None


def test_webhook_posts_a_zendesk_style_update_with_the_auth_header() -> None:
    with helpdesk_server() as desk:
        delivery = WebhookDelivery(
            settings(delivery_webhook_url=desk.url, delivery_webhook_auth=SecretStr("Bearer tok-123"))
        )
        receipt = delivery.send(REPLY)
    assert receipt.delivered and receipt.channel == "webhook" and receipt.reference == "4242"
    [post] = desk.posted
    assert post.path == "/api/v2/tickets/update" and post.headers["authorization"] == "Bearer tok-123"
    assert post.headers["content-type"] == "application/json" and post.headers["x-deskpilot-ticket"] == "T-1042"
    ticket = post.body["ticket"]
    assert ticket["external_id"] == "T-1042" and ticket["subject"] == "Re: reset link expired"
    assert ticket["requester"] == {"email": "maria.lopez@example.com", "name": "Maria López", "locale": "en"}
    assert ticket["comment"]["public"] is True and ticket["comment"]["body"] == TEXT
    assert '<a href="https://help.ledgerly.example/reset-your-password">' in ticket["comment"]["html_body"]


def test_webhook_freshdesk_style_and_a_custom_header() -> None:
    with helpdesk_server() as desk:
        WebhookDelivery(
            settings(
                delivery_webhook_url=desk.url,
                delivery_webhook_style="freshdesk",
                delivery_webhook_auth_header="X-Api-Key",
                delivery_webhook_auth="k-9",
            )
        ).send(REPLY)
    [post] = desk.posted
    assert post.headers["x-api-key"] == "k-9" and "authorization" not in post.headers
    body = post.body
    assert body["ticket_id"] == "T-1042" and body["email"] == "maria.lopez@example.com" and body["private"] is False
    assert body["body_text"] == TEXT and body["body"].startswith("<!DOCTYPE html>")


def test_webhook_failures_name_the_setting_at_fault() -> None:
    with helpdesk_server() as desk:
        delivery = WebhookDelivery(settings(delivery_webhook_url=desk.url, delivery_webhook_timeout_s=0.5))
        desk.status = 401
        with pytest.raises(DeliveryError, match=r"refused the credentials .*DESKPILOT_DELIVERY_WEBHOOK_AUTH"):
            delivery.send(REPLY)
        desk.status = 500
        with pytest.raises(DeliveryError, match="answered 500"):
            delivery.send(REPLY)
        desk.status, desk.delay_s = 201, 2.0
        with pytest.raises(DeliveryError, match=r"within 0\.5 s .*DESKPILOT_DELIVERY_WEBHOOK_TIMEOUT_S"):
            delivery.send(REPLY)
    down = WebhookDelivery(settings(delivery_webhook_url=f"http://127.0.0.1:{free_port()}/hook"))
    with pytest.raises(DeliveryError, match=r"cannot reach the helpdesk .*DESKPILOT_DELIVERY_WEBHOOK_URL"):
        down.send(REPLY)
    clear = delivery_from(settings(delivery_webhook_url="http://desk.example.com/hook", delivery_webhook_auth="k"))
    assert isinstance(clear, Misconfigured) and "use https" in clear.describe()
