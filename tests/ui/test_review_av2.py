"""The review page on the real Argoverse 2 log in Chromium: a LiDAR label shows its sweep from above
(the sweep's cuboids, the flagged one highlighted, the sweep's LiDAR points, the object's track in the
world with this sweep marked). A few sweeps' worth is ingested: the sweeps within ``AROUND`` of the two
that have points, reviewed with the shipped AV2 spec, and only the flags of the two swept sweeps queued."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from api.spec_lookup import spec_folder
from gtqa.domain import Dataset, Finding
from gtqa.formats import load_dataset
from gtqa.review import review_dataset
from gtqa.spec import load_spec, shipped_spec_path
from gtqa.spec.store import pin_spec
from gtqa.storage import (
    build_review_items,
    chunk_ids,
    claim_chunk,
    create_review_job,
    finish_chunk,
    ingest_batch,
)

pytestmark = pytest.mark.browser

LOG = "7fab2350-7eaf-3b7e-a39d-6937a4c1bede"
AROUND = 4  # sweeps either side of a swept one that are ingested
SCREENSHOTS = os.environ.get("GTQA_SCREENSHOT_DIR")  # set to docs/ to refresh the picture


def _seed_av2(site: Any, data: Path) -> tuple[Dataset, set[str]]:
    """The log's sweeps around the two with LiDAR points, reviewed, stored and queued as a worker
    would; the dataset and the ids of the swept frames."""
    spec = pin_spec(load_spec(str(shipped_spec_path("av2"))), spec_folder(site.settings))
    full = load_dataset(data / "av2_sensor" / LOG, "av2")
    swept = {f.index for f in full.frames if any("sweep" in lab.attributes for lab in f.labels)}
    keep = tuple(f for f in full.frames if any(abs(f.index - s) <= AROUND for s in swept))
    dataset = full.model_copy(update={"frames": keep})
    swept_ids = {f.id for f in keep if f.index in swept}
    flags: dict[str, list[Finding]] = {}
    for f in review_dataset(dataset, spec).findings:
        if f.frame in swept_ids:
            flags.setdefault(f.frame, []).append(f)
    assert any(f.label for found in flags.values() for f in found), "no label flagged in a swept sweep"
    with site.sessions.begin() as session:
        batch = ingest_batch(
            session, dataset, spec, vendor="av2-vendor", team="lidar", source_path=dataset.root
        )
        job = create_review_job(session, batch.id, spec_hash=spec.hash, chunk_size=8)
    with site.sessions.begin() as session:
        for chunk in chunk_ids(session, job.id):
            lease = claim_chunk(session, chunk, "worker", lease_s=60)
            assert lease is not None
            found = [x for k in lease.frame_keys for x in flags.get(k, [])]
            finish_chunk(session, chunk, "worker", found, spec)
        build_review_items(session, job.id, spec, spot_check_share=0.0, seed=7)
    return dataset, swept_ids


def test_a_lidar_label_shows_its_sweep_from_above_with_points_and_its_track(
    site, page, console, login, shared_data, tmp_path: Path
) -> None:
    dataset, swept = _seed_av2(site, shared_data)
    login(page, site, "auditor")
    page.wait_for_selector("#review[data-state=ready]")
    while page.evaluate("window.gtqaReview.item.label") is None:
        before = page.evaluate("Number(document.getElementById('review').dataset.itemId)")
        page.keyboard.press("s")
        page.wait_for_function(
            "id => Number(document.getElementById('review').dataset.itemId) !== id", arg=before
        )
        page.wait_for_selector("#review[data-state=ready]")
    label = page.evaluate("window.gtqaReview.item.label")
    frame = next(f for f in dataset.frames if f.id == label["frame"])
    assert frame.id in swept
    truth = next(lab for lab in frame.labels if lab.id == label["id"])
    track = [f.index for f in dataset.frames if any(lab.track_id == truth.track_id for lab in f.labels)]

    bev = page.locator("#lidar-bev svg")
    assert page.locator("#lidar-box").is_visible() and bev.is_visible()
    assert page.locator("#track-box").is_hidden(), "no image track strip for a LiDAR label"
    assert bev.locator("polygon").count() == len(frame.labels)
    flagged = bev.locator('polygon[stroke="#ff3b30"]')
    assert flagged.count() == 1 and flagged.get_attribute("data-label") == truth.id
    drawn = int(bev.locator('[data-role="points"]').get_attribute("data-count") or 0)
    assert drawn > 1000, "the sweep's points are drawn"
    ringed = bev.locator('[data-role="flagged-sweep"]')
    assert ringed.count() == 1 and ringed.get_attribute("data-frame") == frame.id
    view = page.evaluate("window.gtqaReview.lidar")
    assert view["path"] == len(track) and view["points"] == drawn and view["cuboids"] == len(frame.labels)
    said = page.locator("#lidar-bev").get_attribute("aria-label") or ""
    assert f"the flagged {truth.cls} highlighted" in said and f"{drawn} LiDAR points" in said
    target = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path
    page.locator("#around").screenshot(path=str(target / "review-av2-bev.png"))
    assert (target / "review-av2-bev.png").stat().st_size < 1_000_000
    assert console.errors == []
