"""`deskpilot content`: list, disable, enable, delete and restore articles (see ``ui.content``)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from feedback.store import FeedbackStore
from ui.content import ADMIN, Caller, ContentAdmin, ContentError, NotAllowed
from ui.settings import AppSettings
from ui.wiring import Retrieval

content_app = typer.Typer(
    help="Articles in the index: list them, disable or enable them in answers, delete them for good.",
    no_args_is_help=True,
)
CLI = Caller("cli", ADMIN)
"""Whoever may run the CLI on the data dir administers it (as `deskpilot flags set`)."""

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="State directory (default: $DESKPILOT_DATA_DIR or ./.deskpilot)."),
]
DocId = Annotated[str, typer.Argument(help="The article's id: its source path as `deskpilot content list` shows it.")]


def _run(data_dir: Path | None, action: str, doc_id: str) -> object:
    settings = AppSettings.load(data_dir)
    with FeedbackStore.open(settings.feedback) as store, Retrieval(settings) as retrieval:
        admin = ContentAdmin(retrieval, store)
        try:
            return getattr(admin, action)(doc_id, CLI)
        except (ContentError, NotAllowed) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None


@content_app.command("list")
def content_list(
    tenant: Annotated[str | None, typer.Option(help="Only this tenant's articles.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list on stdout.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Every article with its title, source, locale, update time, chunks and state; then the deleted ones."""
    settings = AppSettings.load(data_dir)
    with FeedbackStore.open(settings.feedback) as store, Retrieval(settings) as retrieval:
        admin = ContentAdmin(retrieval, store)
        scope = [tenant] if tenant else None
        articles, deleted = admin.articles(scope), admin.deleted(scope)
    if as_json:
        out = {
            "articles": [dataclasses.asdict(a) for a in articles],
            "deleted": [dataclasses.asdict(m) for m in deleted],
        }
        typer.echo(json.dumps(out, ensure_ascii=False))
        return
    table = Table(title="articles")
    for column in ("title", "source", "tenant", "locale", "updated", "chunks", "state"):
        table.add_column(column, justify="right" if column == "chunks" else "left")
    for a in articles:
        table.add_row(a.title, a.doc_id, a.tenant, a.locale, a.updated_at[:10], str(a.chunks), a.state)
    console = Console()
    console.print(table)
    if deleted:
        console.print("deleted (a re-ingest skips them until restored): " + ", ".join(m.doc_id for m in deleted))


@content_app.command("disable")
def content_disable(doc_id: DocId, data_dir: DataDir = None) -> None:
    """Leave an article out of every answer from the next one on (it stays indexed)."""
    _run(data_dir, "disable", doc_id)
    typer.echo(f"{doc_id}: disabled")


@content_app.command("enable")
def content_enable(doc_id: DocId, data_dir: DataDir = None) -> None:
    """Let answers use a disabled article again."""
    _run(data_dir, "enable", doc_id)
    typer.echo(f"{doc_id}: enabled")


@content_app.command("delete")
def content_delete(
    doc_id: DocId,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: the article's text is removed for good.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Remove an article from the index, the manifest, the caches and the recorded answers (docs/governance.md)."""
    if not yes:
        typer.echo("error: deleting removes the article's text for good; add --yes to confirm", err=True)
        raise typer.Exit(2)
    gone = _run(data_dir, "delete", doc_id)
    typer.echo(json.dumps(dataclasses.asdict(gone), ensure_ascii=False))  # type: ignore[call-overload]


@content_app.command("restore")
def content_restore(doc_id: DocId, data_dir: DataDir = None) -> None:
    """Lift a deleted article's tombstone: the next ingest of a folder that holds its file indexes it again."""
    _run(data_dir, "restore", doc_id)
    typer.echo(f"{doc_id}: may be ingested again")
