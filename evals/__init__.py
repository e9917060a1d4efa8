"""evals: filled in by later issues."""
