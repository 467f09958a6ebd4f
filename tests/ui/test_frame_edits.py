"""The corrections of a frame's other labels sent with a decision (api.ui.frame_edits), without a server:
checked against the frame's labels, with the defect each one is."""

from __future__ import annotations

import pytest

from api.schemas.queue import Box
from api.ui.frame_edits import EditAction, FrameEditIn, frame_edits
from gtqa.domain import Box2D, IssueType, Label
from gtqa.storage import DecisionError

LABELS = (
    Label(id="7:0", frame="7", cls="Car", box=Box2D(x1=10, y1=10, x2=50, y2=40)),
    Label(id="7:1", frame="7", cls="Car", box=Box2D(x1=12, y1=10, x2=52, y2=41)),
)


def test_each_edit_is_the_defect_it_corrects() -> None:
    sent = [
        FrameEditIn(action=EditAction.delete, label="7:1"),
        FrameEditIn(action=EditAction.fix, label="7:0", cls="Van"),
        FrameEditIn(action=EditAction.fix, label="7:0", box=Box(x1=11, y1=10, x2=50, y2=40)),
        FrameEditIn(action=EditAction.add, cls="Pedestrian", box=Box(x1=100, y1=5, x2=120, y2=60)),
    ]
    deleted, recast, moved, drawn = frame_edits(LABELS, "7", 3, sent)
    assert (deleted.label, deleted.issue_type, deleted.corrected) == ("7:1", IssueType.duplicate, None)
    assert recast.issue_type is IssueType.wrong_class and recast.corrected is not None
    assert recast.corrected.cls == "Van" and recast.corrected.box == LABELS[0].box
    assert moved.issue_type is IssueType.bad_box and moved.corrected is not None
    assert moved.corrected.box.x1 == 11 and moved.box == LABELS[0].box, "the box as it was is kept"
    assert drawn.label is None and drawn.issue_type is IssueType.missing_object
    assert (
        drawn.corrected is not None and drawn.corrected.id == "7:added-3-4" and drawn.corrected.frame == "7"
    )


def test_an_edit_of_a_label_the_frame_does_not_have_is_refused() -> None:
    with pytest.raises(DecisionError, match="no label"):
        frame_edits(LABELS, "7", 3, [FrameEditIn(action=EditAction.delete, label="8:0")])


def test_a_missing_object_needs_its_class() -> None:
    with pytest.raises(DecisionError, match="box and class"):
        frame_edits(LABELS, "7", 3, [FrameEditIn(action=EditAction.add, box=Box(x1=1, y1=1, x2=9, y2=9))])
