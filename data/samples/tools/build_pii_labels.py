#!/usr/bin/env python3
"""Build data/samples/pii_labels.jsonl, the gold PII spans of the sample inbox.

The annotations below list, per ticket, every piece of personal data that
occurs in the ticket's subject or body as (ticket_id, field, value, type).
This script finds each value in ``inbox/tickets.json`` and writes one JSON
line per text:

    {"text_id": "T-1001.body", "text": "...", "spans": [
        {"entity_type": "PERSON", "start": 0, "end": 5, "value": "..."}]}

Every ticket body gets a line (with ``"spans": []`` when it holds no PII), and
a subject gets a line when it has at least one annotation. Offsets are Python
string indices (Unicode code points) into ``text``; ``text[start:end] ==
value`` always holds.

Matching rules, so the labels stay correct when a body is edited:

- A value is matched exactly (case-sensitive). A match is rejected when it
  would cut through a word (a letter or digit directly before or after it).
- Every occurrence of the value in the text is labeled.
- Occurrences inside a longer annotated value of the same text are skipped
  (``Harriet`` inside ``Harriet Lowe``); a value that *only* occurs inside
  longer values is an error, as is a value that isn't found at all, a partial
  overlap between two spans, an unknown ticket, field or entity type.
- After labeling, the text is scanned for strings that look like e-mail
  addresses, IP addresses, US SSNs, Luhn-valid card numbers and
  checksum-valid IBANs. Any such string that is neither inside a span nor in
  NOT_PII (company contact addresses) is an error: it is probably PII that
  somebody forgot to annotate.

Labeling conventions: see data/samples/inbox/README.md.

Usage (from the repository root):
    python data/samples/tools/build_pii_labels.py           # write the file
    python data/samples/tools/build_pii_labels.py --check   # exit 1 if the file is missing or stale
    python data/samples/tools/build_pii_labels.py --show    # also print every span for review
"""
from __future__ import annotations

import argparse
import ipaddress
import json
import re
import sys
from collections import Counter
from pathlib import Path

SAMPLES_DIR = Path(__file__).resolve().parent.parent
TICKETS_JSON = SAMPLES_DIR / "inbox" / "tickets.json"
OUT = SAMPLES_DIR / "pii_labels.jsonl"

ENTITY_TYPES = ("PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE",
                "IP_ADDRESS", "US_SSN", "STREET_ADDRESS")
FIELDS = ("subject", "body")

# Look like PII to the safety scan but are company contact points or fake company
# addresses, not personal data (see PLANTED.md, section e).
NOT_PII = {
    "support@ledgerly.example",
    "invoices@mail.ledgerly.example",
    "verify@ledgerly-billing.example",  # phishing address quoted by a customer
}

PERSON, EMAIL, PHONE, CARD = "PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD"
IBAN, IP, SSN, ADDRESS = "IBAN_CODE", "IP_ADDRESS", "US_SSN", "STREET_ADDRESS"

