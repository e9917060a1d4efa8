"""The `deskpilot` command line."""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
import uuid
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from assistant.records import Answer, Question
from ingest.records import ArticleMeta
from retrieval.index import stats_of
from ui.content_cli import content_app
from ui.settings import AppSettings
from ui.wiring import IngestRun, Retrieval, ingest_paths

app = typer.Typer(help="deskpilot: a RAG customer-support assistant.", no_args_is_help=True)
index_app = typer.Typer(help="Inspect the search index.", no_args_is_help=True)
app.add_typer(index_app, name="index")
keys_app = typer.Typer(help="API keys: each bound to one role and one tenant, stored hashed.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
db_app = typer.Typer(help="The feedback database.", no_args_is_help=True)
app.add_typer(db_app, name="db")
audit_app = typer.Typer(help="The append-only, hash-chained audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
retention_app = typer.Typer(help="Per-tenant data retention.", no_args_is_help=True)
app.add_typer(retention_app, name="retention")
eval_app = typer.Typer(
    help="Evaluation: retrieval and answer metrics with CIs, red team, report.", no_args_is_help=True
)
app.add_typer(eval_app, name="eval")
spool_app = typer.Typer(help="Writes spooled locally while the database was down.", no_args_is_help=True)
app.add_typer(spool_app, name="spool")
demo_app = typer.Typer(help="Demo data for the console and the dashboards.", no_args_is_help=True)
app.add_typer(demo_app, name="demo")
rollout_app = typer.Typer(
    help="Canary rollout of a candidate configuration: 5 -> 25 -> 50 -> 100%, gated on live outcomes.",
    no_args_is_help=True,
)
app.add_typer(rollout_app, name="rollout")
flags_app = typer.Typer(
    help="Per-tenant feature flags and kill switches (hot-reloaded; every change audited).", no_args_is_help=True
)
app.add_typer(flags_app, name="flags")
report_app = typer.Typer(help="Reports for the support lead: ROI against the pre-pilot baseline.", no_args_is_help=True)
app.add_typer(report_app, name="report")
app.add_typer(content_app, name="content")

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
    if updated_after is not None:
        try:
            datetime.fromisoformat(updated_after)
        except ValueError:
            typer.echo(
                f"error: --updated-after must be an ISO date such as 2026-01-31, not {updated_after!r}", err=True
            )
            raise typer.Exit(2) from None
    from ui.tracing import activate, tracer_from

    settings = AppSettings.load(data_dir)
    with Retrieval(settings) as retrieval:
        if retrieval.index.count() == 0:
            typer.echo("error: the index is empty; run `deskpilot ingest PATH` first", err=True)
            raise typer.Exit(1)
        asked = Question(
            text=question,
            tenant=tenant,
            channel=channel,  # type: ignore[arg-type]
            products=tuple(product or ()),
            locale=locale,
            updated_after=updated_after,
            generator=generator,
        )
        # Traced like an API answer when the Langfuse keys are set (nothing is imported or sent otherwise).
        tracer = tracer_from(settings.observability, retrieval.redact)
        try:
            with tracer.answer(asked, request_id=uuid.uuid4().hex, actor="cli") as trace, activate(trace):
                answer = retrieval.assistant().answer(asked)
                trace.finish(answer)
        finally:
            tracer.close()
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
    if answer.needs_review:
        console.print("[yellow]needs review:[/yellow] check this draft against its sources before sending")
    if answer.fallback_reason:
        console.print(f"[yellow]fell back to the extractive answer:[/yellow] {answer.fallback_reason}", markup=True)
    if answer.related:
        console.print("related articles (offered beside the hand-off, not as an answer):")
        for rel in answer.related:
            console.print(f"  - {rel.title}  {rel.url or ''}", markup=False)
    if answer.citations:
        table = Table(title="sources")
        for column in ("n", "title", "section", "snippet", "url"):
            table.add_column(column, overflow="fold")
        for cit in answer.citations:
            table.add_row(str(cit.n), cit.title, cit.section, cit.snippet, cit.url or "")
        console.print(table)
    timings = "  ".join(f"{k} {v:.0f} ms" for k, v in answer.timings_ms.items())
    console.print(f"[dim]{timings}[/dim]")


@app.command()
def redact(
    files: Annotated[
        list[str] | None, typer.Argument(help="Text files to redact; '-' (or nothing) reads standard input.")
    ] = None,
    kind: Annotated[
        str, typer.Option(help="Policy: 'customer' (tickets, questions; recall first) or 'content' (help center).")
    ] = "customer",
    locale: Annotated[str, typer.Option(help="Locale of the text: default phone region, name rules.")] = "en",
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per input per line, with the spans.")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Print each input with its PII replaced by typed placeholders; the models load once for all inputs."""
    from ingest.redact import KINDS, Redactor

    if kind not in KINDS:
        raise typer.BadParameter(f"--kind must be one of {', '.join(KINDS)}, not {kind!r}", param_hint="--kind")
    sources = files or ["-"]
    texts: list[tuple[str, str]] = []
    for source in sources:
        if source == "-":
            texts.append(("-", sys.stdin.read()))
            continue
        try:
            texts.append((source, Path(source).read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as exc:
            typer.echo(f"deskpilot redact: cannot read {source}: {exc}", err=True)
            raise typer.Exit(2) from exc
    settings = AppSettings.load(data_dir)
    redactor = Redactor(settings.ingest)
    for name, text in texts:
        spans = redactor.find(text, locale, kind=kind)  # type: ignore[arg-type]  # checked against KINDS above
        clean = redactor.redact_spans(text, spans)
        if as_json:
            record = {
                "file": name,
                "text": clean,
                "spans": [
                    {
                        "type": s.entity_type,
                        "start": s.start,
                        "end": s.end,
                        "score": round(s.score, 4),
                        "detector": s.detector,
                    }
                    for s in spans
                ],
            }
            sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            sys.stdout.write(clean if clean.endswith("\n") or not clean else clean + "\n")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface (default: DESKPILOT_API_HOST, 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: DESKPILOT_API_PORT, 8000).")] = None,
    demo: Annotated[bool, typer.Option(help="Serve /demo/<tenant> help-center pages with a fresh widget key.")] = True,
    data_dir: DataDir = None,
) -> None:
    """Serve the HTTP API (answers, feedback, edits, escalations, interactions, metrics) and the widget."""
    import uvicorn

    from ui.api.server import uvicorn_config
    from ui.logging_setup import configure_logging, ingest_redactor
    from ui.serve import serving

    settings = AppSettings.load(data_dir)
    # JSON lines by default (DESKPILOT_LOG_FORMAT=text for plain lines), PII redacted before they are written.
    configure_logging(settings.observability, ingest_redactor(settings), default="json")
    with serving(settings, demo=demo) as served:
        h, p = host or settings.api.api_host, port or settings.api.api_port
        for tenant in served.demo_keys:
            typer.echo(f"demo help-center page: http://{h}:{p}/demo/{tenant}", err=True)
        # log_config=None: uvicorn's own lines go through the same handler instead of its default config.
        config = uvicorn_config(served.app, settings.api, h, p, log_level="info", access_log=False, log_config=None)
        uvicorn.Server(config).run()


@app.command()
def console(
    host: Annotated[str, typer.Option(help="Console interface.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Console port.")] = 8501,
    api: Annotated[bool, typer.Option(help="Serve the HTTP API in the same process (one owner of the index).")] = True,
    api_port: Annotated[int | None, typer.Option(help="API port (default: DESKPILOT_API_PORT, 8000).")] = None,
    data_dir: DataDir = None,
) -> None:
    """Serve the agent console and analyst dashboards (Streamlit), by default together with the API."""
    import os

    from ui.console.launch import run
    from ui.logging_setup import configure_logging, ingest_redactor

    if data_dir is not None:  # the console's own settings read it from the environment
        os.environ["DESKPILOT_DATA_DIR"] = str(data_dir)
    settings = AppSettings.load(data_dir)
    # As for `serve`: JSON lines by default, PII redacted before they are written.
    configure_logging(settings.observability, ingest_redactor(settings), default="json")
    run(settings, host=host, port=port, api=api, api_port=api_port)


@demo_app.command("seed")
def demo_seed(
    days: Annotated[int, typer.Option(min=1, help="Days of traffic to spread the interactions over.")] = 21,
    per_day: Annotated[int, typer.Option(min=1, help="Interactions per weekday (fewer on weekends).")] = 10,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed twice adds nothing.")] = 7,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON summary object on stdout.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Fill the feedback store with weeks of interactions, votes, edits and escalations by the real assistant."""
    from ui.console.demo import seed as seed_demo
    from ui.serve import migrate_embedded

    settings = AppSettings.load(data_dir)
    migrate_embedded(settings)
    err = Console(stderr=True)
    with Progress(
        TextColumn("answering"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=as_json or not err.is_terminal,
    ) as bar:
        task = bar.add_task("answering", total=None)
        try:
            report = seed_demo(
                settings,
                days=days,
                seed=seed,
                per_day=per_day,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
        except RuntimeError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
    summary = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in dataclasses.asdict(report).items()}
    if as_json:
        sys.stdout.write(json.dumps(summary, indent=2) + "\n")
        return
    table = Table(title="demo seed")
    table.add_column("what")
    table.add_column("count", justify="right")
    for name in ("interactions", "votes", "edits", "escalations", "duplicates", "questions", "days"):
        table.add_row(name, str(summary[name]))
    Console().print(table)
    typer.echo(f"{report.seconds:.1f} s; sign in to the console with the demo users (README) to see the dashboards.")


@keys_app.command("create")
def keys_create(
    tenant: Annotated[str, typer.Option(help="The tenant the key may act for.")],
    role: Annotated[str, typer.Option(help="widget, agent, analyst or admin.")],
    name: Annotated[str, typer.Option(help="What the key is for, e.g. 'help-center widget'.")],
    data_dir: DataDir = None,
) -> None:
    """Create a key; the key is printed once and only its hash is stored."""
    from feedback.store import FeedbackStore
    from ui.api.roles import Role

    if role not in {r.value for r in Role}:
        typer.echo(f"error: --role must be one of {', '.join(r.value for r in Role)}, not {role!r}", err=True)
        raise typer.Exit(2)
    with FeedbackStore.open(AppSettings.load(data_dir).feedback) as store:
        key_id, plaintext = store.create_api_key(tenant, role, name, actor="cli")
    typer.echo(f"key id {key_id} ({role}, tenant {tenant}); the key, shown only now:", err=True)
    typer.echo(plaintext)


@keys_app.command("list")
def keys_list(
    tenant: Annotated[str | None, typer.Option(help="Only this tenant's keys.")] = None,
    data_dir: DataDir = None,
) -> None:
    """List keys (never the keys themselves)."""
    from feedback.store import FeedbackStore

    with FeedbackStore.open(AppSettings.load(data_dir).feedback) as store:
        keys = store.list_api_keys(tenant)
    table = Table(title="API keys")
    for column in ("id", "tenant", "role", "name", "created", "last used", "revoked"):
        table.add_column(column)
    for k in keys:
        table.add_row(
            k.id,
            k.tenant,
            k.role,
            k.name,
            k.created_at.isoformat(timespec="seconds"),
            k.last_used_at.isoformat(timespec="seconds") if k.last_used_at else "",
            k.revoked_at.isoformat(timespec="seconds") if k.revoked_at else "",
        )
    Console().print(table)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key id (from `keys list`).")], data_dir: DataDir = None
) -> None:
    """Revoke a key: with DESKPILOT_REDIS_URL running APIs refuse it at once, otherwise within a minute."""
    from feedback.store import FeedbackStore, UnknownApiKey
    from ui.api.revocation import announce_revocations, revocation_epoch

    settings = AppSettings.load(data_dir)
    with FeedbackStore.open(settings.feedback) as store:
        announce_revocations(store, revocation_epoch(settings.api))
        try:
            changed = store.revoke_api_key(key_id, actor="cli")
        except UnknownApiKey:
            typer.echo(f"error: no API key {key_id}", err=True)
            raise typer.Exit(1) from None
    typer.echo(f"revoked {key_id}" if changed else f"{key_id} was already revoked")


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDir = None) -> None:
    """Apply the feedback database's migrations (SQLite or PostgreSQL by DESKPILOT_FEEDBACK_DATABASE_URL)."""
    from feedback.migrate import upgrade

    status = upgrade(AppSettings.load(data_dir).feedback.resolved_database_url())
    typer.echo(f"feedback database at {status.after} (head {status.head}){'' if status.changed else ', unchanged'}")


@audit_app.command("verify")
def audit_verify(
    anchor_seq: Annotated[int | None, typer.Option(help="seq of a head noted earlier (catches a cut tail).")] = None,
    anchor_hash: Annotated[str | None, typer.Option(help="row hash of that head.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Check every audit row's hash and link; exit 1 when any row was altered, removed or inserted."""
    from feedback.audit import verify_database

    anchor = (anchor_seq, anchor_hash) if anchor_seq is not None and anchor_hash else None
    report = verify_database(AppSettings.load(data_dir).feedback, anchor=anchor)
    for problem in report.problems:
        typer.echo(f"seq {problem.seq}: {problem.kind}: {problem.message}")
    typer.echo(
        f"{report.rows} rows, head seq {report.head_seq} hash {report.head_hash}: {'OK' if report.ok else 'TAMPERED'}"
    )
    if not report.ok:
        raise typer.Exit(1)


@retention_app.command("apply")
def retention_apply(
    dry_run: Annotated[bool, typer.Option(help="Count what would go, change nothing.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Delete or anonymize what is older than each tenant's retention (DESKPILOT_RETENTION_DAYS)."""
    from feedback.retention import apply_configured, purge_at_rest

    settings = AppSettings.load(data_dir).feedback
    report = apply_configured(settings, dry_run=dry_run, at_rest=False)
    at_rest = purge_at_rest(settings, report.now, dry_run=dry_run)
    table = Table(title="retention" + (" (dry run)" if dry_run else ""))
    for column in ("tenant", "days", "cutoff", "mode", "interactions", "votes", "edits", "escalations"):
        table.add_column(column)
    for t in report.tenants:
        table.add_row(
            t.tenant,
            str(t.days),
            t.cutoff.date().isoformat(),
            t.mode,
            str(t.interactions),
            str(t.feedback),
            str(t.edits),
            str(t.escalations),
        )
    Console().print(table)
    rest = Table(title="data dir" + (" (dry run)" if dry_run else ""))
    for column in ("what", "removed", "anonymized"):
        rest.add_column(column)
    rest.add_row("ingest cache entries of deleted source files", str(at_rest.cache_entries), "")
    rest.add_row(
        "ingest cache files of an earlier version (text before redaction)", str(at_rest.legacy_cache_files), ""
    )
    rest.add_row(
        "spooled writes older than their tenant's retention", str(at_rest.spool_deleted), str(at_rest.spool_anonymized)
    )
    rest.add_row("rejected spool entries older than their tenant's retention", str(at_rest.spool_rejected_removed), "")
    rest.add_row("log and trace files older than the shortest retention", str(at_rest.log_files), "")
    rest.add_row(
        "console tickets of removed widget hand-offs (address, questions)", "", str(_purge_handoffs(data_dir, dry_run))
    )
    Console().print(rest)


def _purge_handoffs(data_dir: Path | None, dry_run: bool) -> int:
    """Blank the inbox tickets whose widget escalation retention just removed (their contact and questions)."""
    from feedback.store import FeedbackStore
    from ui.console.queue import purge_tickets
    from ui.console.settings import ConsoleSettings
    from ui.console.tickets import TicketStore

    settings = AppSettings.load(data_dir)
    console = ConsoleSettings(data_dir=settings.feedback.data_dir)
    path = console.resolved_console_dir() / "tickets.json"
    if not path.is_file():
        return 0
    with FeedbackStore.open(settings.feedback) as store:
        return purge_tickets(store, TicketStore(path), dry_run=dry_run)


@spool_app.command("replay")
def spool_replay(data_dir: DataDir = None) -> None:
    """Store everything spooled while the database was down."""
    from feedback.spool import replay_configured

    report = replay_configured(AppSettings.load(data_dir).feedback)
    typer.echo(
        f"stored {report.stored}, already stored {report.duplicates}, rejected {report.rejected}, "
        f"remaining {report.remaining}"
    )


@eval_app.command("run")
def eval_run(
    report: Annotated[Path | None, typer.Option(help="Write report.md and report.html into this directory.")] = None,
    beir: Annotated[
        Path | None, typer.Option(help="Also evaluate a BEIR dataset (corpus.jsonl, queries.jsonl, qrels/).")
    ] = None,
    beir_split: Annotated[str | None, typer.Option(help="qrels split of the BEIR dataset (default: test).")] = None,
    samples: Annotated[bool, typer.Option(help="Evaluate the sample golden set and red team.")] = True,
    gate: Annotated[bool, typer.Option(help="Exit 1 when a metric falls below the checked-in baseline.")] = False,
    strict: Annotated[bool, typer.Option(help="Gate also on hybrid beating dense-only significantly.")] = False,
    write_baseline: Annotated[bool, typer.Option(help="Record this run as evals/baseline.json.")] = False,
    golden: Annotated[
        Path | None, typer.Option(help="Evaluate this golden file (e.g. a harvest-vNNN.jsonl) instead of the samples'.")
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="State for the evaluation (default: <DATA_DIR>/eval).")
    ] = None,
    openedx: Annotated[
        bool,
        typer.Option(help="Also ingest ../shared/corpora/openedx as tenant openedx and evaluate its question set."),
    ] = False,
    openedx_corpus: Annotated[
        Path | None, typer.Option(help="Where the Open edX corpus is (default: ../shared/corpora/openedx).")
    ] = None,
    redteam: Annotated[bool, typer.Option(help="Run the red-team probes (assistant and API).")] = True,
) -> None:
    """Evaluate retrieval (dense, BM25, hybrid), answers (key facts, lint, calibration, abstention) and the
    red team, with bootstrap CIs."""
    from evals.run import main as run_eval

    state = data_dir or AppSettings.load().ingest.data_dir / "eval"
    code = run_eval(
        AppSettings.load(state),
        report_dir=report,
        beir=beir,
        beir_split=beir_split,
        samples=samples,
        check_gate=gate,
        strict=strict,
        save_baseline=write_baseline,
        golden=golden,
        openedx=openedx,
        openedx_corpus=openedx_corpus,
        redteam=redteam,
    )
    raise typer.Exit(code)


@eval_app.command("harvest")
def eval_harvest(
    out: Annotated[Path | None, typer.Option(help="Output directory (default: <DATA_DIR>/golden).")] = None,
    tenant: Annotated[str | None, typer.Option(help="Only this tenant's interactions.")] = None,
    since: Annotated[str | None, typer.Option(help="Only interactions from this ISO date/datetime on.")] = None,
    max_edit_ratio: Annotated[
        float, typer.Option(min=0, max=1, help="Skip drafts the agent rewrote beyond this edit ratio.")
    ] = 0.5,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON summary object on stdout.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Turn approved agent edits and thumbs-up answers into the next versioned golden file (harvest-vNNN.jsonl)."""
    from evals.harvest import main as run_harvest

    settings = AppSettings.load(data_dir)
    raise typer.Exit(
        run_harvest(settings, out=out, tenant=tenant, since=since, max_edit_ratio=max_edit_ratio, as_json=as_json)
    )


@report_app.command("roi")
def report_roi(
    baseline: Annotated[
        Path | None, typer.Option(help="Pre-pilot baseline YAML (default: the example data/samples/roi_baseline.yaml).")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Output directory (default: <DATA_DIR>/reports/roi).")] = None,
    since: Annotated[str | None, typer.Option(help="Measure from this ISO date/datetime on.")] = None,
    until: Annotated[str | None, typer.Option(help="Measure up to this ISO date (inclusive) or datetime.")] = None,
    tenant: Annotated[str | None, typer.Option(help="Only this tenant (default: all).")] = None,
    data_dir: DataDir = None,
) -> None:
    """ROI of the pilot: deflection, handle time saved, cost per answer against the baseline, with 95% CIs."""
    from evals.roi import main as run_roi

    settings = AppSettings.load(data_dir)
    raise typer.Exit(run_roi(settings, baseline=baseline, out=out, since=since, until=until, tenant=tenant))


@flags_app.command("show")
def flags_show(
    tenant: Annotated[str | None, typer.Option(help="Only this tenant's effective flags ('*': the default).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")] = False,
    data_dir: DataDir = None,
) -> None:
    """The effective flags of a tenant, or of every tenant with an entry (and the '*' default)."""
    from assistant.flags import ALL_TENANTS, FLAG_NAMES, FlagStore

    path = AppSettings.load(data_dir).assistant.resolved_flags_file()
    store = FlagStore(path)
    try:
        store.check()
        tenants = [tenant] if tenant else sorted({ALL_TENANTS, *store.tenants()})
        shown = {t: store.get(t) for t in tenants}
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    if as_json:
        out = {t: f.model_dump(mode="json") for t, f in shown.items()}
        typer.echo(json.dumps({"file": str(path), "tenants": out}, ensure_ascii=False))
        return
    table = Table(title=f"feature flags ({path})")
    for column in ("tenant", *FLAG_NAMES, "changed", "by"):
        table.add_column(column)
    for t, f in shown.items():
        switches = ["on" if on else "[red]off[/red]" for on in f.switches().values()]
        changed = f.updated_at.isoformat(timespec="seconds") if f.updated_at else ""
        table.add_row(t, *switches, changed, f.updated_by)
    Console().print(table)


@flags_app.command("set")
def flags_set(
    assignments: Annotated[
        list[str], typer.Argument(help="NAME=true|false, e.g. llm_enabled=false widget_enabled=on.")
    ],
    tenant: Annotated[str, typer.Option(help="The tenant ('*': the default of every tenant without its own).")],
    data_dir: DataDir = None,
) -> None:
    """Flip switches of one tenant; running APIs and consoles obey them on their next request."""
    from sqlalchemy.exc import SQLAlchemyError

    from assistant.flags import FlagStore, parse_assignments
    from feedback.store import FeedbackStore
    from ui.flags import change_flags

    try:
        changes = parse_assignments(assignments)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    settings = AppSettings.load(data_dir)
    flags = FlagStore(settings.assistant.resolved_flags_file())
    with FeedbackStore.open(settings.feedback) as store:
        try:
            after, changed = change_flags(flags, store, tenant, changes, actor="cli")
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        except SQLAlchemyError as exc:
            typer.echo(
                f"error: the flags changed in {flags.path}, but the audit log could not be written: {exc}", err=True
            )
            raise typer.Exit(1) from None
    now = ", ".join(f"{k}={'true' if v else 'false'}" for k, v in after.switches().items())
    typer.echo(f"{tenant}: {now}" + ("" if changed else " (unchanged)"))


@rollout_app.command("status")
def rollout_status(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")] = False,
    data_dir: DataDir = None,
) -> None:
    """The candidate's stage and, per arm, counts and thumbs-up, escalation and error rates with 95% CIs."""
    from feedback.store import FeedbackStore
    from ui.rollout import RolloutFileError, RolloutSettings, gate, require

    settings = AppSettings.load(data_dir)
    rollout = RolloutSettings(data_dir=settings.feedback.data_dir)
    try:
        path, state = require(rollout)
    except RolloutFileError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    with FeedbackStore.open(settings.feedback) as store:
        report = gate(store, state, rollout)
    if as_json:
        body = {
            "file": str(path),
            "state": state.model_dump(mode="json"),
            "next_stage": state.next_stage(),
            **report.as_json(),
        }
        sys.stdout.write(json.dumps(body, indent=2) + "\n")
        return
    from evals.canary import table

    since = state.started_at.isoformat(timespec="seconds") if state.started_at else "the beginning"
    shadow = f", shadowing {state.shadow_percent}% of control" if state.shadow else ""
    title = f"rollout {state.name}: {state.percent}% live{shadow} (since {since})"
    out = Console()
    out.print(table(report, title))
    if state.reason:
        out.print(f"last change by {state.updated_by or '?'}: {state.reason}")
    nxt = state.next_stage()
    if nxt is None:
        out.print("at 100%: nothing left to advance")
    elif state.percent == 0:
        out.print(f"`deskpilot rollout advance` would start the canary at {nxt}%")
    elif report.passed:
        out.print(f"gate passes: `deskpilot rollout advance` would move to {nxt}%")
    else:
        out.print("gate refuses to advance: " + "; ".join(report.problems))


@rollout_app.command("advance")
def rollout_advance(data_dir: DataDir = None) -> None:
    """Move the candidate to the next stage; refused (exit 1) when it is worse or there is too little data."""
    from feedback.store import FeedbackStore
    from ui.rollout import GateRefused, RolloutFileError, RolloutSettings, advance

    settings = AppSettings.load(data_dir)
    with FeedbackStore.open(settings.feedback) as store:
        try:
            done = advance(store, RolloutSettings(data_dir=settings.feedback.data_dir), actor="cli")
        except (GateRefused, RolloutFileError) as exc:
            typer.echo(f"refused: {exc}", err=True)
            raise typer.Exit(1) from None
    typer.echo(
        f"rollout {done.name}: {done.before}% -> {done.after}% (audited; running doors follow on their next request)"
    )


@rollout_app.command("rollback")
def rollout_rollback(
    reason: Annotated[str, typer.Option(help="Why: kept in the rollout file and the audit log.")],
    data_dir: DataDir = None,
) -> None:
    """Send all traffic back to control at once (percentage 0), recording why."""
    from feedback.store import FeedbackStore
    from ui.rollout import RolloutFileError, RolloutSettings, rollback

    settings = AppSettings.load(data_dir)
    with FeedbackStore.open(settings.feedback) as store:
        try:
            done = rollback(store, RolloutSettings(data_dir=settings.feedback.data_dir), actor="cli", reason=reason)
        except (RolloutFileError, ValueError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
    typer.echo(f"rollout {done.name}: {done.before}% -> 0% (audited): {done.reason}")


@eval_app.command("shadow-report")
def eval_shadow_report(
    since: Annotated[datetime | None, typer.Option(help="Only shadow answers from this day/time on (UTC).")] = None,
    variant: Annotated[str | None, typer.Option(help="Only this shadow variant, e.g. shadow:llm-v2.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON list on stdout.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Compare shadow answers with the live answers they accompanied: paired deltas with bootstrap CIs."""
    from datetime import UTC

    from evals.shadow import shadow_report, table
    from feedback.store import FeedbackStore

    when = since.replace(tzinfo=UTC) if since is not None and since.tzinfo is None else since
    with FeedbackStore.open(AppSettings.load(data_dir).feedback) as store:
        reports = shadow_report(store, since=when, variant=variant)
    if as_json:
        sys.stdout.write(json.dumps([r.as_json() for r in reports], indent=2) + "\n")
        return
    if not reports:
        typer.echo("no shadow answers recorded" + (f" since {when.isoformat()}" if when else ""))
        return
    out = Console()
    for r in reports:
        out.print(table(r))
    out.print("[dim]95% bootstrap CIs; * = the difference's interval excludes 0[/dim]")


if __name__ == "__main__":  # pragma: no cover
    app()
