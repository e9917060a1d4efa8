"""Find help-center files and partition them with `unstructured` into Documents.

Each supported file becomes one Document (a help-center JSON export becomes
one per article). A file that cannot be read raises `SkipFile` with a reason
that names it; the pipeline records it and goes on.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from lxml import html as lxml_html

from ingest.lists import item_key, numbered_items
from ingest.metadata import (
    SIDECAR_SUFFIX,
    MetadataError,
    html_meta,
    html_page_title,
    meta_from_mapping,
    read_sidecar,
    split_front_matter,
)
from ingest.normalize import content_hash, normalize_blocks, normalize_text
from ingest.offline import configure_offline
from ingest.records import ArticleMeta, Block, BlockKind, Document
from ingest.settings import IngestSettings

FORMATS = {
    ".md": "md",
    ".markdown": "md",
    ".html": "html",
    ".htm": "html",
    ".txt": "txt",
    ".pdf": "pdf",
    ".docx": "docx",
    ".eml": "eml",
    ".json": "json",
}
_TEXT_FORMATS = {"md", "html", "txt", "eml", "json"}
_DROPPED_CATEGORIES = {"Header", "Footer", "PageNumber", "PageBreak", "Image", "FigureCaption"}
_UNSTRUCTURED_LANGUAGES = {
    "en": "eng",
    "de": "deu",
    "fr": "fra",
    "es": "spa",
    "it": "ita",
    "nl": "nld",
}


class SkipFile(Exception):  # a signal to skip one file, not a failure of the run
    """The file cannot be ingested; ``str(exc)`` is the reason and names the file."""


def discover(paths: Iterable[Path]) -> list[Path]:
    """Every candidate file under ``paths``, sorted, without sidecars or hidden entries."""
    found: set[Path] = set()
    for path in paths:
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file or directory")
        candidates = [path] if path.is_file() else (p for p in path.rglob("*") if p.is_file())
        for candidate in candidates:
            relative_parts = candidate.relative_to(path).parts if path.is_dir() else ()
            if any(part.startswith(".") for part in relative_parts):
                continue
            if candidate.name.endswith(SIDECAR_SUFFIX) or candidate.name.lower() == "readme.md":
                continue
            found.add(candidate)
    return sorted(found)


def load_file(path: Path, root: Path, settings: IngestSettings, overrides: ArticleMeta) -> list[Document]:
    """Partition one file into Documents; raise `SkipFile` with a reason when it cannot be read."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        supported = ", ".join(sorted(set(FORMATS)))
        raise SkipFile(f"{path}: unsupported file type {path.suffix or '(none)'!r}; supported: {supported}")
    size = path.stat().st_size
    if size == 0:
        raise SkipFile(f"{path}: empty file (0 bytes)")
    if size > settings.max_file_bytes:
        raise SkipFile(
            f"{path}: {size / 1e6:.1f} MB is over the limit of {settings.max_file_bytes / 1e6:.1f} MB "
            "(DESKPILOT_MAX_FILE_BYTES); split the file or raise the limit"
        )
    text = _read_text(path) if fmt in _TEXT_FORMATS else None
    source = _source_id(path, root)
    try:
        if fmt == "json":
            assert text is not None
            return list(_load_export(path, source, text, settings, overrides))
        meta = read_sidecar(path)
        if fmt == "md":
            assert text is not None
            front, text = split_front_matter(text, str(path))
            meta = front.merged_over(meta)
        elif fmt == "html":
            assert text is not None
            meta = html_meta(text, str(path)).merged_over(meta)
        elements = _partition(path, fmt, text, (overrides.locale or meta.locale or settings.default_locale))
    except MetadataError as exc:
        raise SkipFile(str(exc)) from exc
    fallback_title = html_page_title(text) if fmt == "html" and text else _email_subject(elements)
    document = _build_document(
        source, str(path), fmt, elements, overrides.merged_over(meta), settings, fallback_title, text
    )
    if document is None:
        raise SkipFile(f"{path}: no text could be extracted (scanned image or empty document?)")
    return [document]


