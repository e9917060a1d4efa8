"""feedback: filled in by later issues."""
