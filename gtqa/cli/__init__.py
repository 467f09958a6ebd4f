"""The ``gtqa`` command line: the composition root that wires the core, the agent, the service and
the evals together (the only part of ``gtqa`` allowed to import them)."""

from gtqa.cli.main import app

__all__ = ["app"]
