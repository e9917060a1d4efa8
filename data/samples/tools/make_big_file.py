#!/usr/bin/env python3
"""Write a deterministic, oversized Markdown file for ingestion size-limit tests.

The file looks like a normal help-center article (front matter, headings,
paragraphs) repeated until it reaches the target size (default 50 MiB), so a
pipeline must reject it by size rather than by content. It is generated on
demand and must not be committed (data/samples/bad/huge.md is in .gitignore).

Usage:
    python data/samples/tools/make_big_file.py [OUT] [--mb 50]
OUT defaults to data/samples/bad/huge.md.
"""

import argparse
import random
from pathlib import Path

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "bad" / "huge.md"
WORDS = ["invoice", "customer", "payment", "ledger", "account", "report", "export", "currency", "bank", "feed", "tax", "reminder", "template", "receipt", "payroll", "employee", "refund", "plan", "billing", "settings", "user"]

HEADER = """---
id: LED-9000
title: "Oversized test article"
url: https://help.ledgerly.example/hc/en/articles/LED-9000-oversized-test-article
tenant: ledgerly
product: books
locale: en
section: Troubleshooting
updated_at: 2026-01-01
---

# Oversized test article

This file is deliberately huge. Ingestion should refuse it because of its size.

"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", nargs="?", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--mb", type=int, default=50, help="size in MiB (default 50)")
    args = ap.parse_args()

    target = args.mb * 1024 * 1024
    rng = random.Random(50)  # fixed seed: same bytes on every run
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "wb") as f:
        f.write(HEADER.encode())
        written = len(HEADER.encode())
        section = 0
        while written < target:
            section += 1
            lines = [f"## Section {section}\n\n"]
            for _ in range(4):
                words = [rng.choice(WORDS) for _ in range(60)]
                lines.append(" ".join(words).capitalize() + ".\n\n")
            chunk = "".join(lines).encode()[: target - written]
            f.write(chunk)
            written += len(chunk)
    print(f"wrote {args.out} ({written} bytes)")


if __name__ == "__main__":
    main()
