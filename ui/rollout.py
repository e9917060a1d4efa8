"""The rollout file: one candidate configuration, its canary percentage, its shadow flag, and cohort hashing.

A candidate is a named set of overrides of :class:`~assistant.settings.AssistantSettings`, declared in
``<data_dir>/rollout.json`` (or the JSON/YAML file ``DESKPILOT_ROLLOUT_FILE`` names)::

    {"name": "llm-v2", "overrides": {"generator": "llm", "llm_model": "qwen2.5-7b"}, "percent": 0, "shadow": true}

A request's cohort is a stable hash of the rollout name and its unit (the actor, the tenant or the request,
``DESKPILOT_ROLLOUT_UNIT``) into 100 buckets; buckets below ``percent`` are served by the candidate, so raising
the percentage only ever moves control users to the candidate, never back. ``advance``/``rollback`` rewrite the
file atomically and audit the change in the same transaction; running doors pick it up on their next request.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.orm import Session

from assistant.settings import AssistantSettings
from feedback import audit
from feedback.records import utcnow
from feedback.store import FeedbackStore

if TYPE_CHECKING:  # the gate's statistics (scipy) stay off the request path
    from evals.canary import GateReport

STAGES: tuple[int, ...] = (5, 25, 50, 100)
"""The canary percentages ``advance`` moves through, in order."""
CONTROL = "control"
AUDIT_TENANT = "*"
"""Tenant of rollout audit events: a rollout concerns every tenant (unless it lists some)."""
# Never a candidate override: they decide where state lives, not how an answer is made.
_FIXED = frozenset({"data_dir"})


class RolloutSettings(BaseSettings):
    """Where the rollout file is, how requests are split into cohorts, and what the canary gate demands."""

    model_config = SettingsConfigDict(env_prefix="DESKPILOT_", extra="ignore")

    data_dir: Path = Field(default=Path(".deskpilot"))
    rollout_file: Path | None = Field(
        default=None, description="The rollout file (.json, .yaml or .yml); None = <data_dir>/rollout.json."
    )
    rollout_unit: Literal["actor", "tenant", "request"] = Field(
        default="actor",
        description="What a cohort is made of: the actor (API key / agent: sticky), the tenant, or each request.",
    )
    rollout_min_interactions: int = Field(
        default=50, ge=1, description="Live candidate interactions needed before `rollout advance` may judge."
    )
    rollout_min_votes: int = Field(default=20, ge=1, description="Votes on each arm needed to compare thumbs-up rates.")
    rollout_confidence: float = Field(default=0.95, gt=0.5, lt=1, description="Confidence of the gate's intervals.")
    shadow_queue_max: int = Field(
        default=64, ge=1, description="Shadow answers waiting beyond this are dropped (logged), never queued forever."
    )

    def resolved_rollout_file(self) -> Path:
        """The rollout file, defaulting to ``<data_dir>/rollout.json``."""
        return self.rollout_file if self.rollout_file is not None else self.data_dir / "rollout.json"


class RolloutFileError(ValueError):
    """The rollout file cannot be read or is invalid; the message names the file and the field."""


class RolloutState(BaseModel):
    """What the rollout file says: the candidate, how much live traffic it serves, and whether it shadows."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(
        pattern=r"^[a-z0-9][a-z0-9._-]{0,47}$",
        description="The candidate's name (lowercase letters, digits, . _ -); also the salt of the cohort hash.",
    )
    overrides: dict[str, Any] = Field(
        default_factory=dict, description="AssistantSettings fields the candidate changes."
    )
    percent: int = Field(default=0, ge=0, le=100, description="Share of live cohorts the candidate serves.")
    shadow: bool = Field(default=False, description="Also answer control's traffic in the background, unseen.")
    shadow_percent: int = Field(default=100, ge=0, le=100, description="Share of control's cohorts shadowed.")
    tenants: tuple[str, ...] = Field(default=(), description="Only these tenants take part; empty = every tenant.")
    started_at: AwareDatetime | None = Field(default=None, description="Start of the canary's comparison window.")
    updated_at: AwareDatetime | None = None
    updated_by: str = ""
    reason: str = Field(default="", description="Why the last change was made (a rollback's reason).")

    @field_validator("overrides")
    @classmethod
    def _known_fields(cls, overrides: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(overrides) - set(AssistantSettings.model_fields))
        if unknown:
            raise ValueError(
                f"unknown setting(s) {', '.join(unknown)}; a candidate overrides fields of AssistantSettings "
                f"(e.g. generator, llm_model, llm_base_url, max_sources, abstain_below)"
            )
        fixed = sorted(set(overrides) & _FIXED)
        if fixed:
            raise ValueError(f"{', '.join(fixed)} cannot be overridden by a candidate")
        return overrides

    @property
    def candidate(self) -> str:
        """The variant recorded on interactions the candidate serves live."""
        return f"candidate:{self.name}"

    @property
    def shadow_variant(self) -> str:
        """The variant recorded on the candidate's shadow answers."""
        return f"shadow:{self.name}"

    def covers(self, tenant: str) -> bool:
        """Whether ``tenant`` takes part in this rollout."""
        return not self.tenants or tenant in self.tenants

    def next_stage(self) -> int | None:
        """The percentage ``advance`` moves to; None at 100%."""
        return next((s for s in STAGES if s > self.percent), None)


