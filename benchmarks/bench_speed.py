"""Review speed: labels per second, and the image path against the cost of merely decoding its images.

    .venv/bin/python benchmarks/bench_speed.py [--repeat 5] [--data DIR]

Cases, each the best of ``--repeat`` runs in this one process:

* ``tracking/labels``: kitti_tracking sequence 0016 (4,145 label lines), labels only;
* ``tracking/detections``: the same with the PointRCNN detections;
* ``object/images``: kitti_object (17 frames with PNGs, calibration for 3) with ``box2d.list``.

Reading (``load_dataset``) and reviewing (``review_dataset``) are timed apart; labels/s counts every
label line (DontCare too) over the review time and over read + review. The image case is also given as
a ratio to the time to decode its 17 PNGs with ``cv2.imread`` (measured in the same run, best of the
same number of repetitions): below 1, the whole review costs less than looking at the pixels once.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import OUT, best_of, data_dir, run_info, write_json
from rich.console import Console
from rich.table import Table

from gtqa.domain import Dataset
from gtqa.formats import load_dataset
from gtqa.review import review_dataset
from gtqa.spec import CompiledSpec, load_spec


@dataclass(frozen=True)
class Case:
    name: str
    folder: str
    format: str
    predictions: tuple[str, ...] = ()
    decode_images: bool = False


CASES = (
    Case("tracking/labels", "kitti_tracking", "kitti-tracking"),
    Case("tracking/detections", "kitti_tracking", "kitti-tracking", ("detections",)),
    Case("object/images", "kitti_object", "kitti", ("predictions/box2d.list",), decode_images=True),
)


def decode_all(paths: list[str]) -> int:
    import cv2

    return sum(cv2.imread(p, cv2.IMREAD_COLOR) is not None for p in paths)


def measure(case: Case, root: Path, spec: CompiledSpec, repeat: int) -> dict[str, Any]:
    folder = root / case.folder
    preds = [folder / p for p in case.predictions]
    load_s, dataset = best_of(lambda: load_dataset(folder, case.format, predictions=preds), repeat)
    review_s, result = best_of(lambda: review_dataset(dataset, spec), repeat)
    n = sum(len(f.labels) for f in dataset.frames)
    row: dict[str, Any] = {
        "labels": n,
        "frames": len(dataset.frames),
        "predictions": sum(len(f.predictions) for f in dataset.frames),
        "findings": len(result.findings),
        "checks_run": result.checks_run,
        "load_s": load_s,
        "review_s": review_s,
        "labels_per_s_review": n / review_s,
        "labels_per_s_end_to_end": n / (load_s + review_s),
    }
    if case.decode_images:
        row.update(_decode_ratio(dataset, load_s, review_s, repeat))
    return row


def _decode_ratio(dataset: Dataset, load_s: float, review_s: float, repeat: int) -> dict[str, Any]:
    images = [f.image for f in dataset.frames if f.image]
    decode_s, decoded = best_of(lambda: decode_all(images), repeat)
    return {
        "images": decoded,
        "decode_s": decode_s,
        "review_over_decode": review_s / decode_s,
        "end_to_end_over_decode": (load_s + review_s) / decode_s,
    }


def print_table(rows: dict[str, dict[str, Any]], repeat: int) -> None:
    table = Table(title=f"review speed (best of {repeat})")
    columns = (
        "case",
        "labels",
        "preds",
        "read s",
        "review s",
        "labels/s",
        "e2e labels/s",
        "decode s",
        "review/decode",
    )
    for column in columns:
        table.add_column(column, justify="right")
    for name, r in rows.items():
        decode = f"{r['decode_s']:.4f}" if "decode_s" in r else "-"
        ratio = (
            f"{r['review_over_decode']:.2f} (e2e {r['end_to_end_over_decode']:.2f})"
            if "decode_s" in r
            else "-"
        )
        table.add_row(
            name,
            str(r["labels"]),
            str(r["predictions"]),
            f"{r['load_s']:.4f}",
            f"{r['review_s']:.4f}",
            f"{r['labels_per_s_review']:,.0f}",
            f"{r['labels_per_s_end_to_end']:,.0f}",
            decode,
            ratio,
        )
    Console(width=150).print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data", type=Path, default=None, help="folder holding kitti_tracking/ and kitti_object/"
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=OUT / "speed.json")
    args = parser.parse_args(argv)
    root = args.data or data_dir()
    missing = [c.folder for c in CASES if not (root / c.folder).is_dir()]
    if missing:
        print(f"missing {missing} under {root} (set GTQA_DATA_DIR or pass --data)", file=sys.stderr)
        return 2
    spec = load_spec()
    rows = {case.name: measure(case, root, spec, args.repeat) for case in CASES}
    print_table(rows, args.repeat)
    write_json(
        args.out,
        {"run": run_info(), "repeat": args.repeat, "spec": f"{spec.name}@{spec.hash[:12]}", "cases": rows},
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
