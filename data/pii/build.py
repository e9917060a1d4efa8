"""Build the labelled PII sets' JSONL from their marked-up sources, and verify every label.

A source file holds messages after a header line ``=== <id> <locale> <kind> <channel>``;
inside a message a labelled span is written ``⟦TYPE:value⟧`` (the value may run over
lines). This script strips the marks, computes character offsets into the clean text
and writes one JSON object per message::

    {"id", "locale", "kind", "channel", "text", "spans": [{"type", "start", "end", "value"}]}

and checks every label: ``text[start:end] == value``, no label overlaps another, no
stray mark is left, each value is stripped of surrounding spaces, card numbers pass
Luhn with 13-19 digits, IBANs pass ISO 7064 mod 97 with their country's length, and
(when the ``phonenumbers`` package is importable) every phone number is a possible
number in the message's region or in international form.

    python data/pii/build.py            # rebuild every *.src.txt into *.jsonl
    python data/pii/build.py --check    # exit 1 when a JSONL is stale or a label is wrong
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CODES = {
    "PER": "PERSON",
    "ADDR": "STREET_ADDRESS",
    "EMAIL": "EMAIL_ADDRESS",
    "PHONE": "PHONE_NUMBER",
    "CARD": "CREDIT_CARD",
    "IBAN": "IBAN_CODE",
    "IP": "IP_ADDRESS",
    "SSN": "US_SSN",
    "NINO": "UK_NINO",
    "DOB": "DATE_OF_BIRTH",
    "ACCT": "ACCOUNT_NUMBER",
}
_MARK = re.compile(r"⟦(?P<code>[A-Z]+):(?P<value>.*?)⟧", re.S)
_HEADER = re.compile(
    r"^=== (?P<id>\S+) (?P<locale>[a-z]{2}(?:-[A-Z]{2})?) (?P<kind>customer|content) (?P<channel>\S+)$"
)
# ISO 13616 lengths of the countries the sets use.
IBAN_LENGTHS = {
    "AT": 20, "BE": 16, "CH": 21, "CZ": 24, "DE": 22, "DK": 18, "ES": 24, "FI": 18, "FR": 27, "GB": 22,
    "GR": 27, "HU": 28, "IE": 22, "IT": 27, "LU": 20, "MT": 31, "NL": 18, "NO": 15, "PL": 28, "PT": 25,
    "RO": 24, "SE": 24,
}  # fmt: skip
REGIONS = {"en": "GB", "de": "DE", "fr": "FR", "es": "ES", "it": "IT", "pt": "PT", "pl": "PL", "nl": "NL"}


def parse(source: str) -> list[dict[str, object]]:
    """The messages of a marked-up source, with clean text and offsets."""
    messages: list[dict[str, object]] = []
    header: dict[str, str] | None = None
    body: list[str] = []

    def close() -> None:
        if header is not None:
            messages.append(_message(header, "\n".join(body).strip("\n")))

    for line in source.split("\n"):
        match = _HEADER.match(line)
        if match:
            close()
            header, body = match.groupdict(), []
        elif line.startswith("=== "):
            raise ValueError(f"malformed header: {line!r}")
        elif header is not None:
            body.append(line)
        elif line.strip() and not line.startswith("#"):
            raise ValueError(f"text before the first header: {line!r}")
    close()
    return messages


def _message(header: dict[str, str], marked: str) -> dict[str, object]:
    text: list[str] = []
    spans: list[dict[str, object]] = []
    cursor = 0
    length = 0
    for match in _MARK.finditer(marked):
        before = marked[cursor : match.start()]
        text.append(before)
        length += len(before)
        code, value = match.group("code"), match.group("value")
        if code not in CODES:
            raise ValueError(f"{header['id']}: unknown label {code!r}")
        spans.append({"type": CODES[code], "start": length, "end": length + len(value), "value": value})
        text.append(value)
        length += len(value)
        cursor = match.end()
    text.append(marked[cursor:])
    return {**header, "text": "".join(text), "spans": spans}


def luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def iban_ok(value: str) -> bool:
    compact = re.sub(r"\s", "", value).upper()
    if IBAN_LENGTHS.get(compact[:2]) != len(compact):
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def problems(messages: list[dict[str, object]]) -> list[str]:
    """Every wrong label, as a readable line; empty when all hold."""
    try:
        import phonenumbers
    except ImportError:  # the check of phone numbers needs the project's venv
        phonenumbers = None
    found: list[str] = []
    seen_ids: set[str] = set()
    for message in messages:
        mid, text = str(message["id"]), str(message["text"])
        if mid in seen_ids:
            found.append(f"{mid}: duplicate id")
        seen_ids.add(mid)
        if "⟦" in text or "⟧" in text:
            found.append(f"{mid}: stray mark")
        last_end = -1
        for span in message["spans"]:  # type: ignore[attr-defined]
            start, end, value, kind = span["start"], span["end"], span["value"], span["type"]
            if text[start:end] != value:
                found.append(f"{mid}: offsets {start}-{end} give {text[start:end]!r}, not {value!r}")
            if value != value.strip() or not value:
                found.append(f"{mid}: {kind} {value!r} has surrounding space")
            if start < last_end:
                found.append(f"{mid}: {kind} {value!r} overlaps the span before it")
            last_end = end
            if kind == "CREDIT_CARD":
                digits = re.sub(r"[ -]", "", value)
                if not (digits.isdigit() and 13 <= len(digits) <= 19 and luhn_ok(digits)):
                    found.append(f"{mid}: card {value!r} fails Luhn or length")
            if kind == "IBAN_CODE" and not iban_ok(value):
                found.append(f"{mid}: IBAN {value!r} fails mod 97 or length")
            if kind == "PHONE_NUMBER" and phonenumbers is not None:
                region = REGIONS.get(str(message["locale"])[:2], "GB")
                ok = False
                for candidate_region in (
                    region,
                    "US",
                    "GB",
                    "AU",
                    "NZ",
                    "IE",
                    "BR",
                    "AR",
                    "CH",
                    "AT",
                    "BE",
                    "NO",
                    "ZA",
                ):
                    try:
                        number = phonenumbers.parse(value, candidate_region)
                    except phonenumbers.NumberParseException:
                        continue
                    if phonenumbers.is_possible_number(number):
                        ok = True
                        break
                if not ok:
                    found.append(f"{mid}: phone {value!r} is not a possible number")
    return found


def build(source: Path) -> tuple[Path, str, list[str]]:
    messages = parse(source.read_text(encoding="utf-8"))
    target = source.with_name(source.name.replace(".src.txt", ".jsonl"))
    rendered = "".join(json.dumps(m, ensure_ascii=False) + "\n" for m in messages)
    return target, rendered, problems(messages)


def main(argv: list[str]) -> int:
    check = "--check" in argv
    failed = False
    for source in sorted(HERE.glob("*.src.txt")):
        target, rendered, found = build(source)
        for line in found:
            print(f"{source.name}: {line}")
        failed |= bool(found)
        if check:
            if not target.exists() or target.read_text(encoding="utf-8") != rendered:
                print(f"{target.name} is stale: run python data/pii/build.py")
                failed = True
        else:
            target.write_text(rendered, encoding="utf-8")
        messages = [json.loads(line) for line in rendered.splitlines()]
        spans = [s for m in messages for s in m["spans"]]
        locales = sorted({m["locale"] for m in messages})
        print(f"{target.name}: {len(messages)} messages, {len(spans)} spans, locales {', '.join(locales)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
