"""COCO results JSON: ``[{image_id, category_id, bbox, score}, …]``, on a COCO dataset's id tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gtqa.domain import InputProblem, Prediction, ProblemLevel, SourceRef
from gtqa.formats._json import JsonDoc, JsonPath, JsonSchemaError, gc_paused, load_json
from gtqa.formats._json_fields import int_field, number_field, numbers_field, obj
from gtqa.formats.coco.read import corners
from gtqa.formats.coco.tables import CocoIds


@gc_paused
def read_coco_results(path: Path, problems: list[InputProblem], ids: CocoIds) -> list[Prediction]:
    """``[{image_id, category_id, bbox: [x, y, w, h], score}, …]`` on the dataset's id tables. Results
    on images outside the dataset are skipped (one warning counts them); a malformed one is reported."""
    doc = load_json(path, problems)
    if doc is None:
        return []
    if not isinstance(doc.data, list):
        problems.append(
            doc.problem((), "expected a list of COCO results {image_id, category_id, bbox, score}")
        )
        return []
    out: list[Prediction] = []
    elsewhere = 0
    for i, item in enumerate(doc.data):
        try:
            pred = _result(doc, item, (i,), ids)
        except JsonSchemaError as exc:
            problems.append(doc.schema_problem(exc))
            continue
        if pred is None:
            elsewhere += 1
        else:
            out.append(pred)
    if elsewhere:
        message = f"{elsewhere} results are on images not in the dataset: skipped"
        problems.append(InputProblem(path=str(path), message=message, level=ProblemLevel.warning))
    return out


def _result(doc: JsonDoc, item: Any, where: JsonPath, ids: CocoIds) -> Prediction | None:
    entry = obj(item, where)
    image_id = int_field(entry, "image_id", where)
    cat_id = int_field(entry, "category_id", where)
    x, y, w, h = numbers_field(entry, "bbox", where, 4)
    score = number_field(entry, "score", where)
    if cat_id not in ids.categories:
        raise JsonSchemaError(
            (*where, "category_id"), f"category {cat_id} is not in the dataset's categories"
        )
    if image_id not in ids.images:
        return None
    return Prediction(
        frame=ids.images[image_id],
        cls=ids.categories[cat_id],
        box=corners(x, y, w, h),
        score=min(max(score, 0.0), 1.0),
        raw_score=score,
        detector=doc.path.stem,
        source=SourceRef(path=str(doc.path)),
    )
