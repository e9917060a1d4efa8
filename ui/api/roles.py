"""The role matrix: which role may call which endpoint. Enforced in one place (``require``)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """Who is calling: a public widget key, a support agent, an analyst, or a tenant admin."""

    widget = "widget"
    agent = "agent"
    analyst = "analyst"
    admin = "admin"


class Action(StrEnum):
    """What the caller wants to do."""

    answer = "answer"
    feedback = "feedback"
    edit = "edit"
    escalate = "escalate"
    read_interactions = "read_interactions"
    read_escalations = "read_escalations"
    update_escalations = "update_escalations"


MATRIX: dict[Action, frozenset[Role]] = {
    Action.answer: frozenset({Role.widget, Role.agent, Role.admin}),
    Action.feedback: frozenset({Role.widget, Role.agent, Role.admin}),
    Action.edit: frozenset({Role.agent, Role.admin}),
    Action.escalate: frozenset({Role.widget, Role.agent, Role.admin}),
    Action.read_interactions: frozenset({Role.analyst, Role.admin}),
    Action.read_escalations: frozenset({Role.agent, Role.admin}),
    Action.update_escalations: frozenset({Role.agent, Role.admin}),
}
"""Widget keys are public: they may answer, vote and escalate, nothing else. Staff roles by need: the escalation
queue (which holds customers' contacts) is for agents and admins, not analysts."""

STAFF = frozenset({Role.agent, Role.analyst, Role.admin})


def allowed(role: Role, action: Action) -> bool:
    """Whether ``role`` may perform ``action``."""
    return role in MATRIX[action]
