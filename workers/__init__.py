"""gtqa workers (see README)."""
