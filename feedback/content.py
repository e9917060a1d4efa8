"""Remove a deleted article's text from the recorded answers that quoted it.

When an admin deletes an article (``ui.content``), no byte of its text may stay under the data dir. Recorded
answers that cited it hold its sentences (the answer text, the citation snippets, the agent's draft and sent
reply), so those are blanked: the answer text is replaced by a note, the article's snippets are emptied, the
edits' texts are cleared (their distance is kept). Ids, titles, URLs, votes, timings and counts stay, so the
dashboards still count those answers. On SQLite the rows are overwritten with ``secure_delete`` and the file
is compacted (VACUUM, WAL emptied), as ``retention apply`` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from feedback.models import EditRow, InteractionRow
from feedback.retention import _sqlite_secure_delete, compact_sqlite
from feedback.store import FeedbackStore

REMOVED_ANSWER = "(removed: this answer quoted an article that has since been deleted)"


@dataclass(frozen=True)
class ScrubReport:
    """How many recorded answers and edits lost the deleted article's text, and whether SQLite was compacted."""

    interactions: int = 0
    edits: int = 0
    compacted: bool = False


def scrub_article(store: FeedbackStore, tenant: str, doc_id: str) -> ScrubReport:
    """Blank the text that ``tenant``'s recorded answers quoted from ``doc_id`` (see the module's docstring)."""
    with Session(store.engine) as session, session.begin():
        _sqlite_secure_delete(session)
        rows = session.execute(
            select(InteractionRow.id, InteractionRow.citations, InteractionRow.source_doc_ids).where(
                InteractionRow.tenant == tenant
            )
        ).all()
        hit = [
            (row.id, row.citations)
            for row in rows
            if doc_id in (row.source_doc_ids or []) or any(_cites(c, doc_id) for c in row.citations or [])
        ]
        for interaction_id, citations in hit:
            session.execute(
                update(InteractionRow)
                .where(InteractionRow.id == interaction_id)
                .values(
                    answer=REMOVED_ANSWER,
                    citations=[{**c, "snippet": ""} if _cites(c, doc_id) else c for c in citations or []],
                ),
                execution_options={"synchronize_session": False},
            )
        ids = [interaction_id for interaction_id, _ in hit]
        edits = 0
        if ids:
            result = session.execute(
                update(EditRow).where(EditRow.interaction_id.in_(ids)).values(draft="", sent=""),
                execution_options={"synchronize_session": False},
            )
            edits = int(getattr(result, "rowcount", 0) or 0)
    compacted = compact_sqlite(store.engine) if hit else False
    return ScrubReport(interactions=len(hit), edits=edits, compacted=compacted)


def _cites(citation: Any, doc_id: str) -> bool:
    return isinstance(citation, dict) and citation.get("doc_id") == doc_id
