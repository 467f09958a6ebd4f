"""What an Argoverse 2 item adds to the review page: ``api.ui.bev.lidar_view`` (its sweep read, a bounded
subset of the points, every footprint, the track's world path, the SVG) on the shared log's swept sweeps.

    python benchmarks/bench_bev.py [--repeat 5]     # a few seconds; prints ms per item and SVG size
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import data_dir

from api.ui.bev import lidar_view
from gtqa.checks.scope import sweep_points
from gtqa.formats import load_dataset

LOG = "7fab2350-7eaf-3b7e-a39d-6937a4c1bede"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    data = load_dataset(data_dir() / "av2_sensor" / LOG, "av2")
    for frame in (f for f in data.frames if any("sweep" in lab.attributes for lab in f.labels)):
        flagged = frame.labels[0]
        track = [f for f in data.frames if any(lab.track_id == flagged.track_id for lab in f.labels)]
        seconds = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            view = lidar_view(frame, flagged, track, sweep_points)
            seconds.append(time.perf_counter() - start)
        print(
            f"{frame.id}: {view.cuboids} cuboids, {view.points} points drawn, path {view.path} sweeps;"
            f" best {min(seconds) * 1e3:.1f} ms, median {statistics.median(seconds) * 1e3:.1f} ms,"
            f" svg {len(view.svg) / 1000:.0f} kB"
        )


if __name__ == "__main__":
    main()
