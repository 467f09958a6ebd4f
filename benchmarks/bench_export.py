"""The lossless export (``gtqa export`` / ``labels.zip``): time and peak memory on the real KITTI tracking
sequence and on a generated COCO file, with no audit and with a hundred box corrections.

    .venv/bin/python benchmarks/bench_export.py [--images 5000] [--per-image 8] [--audits 100]

Each case reads the source again (the export patches it), applies the audits and writes; the time is
the median of 3 runs, the peak is ``tracemalloc``'s of one run. Also checked on every run: with no
audit every written file is the source's bytes.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gtqa.domain import Audit, Box2D, Dataset, IssueType, Verdict
from gtqa.formats import load_dataset
from gtqa.formats.export.corrections import MANIFEST, export_labels
from gtqa.settings import get_settings


def _audits(dataset: Dataset, n: int) -> list[Audit]:
    labels = list(dataset.labels())
    step = max(len(labels) // max(n, 1), 1)
    out = []
    for i, label in enumerate(labels[::step][:n]):
        b = label.box
        box = Box2D(x1=b.x1 + 1, y1=b.y1, x2=b.x2 + 1, y2=b.y2)
        out.append(
            Audit(
                id=f"a{i}",
                frame=label.frame,
                label=label.id,
                verdict=Verdict.defect,
                issue_type=IssueType.bad_box,
                corrected=label.model_copy(update={"box": box}),
            )
        )
    return out


def _coco(root: Path, images: int, per_image: int) -> Path:
    anns = [
        {"id": i * per_image + k + 1, "image_id": i + 1, "category_id": 1 + k % 3, "iscrowd": 0,
         "bbox": [10.0 * k, 20.0, 30.5, 40.25], "area": 1227.625, "segmentation": [[1, 2, 3, 4, 5, 6]]}
        for i in range(images) for k in range(per_image)
    ]  # fmt: skip
    table = [{"id": i + 1, "file_name": f"{i:012d}.jpg"} for i in range(images)]
    categories = [{"id": c, "name": n} for c, n in ((1, "person"), (2, "car"), (3, "bus"))]
    doc = {"info": {"year": 2017}, "images": table, "annotations": anns, "categories": categories}
    path = root / "instances_val2017.json"
    path.write_text(json.dumps(doc))
    return path


def _measure(dataset: Dataset, audits: list[Audit], tmp: Path, name: str) -> dict[str, float]:
    times = []
    for run in range(3):
        out = tmp / f"{name}-{run}"
        start = time.perf_counter()
        export_labels(dataset, audits, out)
        times.append(time.perf_counter() - start)
    tracemalloc.start()
    export_labels(dataset, audits, tmp / f"{name}-mem")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"seconds": statistics.median(times), "peak_mib": peak / 2**20}


def _same_bytes(root: Path, out: Path) -> bool:
    written = {p.relative_to(out) for p in out.rglob("*") if p.is_file() and p.name != MANIFEST}
    base = root.parent if root.is_file() else root
    return all((out / rel).read_bytes() == (base / rel).read_bytes() for rel in written)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--per-image", type=int, default=8)
    parser.add_argument("--audits", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        cases = [
            ("kitti-tracking 0016", get_settings().data_dir / "kitti_tracking", "kitti-tracking"),
            (f"coco {args.images}x{args.per_image}", _coco(tmp, args.images, args.per_image), "coco"),
        ]
        for name, root, fmt in cases:
            dataset = load_dataset(root, fmt)
            labels = sum(len(f.labels) for f in dataset.frames)
            for n in (0, args.audits):
                key = f"{fmt}-{n}"
                result = _measure(dataset, _audits(dataset, n), tmp, key)
                same = _same_bytes(root, tmp / f"{key}-0") if n == 0 else None
                print(
                    f"{name}: {labels} labels, {n} audits: {result['seconds'] * 1000:.0f} ms, "
                    f"peak {result['peak_mib']:.1f} MiB"
                    + ("" if same is None else f", identical bytes: {same}")
                )


if __name__ == "__main__":
    main()