# (ticket_id, field, value, entity_type)
ANNOTATIONS: list[tuple[str, str, str, str]] = [
    # ---- ledgerly
    ("T-1001", "body", "Megan O'Connell", PERSON),
    ("T-1001", "body", "198.51.100.88", IP),
    ("T-1001", "body", "(503) 555-0148", PHONE),

    ("T-1002", "body", "4111 1111 1111 1111", CARD),
    ("T-1002", "body", "4111-1111-1111-1111", CARD),
    ("T-1002", "body", "Derek Hallstrom", PERSON),
    ("T-1002", "body", "312.555.0199", PHONE),
    ("T-1002", "body", "d.hallstrom@outlook.example", EMAIL),

    ("T-1003", "body", "07700 900461", PHONE),
    ("T-1003", "body", "+44 7700 900461", PHONE),

    ("T-1004", "body", "Callum", PERSON),
    ("T-1004", "body", "3530 1113 3330 0000", CARD),
    ("T-1004", "body", "078-05-1120", SSN),
    ("T-1004", "body", "020 7946 0321", PHONE),
    ("T-1004", "body", "+44 7700 900187", PHONE),
    ("T-1004", "body", "203.0.113.54", IP),
    ("T-1004", "body", "Rhys Morgan-Tate", PERSON),
    ("T-1004", "body", "14 Calder Row, Islington, London N1 8QP", ADDRESS),

    ("T-1005", "body", "Tobias Lehmann", PERSON),
    ("T-1005", "body", "tobias.lehmann@gmx.example", EMAIL),
    ("T-1005", "body", "4242-4242-4242-4242", CARD),
    ("T-1005", "body", "DE89 3704 0044 0532 0130 00", IBAN),
    ("T-1005", "body", "DE89370400440532013000", IBAN),

    ("T-1006", "body", "j.weiss@spreeblick-elektro.example", EMAIL),
    ("T-1006", "body", "juergen.weiss@web.example", EMAIL),
    ("T-1006", "body", "DE97 2004 0000 0628 1937 00", IBAN),
    ("T-1006", "body", "030 23125 417", PHONE),
    ("T-1006", "body", "192.0.2.17", IP),
    ("T-1006", "body", "Jürgen Weiß", PERSON),
    ("T-1006", "body", "Kastanienallee 7, 10435 Berlin", ADDRESS),

    ("T-1007", "body", "5200 8282 8282 8210", CARD),
    ("T-1007", "body", "DE47 7015 0000 1234 5678 90", IBAN),
    ("T-1007", "body", "089 99998 214", PHONE),
    ("T-1007", "body", "s.kraemer@kraemer-innenausbau.example", EMAIL),
    ("T-1007", "body", "Sabine Krämer", PERSON),
    ("T-1007", "body", "Leopoldstraße 88, 80802 München", ADDRESS),

    ("T-1008", "body", "lena.hoffmann@gmx.example", EMAIL),
    ("T-1008", "body", "Petra Schubert", PERSON),
    ("T-1008", "body", "DE66 1005 0000 0987 6543 21", IBAN),

    ("T-1009", "body", "Markus Vogel", PERSON),
    ("T-1009", "body", "markus.vogel@posteo.example", EMAIL),
    ("T-1009", "body", "198.51.100.23", IP),
    ("T-1009", "body", "2001:db8:85a3::8a2e:370:7334", IP),
    ("T-1009", "body", "4012 0010 3714 1112", CARD),
    ("T-1009", "body", "AT61 1904 3002 3457 3201", IBAN),
    ("T-1009", "body", "0171 3920078", PHONE),

    ("T-1010", "body", "192.0.2.44", IP),
    ("T-1010", "body", "Kenji Watanabe", PERSON),
    ("T-1010", "body", "+1 206 555 0123", PHONE),

    ("T-1011", "body", "Steffan Rees", PERSON),
    ("T-1011", "body", "GB73 HBUK 4012 3456 7890 12", IBAN),
    ("T-1011", "body", "GB60 BARC 2000 0055 7799 11", IBAN),
    ("T-1011", "body", "3400 000000 00009", CARD),
    ("T-1011", "body", "01632 960 742", PHONE),
    ("T-1011", "body", "Gareth Pryce", PERSON),
    ("T-1011", "body", "Gareth", PERSON),
    ("T-1011", "body", "Jonas", PERSON),

    ("T-1012", "body", "6011 1111 1111 1117", CARD),
    ("T-1012", "body", "Carlos", PERSON),
    ("T-1012", "body", "(786) 555-0154", PHONE),

    ("T-1013", "body", "Νίκος Γεωργίου", PERSON),
    ("T-1013", "body", "Nikos Georgiou", PERSON),
    ("T-1013", "body", "Οδός Λεμονιάς 12, 546 22 Θεσσαλονίκη", ADDRESS),
    ("T-1013", "body", "GB29 NWBK 6016 1331 9268 19", IBAN),
    ("T-1013", "body", "Eleni Papadopoulou", PERSON),
    ("T-1013", "body", "+44 20 7946 0815", PHONE),
    ("T-1013", "body", "eleni.papadopoulou@outlook.example", EMAIL),

    ("T-1014", "body", "614-555-0127", PHONE),
    ("T-1014", "body", "4417 Maple Ridge Dr, Columbus, OH 43215", ADDRESS),
    ("T-1014", "body", "Brenda Kowalski", PERSON),

    ("T-1015", "body", "Luis Ortega", PERSON),
    ("T-1015", "body", "Luis", PERSON),
    ("T-1015", "body", "219-09-9999", SSN),
    ("T-1015", "body", "(615) 555-0163", PHONE),
    ("T-1015", "body", "Tanya Brooks", PERSON),
    ("T-1015", "body", "1100 Belmont Blvd, Suite 210, Nashville, TN 37212", ADDRESS),
    ("T-1015", "body", "tanya@belmontfamilydental.example", EMAIL),

    ("T-1016", "body", "Owen McAllister", PERSON),
    ("T-1016", "body", "owen.mcallister@gmail.example", EMAIL),
    ("T-1016", "body", "Rachel Kim", PERSON),
    ("T-1016", "body", "345-67-8901", SSN),
    ("T-1016", "body", "508 Oak Hollow Dr, Round Rock, TX 78664", ADDRESS),
    ("T-1016", "body", "Brandon Lee", PERSON),
    ("T-1016", "body", "212 12 1212", SSN),
    ("T-1016", "body", "456-78-9012", SSN),
    ("T-1016", "body", "2200 Pecan Bend Rd, Dallas, TX 75201", ADDRESS),
    ("T-1016", "body", "214-555-0178", PHONE),

    ("T-1017", "subject", "Keisha Williams", PERSON),
    ("T-1017", "body", "keisha.w@fernwoodpeds.example", EMAIL),
    ("T-1017", "body", "401-23-4567", SSN),
    ("T-1017", "body", "1290 Cedar Lane, Apt 3B, Raleigh, NC 27601", ADDRESS),
    ("T-1017", "body", "919-555-0131", PHONE),
    ("T-1017", "body", "Keisha Williams", PERSON),

    ("T-1018", "body", "198.51.100.140", IP),
    ("T-1018", "body", "Jamal Carter", PERSON),
    ("T-1018", "body", "+1 404 555 0172", PHONE),

    ("T-1019", "body", "Ruth", PERSON),

    ("T-1020", "body", "Harriet", PERSON),
    ("T-1020", "body", "Harriet Lowe", PERSON),
    ("T-1020", "body", "harriet.lowe@meseta-consulting.example", EMAIL),
    ("T-1020", "body", "Mia Thompson", PERSON),
    ("T-1020", "body", "Mia", PERSON),
    ("T-1020", "body", "mia@thompsoncreative.example", EMAIL),
    ("T-1020", "body", "07700 900874", PHONE),
    ("T-1020", "body", "ES91 2100 0418 4502 0005 1332", IBAN),
    ("T-1020", "body", "+44 7700 900356", PHONE),

    ("T-1021", "body", "NL44 RABO 0123 4567 89", IBAN),
    ("T-1021", "body", "Olivia Bennett", PERSON),
    ("T-1021", "body", "+44 7700 900233", PHONE),

    ("T-1022", "body", "Sean Gallagher", PERSON),
    ("T-1022", "body", "Sean", PERSON),
    ("T-1022", "body", "sean.gallagher@doylehvac.example", EMAIL),
    ("T-1022", "body", "198.51.100.201", IP),
    ("T-1022", "body", "Patrick Doyle", PERSON),
    ("T-1022", "body", "+1 (617) 555-0193", PHONE),

    ("T-1023", "body", "Femke de Vries", PERSON),
    ("T-1023", "body", "femke.devries@kpnmail.example", EMAIL),
    ("T-1023", "body", "Brouwersgracht 118-2, 1013 HB Amsterdam", ADDRESS),
    ("T-1023", "body", "BE68 5390 0754 7034", IBAN),

    ("T-1024", "body", "Amanda Pierce", PERSON),
    ("T-1024", "body", "500 Harborview Plaza, Suite 1400, Baltimore, MD 21202", ADDRESS),
    ("T-1024", "body", "(410) 555-0166", PHONE),
    ("T-1024", "body", "apierce@piercehale-law.example", EMAIL),

    ("T-1025", "body", "Nadia Petrova", PERSON),
    ("T-1025", "body", "Nadia", PERSON),
    ("T-1025", "body", "nadia.petrova@gmail.example", EMAIL),
    ("T-1025", "body", "+44 7700 900622", PHONE),

    ("T-1026", "body", "Dale Hutchins", PERSON),
    ("T-1026", "body", "dale@treasurevalleybooks.example", EMAIL),
    ("T-1026", "body", "(208) 555-0145", PHONE),

    ("T-1027", "body", "+1 347 555 0109", PHONE),
    ("T-1027", "body", "Rohan Mehta", PERSON),
    ("T-1027", "body", "rohan.mehta.seo@gmail.example", EMAIL),

    ("T-1028", "body", "3714 496353 98431", CARD),
    ("T-1028", "body", "Victoria Chen", PERSON),
    ("T-1028", "body", "+1 (415) 555-0186", PHONE),
    ("T-1028", "body", "victoria.chen@lumenrobotics.example", EMAIL),

    ("T-1029", "body", "4000 0566 5566 5556", CARD),
    ("T-1029", "body", "5555 5555 5555 4444", CARD),
    ("T-1029", "body", "27 Quarry Bank Road, Manchester M14 6EQ", ADDRESS),
    ("T-1029", "body", "GB46 LOYD 3091 2345 6789 01", IBAN),
    ("T-1029", "body", "Youssef Haddad", PERSON),
    ("T-1029", "body", "0161 496 0738", PHONE),

    ("T-1030", "body", "6011 0009 9013 9424", CARD),
    ("T-1030", "body", "Arjun", PERSON),

    ("T-1031", "body", "Claire Martin", PERSON),
    ("T-1031", "body", "claire.martin@free.example", EMAIL),
    ("T-1031", "body", "+33 6 39 98 12 34", PHONE),
    ("T-1031", "body", "8 Rue des Lilas, 69003 Lyon", ADDRESS),
    ("T-1031", "body", "Émilie Laurent", PERSON),
    ("T-1031", "body", "emilie.laurent@laposte.example", EMAIL),
    ("T-1031", "body", "+33 6 39 98 56 78", PHONE),
    ("T-1031", "body", "22 Avenue Jean Jaurès, 13005 Marseille", ADDRESS),
    ("T-1031", "body", "FR76 3000 6000 0112 3456 7890 189", IBAN),
    ("T-1031", "body", "François Dubois", PERSON),

    ("T-1032", "body", "Grace Whitmore", PERSON),
    ("T-1032", "body", "07700 900731", PHONE),

    ("T-1033", "body", "4012 8888 8888 1881", CARD),
    ("T-1033", "body", "234-56-7890", SSN),
    ("T-1033", "body", "203.0.113.250", IP),
    ("T-1033", "body", "Walter Nguyen", PERSON),
    ("T-1033", "body", "(713) 555-0181", PHONE),

    ("T-1034", "body", "Lorenzo Russo", PERSON),
    ("T-1034", "body", "lorenzo@fiveboroughscatering.example", EMAIL),
    ("T-1034", "body", "203.0.113.9", IP),
    ("T-1034", "body", "917-555-0114", PHONE),
    ("T-1034", "body", "4000 0025 0000 3155", CARD),

    # ---- parcelpoint
    ("T-1035", "subject", "Margaret Ellis", PERSON),
    ("T-1035", "body", "Margaret Ellis", PERSON),
    ("T-1035", "body", "58 Birchwood Avenue, Leeds LS6 2QT", ADDRESS),
    ("T-1035", "body", "2223 0031 2200 3222", CARD),
    ("T-1035", "body", "Connor Walsh", PERSON),
    ("T-1035", "body", "07700 900512", PHONE),
    ("T-1035", "body", "connor@northernspokes.example", EMAIL),

    ("T-1036", "body", "3782 822463 10005", CARD),
    ("T-1036", "body", "Stephanie Moreau", PERSON),
    ("T-1036", "body", "+1 (207) 555-0121", PHONE),

    ("T-1037", "body", "Ben Alvarez", PERSON),
    ("T-1037", "body", "ben.alvarez@gmail.example", EMAIL),

    ("T-1038", "body", "Hunter Briggs", PERSON),
    ("T-1038", "body", "hunter.briggs@outlook.example", EMAIL),
    ("T-1038", "body", "(720) 555-0139", PHONE),
    ("T-1038", "body", "4917 6100 0000 0000", CARD),
    ("T-1038", "body", "192.0.2.150", IP),

    ("T-1039", "body", "203.0.113.17", IP),
    ("T-1039", "body", "203.0.113.18", IP),
    ("T-1039", "body", "Jan Kowalczyk", PERSON),
    ("T-1039", "body", "jan.kowalczyk@wp.example", EMAIL),
    ("T-1039", "body", "+44 7700 900918", PHONE),
    ("T-1039", "body", "Aleksander Nowak", PERSON),

    ("T-1040", "subject", "5105 1051 0510 5100", CARD),
    ("T-1040", "body", "5105 1051 0510 5100", CARD),
    ("T-1040", "body", "Imani Douglas", PERSON),
    ("T-1040", "body", "(504) 555-0117", PHONE),

    ("T-1041", "body", "Katrin Bauer", PERSON),
    ("T-1041", "body", "Am Mühlbach 9, 79098 Freiburg", ADDRESS),
    ("T-1041", "body", "Fiona MacLeod", PERSON),
    ("T-1041", "body", "Unit 4, Glenburn Workshops, Kilmarnock KA1 4RT", ADDRESS),
    ("T-1041", "body", "01632 960318", PHONE),
    ("T-1041", "body", "fiona@heatherandhide.example", EMAIL),

    ("T-1042", "subject", "Graham Holt", PERSON),
    ("T-1042", "body", "Graham Holt", PERSON),
    ("T-1042", "body", "graham.holt@gmail.example", EMAIL),
    ("T-1042", "body", "GB82 WEST 1234 5698 7654 32", IBAN),
    ("T-1042", "body", "5454 5454 5454 5454", CARD),
    ("T-1042", "body", "020 7946 0552", PHONE),

    ("T-1043", "body", "1875 Industrial Pkwy, Unit C, Hialeah, FL 33016", ADDRESS),
    ("T-1043", "body", "Marisol Vega", PERSON),
    ("T-1043", "body", "305-555-0108", PHONE),

    # T-1044 has no personal data.

    ("T-1045", "body", "jess.pengelly@gmail.example", EMAIL),
    ("T-1045", "body", "tom.tremayne@outlook.example", EMAIL),
    ("T-1045", "body", "Tom", PERSON),
    ("T-1045", "body", "203.0.113.201", IP),
    ("T-1045", "body", "Oliver Grant", PERSON),
    ("T-1045", "body", "01632 960118", PHONE),

    ("T-1046", "body", "Sophie Lindqvist", PERSON),
    ("T-1046", "body", "sophie.lindqvist@outlook.example", EMAIL),
    ("T-1046", "body", "4000 0000 0000 0077", CARD),
    ("T-1046", "body", "020 7946 0274", PHONE),

    ("T-1047", "body", "Raymond Fitzgerald", PERSON),
    ("T-1047", "body", "77 Old Mill Road, Bangor, ME 04401", ADDRESS),
    ("T-1047", "body", "207-555-0144", PHONE),
]


