"""Corrections of the other labels of an item's frame, sent with the item's decision from the review
page: delete a duplicate or a label with no object, fix a neighbour's box or class, draw a missing object.
Each becomes a ``gtqa.storage.FrameEdit`` (stored as an audit of its own, beside the item's). Boxes in
image pixels."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from api.schemas.common import NO_NUL
from api.schemas.queue import Box, DecisionIn
from gtqa.domain import Box2D, IssueType, Label
from gtqa.storage import DecisionError, FrameEdit

Key = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NO_NUL)]
ClassName = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=NO_NUL)]
MAX_EDITS = 50  # corrections of other labels sent with one decision


class EditAction(StrEnum):
    fix = "fix"  # a neighbour's box or class corrected
    delete = "delete"  # a duplicate, or a label with no object under it
    add = "add"  # a missing object drawn


class FrameEditIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: EditAction
    label: Key | None = Field(default=None, description="the label fixed or deleted (None to add one)")
    box: Box | None = Field(default=None, description="the box as it should be (fix, add)")
    cls: ClassName | None = Field(default=None, description="the class as it should be (fix, add)")
    issue_type: IssueType | None = Field(
        default=None, description="the defect; by default duplicate (delete), missing object (add), "
        "bad box or wrong class (fix)",
    )  # fmt: skip


class ReviewDecisionIn(DecisionIn):
    """A decision from the review page: the item's own, plus corrections of other labels of its frame."""

    frame_edits: list[FrameEditIn] = Field(default_factory=list, max_length=MAX_EDITS)


def frame_edits(
    labels: Sequence[Label], frame: str, item_id: int, edits: Sequence[FrameEditIn]
) -> list[FrameEdit]:
    """The edits as storage records, checked against the frame's labels (``DecisionError``, 422)."""
    by_id = {lb.id: lb for lb in labels}
    return [_edit(by_id, frame, item_id, n, e) for n, e in enumerate(edits, 1)]


def _edit(by_id: dict[str, Label], frame: str, item_id: int, n: int, e: FrameEditIn) -> FrameEdit:
    if e.action is EditAction.add:
        if e.box is None or e.cls is None:
            raise DecisionError("a missing object drawn needs its box and class")
        box = Box2D(**e.box.model_dump())
        new = _label({"id": f"{frame}:added-{item_id}-{n}", "frame": frame, "cls": e.cls, "box": box})
        return FrameEdit(None, e.issue_type or IssueType.missing_object, box, new)
    old = by_id.get(e.label or "")
    if old is None:
        raise DecisionError(f"frame {frame} has no label {e.label!r} to {e.action.value}")
    if e.action is EditAction.delete:
        return FrameEdit(old.id, e.issue_type or IssueType.duplicate, old.box, None)
    patch = {
        k: v for k, v in {"cls": e.cls, "box": e.box.model_dump() if e.box else None}.items() if v is not None
    }
    fixed = _label({**old.model_dump(exclude={"source"}), **patch})
    issue = e.issue_type or (IssueType.wrong_class if fixed.cls != old.cls else IssueType.bad_box)
    return FrameEdit(old.id, issue, old.box, fixed)


def _label(values: dict[str, object]) -> Label:
    try:
        return Label.model_validate(values)
    except ValidationError as exc:
        raise DecisionError(f"invalid edit: {exc.errors()[0]['msg']}") from None
