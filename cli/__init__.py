"""The ``gtqa`` command line: the composition root that wires the core, the agent, the service, the
evals and the API together. It sits above every other package: nothing imports it."""

from cli.main import app

__all__ = ["app"]