class LabelError(Exception):
    pass


# ----------------------------------------------------------------------------- matching

def _occurrences(text: str, value: str) -> list[int]:
    """Start offsets of value in text that don't cut through a word."""
    starts = []
    i = text.find(value)
    while i != -1:
        before = text[i - 1] if i > 0 else ""
        after = text[i + len(value)] if i + len(value) < len(text) else ""
        cuts_start = value[0].isalnum() and before.isalnum()
        cuts_end = value[-1].isalnum() and after.isalnum()
        if not (cuts_start or cuts_end):
            starts.append(i)
        i = text.find(value, i + 1)
    return starts


def label_text(text_id: str, text: str, annotations: list[tuple[str, str]]) -> list[dict]:
    """annotations: (value, entity_type) pairs for this text. Returns sorted spans."""
    spans: list[dict] = []
    seen = set()
    # Longer values first, so that a shorter value inside a longer one is recognized.
    for value, etype in sorted(annotations, key=lambda a: -len(a[0])):
        if etype not in ENTITY_TYPES:
            raise LabelError(f"{text_id}: unknown entity type {etype!r}")
        if (value, etype) in seen:
            raise LabelError(f"{text_id}: duplicate annotation {value!r} ({etype})")
        seen.add((value, etype))
        if not value or value != value.strip():
            raise LabelError(f"{text_id}: value {value!r} is empty or has surrounding whitespace")
        starts = _occurrences(text, value)
        if not starts:
            raise LabelError(f"{text_id}: {etype} value {value!r} not found in the text")
        added = 0
        for start in starts:
            end = start + len(value)
            inside = [s for s in spans if s["start"] <= start and end <= s["end"]]
            crossing = [s for s in spans if start < s["end"] and s["start"] < end and s not in inside]
            if crossing:
                raise LabelError(f"{text_id}: {value!r} at {start} partly overlaps {crossing[0]['value']!r}")
            if inside:
                continue
            spans.append({"entity_type": etype, "start": start, "end": end, "value": value})
            added += 1
        if not added:
            raise LabelError(f"{text_id}: {value!r} only occurs inside other spans; remove the annotation")
    spans.sort(key=lambda s: (s["start"], s["end"]))
    for s in spans:
        assert text[s["start"]:s["end"]] == s["value"]
    return spans


