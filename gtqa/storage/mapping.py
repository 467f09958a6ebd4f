"""Between gtqa domain models and table rows (plain dicts for bulk inserts, domain models on the way out)."""

from __future__ import annotations

import json
from typing import Any

from gtqa.domain import (
    Audit,
    Box2D,
    Calibration,
    Cuboid3D,
    Finding,
    Frame,
    JudgeOpinion,
    Label,
    Prediction,
    SourceRef,
)
from gtqa.storage.models import AuditRow, FindingRow, FrameRow, LabelRow, PredictionRow


def _box(box: Box2D) -> dict[str, float]:
    return {"x1": box.x1, "y1": box.y1, "x2": box.x2, "y2": box.y2}


def _row_box(row: LabelRow | PredictionRow | FindingRow) -> Box2D:
    return Box2D(x1=row.x1, y1=row.y1, x2=row.x2, y2=row.y2)


def _cuboid(cuboid: Cuboid3D | None) -> dict[str, float] | None:
    return cuboid.model_dump() if cuboid else None


def _source(source: SourceRef | None) -> dict[str, Any]:
    return {"source_path": source.path if source else None, "source_line": source.line if source else None}


def _row_source(row: LabelRow | PredictionRow) -> SourceRef | None:
    return SourceRef(path=row.source_path, line=row.source_line or 0) if row.source_path is not None else None


def frame_values(frame: Frame, batch_id: int, position: int) -> dict[str, Any]:
    return {
        "batch_id": batch_id,
        "key": frame.id,
        "position": position,
        "sequence": frame.sequence,
        "seq_index": frame.index,
        "image": frame.image,
        "width": frame.width,
        "height": frame.height,
        "calib": frame.calib.model_dump(mode="json") if frame.calib else None,
    }


def label_values(label: Label, batch_id: int, frame_id: int, position: int) -> dict[str, Any]:
    return {
        "batch_id": batch_id,
        "frame_id": frame_id,
        "key": label.id,
        "position": position,
        "cls": label.cls,
        **_box(label.box),
        "cuboid": _cuboid(label.cuboid),
        "truncation": label.truncation,
        "occlusion": label.occlusion,
        "alpha": label.alpha,
        "track_id": label.track_id,
        "attributes": dict(label.attributes),
        **_source(label.source),
    }


def prediction_values(pred: Prediction, batch_id: int, frame_id: int, position: int) -> dict[str, Any]:
    return {
        "batch_id": batch_id,
        "frame_id": frame_id,
        "position": position,
        "detector": pred.detector,
        "cls": pred.cls,
        **_box(pred.box),
        "score": pred.score,
        "raw_score": pred.raw_score,
        "cuboid": _cuboid(pred.cuboid),
        **_source(pred.source),
    }


def to_label(row: LabelRow, frame_key: str) -> Label:
    return Label(
        id=row.key,
        frame=frame_key,
        cls=row.cls,
        box=_row_box(row),
        cuboid=Cuboid3D(**row.cuboid) if row.cuboid else None,
        truncation=row.truncation,
        occlusion=row.occlusion,
        alpha=row.alpha,
        track_id=row.track_id,
        attributes=row.attributes,
        source=_row_source(row),
    )


def to_prediction(row: PredictionRow, frame_key: str) -> Prediction:
    return Prediction(
        frame=frame_key,
        cls=row.cls,
        box=_row_box(row),
        score=row.score,
        raw_score=row.raw_score,
        detector=row.detector,
        cuboid=Cuboid3D(**row.cuboid) if row.cuboid else None,
        source=_row_source(row),
    )


def to_frame(row: FrameRow, labels: list[LabelRow], predictions: list[PredictionRow]) -> Frame:
    return Frame(
        id=row.key,
        sequence=row.sequence,
        index=row.seq_index,
        image=row.image,
        width=row.width,
        height=row.height,
        calib=Calibration.model_validate(row.calib) if row.calib else None,
        labels=tuple(to_label(r, row.key) for r in labels),
        predictions=tuple(to_prediction(r, row.key) for r in predictions),
    )


