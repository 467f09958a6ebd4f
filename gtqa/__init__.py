"""gtqa: agent-assisted QA review of autonomous-driving ground truth."""