# ----------------------------------------------------------------------------- safety scan

_EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_IPV4_RE = re.compile(r"(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?![\d.])")
_IPV6_RE = re.compile(r"(?<![\w:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])")
_SSN_RE = re.compile(r"(?<!\d)\d{3}([- ])\d{2}\1\d{4}(?!\d)")
_CARD_RE = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
_IBAN_RE = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _iban_ok(candidate: str) -> bool:
    s = candidate.replace(" ", "")
    if not 15 <= len(s) <= 34:
        return False
    rearranged = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def suspicious(text: str) -> list[tuple[str, int, int, str]]:
    """Strings that look like machine-checkable PII: (kind, start, end, value)."""
    found = []
    for m in _EMAIL_RE.finditer(text):
        found.append(("email", m.start(), m.end(), m.group()))
    for regex in (_IPV4_RE, _IPV6_RE):
        for m in regex.finditer(text):
            try:
                ipaddress.ip_address(m.group())
            except ValueError:
                continue
            found.append(("ip", m.start(), m.end(), m.group()))
    for m in _SSN_RE.finditer(text):
        found.append(("ssn", m.start(), m.end(), m.group()))
    for m in _CARD_RE.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if 13 <= len(digits) <= 19 and _luhn_ok(digits):
            found.append(("card", m.start(), m.end(), m.group()))
    for m in _IBAN_RE.finditer(text):
        # the regex may swallow a following word; try the longest valid prefix
        cand = m.group()
        while cand and not _iban_ok(cand):
            cand = cand[:-1].rstrip()
        if cand:
            found.append(("iban", m.start(), m.start() + len(cand), cand))
    return found


