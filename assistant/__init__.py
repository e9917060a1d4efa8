"""assistant: filled in by later issues."""
