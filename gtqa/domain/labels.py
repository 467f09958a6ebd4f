"""Frames, labels and predictions: what a labelling vendor delivers and what a detector proposes."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from gtqa.domain.geometry import Box2D, Calibration, Cuboid3D, FloatArray

AttributeValue = str | int | float | bool


class SourceRef(BaseModel):
    """Where a record was read from: a file and a 1-based line number (0 when the format has no lines)."""

    model_config = ConfigDict(frozen=True)

    path: str
    line: int = 0

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


class Label(BaseModel):
    """One ground-truth object as a labeller drew it.

    ``id`` is stable and human-readable: ``<source file stem>:<0-based line index>`` for line-based
    formats (``000015:3``), the annotation id for JSON formats. ``None`` in ``truncation``,
    ``occlusion``, ``alpha`` or ``cuboid`` means *unknown* (KITTI writes -1, -10, -1000): gtqa never
    treats an unknown field as a defect. ``truncation`` is in [0, 1] (KITTI tracking's 0/1/2 levels
    are mapped to 0, 0.5, 1 and kept raw in ``attributes['truncation_level']``); ``occlusion`` is 0 fully
    visible, 1 partly occluded, 2 largely occluded.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    frame: str
    cls: str = Field(description="class name as written in the source, e.g. 'Pedestrian'")
    box: Box2D
    cuboid: Cuboid3D | None = None
    truncation: float | None = None
    occlusion: int | None = None
    alpha: float | None = Field(default=None, description="observation angle, radians")
    track_id: int | None = None
    attributes: dict[str, AttributeValue] = Field(default_factory=dict)
    source: SourceRef | None = None


class Prediction(BaseModel):
    """A detector's box. ``score`` is a confidence in [0, 1]; ``raw_score`` is what the detector wrote
    (PointRCNN writes unnormalised logits; readers map them to [0, 1] with a logistic function)."""

    model_config = ConfigDict(frozen=True)

    frame: str
    cls: str
    box: Box2D
    score: float = Field(ge=0.0, le=1.0)
    raw_score: float
    detector: str = "detector"
    cuboid: Cuboid3D | None = None
    source: SourceRef | None = None


class Frame(BaseModel):
    """One image's worth of labels.

    ``id`` is ``000015`` for KITTI object and ``0016/000042`` (sequence/index) for KITTI tracking.
    ``width``/``height`` are the image size in pixels when known (from the image, or the format), else
    ``None``. ``image`` is a path to the image file, or ``None`` for labels-only data.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    sequence: str | None = None
    index: int = 0
    image: str | None = None
    width: int | None = None
    height: int | None = None
    calib: Calibration | None = None
    labels: tuple[Label, ...] = ()
    predictions: tuple[Prediction, ...] = ()

    # Plain methods, not cached properties: model_copy() would carry a stale cache along.
    def label_boxes(self) -> FloatArray:
        """All label boxes as an (N, 4) float array, in label order."""
        return _boxes(self.labels)

    def prediction_boxes(self) -> FloatArray:
        return _boxes(self.predictions)

    def prediction_scores(self) -> FloatArray:
        return np.array([p.score for p in self.predictions], dtype=np.float64)


def _boxes(items: tuple[Label, ...] | tuple[Prediction, ...]) -> FloatArray:
    if not items:
        return np.zeros((0, 4), dtype=np.float64)
    return np.array([[i.box.x1, i.box.y1, i.box.x2, i.box.y2] for i in items], dtype=np.float64)
