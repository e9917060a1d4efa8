"""Revisions of the feedback schema, oldest first."""
