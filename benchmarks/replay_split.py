"""Split a re-checked KITTI dataset into two halves of frames, for a replay on frames a calibration never
saw (benchmarks/RESULTS.md, "Learning queue replay"): fit the calibration on half A with
``gtqa calibrate`` (the shipped recipe, ``scripts/build_calibration.sh``, with half A in place of the
whole re-check), then replay on half B.

    .venv/bin/python benchmarks/replay_split.py $GTQA_DATA_DIR/kitti_rechecked OUT --seed 0

Writes OUT/A and OUT/B: ``label_2`` and ``pred_2`` as symbolic links to the original files (no data is
copied), ``frames.txt`` and ``recheck.csv`` holding only the half's frames. Frames are assigned at random
(seeded), half each.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np


def split(source: Path, out: Path, seed: int) -> dict[str, list[str]]:
    frames = sorted(p.stem for p in (source / "label_2").glob("*.txt"))
    order = np.random.default_rng(seed).permutation(len(frames))
    halves = {"A": sorted(frames[i] for i in order[: len(frames) // 2])}
    halves["B"] = sorted(set(frames) - set(halves["A"]))
    with (source / "recheck.csv").open(newline="") as fh:
        reader = csv.DictReader(fh)
        header, rows = reader.fieldnames or [], list(reader)
    for name, members in halves.items():
        keep = set(members)
        root = out / name
        for sub in ("label_2", "pred_2"):
            (root / sub).mkdir(parents=True, exist_ok=True)
            for frame in members:
                link = root / sub / f"{frame}.txt"
                if not link.exists():
                    link.symlink_to(source / sub / f"{frame}.txt")
        (root / "frames.txt").write_text("".join(f"{f}\n" for f in members))
        with (root / "recheck.csv").open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=header)
            writer.writeheader()
            writer.writerows(r for r in rows if Path(r["filename"]).stem in keep)
    return halves


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    halves = split(args.source, args.out, args.seed)
    print({k: len(v) for k, v in halves.items()})