def bucket(salt: str, unit: str) -> int:
    """The cohort of ``unit`` under ``salt``: a stable number in 0..99 (blake2b, the same in every process)."""
    digest = hashlib.blake2b(f"{salt}\x1f{unit}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % 100


def unit_key(kind: str, *, actor: str, tenant: str, request_id: str) -> str:
    """The value a request is hashed by, for ``DESKPILOT_ROLLOUT_UNIT``."""
    if kind == "tenant":
        return f"tenant:{tenant}"
    if kind == "request":
        return f"request:{request_id}"
    return f"actor:{tenant}:{actor}"


def in_candidate(state: RolloutState, tenant: str, unit: str) -> bool:
    """Whether the candidate serves this unit live."""
    return state.covers(tenant) and bucket(state.name, unit) < state.percent


def in_shadow(state: RolloutState, tenant: str, unit: str) -> bool:
    """Whether the candidate shadows this unit's control answers (a separate hash, so shadow and canary are
    independent samples)."""
    return state.shadow and state.covers(tenant) and bucket(f"{state.name}:shadow", unit) < state.shadow_percent


def _where(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def load(path: Path) -> RolloutState | None:
    """The rollout file's state; None when the file does not exist. Raises :class:`RolloutFileError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise RolloutFileError(f"rollout file {path}: cannot be read ({exc})") from exc
    try:
        data = yaml.safe_load(text) if path.suffix in {".yaml", ".yml"} else json.loads(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise RolloutFileError(
            f"rollout file {path}: not valid {path.suffix.lstrip('.').upper() or 'JSON'}: {exc}"
        ) from exc
    if not isinstance(data, Mapping):
        raise RolloutFileError(f"rollout file {path}: must hold one object with at least a 'name' field")
    try:
        return RolloutState.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise RolloutFileError(
            f"rollout file {path}: field {_where(first['loc'])}: {first['msg']} "
            f"({exc.error_count()} problem(s); fix the file, running doors keep serving control meanwhile)"
        ) from exc


def candidate_settings(base: AssistantSettings, state: RolloutState, path: Path | None = None) -> AssistantSettings:
    """``base`` with the candidate's overrides applied and validated (errors name the rollout file and field)."""
    merged = {**{name: getattr(base, name) for name in AssistantSettings.model_fields}, **state.overrides}
    try:
        return AssistantSettings(**merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = f"rollout file {path}" if path else "rollout"
        loc = _where(first["loc"])
        field = f"overrides.{loc}" if loc in state.overrides else "overrides"
        raise RolloutFileError(f"{where}: field {field}: {first['msg']}") from exc


def save(path: Path, state: RolloutState) -> None:
    """Write the file atomically (a reader sees the old file or the new one, never half of one)."""
    data = state.model_dump(mode="json")
    text = yaml.safe_dump(data, sort_keys=False) if path.suffix in {".yaml", ".yml"} else json.dumps(data, indent=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class Change:
    """One audited change of the rollout's percentage."""

    name: str
    action: Literal["advanced", "rolled_back"]
    before: int
    after: int
    reason: str
    at: datetime


def change(
    path: Path,
    store: FeedbackStore,
    state: RolloutState,
    *,
    action: Literal["advanced", "rolled_back"],
    percent: int,
    actor: str,
    reason: str = "",
    evidence: Mapping[str, Any] | None = None,
) -> Change:
    """Move the rollout to ``percent``: the audit event and the file change commit together (or not at all).

    ``evidence`` (counts and rates the decision rested on) goes into the audit event; ``reason`` is the
    operator's own words about the candidate, never customer text."""
    now = utcnow()
    restart = state.percent == 0 and percent > 0
    updated = state.model_copy(
        update={
            "percent": percent,
            "updated_at": now,
            "updated_by": actor,
            "reason": reason,
            # Each start from 0% opens a fresh comparison window: what a rolled-back candidate did before
            # says nothing about the fixed one.
            "started_at": now if restart else state.started_at,
        }
    )
    with Session(store.engine) as session, session.begin():
        audit.append(
            session,
            actor=actor,
            action=f"rollout.{action}",
            tenant=AUDIT_TENANT,
            target=f"rollout:{state.name}",
            details={
                "from": state.percent,
                "to": percent,
                "reason": reason[:500],
                "file": str(path),
                **({"gate": dict(evidence)} if evidence else {}),
            },
            at=now,
        )
        save(path, updated)
    return Change(state.name, action, state.percent, percent, reason, now)


class GateRefused(RuntimeError):
    """``advance`` refused: the candidate is worse than control, or there is too little data to tell."""

    def __init__(self, state: RolloutState, report: GateReport) -> None:
        super().__init__(f"rollout {state.name} stays at {state.percent}%: " + "; ".join(report.problems))
        self.report = report


def gate(store: FeedbackStore, state: RolloutState, settings: RolloutSettings) -> GateReport:
    """The canary gate over live traffic since the rollout's window opened."""
    from evals.canary import arm_counts, judge

    arms = arm_counts(store.engine, [CONTROL, state.candidate], since=state.started_at, tenants=state.tenants)
    return judge(
        arms[CONTROL],
        arms[state.candidate],
        min_interactions=settings.rollout_min_interactions,
        min_votes=settings.rollout_min_votes,
        confidence=settings.rollout_confidence,
    )


def require(settings: RolloutSettings) -> tuple[Path, RolloutState]:
    """The rollout file and its state; :class:`RolloutFileError` when there is none."""
    path = settings.resolved_rollout_file()
    state = load(path)
    if state is None:
        raise RolloutFileError(
            f"no rollout file at {path}: write one, e.g. "
            '{"name": "llm-v2", "overrides": {"generator": "llm"}, "percent": 0} '
            "(or point DESKPILOT_ROLLOUT_FILE at a JSON/YAML file)"
        )
    candidate_settings(AssistantSettings(data_dir=settings.data_dir), state, path)
    return path, state


def advance(store: FeedbackStore, settings: RolloutSettings, *, actor: str) -> Change:
    """Move the candidate to the next stage (5 -> 25 -> 50 -> 100%) when the gate passes; raises
    :class:`GateRefused` when it does not. Starting from 0% needs no gate: there is nothing to judge yet."""
    path, state = require(settings)
    target = state.next_stage()
    if target is None:
        raise RolloutFileError(
            f"rollout {state.name} already serves 100%: make its overrides the base settings and remove {path}"
        )
    evidence: dict[str, Any] = {}
    if state.percent > 0:
        report = gate(store, state, settings)
        if not report.passed:
            raise GateRefused(state, report)
        evidence = {
            "control": vars(report.control),
            "candidate": vars(report.candidate),
            "deltas": {d.metric: [round(d.delta, 6), round(d.low, 6), round(d.high, 6)] for d in report.differences},
        }
    return change(path, store, state, action="advanced", percent=target, actor=actor, evidence=evidence)


def rollback(store: FeedbackStore, settings: RolloutSettings, *, actor: str, reason: str) -> Change:
    """Send every request back to control (0%) and record why; shadowing, if on, continues."""
    if not reason.strip():
        raise ValueError("a rollback needs a reason (--reason): it is kept in the rollout file and the audit log")
    path, state = require(settings)
    return change(path, store, state, action="rolled_back", percent=0, actor=actor, reason=reason.strip())
