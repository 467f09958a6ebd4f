"""2D geometry checks: boxes on their own and against other boxes of the same frame."""
