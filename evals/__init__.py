"""gtqa evals (see README)."""
