"""The demo's review queue, first items, with what the review page shows for each: the data behind the
walk-through in docs/review-walkthrough.md.

    .venv/bin/python scripts/review_walkthrough.py [--top 20]

Reviews the demo's three datasets (``gtqa demo``'s: KITTI object with the 2D detector, tracking 0016 with
PointRCNN, the re-checked pedestrians with both detectors; ``$GTQA_DATA_DIR``) with the checks and the
demo's default scorer (no judge), queues them in a temporary SQLite database as the workers would, and
prints the first ``--top`` items in queue order with the page's evidence for each (built by the page's
own payload code, ``api.ui.review_data.payload``): the image, the detection the flag used, the track
view, the 3D view and the projected cuboid. No spot checks (the demo's are random).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from api.ui.review_data import payload
from cli.demo import _demo_targets
from gtqa.formats import load_dataset
from gtqa.review import review_dataset
from gtqa.scoring.calibration import default_scorer
from gtqa.settings import Settings
from gtqa.spec import load_spec
from gtqa.storage import (
    build_review_items,
    chunk_ids,
    claim_chunk,
    create_review_job,
    finish_chunk,
    ingest_batch,
    make_engine,
    make_session_factory,
    top_pending,
    upgrade,
)
from gtqa.storage.types import utcnow


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--top", type=int, default=20)
    args = parser.parse_args(argv)
    spec = load_spec(None)
    with tempfile.TemporaryDirectory(prefix="gtqa-walk-") as home:
        url = f"sqlite:///{home}/gtqa.sqlite"
        upgrade(url)
        settings = Settings(_env_file=None, home=Path(home), database_url=url)
        sessions = make_session_factory(make_engine(url))
        for path, preds in _demo_targets(None):
            data = load_dataset(path, None, preds)
            found = review_dataset(data, spec, scorer=default_scorer(spec, data.format).scorer).findings
            by_frame: dict[str, list] = {}
            for f in found:
                by_frame.setdefault(f.frame, []).append(f)
            with sessions.begin() as s:
                batch = ingest_batch(s, data, spec, vendor="demo", source_path=str(path))
                job = create_review_job(s, batch.id, spec_hash=spec.hash, chunk_size=64)
            with sessions.begin() as s:
                for chunk in chunk_ids(s, job.id):
                    lease = claim_chunk(s, chunk, "walk", lease_s=600)
                    assert lease is not None
                    finish_chunk(
                        s, chunk, "walk", [x for k in lease.frame_keys for x in by_frame.get(k, [])], spec
                    )
                build_review_items(s, job.id, spec, spot_check_share=0.0, seed=7)
        with sessions() as s:
            items = top_pending(s, args.top)
            print("| # | dataset | frame | flag | p | checks | image | detection | track | 3D | projected |")
            print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
            reasons = []
            for n, ctx in enumerate(items, 1):
                shown = payload(s, settings, ctx.item.id, "walk", utcnow())
                c, why = shown.context, shown.why
                assert c is not None and why is not None and c.finding is not None
                checks = ", ".join(f"{x.check} {x.strength:.2f}" for x in why.contributions)
                projected = shown.scene is not None and shown.scene.projected is not None
                cells = [c.image_url, why.match, shown.track, shown.scene, projected]
                marks = " | ".join("yes" if v else "-" for v in cells)
                flag = f"{c.finding.type.value} ({c.finding.cls})"
                print(
                    f"| {n} | {c.dataset} | {c.item.frame} | {flag} | {c.finding.score:.2f} "
                    f"| {checks} | {marks} |"
                )
                reasons.append(f"{n}. {c.finding.message}")
            print("\n" + "\n".join(reasons))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
