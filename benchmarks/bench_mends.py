"""Work done twice, before and after the review mends (branch ``mends``), measured the same way on both.

1. A job poll's scoring note: ``default_scorer(spec, format)``, which ``GET /api/v1/jobs/{id}`` calls on
   every poll, timed per call once warm (the shipped KITTI spec and its calibration).
2. Alias canonicalisation in ``review_dataset``: KITTI tracking 0016 (209 frames, 4,145 labels) under the
   shipped BDD100K spec, which names KITTI's spellings as aliases (every label is aliased), with two cheap
   checks so the copying shows: how many frame copies were made and the review's time.

Run it at this branch and at main with the same interpreter to compare:
``PYTHONPATH=$PWD python benchmarks/bench_mends.py`` and
``PYTHONPATH=/work/main python benchmarks/bench_mends.py``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from _common import OUT, best_of, data_dir, run_info, write_json

from gtqa.checks import scope
from gtqa.domain import Frame
from gtqa.formats import load_dataset
from gtqa.review import review_dataset
from gtqa.scoring.calibration import default_scorer
from gtqa.spec import SPECS_DIR, CompiledSpec, load_spec


def poll_note(calls: int) -> dict[str, float]:
    spec = load_spec(None)
    start = time.perf_counter()
    default_scorer(spec, "kitti")
    first = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(calls):
        default_scorer(spec, "kitti")
    return {"first_ms": first * 1000, "per_call_ms": (time.perf_counter() - start) / calls * 1000}


def canonical_copies(repeat: int) -> dict[str, Any]:
    data = load_dataset(data_dir() / "kitti_tracking")
    spec = load_spec(str(SPECS_DIR / "bdd100k.md"))
    copies = [0]
    real = scope._canonical

    def counted(frame: Frame, compiled: CompiledSpec) -> Frame:
        out = real(frame, compiled)
        copies[0] += out is not frame
        return out

    scope._canonical = counted  # type: ignore[assignment]
    try:
        seconds, _ = best_of(lambda: review_dataset(data, spec, checks=["unknown_class", "min_size"]), repeat)
    finally:
        scope._canonical = real  # type: ignore[assignment]
    return {
        "frames": len(data.frames),
        "labels": sum(len(f.labels) for f in data.frames),
        "copies_per_review": copies[0] // max(repeat, 1),
        "review_s": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=200, help="default_scorer calls timed")
    parser.add_argument("--repeat", type=int, default=3, help="reviews run (the fastest is kept)")
    args = parser.parse_args()
    result = {
        "run": run_info(),
        "gtqa": str(Path(scope.__file__).parents[2]),
        "poll_note": poll_note(args.calls),
        "canonical": canonical_copies(args.repeat),
    }
    print(f"gtqa from {result['gtqa']}")
    note = result["poll_note"]
    print(f"default_scorer: first {note['first_ms']:.1f} ms, then {note['per_call_ms']:.3f} ms per call")
    c = result["canonical"]
    print(
        f"review_dataset, {c['frames']} frames / {c['labels']} labels under bdd100k: "
        f"{c['copies_per_review']} frame copies, {c['review_s']:.2f} s (best of {args.repeat})"
    )
    write_json(OUT / "mends.json", result)


if __name__ == "__main__":
    main()
