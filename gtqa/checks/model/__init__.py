"""Model-assisted checks: labels against a detector's predictions."""