def finding_values(finding: Finding, *, priority: float, spec_hash: str) -> dict[str, Any]:
    x1, y1, x2, y2 = finding.box
    return {
        "frame_key": finding.frame,
        "label_key": finding.label,
        "type": finding.type,
        "score": finding.score,
        "raw": finding.raw,
        "priority": priority,
        "x1": x1,
        "y1": y1,
        "x2": x2,
        "y2": y2,
        "check": finding.check,
        "message": finding.message,
        "features": dict(finding.features),
        "evidence": list(finding.evidence),
        "rule_ids": list(finding.rule_ids),
        "params": _jsonable(finding.params),
        "spec_hash": finding.spec_hash or spec_hash,
        "cls": finding.cls,
        "proposed_box": list(finding.proposed_box) if finding.proposed_box is not None else None,
        "track": finding.track,
        "heuristic_score": finding.heuristic_score,
        "needs_human": finding.needs_human,
        "follows": finding.follows,
        **_judge_values(finding.judge),
    }


def _judge_values(opinion: JudgeOpinion | None) -> dict[str, Any]:
    """The opinion, and what it cost this review (nothing when it came from the judge's cache)."""
    if opinion is None:
        return {"judge": None, "judge_cost_usd": None}
    paid = 0.0 if opinion.cached else opinion.cost_usd
    return {"judge": opinion.model_dump(mode="json"), "judge_cost_usd": paid}


def to_finding(row: FindingRow) -> Finding:
    return Finding(
        frame=row.frame_key,
        label=row.label_key,
        type=row.type,
        score=row.score,
        box=(row.x1, row.y1, row.x2, row.y2),
        check=row.check,
        message=row.message,
        raw=row.raw,
        features=row.features,
        rule_ids=tuple(row.rule_ids),
        params=row.params,
        spec_hash=row.spec_hash,
        evidence=tuple(row.evidence),
        cls=row.cls,
        proposed_box=tuple(row.proposed_box) if row.proposed_box else None,
        track=row.track,
        heuristic_score=row.heuristic_score,
        needs_human=row.needs_human,
        follows=row.follows,
        judge=JudgeOpinion.model_validate(row.judge) if row.judge else None,
    )


def audit_values(audit: Audit) -> dict[str, Any]:
    box = _box(audit.box) if audit.box else {"x1": None, "y1": None, "x2": None, "y2": None}
    return {
        "id": audit.id,
        "dataset": audit.dataset,
        "frame_key": audit.frame,
        "label_key": audit.label,
        **box,
        "verdict": audit.verdict,
        "issue_type": audit.issue_type,
        "corrected": audit.corrected.model_dump(mode="json") if audit.corrected else None,
        "flag_check": audit.flag_check,
        "auditor": audit.auditor,
        "seconds": audit.seconds,
        "spec_hash": audit.spec_hash,
        "source": audit.source,
        "comment": audit.comment,
        "created_at": audit.created_at,
    }


def to_audit(row: AuditRow) -> Audit:
    has_box = None not in (row.x1, row.y1, row.x2, row.y2)
    return Audit(
        id=row.id,
        dataset=row.dataset,
        frame=row.frame_key,
        label=row.label_key,
        box=Box2D(x1=row.x1, y1=row.y1, x2=row.x2, y2=row.y2) if has_box else None,
        verdict=row.verdict,
        issue_type=row.issue_type,
        corrected=Label.model_validate(row.corrected) if row.corrected else None,
        flag_check=row.flag_check,
        auditor=row.auditor,
        seconds=row.seconds,
        spec_hash=row.spec_hash,
        source=row.source,
        comment=row.comment,
        created_at=row.created_at,
    )


def _jsonable(params: dict[str, object]) -> dict[str, Any]:
    """Check parameters as JSON (tuples become lists; anything exotic becomes its string)."""
    return dict(json.loads(json.dumps(params, default=str)))
