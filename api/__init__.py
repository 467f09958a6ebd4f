"""gtqa api (see README)."""
