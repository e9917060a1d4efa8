#!/usr/bin/env python3
"""Build the PDF and DOCX articles of the sample help center from Markdown sources.

Every ``data/samples/sources/<tenant>/*.md`` file holds one article: YAML front
matter with the 8 metadata keys (id, title, url, tenant, product, locale,
section, updated_at) plus

    format: pdf | docx
    out: <section-slug>/<slug>.<pdf|docx>     (relative to helpcenter/<tenant>/)

followed by a Markdown body: #/##/### headings, paragraphs, "-"/"*" bullets,
"1." steps (one nested level by indenting), pipe tables, ">" notes, fenced
code, and inline **bold**, `code` and [links](url) (links keep their text).

For each source the script writes ``helpcenter/<tenant>/<out>`` (docx via
python-docx, pdf via fpdf2) and the sidecar ``<out>.meta.json`` holding the 8
keys. Output is deterministic: dates inside the documents (docx core
properties, zip member times, pdf CreationDate) are taken from ``updated_at``,
so building twice gives byte-identical files on the same machine. The PDF uses
DejaVu Sans from the system when present (Unicode), otherwise core Helvetica
with the text folded to latin-1, so a different font setup gives different,
equally valid bytes.

Needs python-docx, fpdf2 and PyYAML. Usage (from the repository root):
    python data/samples/tools/build_office_docs.py            # build everything
    python data/samples/tools/build_office_docs.py --check    # exit 1 if any output is missing or stale
    python data/samples/tools/build_office_docs.py --samples-dir DIR [SOURCE.md ...]
"""

from __future__ import annotations

import argparse
import datetime as dt
import glob
import io
import json
import os
import re
import sys
import zipfile
from pathlib import Path

import yaml

META_KEYS = ("id", "title", "url", "tenant", "product", "locale", "section", "updated_at")
SAMPLES_DIR = Path(__file__).resolve().parent.parent
COMPANY = {"ledgerly": "Ledgerly Ltd", "parcelpoint": "Parcelpoint Inc"}


