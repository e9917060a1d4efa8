"""Each format through unstructured (real partitioners, real sample files)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.loaders import SkipFile, discover, load_file
from ingest.records import ArticleMeta
from ingest.settings import IngestSettings
from tests.conftest import BAD, HELPCENTER, SAMPLES

SETTINGS = IngestSettings()


def _load(relative: str) -> list:
    return load_file(HELPCENTER / relative, SAMPLES, SETTINGS, ArticleMeta())


@pytest.mark.parametrize(
    ("relative", "fmt", "article_id", "phrase"),
    [
        ("ledgerly/plans-billing/refund-policy.md", "md", "LED-1014", "30 days"),
        (
            "ledgerly/plans-billing/compare-ledgerly-plans-starter-growth-and-scale.html",
            "html",
            "LED-1010",
            "$29",
        ),
        ("ledgerly/plans-billing/why-was-my-card-declined.txt", "txt", "LED-1013", "card"),
        ("ledgerly/invoicing/multi-currency-invoicing.pdf", "pdf", "LED-1022", "currenc"),
        (
            "ledgerly/accounts-login/close-or-delete-your-ledgerly-account.docx",
            "docx",
            "LED-1005",
            "30 days",
        ),
        (
            "ledgerly/announcements/scheduled-maintenance-and-service-announcements.eml",
            "eml",
            "LED-1053",
            "maintenance",
        ),
    ],
)
def test_each_format_keeps_text_and_metadata(relative: str, fmt: str, article_id: str, phrase: str) -> None:
    (document,) = _load(relative)
    assert document.format == fmt
    assert document.article_id == article_id
    assert document.tenant == "ledgerly"
    assert document.url.startswith("https://help.ledgerly.example/")
    assert document.updated_at[:2] == "20"
    assert document.section, "the help-center section comes from the metadata"
    assert phrase.lower() in document.text.lower()
    assert len(document.text.split()) > 100
    assert all(block.section_path[0] == document.section for block in document.blocks)


def test_headings_become_section_paths() -> None:
    (document,) = _load("ledgerly/plans-billing/refund-policy.md")
    paths = {block.section_path for block in document.blocks}
    assert any(len(path) >= 2 for path in paths), paths
    assert document.title == "Refund policy"
    assert document.title not in {path[-1] for path in paths}, "the title is not a section"


def test_html_tables_keep_rows() -> None:
    (document,) = _load("ledgerly/plans-billing/compare-ledgerly-plans-starter-growth-and-scale.html")
    tables = [block.text for block in document.blocks if block.kind == "table"]
    assert tables and any(" | " in row for table in tables for row in table.splitlines())


def test_help_center_export_yields_one_document_per_article() -> None:
    documents = _load("ledgerly/export/articles-c.json")
    ids = [d.article_id for d in documents]
    assert ids == ["LED-1038", "LED-1044", "LED-1051"]
    assert {d.doc_id for d in documents} == {f"helpcenter/ledgerly/export/articles-c.json#{i}" for i in ids}
    payroll = next(d for d in documents if d.article_id == "LED-1051")
    assert payroll.product == "payroll", "a row's own product wins over the file's"
    assert all(d.tenant == "ledgerly" for d in documents)


def test_translation_keeps_id_and_locale() -> None:
    (english,) = _load("ledgerly/plans-billing/refund-policy.md")
    (german,) = _load("ledgerly/plans-billing/refund-policy.de.md")
    assert english.article_id == german.article_id == "LED-1014"
    assert (english.locale, german.locale) == ("en", "de")
    assert english.doc_id != german.doc_id


def test_cli_style_overrides_win_over_file_metadata() -> None:
    (document,) = load_file(
        HELPCENTER / "ledgerly/plans-billing/refund-policy.md",
        SAMPLES,
        SETTINGS,
        ArticleMeta(tenant="acme"),
    )
    assert document.tenant == "acme"


def test_file_without_metadata_gets_defaults(tmp_path: Path) -> None:
    page = tmp_path / "faq.md"
    page.write_text("# Shipping times\n\nOrders ship within two business days of payment.\n", encoding="utf-8")
    (document,) = load_file(page, tmp_path, SETTINGS, ArticleMeta())
    assert (document.doc_id, document.article_id, document.title) == (
        "faq.md",
        "faq.md",
        "Shipping times",
    )
    assert (document.tenant, document.locale) == ("default", "en")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("corrupt.pdf", "no text could be extracted"),
        ("empty.md", "empty file"),
        ("junk.md", "binary content"),
        ("latin1-notes.txt", "not valid UTF-8"),
        ("roadmap.key", "unsupported file type"),
        ("notes.xyz", "unsupported file type"),
    ],
)
def test_every_bad_file_is_skipped_with_a_reason_naming_it(name: str, expected: str) -> None:
    with pytest.raises(SkipFile) as info:
        load_file(BAD / name, SAMPLES, SETTINGS, ArticleMeta())
    assert name in str(info.value)
    assert expected in str(info.value)


def test_oversized_file_is_skipped(tmp_path: Path) -> None:
    big = tmp_path / "big.md"
    big.write_text("word " * 2000, encoding="utf-8")
    with pytest.raises(SkipFile, match="over the limit"):
        load_file(big, tmp_path, IngestSettings(max_file_bytes=1000), ArticleMeta())


def test_broken_sidecar_names_the_sidecar(tmp_path: Path) -> None:
    page = tmp_path / "a.txt"
    page.write_text("Title\n\nSome body text that is long enough to keep.\n", encoding="utf-8")
    (tmp_path / "a.txt.meta.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(SkipFile, match=r"a\.txt\.meta\.json"):
        load_file(page, tmp_path, SETTINGS, ArticleMeta())


def test_discover_skips_sidecars_readmes_and_hidden(tmp_path: Path) -> None:
    for name in ("a.md", "a.md.meta.json", "README.md", ".hidden/b.md", "sub/c.html"):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x", encoding="utf-8")
    assert [p.relative_to(tmp_path).as_posix() for p in discover([tmp_path])] == [
        "a.md",
        "sub/c.html",
    ]
