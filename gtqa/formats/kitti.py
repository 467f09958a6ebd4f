"""KITTI object benchmark: ``label_2/<frame>.txt``, optional ``image_2/`` and ``calib/``.

One object per line: ``type truncated occluded alpha x1 y1 x2 y2 h w l x y z rotation_y`` (+ ``score``
in result files). KITTI writes unknowns as -1 (truncation, occlusion), -10 (alpha, rotation), -1 and
-1000 (3D size and location); occlusion 3 also means unknown. Those become ``None``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from gtqa.domain import (
    Box2D,
    Calibration,
    Cuboid3D,
    Dataset,
    Frame,
    FrameStream,
    InputFormatError,
    InputProblem,
    Label,
    ProblemLevel,
    RecordKind,
    SourceRef,
)
from gtqa.formats._text import expect_fields, iter_lines, parse_floats
from gtqa.formats.calib import read_calib
from gtqa.formats.images import ImageError, find_image, image_size

OBJECT_FIELDS = [
    "truncated",
    "occluded",
    "alpha",
    "x1",
    "y1",
    "x2",
    "y2",
    "h",
    "w",
    "l",
    "x",
    "y",
    "z",
    "rotation_y",
]


def parse_object_fields(
    tokens: list[str],
    path: Path,
    index: int,
    *,
    label_id: str,
    frame_id: str,
    track_id: int | None = None,
    truncation_levels: bool = False,
) -> Label:
    """Parse ``type`` + the 14 numeric KITTI object fields into a Label (unknowns become None)."""
    cls = tokens[0]
    values = parse_floats(tokens[1:15], path, index, OBJECT_FIELDS)
    trunc, occ, alpha = values[0], values[1], values[2]
    attributes: dict[str, str | int | float | bool] = {}
    if truncation_levels and trunc >= 0:
        attributes["truncation_level"] = int(trunc)
        trunc = min(trunc, 2.0) / 2.0
    return Label(
        id=label_id,
        frame=frame_id,
        cls=cls,
        box=Box2D(x1=values[3], y1=values[4], x2=values[5], y2=values[6]),
        cuboid=_cuboid(values[7:14]),
        truncation=trunc if trunc >= 0 else None,
        occlusion=int(occ) if 0 <= occ <= 2 else None,
        alpha=alpha if alpha > -10 else None,
        track_id=track_id,
        attributes=attributes,
        source=SourceRef(path=str(path), line=index + 1),
    )


def _cuboid(v: list[float]) -> Cuboid3D | None:
    """The 3D box, or None when it is KITTI's "unknown": any field at its sentinel, a size of -1 or a
    -1000 wherever it stands (the tracking labels write a DontCare's 3D fields as
    ``-1000 -1000 -1000 -10 -1 -1 -1``, not in the object benchmark's order)."""
    h, w, l, x, y, z, ry = v  # noqa: E741 - KITTI names
    if min(h, w, l) == -1 or min(h, w, l, x, y, z) <= -1000 or ry <= -10:
        return None
    return Cuboid3D(h=h, w=w, l=l, x=x, y=y, z=z, rotation_y=ry)


def read_label_file(path: Path, frame_id: str, problems: list[InputProblem]) -> list[Label]:
    labels: list[Label] = []
    for index, text in iter_lines(path, problems):
        tokens = text.split()
        try:
            expect_fields(tokens, (15, 16), path, index, "a KITTI object label")
            labels.append(
                parse_object_fields(tokens, path, index, label_id=f"{path.stem}:{index}", frame_id=frame_id)
            )
        except InputFormatError as exc:
            problems.append(exc.problem.of(RecordKind.label))
    return labels


def read_kitti(root: Path, *, frames: Sequence[str] | None = None) -> Dataset:
    """Read a KITTI object folder whole (``stream_kitti``, collected)."""
    return stream_kitti(root, frames=frames).to_dataset()


def stream_kitti(root: Path, *, frames: Sequence[str] | None = None) -> FrameStream:
    """A KITTI object folder, one frame (one label file) at a time. ``frames`` restricts to those ids
    (else ``frames.txt`` if present, else every ``label_2/*.txt``). The frame ids are listed up front
    (a short string per frame); a frame's files are read when it is reached."""
    label_dir = root / "label_2"
    if not label_dir.is_dir():
        raise InputFormatError(str(root), 0, "no label_2/ folder: not a KITTI object dataset")
    problems: list[InputProblem] = []
    ids = list(frames) if frames is not None else _frame_ids(root, label_dir, problems)
    read = (_read_frame(root, frame_id, problems) for frame_id in ids)
    return FrameStream(root.name, "kitti", str(root), read, problems)


def kitti_frame_ids(root: Path) -> list[str]:
    """The frame ids ``stream_kitti`` would read, without reading any label (problems discarded)."""
    return _frame_ids(root, root / "label_2", [])


def _frame_ids(root: Path, label_dir: Path, problems: list[InputProblem]) -> list[str]:
    listed = root / "frames.txt"
    if not listed.is_file():
        return sorted(p.stem for p in label_dir.glob("*.txt"))
    ids: list[str] = []
    for index, text in iter_lines(listed, problems):
        for token in text.split():
            if token in (".", "..") or "/" in token or "\\" in token:
                message = f"not a frame id: {token!r} (a file name stem, without folders)"
                problems.append(InputProblem(path=str(listed), line=index + 1, message=message))
            elif token not in ids:
                ids.append(token)
    return ids


def _read_frame(root: Path, frame_id: str, problems: list[InputProblem]) -> Frame:
    label_path = root / "label_2" / f"{frame_id}.txt"
    if label_path.is_file():
        labels = read_label_file(label_path, frame_id, problems)
    else:
        problems.append(InputProblem(path=str(label_path), message="label file missing"))
        labels = []
    image, size = locate_image(root / "image_2", frame_id, problems)
    calib = _frame_calib(root / "calib" / f"{frame_id}.txt", problems)
    return Frame(
        id=frame_id,
        index=_index(frame_id),
        image=image,
        width=size[0] if size else None,
        height=size[1] if size else None,
        calib=calib,
        labels=tuple(labels),
    )


def locate_image(
    folder: Path, stem: str, problems: list[InputProblem]
) -> tuple[str | None, tuple[int, int] | None]:
    """The image path and size, or (None, None) when there is no usable image (a warning if the
    folder exists but the file is missing or unreadable: the frame is still reviewed from labels)."""
    if not folder.is_dir():
        return None, None
    path = find_image(folder, stem)
    if path is None:
        problems.append(
            InputProblem(
                path=str(folder / f"{stem}.png"), message="image missing", level=ProblemLevel.warning
            )
        )
        return None, None
    try:
        return str(path), image_size(path)
    except ImageError as exc:
        problems.append(InputProblem(path=str(path), message=str(exc), level=ProblemLevel.warning))
        return None, None


def _frame_calib(path: Path, problems: list[InputProblem]) -> Calibration | None:
    return read_calib(path, problems) if path.is_file() else None


def _index(frame_id: str) -> int:
    digits = "".join(ch for ch in frame_id if ch.isdigit())
    return int(digits) if digits else 0


def format_object_fields(label: Label, *, truncation_levels: bool = False) -> str:
    """The KITTI text of a label after its type (the inverse of parse_object_fields)."""
    b, c = label.box, label.cuboid
    trunc = -1.0 if label.truncation is None else label.truncation
    if truncation_levels and label.truncation is not None:
        trunc = float(round(label.truncation * 2))
    occ = -1 if label.occlusion is None else label.occlusion
    alpha = -10.0 if label.alpha is None else label.alpha
    dims = (
        (-1.0, -1.0, -1.0, -1000.0, -1000.0, -1000.0, -10.0)
        if c is None
        else (c.h, c.w, c.l, c.x, c.y, c.z, c.rotation_y)
    )
    trunc_text = f"{int(trunc)}" if truncation_levels else _num(trunc)
    nums = " ".join(_num(v) for v in (b.x1, b.y1, b.x2, b.y2, *dims))
    return f"{type_token(label.cls)} {trunc_text} {occ} {_num(alpha)} {nums}"


def type_token(cls: str) -> str:
    """A class name as one KITTI token: whitespace would split the line into extra fields (a BDD
    ``traffic light`` is written ``traffic_light``)."""
    return "_".join(cls.split()) or "_"


def _num(value: float) -> str:
    """Up to 6 decimals, trailing zeros dropped: round-trips KITTI's 2- and 6-decimal files."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def write_kitti(dataset: Dataset, out: Path) -> dict[str, str]:
    """Write ``label_2/<frame>.txt`` files; returns {label id in dataset: label id in the written copy}.
    A frame id with a ``/`` (a sequence frame from another format) is written as ``<seq>_<index>``."""
    (out / "label_2").mkdir(parents=True, exist_ok=True)
    ids: dict[str, str] = {}
    for frame in dataset.frames:
        stem = frame.id.replace("/", "_")
        lines = []
        for i, label in enumerate(frame.labels):
            ids[label.id] = f"{stem}:{i}"
            lines.append(format_object_fields(label))
        (out / "label_2" / f"{stem}.txt").write_text("".join(f"{s}\n" for s in lines), encoding="utf-8")
    return ids
