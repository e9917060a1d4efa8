"""Per-tenant feature flags and kill switches: the record and the store live in ``assistant.flags`` (the answer
service and the API obey them); audited changes in ``ui.flags``. Kept here for the console's imports."""

from __future__ import annotations

from assistant.flags import FLAG_HELP, FlagStore, TenantFlags
from ui.flags import change_flags

__all__ = ["FLAG_HELP", "FlagStore", "TenantFlags", "change_flags"]
