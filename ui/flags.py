"""Flag changes made through a door (CLI, console): written to the flags file, then to the audit log."""

from __future__ import annotations

from collections.abc import Mapping

from assistant.flags import FLAG_NAMES, FlagStore, TenantFlags
from feedback.store import FeedbackStore

AUDIT_ACTION = "flags.changed"


def change_flags(
    flags: FlagStore, store: FeedbackStore, tenant: str, changes: Mapping[str, bool], actor: str
) -> tuple[TenantFlags, dict[str, bool]]:
    """Set ``changes`` for ``tenant`` (``"*"``: every tenant's default) and audit what really changed.

    Returns the effective flags and the switches whose value changed. The file is written first, so a kill
    switch takes effect even while the database is down; the audit error is raised after that.
    """
    before = flags.get(tenant).switches()
    after = flags.update(tenant, changes, actor)
    changed = {name: value for name, value in after.switches().items() if before[name] != value}
    explicit = {name: value for name, value in changes.items() if name in FLAG_NAMES}
    store.record_audit_event(
        actor=actor,
        action=AUDIT_ACTION,
        tenant=tenant,
        target=f"flags:{tenant}",
        details={"set": explicit, "changed": sorted(changed), "before": {k: before[k] for k in sorted(changed)}},
    )
    return after, changed
