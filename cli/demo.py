"""``gtqa demo``: the main job on this machine, on the bundled KITTI data (or a dataset given)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli._common import spec_or_exit
from cli.scan import load_or_exit, print_top, review_or_exit
from cli.scoring import choose_scorer
from cli.voice import fail
from gtqa.formats.findings import write_findings
from gtqa.settings import get_settings


def demo(
    dataset: Annotated[
        Path | None, typer.Argument(help="a dataset to review when the bundled data is absent")
    ] = None,
    top: Annotated[int, typer.Option(help="how many flags to print")] = 10,
    scan_only: Annotated[
        bool, typer.Option(help="only scan and print the top flags of each dataset (no service)")
    ] = False,
    exit_when_done: Annotated[
        bool, typer.Option(help="stop the service once the data is reviewed (default: serve until ^C)")
    ] = False,
    port: Annotated[int, typer.Option(help="the API's TCP port")] = 8000,
) -> None:
    """The main job: start the service on this machine (API, worker, reconciler; embedded SQLite and
    file broker), ingest the bundled KITTI data (../shared/data), review it, and show the review queue
    and where to look. ``--scan-only`` scans without the service."""
    targets = _demo_targets(dataset)
    if not scan_only:
        from cli.serve import Target, run_service

        service_targets = [Target(path, tuple(preds)) for path, preds in targets]
        raise typer.Exit(run_service(service_targets, "127.0.0.1", port, None, exit_when_done, True, top))
    compiled = spec_or_exit(None)
    out_dir = Path(".gtqa") / "demo"
    for path, preds in targets:
        data = load_or_exit(path, None, preds)
        scorer = choose_scorer(compiled, data.format, None, use_default=True, allow_spec_mismatch=False)
        result = review_or_exit(data, compiled, None, [], scorer=scorer)
        written = out_dir / f"{data.name}.findings.jsonl"
        write_findings(written, result.findings)
        print_top(
            result.findings,
            top,
            f"{data.name}: {len(result.findings)} flags over "
            f"{sum(len(f.labels) for f in data.frames)} labels -> {written}",
        )


def _demo_targets(dataset: Path | None) -> list[tuple[Path, list[Path]]]:
    if dataset is not None:
        return [(dataset, [])]
    root = get_settings().data_dir
    if not root.is_dir():
        raise fail(
            f"the bundled KITTI data is not at {root}: give a dataset path (`gtqa demo PATH`) or set "
            "GTQA_DATA_DIR to the folder holding kitti_object/, kitti_tracking/ and kitti_rechecked/"
        )
    candidates = [
        (root / "kitti_object", [root / "kitti_object" / "predictions" / "box2d.list"]),
        (root / "kitti_tracking", [root / "kitti_tracking" / "detections"]),
        # box2d.list covers the re-checked frames too: a second detector for them.
        (
            root / "kitti_rechecked",
            [root / "kitti_rechecked" / "pred_2", root / "kitti_object" / "predictions" / "box2d.list"],
        ),
    ]
    return [(p, [q for q in preds if q.exists()]) for p, preds in candidates if p.exists()]
