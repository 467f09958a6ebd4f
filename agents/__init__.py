"""gtqa agents (see README)."""
