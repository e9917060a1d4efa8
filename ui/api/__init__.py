"""The HTTP API: answers, feedback, edits, escalations, interactions, health and metrics."""
