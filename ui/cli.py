"""The `deskpilot` command line."""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from assistant.records import Answer, Question
from ingest.records import ArticleMeta
from retrieval.index import stats_of
from ui.settings import AppSettings
from ui.wiring import IngestRun, Retrieval, ingest_paths

app = typer.Typer(help="deskpilot: a RAG customer-support assistant.", no_args_is_help=True)
index_app = typer.Typer(help="Inspect the search index.", no_args_is_help=True)
app.add_typer(index_app, name="index")

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="State directory (default: $DESKPILOT_DATA_DIR or ./.deskpilot)."),
]


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders of help-center content.")],
    tenant: Annotated[str | None, typer.Option(help="Tenant for every document (overrides file metadata).")] = None,
    product: Annotated[str | None, typer.Option(help="Product for every document (overrides file metadata).")] = None,
    locale: Annotated[str | None, typer.Option(help="Locale for every document (overrides file metadata).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON summary object on stdout.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Load, dedupe, redact, chunk and index help-center files; re-runs only redo what changed."""
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        typer.echo(f"error: no such file or directory: {', '.join(missing)}", err=True)
        raise typer.Exit(2)
    settings = AppSettings.load(data_dir)
    overrides = ArticleMeta(tenant=tenant, product=product, locale=locale)
    # A corrupt PDF is already reported as a skipped file with its reason;
    # pypdf's own warnings would only repeat it, unformatted, on stderr.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    err = Console(stderr=True)
    with Progress(
        TextColumn("{task.description:<13}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=as_json or not err.is_terminal,
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        run = ingest_paths(paths, settings, overrides, progress=progress)
    summary = _summary(run)
    if as_json:
        sys.stdout.write(json.dumps(summary, indent=2) + "\n")
    else:
        _print_summary(Console(), run, summary)
    if run.result.files_read and not run.result.documents:
        raise typer.Exit(1)


def _summary(run: IngestRun) -> dict[str, object]:
    result, sync = run.result, run.sync
    return {
        "files_read": result.files_read,
        "documents": len(result.documents),
        "skipped": [dataclasses.asdict(s) for s in result.skipped],
        "duplicates": [dataclasses.asdict(d) for d in result.duplicates],
        "redactions": dict(result.redactions),
        "chunks": {
            "added": sync.chunks_added,
            "updated": sync.chunks_updated,
            "deleted": sync.chunks_deleted,
            "unchanged": sync.chunks_unchanged,
        },
        "documents_changed": {
            "added": sync.documents_added,
            "updated": sync.documents_updated,
            "deleted": sync.documents_deleted,
            "unchanged": sync.documents_unchanged,
        },
        "embeddings": {"computed": sync.embeddings_computed, "cached": sync.embeddings_cached},
        "orphans_removed": sync.orphans_removed,
        "wall_seconds": round(run.seconds, 3),
    }


def _print_summary(console: Console, run: IngestRun, summary: dict[str, object]) -> None:
    result, sync = run.result, run.sync
    table = Table(title="deskpilot ingest", show_header=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("files read", str(result.files_read))
    table.add_row("documents kept", str(len(result.documents)))
    table.add_row("files skipped", str(len(result.skipped)))
    table.add_row("duplicates dropped", str(len(result.duplicates)))
    for entity, count in result.redactions.items():
        table.add_row(f"redacted {entity}", str(count))
    table.add_row("chunks added", str(sync.chunks_added))
    table.add_row("chunks updated", str(sync.chunks_updated))
    table.add_row("chunks deleted", str(sync.chunks_deleted))
    table.add_row("chunks unchanged", str(sync.chunks_unchanged))
    table.add_row("embeddings computed / cached", f"{sync.embeddings_computed} / {sync.embeddings_cached}")
    table.add_row("wall time", f"{run.seconds:.1f} s")
    console.print(table)
    if result.skipped:
        skipped = Table(title="skipped files")
        skipped.add_column("reason")
        for item in result.skipped:
            skipped.add_row(item.reason)
        console.print(skipped)
    if result.duplicates:
        dupes = Table(title="duplicates (kept the canonical copy)")
        for column in ("dropped", "kind", "similarity", "duplicate of"):
            dupes.add_column(column)
        for dup in result.duplicates:
            dupes.add_row(dup.doc_id, dup.kind, f"{dup.similarity:.2f}", dup.duplicate_of)
        console.print(dupes)


@index_app.command("stats")
def index_stats(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Points and documents in the index, per tenant, locale and product."""
    settings = AppSettings.load(data_dir)
    with Retrieval(settings) as retrieval:
        stats = stats_of(retrieval.index)
    if as_json:
        sys.stdout.write(json.dumps(dataclasses.asdict(stats), indent=2) + "\n")
        return
    console = Console()
    table = Table(title=f"index ({stats.backend}: {stats.location})")
    table.add_column("facet")
    table.add_column("value")
    table.add_column("points", justify="right")
    table.add_row("total", f"{stats.documents} documents", str(stats.points))
    for facet, counts in (
        ("tenant", stats.by_tenant),
        ("locale", stats.by_locale),
        ("product", stats.by_product),
    ):
        for value, count in counts.items():
            table.add_row(facet, value or "(none)", str(count))
    console.print(table)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The customer's or agent's question.")],
    tenant: Annotated[str, typer.Option(help="Tenant whose help center answers (required).")],
    product: Annotated[list[str] | None, typer.Option(help="Restrict to these products (repeatable).")] = None,
    locale: Annotated[str | None, typer.Option(help="Answer from this locale's articles (e.g. en, de).")] = None,
    channel: Annotated[str, typer.Option(help="agent (a ready-to-edit draft) or widget (a short answer).")] = "agent",
    generator: Annotated[
        str | None, typer.Option(help="extractive (no LLM) or llm; default: DESKPILOT_GENERATOR.")
    ] = None,
    updated_after: Annotated[str | None, typer.Option(help="Only articles updated after this ISO date.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout (the API's shape).")] = False,
    data_dir: DataDir = None,
) -> None:
    """Answer a question from the indexed help center, with citations and a confidence, or abstain."""
    if channel not in ("agent", "widget", "api"):
        typer.echo(f"error: --channel must be agent, widget or api, not {channel!r}", err=True)
        raise typer.Exit(2)
    if generator not in (None, "extractive", "llm"):
        typer.echo(f"error: --generator must be extractive or llm, not {generator!r}", err=True)
        raise typer.Exit(2)
    settings = AppSettings.load(data_dir)
    with Retrieval(settings) as retrieval:
        if retrieval.index.count() == 0:
            typer.echo("error: the index is empty; run `deskpilot ingest PATH` first", err=True)
            raise typer.Exit(1)
        answer = retrieval.assistant().answer(
            Question(
                text=question,
                tenant=tenant,
                channel=channel,  # type: ignore[arg-type]
                products=tuple(product or ()),
                locale=locale,
                updated_after=updated_after,
                generator=generator,
            )
        )
    if as_json:
        typer.echo(json.dumps(answer.as_json(), ensure_ascii=False))
        return
    _print_answer(Console(), answer)


def _print_answer(console: Console, answer: Answer) -> None:
    c = answer.confidence
    colour = {"high": "green", "medium": "yellow", "low": "red"}[c.level]
    title = "abstained: escalate to a person" if answer.abstained else f"answer ({answer.generator})"
    console.rule(title)
    console.print(answer.text, markup=False)
    console.print(f"\n[{colour}]confidence {c.level} ({c.score:.2f})[/{colour}] {c.reason}")
    if answer.fallback_reason:
        console.print(f"[yellow]fell back to the extractive answer:[/yellow] {answer.fallback_reason}", markup=True)
    if answer.citations:
        table = Table(title="sources")
        for column in ("n", "title", "section", "snippet", "url"):
            table.add_column(column, overflow="fold")
        for cit in answer.citations:
            table.add_row(str(cit.n), cit.title, cit.section, cit.snippet, cit.url or "")
        console.print(table)
    timings = "  ".join(f"{k} {v:.0f} ms" for k, v in answer.timings_ms.items())
    console.print(f"[dim]{timings}[/dim]")


if __name__ == "__main__":  # pragma: no cover
    app()
