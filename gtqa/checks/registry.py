"""The one list of checks. The CLI, the agent, the workers, the API and the evals all iterate it.

Adding a check = one module with a ``CHECK``, one line here, one directional test.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from gtqa.checks.base import Check
from gtqa.checks.geometry import degenerate, duplicate
from gtqa.domain import Dataset, Frame

CHECKS: tuple[Check[Any], ...] = (
    degenerate.CHECK,
    duplicate.CHECK,
)

_BY_ID = {c.id: c for c in CHECKS}
assert len(_BY_ID) == len(CHECKS), "duplicate check id in the registry"


class UnknownCheckError(KeyError):
    def __init__(self, check_id: str) -> None:
        super().__init__(f"unknown check {check_id!r}; valid checks: {', '.join(sorted(_BY_ID))}")

    def __str__(self) -> str:
        return str(self.args[0])


def get_check(check_id: str) -> Check[Any]:
    try:
        return _BY_ID[check_id]
    except KeyError:
        raise UnknownCheckError(check_id) from None


def select(ids: Sequence[str] | None = None, *, exclude: Sequence[str] = ()) -> list[Check[Any]]:
    """The checks named (all of them by default), minus ``exclude``; unknown ids raise."""
    chosen = [get_check(i) for i in ids] if ids else list(CHECKS)
    skip = {get_check(i).id for i in exclude}
    return [c for c in chosen if c.id not in skip]


def data_features(frames: Iterable[Frame]) -> frozenset[str]:
    """What the data offers, in the vocabulary of ``Check.requires``."""
    have: set[str] = set()
    for frame in frames:
        if frame.predictions:
            have.add("predictions")
        if frame.image:
            have.add("images")
        if frame.calib:
            have.add("calib")
        if frame.sequence is not None:
            have.add("sequences")
        for label in frame.labels:
            if label.cuboid is not None:
                have.add("cuboids")
            if label.track_id is not None:
                have.add("tracks")
    return frozenset(have)


def applicable(checks: Iterable[Check[Any]], dataset: Dataset | Iterable[Frame]) -> list[Check[Any]]:
    have = data_features(dataset)
    return [c for c in checks if c.requires <= have]