# --------------------------------------------------------------------------- source parsing


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps dates as the strings written in the file."""


_Loader.add_constructor(
    "tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node)
)


def read_source(path: Path) -> tuple[dict, str]:
    text = path.read_text(encoding="utf-8")
    m = re.match(r"\A---\s*\n(.*?)\n---\s*\n(.*)\Z", text, re.S)
    if not m:
        raise ValueError("no YAML front matter")
    meta = yaml.load(m.group(1), Loader=_Loader) or {}
    missing = [k for k in META_KEYS + ("format", "out") if not meta.get(k)]
    if missing:
        raise ValueError("front matter lacks " + ", ".join(missing))
    meta = {k: str(v) for k, v in meta.items()}
    if meta["format"] not in ("pdf", "docx"):
        raise ValueError(f"format must be pdf or docx, not {meta['format']!r}")
    out = Path(meta["out"])
    if out.is_absolute() or ".." in out.parts or out.suffix != "." + meta["format"]:
        raise ValueError(f"bad out path {meta['out']!r}")
    return meta, m.group(2)


def fixed_datetime(updated_at: str) -> dt.datetime:
    """updated_at (date or datetime, optional Z/offset) as a naive UTC datetime."""
    value = dt.datetime.fromisoformat(updated_at.strip().replace("Z", "+00:00"))
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def parse_blocks(body: str) -> list[tuple]:
    """Split a Markdown body into blocks:
    ("h", level, text) ("p", text) ("quote", text) ("code", text)
    ("list", [(ordered, level, text), ...]) ("table", [[cell, ...], ...])"""
    blocks: list[tuple] = []
    lines = body.replace("\t", "    ").split("\n")
    i = 0
    para: list[str] = []

    def flush():
        if para:
            blocks.append(("p", " ".join(s.strip() for s in para)))
            para.clear()

    item_re = re.compile(r"^( *)([-*+]|\d+[.)])\s+(.*)$")
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if not stripped:
            flush()
            i += 1
        elif stripped.startswith("```"):
            flush()
            code = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith("```"):
                code.append(lines[i])
                i += 1
            blocks.append(("code", "\n".join(code)))
            i += 1
        elif m := re.match(r"^(#{1,6})\s+(.*?)\s*#*\s*$", stripped):
            flush()
            blocks.append(("h", min(len(m.group(1)), 3), m.group(2)))
            i += 1
        elif re.fullmatch(r"(-{3,}|\*{3,}|_{3,})", stripped):
            flush()
            i += 1
        elif stripped.startswith("|"):
            flush()
            rows = []
            while i < len(lines) and lines[i].strip().startswith("|"):
                cells = [c.strip() for c in lines[i].strip().strip("|").split("|")]
                if not all(re.fullmatch(r":?-+:?", c) for c in cells if c):
                    rows.append(cells)
                i += 1
            width = max(len(r) for r in rows)
            blocks.append(("table", [r + [""] * (width - len(r)) for r in rows]))
        elif stripped.startswith(">"):
            flush()
            quote = []
            while i < len(lines) and lines[i].strip().startswith(">"):
                quote.append(lines[i].strip()[1:].strip())
                i += 1
            blocks.append(("quote", " ".join(q for q in quote if q)))
        elif item_re.match(line) and not para:
            items: list[list] = []
            while i < len(lines):
                m = item_re.match(lines[i])
                if m:
                    ordered = m.group(2)[0].isdigit()
                    items.append([ordered, 1 if len(m.group(1)) >= 2 else 0, m.group(3).strip()])
                elif items and lines[i].startswith("  ") and lines[i].strip():
                    items[-1][2] += " " + lines[i].strip()  # continuation line
                else:
                    break
                i += 1
            blocks.append(("list", [tuple(it) for it in items]))
        else:
            para.append(line)
            i += 1
    flush()
    return blocks


INLINE_RE = re.compile(r"\*\*(.+?)\*\*|__(.+?)__|`([^`]+)`|\[([^\]]+)\]\(([^)]+)\)")


def inline_segments(text: str) -> list[tuple[str, str]]:
    """Inline Markdown as [(style, text)], style in {"", "b", "code"}; links keep their text."""
    segs: list[tuple[str, str]] = []
    pos = 0
    for m in INLINE_RE.finditer(text):
        if m.start() > pos:
            segs.append(("", text[pos : m.start()]))
        if m.group(1) or m.group(2):
            segs.append(("b", m.group(1) or m.group(2)))
        elif m.group(3):
            segs.append(("code", m.group(3)))
        else:
            segs.append(("", m.group(4)))
        pos = m.end()
    if pos < len(text):
        segs.append(("", text[pos:]))
    # single *emphasis* / _emphasis_ markers are dropped, the words stay
    emph = re.compile(r"(?<![\w*])[*_](?=\S)(.+?)(?<=\S)[*_](?![\w*])")
    return [(s, t if s == "code" else emph.sub(r"\1", t)) for s, t in segs if t]


def plain(text: str) -> str:
    return "".join(t for _, t in inline_segments(text))


# --------------------------------------------------------------------------- docx


def build_docx(meta: dict, blocks: list[tuple]) -> bytes:
    from docx import Document
    from docx.shared import Pt

    when = fixed_datetime(meta["updated_at"])
    doc = Document()
    cp = doc.core_properties
    cp.title = meta["title"]
    cp.subject = meta["section"]
    cp.author = cp.last_modified_by = COMPANY.get(meta["tenant"], meta["tenant"]) + " Support"
    cp.keywords = meta["id"]
    cp.identifier = meta["url"]
    cp.language = meta["locale"]
    cp.category = meta["section"]
    cp.comments = ""
    cp.revision = 1
    cp.created = cp.modified = cp.last_printed = when

    numbering = doc.part.numbering_part.element

    def restart_numbering(paragraph, style_name):
        """Give this numbered list its own w:num so it starts again at 1."""
        style_num = doc.styles[style_name].element.pPr.numPr.numId.val
        abstract = numbering.num_having_numId(style_num).abstractNumId.val
        num = numbering.add_num(abstract)
        num.add_lvlOverride(ilvl=0).add_startOverride(1)
        numpr = paragraph._p.get_or_add_pPr().get_or_add_numPr()
        numpr.get_or_add_ilvl().val = 0
        numpr.get_or_add_numId().val = num.numId
        return num.numId

    def add_runs(paragraph, text, bold=False):
        for style, seg in inline_segments(text):
            run = paragraph.add_run(seg)
            run.bold = bold or style == "b" or None
            if style == "code":
                run.font.name = "Consolas"

    for block in blocks:
        kind = block[0]
        if kind == "h":
            add_runs(doc.add_paragraph(style=f"Heading {block[1]}"), block[2])
        elif kind == "p":
            add_runs(doc.add_paragraph(), block[1])
        elif kind == "quote":
            add_runs(doc.add_paragraph(style="Quote"), block[1])
        elif kind == "code":
            p = doc.add_paragraph()
            run = p.add_run(block[1])
            run.font.name = "Consolas"
            run.font.size = Pt(9)
        elif kind == "list":
            num_ids: dict[int, int | None] = {}
            for ordered, level, text in block[1]:
                style = ("List Number" if ordered else "List Bullet") + (" 2" if level else "")
                p = doc.add_paragraph(style=style)
                if ordered:
                    if num_ids.get(level) is None:
                        num_ids[level] = restart_numbering(p, style)
                    else:
                        numpr = p._p.get_or_add_pPr().get_or_add_numPr()
                        numpr.get_or_add_ilvl().val = 0
                        numpr.get_or_add_numId().val = num_ids[level]
                if level == 0:
                    num_ids[1] = None  # a new sub-list under the next step starts at 1 again
                add_runs(p, text)
        elif kind == "table":
            rows = block[1]
            table = doc.add_table(rows=len(rows), cols=len(rows[0]))
            table.style = doc.styles["Table Grid"]
            for r, row in enumerate(rows):
                for c, cell_text in enumerate(row):
                    cell = table.cell(r, c)
                    add_runs(cell.paragraphs[0], cell_text, bold=(r == 0))
            doc.add_paragraph()

    raw = io.BytesIO()
    doc.save(raw)
    # python-docx stamps zip members with the current time: rewrite with a fixed one
    stamp = (
        max(when.year, 1980),
        when.month,
        when.day,
        when.hour,
        when.minute,
        when.second // 2 * 2,
    )
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            member = zipfile.ZipInfo(info.filename, date_time=stamp)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = 0o644 << 16
            dst.writestr(member, src.read(info.filename))
    return out.getvalue()


# --------------------------------------------------------------------------- pdf

FONT_FILES = {
    "": "DejaVuSans.ttf",
    "B": "DejaVuSans-Bold.ttf",
    "I": "DejaVuSans-Oblique.ttf",
    "mono": "DejaVuSansMono.ttf",
}
FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "/Library/Fonts", "C:/Windows/Fonts")
LATIN1_FOLD = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2013": "-",
    "\u2014": "-",
    "\u2026": "...",
    "\u2192": "->",
    "\u2022": "-",
    "\u00a0": " ",
    "\u2212": "-",
    "\u20ac": "EUR",
    "\u2122": "(TM)",
    "\u2264": "<=",
    "\u2265": ">=",
}


def find_fonts() -> dict | None:
    found = {}
    for style, name in FONT_FILES.items():
        for base in FONT_DIRS:
            hits = sorted(glob.glob(os.path.join(base, "**", name), recursive=True))
            if hits:
                found[style] = hits[0]
                break
    return found if all(k in found for k in FONT_FILES) else None


def build_pdf(meta: dict, blocks: list[tuple], fonts: dict | None) -> bytes:
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    company = COMPANY.get(meta["tenant"], meta["tenant"])

    class ArticlePDF(FPDF):
        def footer(self):
            self.set_y(-12)
            self.set_font(body_font, "", 8)
            self.set_text_color(120)
            self.cell(
                0,
                5,
                txt(f"{company} Help Center - {meta['id']} - page {self.page_no()}"),
                align="C",
            )
            self.set_text_color(0)

    pdf = ArticlePDF(format="A4")
    pdf.set_margins(20, 18, 20)
    pdf.set_auto_page_break(True, margin=18)
    if fonts:
        for style, path in fonts.items():
            if style != "mono":
                pdf.add_font("DejaVu", style, path)
        pdf.add_font("DejaVuMono", "", fonts["mono"])
        body_font, mono_font = "DejaVu", "DejaVuMono"

        def txt(s):
            return s
    else:
        body_font, mono_font = "Helvetica", "Courier"

        def txt(s):
            for k, v in LATIN1_FOLD.items():
                s = s.replace(k, v)
            return s.encode("latin-1", "replace").decode("latin-1")

    pdf.set_title(meta["title"])
    pdf.set_author(company + " Support")
    pdf.set_subject(meta["section"])
    pdf.set_keywords(meta["id"])
    pdf.set_creator("deskpilot build_office_docs.py")
    pdf.set_lang(meta["locale"])
    pdf.set_creation_date(fixed_datetime(meta["updated_at"]).replace(tzinfo=dt.UTC))
    pdf.add_page()

    size = 10.5
    line_h = 5.0  # tight enough that pdfminer keeps wrapped lines in one paragraph

    def write_inline(text, bold=False, size_=size):
        """Flowing text with font changes; wraps between words only (never inside `code`)."""
        right = (
            pdf.w - pdf.r_margin - 2 * pdf.c_margin - 0.3
        )  # write() keeps c_margin on both sides
        for style, seg in inline_segments(text):
            if style == "code":
                pdf.set_font(mono_font, "", size_ - 1)
            else:
                pdf.set_font(body_font, "B" if (bold or style == "b") else "", size_)
            for token in re.findall(r"\S+\s*|\s+", txt(seg)):
                if (
                    pdf.get_x() + pdf.get_string_width(token.rstrip()) > right
                    and pdf.get_x() > pdf.l_margin + 1
                ):
                    pdf.ln(line_h)
                    token = token.lstrip()
                pdf.write(line_h, token)
        pdf.set_font(body_font, "", size)

    first_heading = True
    for block in blocks:
        kind = block[0]
        if kind == "h":
            level, text = block[1], plain(block[2])
            if level == 1 and first_heading:
                pdf.set_font(body_font, "B", 20)
                pdf.multi_cell(0, 9, txt(text), new_x="LMARGIN", new_y="NEXT")
                pdf.set_font(body_font, "", 8.5)
                pdf.set_text_color(110)
                pdf.cell(
                    0,
                    5,
                    txt(f"{meta['section']} | {meta['id']} | Updated {meta['updated_at'][:10]}"),
                    new_x="LMARGIN",
                    new_y="NEXT",
                )
                pdf.set_text_color(0)
                pdf.ln(4)
            else:
                pdf.ln(4)
                pdf.set_font(body_font, "B", {1: 16, 2: 13.5, 3: 11.5}[level])
                pdf.multi_cell(0, 7, txt(text), new_x="LMARGIN", new_y="NEXT")
                pdf.ln(1)
            first_heading = False
        elif kind == "p":
            write_inline(block[1])
            pdf.ln(line_h)
            pdf.ln(2.5)
        elif kind == "quote":
            pdf.set_left_margin(26)
            pdf.set_x(26)
            write_inline(block[1])
            pdf.set_left_margin(20)
            pdf.ln(line_h)
            pdf.ln(2.5)
        elif kind == "code":
            pdf.set_font(mono_font, "", 9)
            pdf.set_fill_color(244, 244, 244)
            pdf.multi_cell(0, 4.8, txt(block[1]), fill=True, new_x="LMARGIN", new_y="NEXT")
            pdf.set_font(body_font, "", size)
            pdf.ln(2.5)
        elif kind == "list":
            counters = {0: 0, 1: 0}
            for ordered, level, text in block[1]:
                counters[level] += 1
                if level == 0:
                    counters[1] = 0
                marker = f"{counters[level]}." if ordered else ("\u2022" if fonts else "-")
                indent = 23 + 6 * level
                pdf.set_font(body_font, "", size)
                # marker and text on one text line, wrapped lines aligned with the marker (no hanging
                # indent): pdfminer then reads each item as one paragraph
                pdf.set_left_margin(indent)
                pdf.set_x(indent)
                pdf.write(line_h, txt(marker) + " ")
                write_inline(text)
                pdf.set_left_margin(20)
                pdf.ln(line_h)
                pdf.ln(1)
            pdf.ln(1.5)
        elif kind == "table":
            rows = [[txt(plain(c)) for c in row] for row in block[1]]
            # columns just wide enough for their text: small gaps let extractors read a row as one line
            pdf.set_font(body_font, "B", 9.5)
            widths = [
                max(pdf.get_string_width(r[c]) for r in rows) + 2.6 for c in range(len(rows[0]))
            ]
            usable = pdf.epw
            if sum(widths) > usable:
                fixed = [w for w in widths if w <= usable / len(widths)]
                share = (usable - sum(fixed)) / (len(widths) - len(fixed))
                widths = [w if w <= usable / len(widths) else share for w in widths]
                widths = [w * usable / sum(widths) for w in widths]
            else:
                # pad cells with spaces to the column width: extractors then read each row as one line
                padded = []
                for r, row in enumerate(rows):
                    pdf.set_font(body_font, "B" if r == 0 else "", 9.5)
                    space = pdf.get_string_width(" ")
                    padded.append(
                        [
                            cell + " " * int((widths[c] - 2.6 - pdf.get_string_width(cell)) / space)
                            for c, cell in enumerate(row[:-1])
                        ]
                        + row[-1:]
                    )
                rows = padded
            pdf.set_font(body_font, "", 9.5)
            pdf.set_draw_color(170)
            with pdf.table(
                col_widths=widths,
                width=sum(widths),
                align="LEFT",
                text_align="LEFT",
                line_height=4.6,
                padding=1.0,
                headings_style=FontFace(emphasis="BOLD", fill_color=(232, 236, 242)),
            ) as table:
                for row in rows:
                    table.row(row)
            pdf.set_font(body_font, "", size)
            pdf.ln(3)
    return bytes(pdf.output())


# --------------------------------------------------------------------------- driver


def render(src: Path, samples: Path, fonts: dict | None) -> dict[Path, bytes]:
    """Everything one source produces, as {output path: bytes}."""
    meta, body = read_source(src)
    blocks = parse_blocks(body)
    doc = build_pdf(meta, blocks, fonts) if meta["format"] == "pdf" else build_docx(meta, blocks)
    target = samples / "helpcenter" / meta["tenant"] / meta["out"]
    sidecar = {k: meta[k] for k in META_KEYS}
    side_bytes = (json.dumps(sidecar, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    return {target: doc, target.with_name(target.name + ".meta.json"): side_bytes}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--check", action="store_true", help="do not write; exit 1 if an output is missing or stale"
    )
    ap.add_argument("--samples-dir", type=Path, default=SAMPLES_DIR, help="default: %(default)s")
    ap.add_argument("sources", nargs="*", type=Path, help="only these source files")
    args = ap.parse_args(argv)

    samples = args.samples_dir.resolve()
    sources = args.sources or sorted((samples / "sources").glob("*/*.md"))
    fonts = find_fonts()
    if not fonts:
        print(
            "note: DejaVu fonts not found, PDFs use core Helvetica (latin-1 text)", file=sys.stderr
        )
    errors = stale = 0
    for src in sources:
        try:
            outputs = render(src, samples, fonts)
        except Exception as exc:  # report and go on with the other sources
            print(f"ERROR {src}: {exc}", file=sys.stderr)
            errors += 1
            continue
        for path, data in outputs.items():
            rel = os.path.relpath(path, samples)
            current = path.read_bytes() if path.exists() else None
            if args.check:
                if current != data:
                    print(f"{'missing' if current is None else 'stale'}: {rel}  (from {src.name})")
                    stale += 1
            elif current != data:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
                print(f"wrote {rel}")
            else:
                print(f"unchanged {rel}")
    if args.check and not stale and not errors:
        print(f"ok: {len(sources)} sources up to date")
    return 1 if (stale or errors) else 0


if __name__ == "__main__":
    sys.exit(main())