def _source_id(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()


def _read_text(path: Path) -> str:
    raw = path.read_bytes()
    if b"\x00" in raw[:8192]:
        raise SkipFile(f"{path}: binary content in a {path.suffix} file (NUL bytes); is the extension wrong?")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SkipFile(
            f"{path}: not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}); re-save the file as UTF-8"
        ) from exc


def _partition(path: Path, fmt: str, text: str | None, locale: str) -> list[Any]:
    configure_offline()
    languages = [_UNSTRUCTURED_LANGUAGES.get(locale.split("-")[0].lower(), "eng")]
    try:
        if fmt == "md":
            from unstructured.partition.md import partition_md

            return list(partition_md(text=text, languages=languages))
        if fmt == "html":
            from unstructured.partition.html import partition_html

            return list(partition_html(text=text, languages=languages))
        if fmt == "txt":
            from unstructured.partition.text import partition_text

            return list(partition_text(text=text, languages=languages))
        if fmt == "eml":
            from unstructured.partition.email import partition_email

            return list(partition_email(filename=str(path), languages=languages))
        if fmt == "docx":
            from unstructured.partition.docx import partition_docx

            return list(partition_docx(filename=str(path), languages=languages))
        if fmt == "pdf":
            from unstructured.partition.pdf import partition_pdf

            return list(partition_pdf(filename=str(path), strategy="fast", languages=languages))
    except SkipFile:
        raise
    except Exception as exc:  # any parser failure skips just this file
        raise SkipFile(f"{path}: cannot parse as {fmt}: {type(exc).__name__}: {exc}") from exc
    raise SkipFile(f"{path}: no loader for format {fmt!r}")


def _load_export(
    path: Path, source: str, text: str, settings: IngestSettings, overrides: ArticleMeta
) -> Iterator[Document]:
    """Documents from a Zendesk-style help-center export (``{"articles": [...]}``)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SkipFile(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("articles"), list):
        raise SkipFile(f"{path}: not a help-center export: expected an object with an 'articles' list")
    file_meta = meta_from_mapping({k: v for k, v in data.items() if k in ("tenant", "product", "locale")}, str(path))
    from unstructured.partition.html import partition_html

    configure_offline()
    for index, row in enumerate(data["articles"]):
        where = f"{path} articles[{index}]"
        if not isinstance(row, dict):
            raise SkipFile(f"{where}: expected an object")
        missing = [key for key in ("id", "title", "body") if not row.get(key)]
        if missing:
            raise SkipFile(f"{where}: missing required field(s) {', '.join(missing)}")
        meta = overrides.merged_over(meta_from_mapping(row, where).merged_over(file_meta))
        locale = meta.locale or settings.default_locale
        try:
            elements = partition_html(
                text=f"<h1>{_escape(str(row['title']))}</h1>{row['body']}",
                languages=[_UNSTRUCTURED_LANGUAGES.get(locale.split("-")[0], "eng")],
            )
        except Exception as exc:
            raise SkipFile(f"{where}: cannot parse body HTML: {exc}") from exc
        document = _build_document(
            f"{source}#{row['id']}", str(path), "json", list(elements), meta, settings, source_text=str(row["body"])
        )
        if document is not None:
            yield document


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _email_subject(elements: list[Any]) -> str:
    for element in elements:
        subject = getattr(element.metadata, "subject", None)
        if subject:
            return str(subject)
    return ""


def _build_document(
    doc_id: str,
    source_path: str,
    fmt: str,
    elements: list[Any],
    meta: ArticleMeta,
    settings: IngestSettings,
    fallback_title: str = "",
    source_text: str | None = None,
) -> Document | None:
    title, blocks = _blocks_from_elements(elements, fmt, meta, numbered_items(source_text, fmt))
    blocks = normalize_blocks(blocks)
    if not blocks:
        return None
    title = (
        normalize_text(title)
        or normalize_text(fallback_title)
        or Path(source_path).stem.replace("-", " ").replace("_", " ")
    )
    return Document(
        doc_id=doc_id,
        source_path=source_path,
        format=fmt,
        article_id=meta.article_id or doc_id,
        title=title,
        url=meta.url or "",
        tenant=meta.tenant or settings.default_tenant,
        product=meta.product or settings.default_product,
        locale=(meta.locale or settings.default_locale).lower(),
        section=meta.section or "",
        updated_at=meta.updated_at or "",
        blocks=tuple(blocks),
        content_hash=content_hash(title, blocks),
    )


def _blocks_from_elements(
    elements: list[Any], fmt: str, meta: ArticleMeta, numbered: dict[str, int] | None = None
) -> tuple[str, list[Block]]:
    """Turn elements into blocks under a heading path; return the title and the blocks.

    The section path starts with the article's help-center section (e.g.
    "Plans & billing") and follows the headings below the title. A list item's
    text starts with its marker: ``3. `` for a numbered step (``numbered`` maps
    item keys to numbers, see ingest/lists.py), ``- `` for a bullet; a table is
    one ``| cell | cell |`` line per row.
    """
    numbered = numbered or {}
    title = meta.title or ""
    base: tuple[str, ...] = (meta.section,) if meta.section else ()
    headings: list[tuple[int, str]] = []
    blocks: list[Block] = []
    title_consumed = False
    for element in elements:
        category = getattr(element, "category", type(element).__name__)
        text = (element.text or "").strip()
        if category in _DROPPED_CATEGORIES or not text:
            continue
        if category == "Title":
            raw_depth = getattr(element.metadata, "category_depth", None)
            # The first heading before any body text is the article's own title
            # when it is an <h1>, matches the declared title, or none is declared.
            if not (title_consumed or blocks or headings) and (
                not title or raw_depth == 0 or normalize_text(text) == normalize_text(title)
            ):
                title = title or text
                title_consumed = True
                continue
            depth = _heading_depth(element, fmt)
            while headings and headings[-1][0] >= depth:
                headings.pop()
            headings.append((depth, text))
            blocks.append(Block("heading", text, base + tuple(h for _, h in headings[:-1])))
            continue
        kind: BlockKind = "text"
        if category == "ListItem":
            kind = "list"
            number = numbered.get(item_key(text))
            text = f"{number}. {text}" if number is not None else f"- {text}"
        elif category == "Table":
            kind = "table"
            text = _table_text(element) or text
        blocks.append(Block(kind, text, base + tuple(h for _, h in headings)))
    return title, blocks


def _heading_depth(element: Any, fmt: str) -> int:
    depth = getattr(element.metadata, "category_depth", None)
    if depth is None:
        return 1
    # Markdown/HTML report h1 as depth 0; docx reports "Heading 1" as depth 0 too,
    # but there the title has its own style, so every heading sits one level down.
    return int(depth) + 1 if fmt == "docx" else max(int(depth), 1)


def _table_text(element: Any) -> str:
    """A table as one ``cell | cell`` line per row, so rows stay readable and searchable."""
    markup = getattr(element.metadata, "text_as_html", None)
    if not markup:
        return ""
    try:
        root = lxml_html.fragment_fromstring(markup, create_parent="div")
    except (ValueError, lxml_html.etree.ParserError):
        return ""
    rows = []
    for tr in root.iter("tr"):
        cells = [" ".join(cell.text_content().split()) for cell in tr if cell.tag in ("td", "th")]
        if any(cells):
            rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)
