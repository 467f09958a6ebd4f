from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from gtqa.checks.image import edge_fit
from gtqa.checks.runner import chunk_scopes
from gtqa.checks.scope import ReviewScope
from gtqa.checks.stats import compute_stats
from gtqa.domain import Box2D, Finding, Frame, IssueType, Label
from gtqa.formats import load_dataset
from gtqa.spec import load_spec

Box = tuple[float, float, float, float]
SPEC = load_spec()
OBJ: Box = (300, 150, 360, 270)  # 60 x 120 px textured object on a plain background


def _image(seed: int = 0) -> NDArray[np.uint8]:
    rng = np.random.default_rng(seed)
    img = np.clip(rng.normal(100, 2, (370, 800)), 0, 255)
    img[150:270, 300:360] = np.clip(rng.normal(160, 40, (120, 60)), 0, 255)
    return np.repeat(img[:, :, None], 3, axis=2).astype(np.uint8)


def _run(box: Box, image: NDArray[np.uint8] | None = None, **params: object) -> list[Finding]:
    label = Label(id="f:0", frame="f", cls="Car", box=Box2D.from_seq(box))
    frame = Frame(id="f", image="synthetic.png", width=800, height=370, labels=(label,))
    pixels = _image() if image is None else image
    scope = ReviewScope(
        frames=(frame,),
        spec=SPEC,
        stats=compute_stats([frame], SPEC.is_reviewed),
        load_image=lambda _: pixels,
    )
    return edge_fit.CHECK.run(scope, edge_fit.CHECK.params_for(SPEC).model_copy(update=params))


def _raw(box: Box) -> float:
    found = _run(box)
    return found[0].raw if found else 0.0


def _moved(dx: float = 0, dy: float = 0, grow: float = 0) -> Box:
    w, h = OBJ[2] - OBJ[0], OBJ[3] - OBJ[1]
    return (
        OBJ[0] + dx * w - grow * w,
        OBJ[1] + dy * h - grow * h,
        OBJ[2] + dx * w + grow * w,
        OBJ[3] + dy * h + grow * h,
    )


def test_a_tight_box_is_not_flagged_and_a_shifted_one_is() -> None:
    assert _run(OBJ) == []
    (finding,) = _run(_moved(dx=0.3))
    assert finding.type is IssueType.bad_box and finding.raw > 0.5
    assert "shifted horizontally" in finding.message and finding.features["evidence_x"] > 0.5
    assert finding.features["offset_left"] < 0 < finding.features["offset_right"]


def test_loose_and_cut_boxes_are_told_apart() -> None:
    (loose,) = _run(_moved(grow=0.25))
    assert "too large" in loose.message and loose.features["offset_left"] > 0
    (cut,) = _run(_moved(grow=-0.12))
    assert "too small" in cut.message and cut.features["offset_left"] < 0


def test_a_larger_displacement_gives_stronger_evidence() -> None:
    rng = np.random.default_rng(11)
    for _ in range(8):
        sign = rng.choice([-1.0, 1.0])
        little, lot = sign * rng.uniform(0.0, 0.08), sign * rng.uniform(0.22, 0.3)
        assert _raw(_moved(dx=lot)) > _raw(_moved(dx=little))
        assert _raw(_moved(dy=lot)) > _raw(_moved(dy=little))


def test_sides_at_the_image_border_and_small_boxes_are_not_judged() -> None:
    # The object reaches the left border: a box cut there is truncation, not a bad box.
    img = _image()
    img[150:270, 0:40] = img[150:270, 300:340]
    assert _run((0, 150, 40, 270), image=img) == []
    assert _run((300, 150, 306, 162)) == []  # below min_height_px / min_width_px
    label = Label(id="f:0", frame="f", cls="Car", box=Box2D.from_seq(_moved(dx=0.3)))
    frame = Frame(id="f", labels=(label,))  # no image
    assert (
        edge_fit.CHECK.run(
            ReviewScope(frames=(frame,), spec=SPEC, stats=compute_stats([frame], SPEC.is_reviewed))
        )
        == []
    )


def test_on_kitti_images_shifted_boxes_score_higher_than_real_ones(shared_data: Path) -> None:
    frames: list[Frame] = []
    for name in ("kitti_object", "kitti_tracking"):
        frames += [f for f in load_dataset(shared_data / name).frames if f.image]
    rng = np.random.default_rng(12)
    shifted = [f.model_copy(update={"labels": tuple(_shift(lab, rng) for lab in f.labels)}) for f in frames]
    real, moved = _raws(frames), _raws(shifted)
    # Measured on 90 labels: raw > 0.5 for 12 % of real labels and 24-31 % of boxes shifted by 30 %
    # of their size (AUC 0.67-0.68): a weak witness, hence its low prior.
    assert np.mean(real > 0.5) <= 0.2
    assert np.mean(moved) > 1.5 * np.mean(real)


def _raws(frames: list[Frame]) -> np.ndarray:
    frames_t = tuple(frames)
    stats = compute_stats(frames_t, SPEC.is_reviewed)
    found = {f.label: f.raw for s in chunk_scopes(frames_t, SPEC, stats) for f in edge_fit.CHECK.run(s)}
    ids = [
        lab.id
        for f in frames
        for lab in f.labels
        if SPEC.is_reviewed(lab.cls) and lab.box.height >= 20 and lab.box.width >= 8
    ]
    return np.array([found.get(i, 0.0) for i in ids])


def _shift(label: Label, rng: np.random.Generator) -> Label:
    if not SPEC.is_reviewed(label.cls):
        return label
    b = label.box
    dx, dy = (rng.choice([-1, 1]) * 0.3 * v for v in (b.width, b.height))
    if rng.random() < 0.5:
        dy = 0.0
    else:
        dx = 0.0
    return label.model_copy(update={"box": Box2D(x1=b.x1 + dx, y1=b.y1 + dy, x2=b.x2 + dx, y2=b.y2 + dy)})
