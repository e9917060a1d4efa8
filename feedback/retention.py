"""Per-tenant retention: `deskpilot retention apply` deletes or anonymizes what is older than the tenant's limit.

Anonymizing blanks every text a person wrote or that may quote one (question, answer, comments, drafts,
sent replies, escalation reasons) and every actor, and keeps the numbers the dashboards need (confidence,
votes, reason codes, edit ratios, latency, tokens, cost, versions, source ids). The audit log is never
touched; each tenant's run is itself recorded there, in the same transaction as the change.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Executable, Select, and_, delete, or_, select, union, update
from sqlalchemy.orm import Session

from feedback import audit
from feedback.models import EditRow, EscalationRow, FeedbackReasonRow, FeedbackRow, InteractionRow, reader
from feedback.records import RetentionReport, TenantRetention, utcnow
from feedback.settings import FeedbackSettings
from feedback.store import FeedbackStore

log = logging.getLogger(__name__)

ACTOR = "system:retention"


def _run(session: Session, statement: Executable) -> int:
    """Execute a bulk DELETE/UPDATE without syncing the session (nothing is loaded) and return its row count."""
    result = session.execute(statement, execution_options={"synchronize_session": False})
    return int(getattr(result, "rowcount", 0) or 0)


def _tenants(session: Session) -> list[str]:
    query = union(select(InteractionRow.tenant), select(EscalationRow.tenant))
    return sorted(str(t) for t in session.scalars(select(query.subquery().c[0])))


def _apply_tenant(session: Session, tenant: str, days: int, cutoff: datetime, mode: str) -> TenantRetention:
    old: Select[str] = select(InteractionRow.id).where(
        InteractionRow.tenant == tenant, InteractionRow.created_at < cutoff
    )
    if mode == "anonymize":
        old = old.where(InteractionRow.anonymized_at.is_(None))
    # Escalations not tied to an interaction age on their own clock.
    loose_escalation: ColumnElement[bool] = and_(
        EscalationRow.interaction_id.is_(None), EscalationRow.created_at < cutoff
    )
    escalations_scope = and_(
        EscalationRow.tenant == tenant, or_(EscalationRow.interaction_id.in_(old), loose_escalation)
    )
    feedback_scope = and_(FeedbackRow.tenant == tenant, FeedbackRow.interaction_id.in_(old))
    edits_scope = and_(EditRow.tenant == tenant, EditRow.interaction_id.in_(old))

    if mode == "delete":
        _run(
            session,
            delete(FeedbackReasonRow).where(
                FeedbackReasonRow.feedback_id.in_(select(FeedbackRow.id).where(feedback_scope))
            ),
        )
        feedback = _run(session, delete(FeedbackRow).where(feedback_scope))
        edits = _run(session, delete(EditRow).where(edits_scope))
        escalations = _run(session, delete(EscalationRow).where(escalations_scope))
        interactions = _run(session, delete(InteractionRow).where(InteractionRow.id.in_(old)))
    else:
        # Children first: their scope is "interactions not yet anonymized", which the last update changes.
        feedback = _run(session, update(FeedbackRow).where(feedback_scope).values(comment="", reviewer=""))
        edits = _run(session, update(EditRow).where(edits_scope).values(draft="", sent="", editor=""))
        escalations = _run(
            session,
            update(EscalationRow)
            .where(escalations_scope, or_(EscalationRow.reason != "", EscalationRow.actor != ""))
            .values(reason="", actor=""),
        )
        interactions = _run(
            session,
            update(InteractionRow)
            .where(InteractionRow.id.in_(old))
            .values(question="", answer="", actor="", trace_id="", anonymized_at=utcnow()),
        )
    report = TenantRetention(
        tenant=tenant,
        days=days,
        cutoff=cutoff,
        mode=mode,  # type: ignore[arg-type]
        interactions=interactions,
        feedback=feedback,
        edits=edits,
        escalations=escalations,
    )
    audit.append(
        session,
        actor=ACTOR,
        action="retention.applied",
        tenant=tenant,
        target=f"tenant:{tenant}",
        details={
            "mode": mode,
            "days": days,
            "cutoff": cutoff.isoformat(),
            "interactions": interactions,
            "feedback": feedback,
            "edits": edits,
            "escalations": escalations,
        },
    )
    return report


def apply(
    store: FeedbackStore, settings: FeedbackSettings, now: datetime | None = None, *, dry_run: bool = False
) -> RetentionReport:
    """Apply every tenant's retention as of ``now`` (cutoff = now - days), one transaction per tenant.

    ``dry_run`` computes the exact counts and rolls everything back. Tenants whose retention is 0 days
    are kept forever and listed as skipped.
    """
    now = now or utcnow()
    if now.tzinfo is None:
        raise ValueError("retention needs a timezone-aware `now`")
    with Session(reader(store.engine)) as session:
        tenants = _tenants(session)
    done: list[TenantRetention] = []
    skipped: list[str] = []
    for tenant in tenants:
        days = settings.retention_for(tenant)
        if days == 0:
            skipped.append(tenant)
            continue
        with Session(store.engine) as session:
            # Leaving the block without a commit rolls back: an error, or a dry run.
            report = _apply_tenant(session, tenant, days, now - timedelta(days=days), settings.retention_mode)
            if not dry_run:
                session.commit()
        done.append(report)
        log.info(
            "retention %s tenant=%s mode=%s interactions=%d feedback=%d edits=%d escalations=%d",
            "dry-run" if dry_run else "applied",
            tenant,
            report.mode,
            report.interactions,
            report.feedback,
            report.edits,
            report.escalations,
        )
    return RetentionReport(now=now, dry_run=dry_run, tenants=tuple(done), skipped=tuple(skipped))


def apply_configured(
    settings: FeedbackSettings, now: datetime | None = None, *, dry_run: bool = False
) -> RetentionReport:
    """`deskpilot retention apply`: apply retention to the configured feedback database."""
    with FeedbackStore.open(settings) as store:
        return apply(store, settings, now, dry_run=dry_run)
