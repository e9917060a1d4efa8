"""Article metadata from front matter, HTML meta tags, sidecar JSON files and export rows."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from lxml import html as lxml_html

from ingest.records import ArticleMeta

SIDECAR_SUFFIX = ".meta.json"
_FIELD_ALIASES = {
    "id": "article_id",
    "article_id": "article_id",
    "title": "title",
    "url": "url",
    "html_url": "url",
    "tenant": "tenant",
    "product": "product",
    "locale": "locale",
    "section": "section",
    "updated_at": "updated_at",
}


class MetadataError(ValueError):
    """Metadata that cannot be read; the message names the file and field."""


def meta_from_mapping(data: Mapping[str, Any], where: str) -> ArticleMeta:
    """Build ArticleMeta from a mapping with the documented keys (``id``, ``title``, ...)."""
    values: dict[str, str] = {}
    for key, value in data.items():
        field = _FIELD_ALIASES.get(str(key))
        if field is None or value is None:
            continue
        if isinstance(value, dt.datetime | dt.date):
            value = value.isoformat()
        if not isinstance(value, str | int | float):
            raise MetadataError(f"{where}: field {key!r} must be a string, got {type(value).__name__}")
        values[field] = str(value).strip()
    if "updated_at" in values:
        values["updated_at"] = _iso_date(values["updated_at"], where)
    return ArticleMeta(**values)


def _iso_date(value: str, where: str) -> str:
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise MetadataError(f"{where}: updated_at {value!r} is not an ISO 8601 date (e.g. 2026-08-01)") from exc
    return parsed.date().isoformat() if len(value) <= 10 else parsed.isoformat()


def read_sidecar(path: Path) -> ArticleMeta:
    """Metadata from ``<file>.meta.json`` beside ``path``; empty when there is none."""
    sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
    if not sidecar.is_file():
        return ArticleMeta()
    try:
        data = json.loads(sidecar.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MetadataError(f"{sidecar}: not valid UTF-8 JSON ({exc}); fix or delete the sidecar") from exc
    if not isinstance(data, dict):
        raise MetadataError(f"{sidecar}: expected a JSON object with id, title, url, ...")
    return meta_from_mapping(data, str(sidecar))


def split_front_matter(text: str, where: str) -> tuple[ArticleMeta, str]:
    """Parse a leading YAML front matter block; return its metadata and the remaining body."""
    if not text.startswith("---"):
        return ArticleMeta(), text
    lines = text.split("\n")
    closing = [i for i, line in enumerate(lines[1:], start=1) if line.strip() in ("---", "...")]
    if not closing:
        raise MetadataError(f"{where}: front matter opened with '---' is never closed")
    end = closing[0]
    try:
        data = yaml.safe_load("\n".join(lines[1:end])) or {}
    except yaml.YAMLError as exc:
        raise MetadataError(f"{where}: front matter is not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise MetadataError(f"{where}: front matter must be a mapping of keys to values")
    return meta_from_mapping(data, where), "\n".join(lines[end + 1 :])


def html_meta(text: str, where: str) -> ArticleMeta:
    """Metadata from ``<meta name=...>``, the canonical link and ``lang`` of an HTML page.

    The page ``<title>`` is left out on purpose: it usually carries the site
    name ("... | Help Center"); the ``<h1>`` is the article title.
    """
    try:
        root = lxml_html.document_fromstring(text.encode("utf-8"))
    except (ValueError, lxml_html.etree.ParserError):
        return ArticleMeta()
    data: dict[str, str] = {}
    for meta in root.iter("meta"):
        name = (meta.get("name") or meta.get("property") or "").strip()
        content = meta.get("content")
        if name and content is not None:
            data.setdefault(name.removeprefix("article:"), content)
    for link in root.iter("link"):
        if (link.get("rel") or "").lower() == "canonical" and link.get("href"):
            data.setdefault("url", link.get("href", ""))
    lang = root.get("lang")
    if lang and "locale" not in data:
        data["locale"] = lang
    if "modified_time" in data and "updated_at" not in data:
        data["updated_at"] = data["modified_time"]
    return meta_from_mapping(data, where)


def html_page_title(text: str) -> str:
    """The ``<title>`` of an HTML page, for pages without an ``<h1>``."""
    try:
        root = lxml_html.document_fromstring(text.encode("utf-8"))
    except (ValueError, lxml_html.etree.ParserError):
        return ""
    title = root.find(".//title")
    return (title.text or "").strip() if title is not None else ""
