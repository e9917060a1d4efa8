#!/usr/bin/env python3
"""Build the .eml copies of the sample customer inbox from tickets.json.

Reads ``data/samples/inbox/tickets.json`` and writes one RFC 5322 message per
ticket whose channel is ``email`` to ``data/samples/inbox/eml/<ticket_id>.eml``:

    From:         the customer's name and address
    To:           support@<tenant>.example
    Subject:      the ticket subject (RFC 2047-encoded when it isn't ASCII)
    Date:         received_at, keeping its UTC offset
    Message-ID:   derived from ticket id, sender and received_at (stable)
    MIME-Version: 1.0
    Content-Type: text/plain; charset="utf-8"
    Content-Transfer-Encoding: quoted-printable

The decoded text/plain body is the JSON ``body`` string, character for
character (no trailing newline is added). Only the standard library is used
and the output is deterministic: running the script twice gives identical
bytes. Stale ``.eml`` files for tickets that are no longer email tickets are
removed. After writing, every file is parsed back and compared with the JSON.

Usage (from the repository root):
    python data/samples/tools/build_inbox_eml.py            # write the files
    python data/samples/tools/build_inbox_eml.py --check    # exit 1 if a file is missing, stale or extra
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import sys
from email import charset as email_charset
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime
from pathlib import Path

SAMPLES_DIR = Path(__file__).resolve().parent.parent
INBOX_DIR = SAMPLES_DIR / "inbox"
TICKETS_JSON = INBOX_DIR / "tickets.json"
EML_DIR = INBOX_DIR / "eml"

SUPPORT = {
    "ledgerly": ("Ledgerly Support", "support@ledgerly.example"),
    "parcelpoint": ("Parcelpoint Support", "support@parcelpoint.example"),
}

# utf-8 with quoted-printable bodies: 7-bit safe, readable for English text, and
# unlike EmailMessage.set_content() it does not append a newline to the body.
_UTF8_QP = email_charset.Charset("utf-8")
_UTF8_QP.header_encoding = email_charset.QP
_UTF8_QP.body_encoding = email_charset.QP


def load_tickets(path: Path = TICKETS_JSON) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return json.load(fh)["tickets"]


def message_id(ticket: dict, received: dt.datetime) -> str:
    sender = ticket["customer"]["email"]
    domain = sender.rsplit("@", 1)[1]
    digest = hashlib.sha1(f"{ticket['ticket_id']}|{sender}".encode()).hexdigest()[:12]
    stamp = received.astimezone(dt.UTC).strftime("%Y%m%d%H%M%S")
    return f"<{stamp}.{digest}@{domain}>"


def build_message(ticket: dict) -> bytes:
    received = dt.datetime.fromisoformat(ticket["received_at"])
    if received.tzinfo is None:
        raise ValueError(f"{ticket['ticket_id']}: received_at needs a UTC offset")
    local, domain = ticket["customer"]["email"].rsplit("@", 1)
    support_name, support_addr = SUPPORT[ticket["tenant"]]
    s_local, s_domain = support_addr.split("@")

    msg = EmailMessage(policy=policy.default)
    msg["From"] = Address(ticket["customer"]["name"], local, domain)
    msg["To"] = Address(support_name, s_local, s_domain)
    msg["Subject"] = ticket["subject"]
    msg["Date"] = format_datetime(received)
    msg["Message-ID"] = message_id(ticket, received)
    msg["MIME-Version"] = "1.0"
    msg.set_payload(ticket["body"], _UTF8_QP)  # adds Content-Type and Content-Transfer-Encoding
    return msg.as_bytes(policy=policy.default)


def verify(ticket: dict, data: bytes) -> None:
    """Parse a generated message back and compare it with the ticket."""
    msg = BytesParser(policy=policy.default).parsebytes(data)
    tid = ticket["ticket_id"]
    problems = []
    if msg.get_content_type() != "text/plain" or msg.get_content_charset() != "utf-8":
        problems.append(f"content type {msg['Content-Type']!r}")
    if msg.get_content() != ticket["body"]:
        problems.append("body differs from tickets.json")
    if str(msg["Subject"]) != ticket["subject"]:
        problems.append(f"subject {str(msg['Subject'])!r}")
    sender = msg["From"].addresses[0]
    if (sender.display_name, sender.addr_spec) != (
        ticket["customer"]["name"],
        ticket["customer"]["email"],
    ):
        problems.append(f"From {str(msg['From'])!r}")
    if msg["To"].addresses[0].addr_spec != SUPPORT[ticket["tenant"]][1]:
        problems.append(f"To {str(msg['To'])!r}")
    if msg["Date"].datetime != dt.datetime.fromisoformat(ticket["received_at"]):
        problems.append(f"Date {str(msg['Date'])!r}")
    for header in ("Message-ID", "MIME-Version"):
        if msg[header] is None:
            problems.append(f"missing {header}")
    if problems:
        raise SystemExit(f"{tid}: " + "; ".join(problems))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="don't write; exit 1 if any .eml is missing, stale or extra",
    )
    parser.add_argument("--tickets", type=Path, default=TICKETS_JSON)
    parser.add_argument("--out-dir", type=Path, default=EML_DIR)
    args = parser.parse_args(argv)

    tickets = [t for t in load_tickets(args.tickets) if t["channel"] == "email"]
    wanted = {}
    for ticket in tickets:
        data = build_message(ticket)
        verify(ticket, data)
        wanted[args.out_dir / f"{ticket['ticket_id']}.eml"] = data

    existing = set(args.out_dir.glob("*.eml")) if args.out_dir.is_dir() else set()
    stale = sorted(p for p, data in wanted.items() if not p.exists() or p.read_bytes() != data)
    extra = sorted(existing - set(wanted))

    if args.check:
        for p in stale:
            print(f"missing or stale: {p}", file=sys.stderr)
        for p in extra:
            print(f"not an email ticket: {p}", file=sys.stderr)
        return 1 if stale or extra else 0

    args.out_dir.mkdir(parents=True, exist_ok=True)
    for p in stale:
        p.write_bytes(wanted[p])
    for p in extra:
        p.unlink()
    print(
        f"{len(wanted)} email tickets: {len(stale)} written, {len(extra)} removed, "
        f"{len(wanted) - len(stale)} unchanged ({args.out_dir})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