def unlabeled(text: str, spans: list[dict]) -> list[tuple[str, str]]:
    out = []
    for kind, start, end, value in suspicious(text):
        if value in NOT_PII:
            continue
        if any(s["start"] <= start and end <= s["end"] for s in spans):
            continue
        out.append((kind, value))
    return out


# ----------------------------------------------------------------------------- build

def build(tickets: list[dict]) -> list[dict]:
    by_text: dict[tuple[str, str], list[tuple[str, str]]] = {}
    known = {t["ticket_id"] for t in tickets}
    for tid, field, value, etype in ANNOTATIONS:
        if tid not in known:
            raise LabelError(f"annotation for unknown ticket {tid}")
        if field not in FIELDS:
            raise LabelError(f"{tid}: unknown field {field!r}")
        by_text.setdefault((tid, field), []).append((value, etype))

    lines = []
    problems = []
    for ticket in tickets:
        tid = ticket["ticket_id"]
        for field in FIELDS:
            anns = by_text.get((tid, field), [])
            if field == "subject" and not anns:
                leftovers = unlabeled(ticket["subject"], [])
                if leftovers:
                    problems.append(f"{tid}.subject: unlabeled {leftovers}")
                continue
            text_id = f"{tid}.{field}"
            text = ticket[field]
            spans = label_text(text_id, text, anns)
            leftovers = unlabeled(text, spans)
            if leftovers:
                problems.append(f"{text_id}: unlabeled {leftovers}")
            lines.append({"text_id": text_id, "text": text, "spans": spans})
    if problems:
        raise LabelError("possible PII without a label (annotate it or add it to NOT_PII):\n  "
                         + "\n  ".join(problems))
    return lines


def render(lines: list[dict]) -> str:
    return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the output file is missing or stale")
    parser.add_argument("--show", action="store_true", help="print every span for review")
    parser.add_argument("--tickets", type=Path, default=TICKETS_JSON)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)

    with args.tickets.open(encoding="utf-8") as fh:
        tickets = json.load(fh)["tickets"]
    try:
        lines = build(tickets)
    except LabelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    data = render(lines)

    counts = Counter(s["entity_type"] for line in lines for s in line["spans"])
    if args.show:
        for line in lines:
            for s in line["spans"]:
                print(f"{line['text_id']:<14} {s['entity_type']:<15} {s['start']:>5} {s['end']:>5}  {s['value']}")

    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else None
        if current != data:
            print(f"stale or missing: {args.out}", file=sys.stderr)
            return 1
        return 0

    args.out.write_text(data, encoding="utf-8")
    total = sum(counts.values())
    print(f"{len(lines)} texts, {total} spans -> {args.out}")
    for etype in ENTITY_TYPES:
        print(f"  {etype:<15} {counts.get(etype, 0)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
