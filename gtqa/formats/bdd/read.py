"""Reading BDD100K / Scalabel JSON as a dataset, or as predictions (labels with a score)."""

from __future__ import annotations

from pathlib import Path

from gtqa.domain import Dataset, Frame, InputProblem, Label, Prediction, SourceRef
from gtqa.formats._json import Places, gc_paused
from gtqa.formats._json_fields import reading_order
from gtqa.formats.bdd.ids import SOURCE_ID, frame_label_ids, track_ids
from gtqa.formats.bdd.parse import RawFrame, read_raw
from gtqa.formats.images import find_image, measured_image


@gc_paused
def read_bdd(root: Path) -> Dataset:
    return read_bdd_places(root)[0]


@gc_paused
def read_bdd_places(root: Path) -> tuple[Dataset, Places]:
    """The dataset, and the file and JSON path of each label's and each frame's record."""
    problems: list[InputProblem] = []
    raw = read_raw(root, problems)
    label_ids = frame_label_ids(raw, problems)
    tracks = track_ids(raw)
    frames = [_frame(f, ids, tracks, problems) for f, ids in zip(raw, label_ids, strict=True)]
    places = Places()
    for f, ids in zip(raw, label_ids, strict=True):
        places.add_frame(f.id, f.doc, f.where)
        for label, ident in zip(f.labels, ids, strict=True):
            places.add_label(ident, label.doc or f.doc, label.where)
    dataset = Dataset(
        name=root.stem if root.is_file() else root.name,
        format="bdd",
        root=str(root),
        frames=tuple(reading_order(frames)),
        problems=tuple(problems),
    )
    return dataset, places


@gc_paused
def read_bdd_predictions(path: Path, problems: list[InputProblem]) -> list[Prediction]:
    """BDD100K / Scalabel detection results: the label format plus a ``score`` per label."""
    out: list[Prediction] = []
    for frame in read_raw(path, problems):
        for label in frame.labels:
            if label.score is None:
                problems.append(frame.doc.problem((*label.where, "score"), "missing: not a prediction"))
                continue
            out.append(
                Prediction(
                    frame=frame.id,
                    cls=label.cls,
                    box=label.box,
                    score=min(max(label.score, 0.0), 1.0),
                    raw_score=label.score,
                    detector=path.stem,
                    cuboid=label.cuboid,
                    source=SourceRef(path=str(frame.doc.path)),
                )
            )
    return out


def _frame(
    raw: RawFrame, ids: list[str], tracks: dict[tuple[str, str], int], problems: list[InputProblem]
) -> Frame:
    image, width, height = _locate(raw, problems)
    source = SourceRef(path=str(raw.doc.path))
    labels = []
    for label, ident in zip(raw.labels, ids, strict=True):
        attributes = dict(label.attributes)
        if label.raw_id is not None and ident != label.raw_id:
            attributes[SOURCE_ID] = label.raw_id
        track = None
        if raw.sequence is not None and label.raw_id is not None:
            track = tracks.get((raw.sequence, label.raw_id))
        occluded, truncated = label.attributes.get("occluded"), label.attributes.get("truncated")
        labels.append(
            Label(
                id=ident,
                frame=raw.id,
                cls=label.cls,
                box=label.box,
                cuboid=label.cuboid,
                alpha=label.alpha,
                occlusion=int(occluded) if isinstance(occluded, bool) else None,
                truncation=float(truncated) if isinstance(truncated, bool) else None,
                track_id=track,
                attributes=attributes,
                source=source,
            )
        )
    return Frame(
        id=raw.id,
        sequence=raw.sequence,
        index=raw.index,
        image=image,
        width=width,
        height=height,
        labels=tuple(labels),
    )


def _locate(raw: RawFrame, problems: list[InputProblem]) -> tuple[str | None, int | None, int | None]:
    """The image (``images/<name>`` or ``images/<videoName>/<name>`` next to the JSON) and the size: the
    image's own when it is found (a warning when the JSON says otherwise), else the JSON's."""
    folder = raw.doc.path.parent / "images"
    if not folder.is_dir():
        return None, raw.width, raw.height
    candidates = [folder / raw.name]
    if raw.video is not None:
        candidates.append(folder / raw.video / raw.name)
    path = next((c for c in candidates if c.is_file()), None) or find_image(folder, Path(raw.name).stem)
    warn = raw.doc.warner(problems)
    if path is None:
        warn(raw.where, f"image file not found: {candidates[-1]}")
        return None, raw.width, raw.height
    return measured_image(path, raw.width, raw.height, lambda message: warn(raw.where, message))
