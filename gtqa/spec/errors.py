from __future__ import annotations


class SpecError(ValueError):
    """A spec that cannot be compiled; ``str()`` names the file and line of every problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))
