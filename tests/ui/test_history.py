"""Earlier decisions on a label (api.ui.history), without a server: an identical re-delivery is one from
another batch with the very same box; the item's own batch or a changed box is not."""

from __future__ import annotations

from datetime import UTC, datetime

from api.ui.history import earlier_decisions
from gtqa.domain import Audit, AuditSource, Box2D, Label, Verdict

LABEL = Label(id="5:2", frame="5", cls="Car", box=Box2D(x1=10, y1=20, x2=60, y2=50))


def _audit(n: int, box: Box2D, corrected: Label | None = None) -> Audit:
    return Audit(
        id=f"a{n}", dataset="d", frame="5", label="5:2", box=box, auditor="ann", source=AuditSource.queue,
        verdict=Verdict.defect if corrected else Verdict.not_defect, corrected=corrected,
        issue_type="bad_box" if corrected else None, created_at=datetime(2026, 12, 1, tzinfo=UTC),
    )  # fmt: skip


def test_only_another_batchs_identical_label_is_a_redelivery() -> None:
    moved = LABEL.box.model_copy(update={"x1": 14.0})
    fixed = LABEL.model_copy(update={"box": moved})
    found = [(1, _audit(1, LABEL.box, fixed)), (2, _audit(2, LABEL.box)), (1, _audit(3, moved))]
    listed = earlier_decisions(found, LABEL, batch_id=2)
    assert [h.identical for h in listed] == [True, False, False]
    assert listed[0].corrected_box == (14.0, 20.0, 60.0, 50.0) and listed[0].corrected_cls == "Car"
    assert earlier_decisions(found, LABEL, batch_id=2, this_audit="a1")[0].batch_id == 2
