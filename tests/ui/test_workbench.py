"""The auditor's workbench in Chromium on the real KITTI object frames (images, the 2D detector's boxes,
the checks' own flags): nothing lost and nothing decided unseen (a refused decision keeps its edits, a
reload keeps them too, a held key or a decision sooner than the minimum time on screen is ignored, the
empty queue clears and picks up new work by itself), why the item was flagged above the fold at
1280 x 720, the four edges resized from the keyboard, and the image tools."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from gtqa.storage import Role, claim_next, decide, item_context, release
from gtqa.storage.models import AuditRow, ReviewItemRow

pytestmark = pytest.mark.browser

SCREENSHOTS = os.environ.get("GTQA_SCREENSHOT_DIR")  # set to docs/ to refresh the pictures
MIN_SECONDS = 0.4  # the settings' default minimum time on screen


def _shoot(page: Any, tmp_path: Path, name: str) -> None:
    """A screenshot of the page: into ``GTQA_SCREENSHOT_DIR`` (docs/) without the KITTI image itself
    (CC BY-NC-SA: the pictures in the repository show the page and its boxes, not the photograph), else
    into the test's folder as it is."""
    if SCREENSHOTS:
        page.evaluate("() => { window.gtqaReview.imageReady = false; window.gtqaReview.redraw(); }")
    target = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path
    page.screenshot(path=str(target / name), full_page=True)
    assert (target / name).stat().st_size < 1_000_000


def _shown(page: Any, *, wait: bool = True) -> dict[str, Any]:
    """The item on screen (once it has been there the minimum time, unless ``wait`` is false)."""
    page.wait_for_selector("#review[data-state=ready]")
    if wait:
        page.wait_for_function(
            f"() => performance.now() - window.gtqaReview.shownAt > {MIN_SECONDS * 1000 + 50}"
        )
    got: dict[str, Any] = page.evaluate(
        "() => ({id: Number(document.getElementById('review').dataset.itemId),"
        " label: window.gtqaReview.item.label, finding: window.gtqaReview.item.finding,"
        " box: window.gtqaReview.box})"
    )
    return got


def _next(page: Any, key: str, before: int) -> None:
    page.keyboard.press(key)
    page.wait_for_function(
        "id => { const r = document.getElementById('review');"
        " return r.dataset.state === 'empty' || Number(r.dataset.itemId) !== id; }",
        arg=before,
    )


def _audits(site: Any) -> list[AuditRow]:
    with site.sessions() as session:
        return list(session.scalars(select(AuditRow).order_by(AuditRow.id)))


def _labelled(page: Any) -> dict[str, Any]:
    """Skip to the first item about an existing label."""
    shown = _shown(page)
    while shown["label"] is None:
        _next(page, "s", shown["id"])
        shown = _shown(page)
    return shown


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_decision_refused_after_the_claim_was_lost_keeps_the_edits(
    site, page, console, login, shared_data, tmp_path: Path
) -> None:
    site.seed_kitti(shared_data)
    site.add_user("other", Role.auditor)
    login(page, site, "auditor")
    shown = _labelled(page)
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("m")
    page.keyboard.type("left edge cuts the mirror")
    page.keyboard.press("Escape")
    with site.sessions.begin() as session:  # the lease lapses and another auditor takes the item
        release(session, shown["id"], "auditor")
    with site.sessions.begin() as session:
        taken = claim_next(session, "other", lease_s=900)
    assert taken is not None and taken.id == shown["id"]
    page.keyboard.press("c")
    page.wait_for_selector("#review[data-state=lost]")
    assert page.locator("#lost").is_visible()
    assert "Not recorded" in page.locator("#lost-text").inner_text()
    time.sleep(0.5)  # it stays: nothing moves on by itself
    assert page.evaluate("Number(document.getElementById('review').dataset.itemId)") == shown["id"]
    assert page.locator("#edits").inner_text() == "(changed: box)"
    assert page.locator("#comment").input_value() == "left edge cuts the mirror"
    kept = page.evaluate(f"JSON.parse(localStorage.getItem('gtqa.review.draft.{shown['id']}'))")
    assert kept["comment"] == "left edge cuts the mirror"
    assert kept["box"] == page.evaluate("window.gtqaReview.box") != shown["box"]
    assert _audits(site) == [], "nothing was recorded"
    _shoot(page, tmp_path, "review-lost.png")
    page.keyboard.press("n")
    following = _shown(page)
    assert following["id"] != shown["id"] and not page.locator("#lost").is_visible()
    assert console.errors == [] or all("409" in e for e in console.errors)


def test_edits_and_a_half_written_comment_survive_a_reload(site, page, console, login, shared_data) -> None:
    site.seed_kitti(shared_data)
    login(page, site, "auditor")
    shown = _labelled(page)
    x1, y1, x2, y2 = shown["box"]
    for _ in range(3):
        page.keyboard.press("Alt+ArrowRight")  # the left edge 3 px in
    page.keyboard.press("Alt+ArrowDown")  # the top edge 1 px down
    page.keyboard.press("Control+ArrowUp")  # the bottom edge 1 px up
    assert page.locator("#edits").inner_text() == "(changed: box)"
    page.locator("#occlusion").select_option("3")
    assert page.locator("#edits").inner_text() == "(changed: box, occlusion)"
    page.keyboard.press("m")
    page.keyboard.type("half a tho")
    page.reload()
    again = _shown(page)
    assert again["id"] == shown["id"]
    assert again["box"] == pytest.approx([x1 + 3, y1 + 1, x2, y2 - 1], abs=0.06)
    assert page.locator("#occlusion").input_value() == "3"
    assert page.locator("#comment").input_value() == "half a tho"
    assert page.locator("#edits").inner_text() == "(changed: box, occlusion)"
    page.keyboard.press("c")
    page.wait_for_function(
        f"() => Number(document.getElementById('review').dataset.itemId) !== {shown['id']}"
    )
    (audit,) = _audits(site)
    assert audit.comment == "half a tho" and audit.corrected is not None
    assert audit.corrected["occlusion"] == 3
    got = audit.corrected["box"]
    assert [got["x1"], got["y1"], got["x2"], got["y2"]] == pytest.approx(
        [x1 + 3, y1 + 1, x2, y2 - 1], abs=0.06
    )
    assert page.evaluate(f"localStorage.getItem('gtqa.review.draft.{shown['id']}')") is None, (
        "decided: dropped"
    )
    assert console.errors == []


def test_no_decision_is_taken_too_soon_or_from_a_held_key(site, page, console, login, shared_data) -> None:
    site.seed_kitti(shared_data)
    login(page, site, "auditor")
    first = _shown(page, wait=False)
    for _ in range(10):  # ten presses 20 ms apart, from the moment the item appears
        page.keyboard.press("r")
        time.sleep(0.02)
    audits = _audits(site)
    assert all(a.seconds is not None and a.seconds >= MIN_SECONDS for a in audits), "none decided unseen"
    assert len(audits) <= 1 and page.evaluate("window.gtqaReview.ignored") >= 5
    current = _shown(page)
    page.keyboard.down("u")  # held: the first press decides, the auto-repeats do not
    page.wait_for_function(
        f"() => Number(document.getElementById('review').dataset.itemId) !== {current['id']}"
    )
    for _ in range(5):
        page.keyboard.down("u")  # repeat=true while held
    page.keyboard.up("u")
    decided = [a for a in _audits(site) if a.verdict.value == "unsure"]
    assert [a.item_id for a in decided] == [current["id"]]
    assert decided[0].seconds is not None and decided[0].seconds >= MIN_SECONDS
    assert first["id"] is not None and console.errors == []


def test_the_empty_queue_clears_the_page_and_picks_up_new_work(
    site, page, console, login, shared_data
) -> None:
    site.settings.review_poll_s = 0.5
    delivery = site.seed_kitti(shared_data)
    site.add_user("other", Role.auditor)
    with site.sessions.begin() as session:  # another auditor holds every item but one
        held = []
        while (item := claim_next(session, "other", lease_s=900)) is not None:
            held.append(item.id)
    with site.sessions.begin() as session:
        release(session, held[0], "other")
    login(page, site, "auditor")
    shown = _shown(page)
    assert shown["id"] == held[0]
    _next(page, "r", shown["id"])
    page.wait_for_selector("#review[data-state=empty]")
    assert "the queue is empty" in page.locator("#item-title").inner_text()
    assert page.locator("#empty").is_visible() and not page.locator("#why").is_visible()
    assert page.locator("#comment").input_value() == "" and page.locator("#x1").input_value() == ""
    assert page.locator("#judge").inner_text() == "" and page.locator("#rules").inner_text() == ""
    assert "queue is empty" in (page.locator("#frame").get_attribute("aria-label") or "")
    with site.sessions.begin() as session:  # new work: the other auditor gives one back
        release(session, held[1], "other")
    page.wait_for_selector("#review[data-state=ready]", timeout=10_000)  # found without a key press
    assert _shown(page)["id"] == held[1]
    assert delivery.batch_id and console.errors == []


def test_why_it_was_flagged_is_above_the_fold_and_the_frame_uses_the_space(
    site, page, console, login, shared_data, tmp_path: Path
) -> None:
    site.seed_kitti(shared_data)
    page.set_viewport_size({"width": 1280, "height": 720})
    login(page, site, "auditor")
    shown = _shown(page)
    page.wait_for_function("() => window.gtqaReview.imageReady === true")
    for part in ("#message", "#probability", "#checks"):
        box = page.locator(part).bounding_box()
        assert box is not None and box["y"] + box["height"] <= 720, f"{part} is below the fold"
    assert "chance this flag is a real defect" in page.locator("#probability").inner_text()
    strengths = [float(r.split("\t")[1]) for r in page.locator("#checks tbody tr").all_inner_texts()]
    assert strengths and all(s > 0 for s in strengths), "only checks that contributed"
    match = page.evaluate("window.gtqaReview.match")
    if match is not None and shown["finding"]["type"] != "wrong_class":
        assert match["cls"] == shown["finding"]["cls"]
    fill = page.evaluate(
        "() => { const c = document.getElementById('frame').getBoundingClientRect();"
        " const [w, h] = window.gtqaReview.size; const s = Math.min(c.width / w, c.height / h);"
        " return (w * s) * (h * s) / (c.width * c.height); }"
    )
    assert fill > 0.9, f"the image fills {fill:.0%} of the canvas"
    _shoot(page, tmp_path, "review-why.png")
    # The image tools: wheel zoom about the pointer, then brightness; the whole frame again with Z.
    frame = page.locator("#frame").bounding_box()
    page.mouse.move(frame["x"] + frame["width"] / 2, frame["y"] + frame["height"] / 2)
    page.mouse.wheel(0, -300)
    page.wait_for_function("() => window.gtqaReview.region !== null")
    assert "zoomed in" in (page.locator("#frame").get_attribute("aria-label") or "")
    page.locator("#brightness").fill("2")
    page.keyboard.press("Escape")
    page.keyboard.press("z")
    assert page.evaluate("window.gtqaReview.region") is None
    assert console.errors == []


def test_an_image_that_fails_to_load_is_said_so(site, page, console, login, shared_data) -> None:
    site.seed_kitti(shared_data)
    page.route("**/ui/items/*/image", lambda route: route.fulfill(status=404, body="gone"))
    login(page, site, "auditor")
    _shown(page)
    page.wait_for_selector("#image-failed", state="visible")
    assert "could not be loaded" in page.locator("#image-failed").inner_text()
    assert "image failed to load" in (page.locator("#frame").get_attribute("aria-label") or "")
    assert all("404" in e for e in console.errors), "only the refused image itself"


def test_a_tracked_object_shows_its_track_and_the_keys_step_its_frames(
    site, page, console, login, shared_data, tmp_path: Path
) -> None:
    site.seed_kitti(shared_data, name="kitti_tracking")
    login(page, site, "auditor")
    shown = _labelled(page)
    while shown["label"]["track_id"] is None:
        _next(page, "s", shown["id"])
        shown = _labelled(page)
    track = page.evaluate("window.gtqaReview.track")
    assert page.locator("#track-box").is_visible() and page.locator("#timeline").is_visible()
    offsets = [n["offset"] for n in track["neighbours"]]
    assert page.locator("#strip canvas").count() == len(offsets) and min(offsets) >= -5 and max(offsets) <= 5
    assert all(p["index"] is not None for p in track["points"]) and len(track["points"]) > 1
    assert f"flagged frame {track['flagged_index']}" in (
        page.locator("#timeline").get_attribute("aria-label") or ""
    )
    step = 1 if 1 in offsets else -1
    page.keyboard.press("." if step == 1 else ",")
    assert "(read only)" in page.locator("#item-title").inner_text()
    assert f"{step:+d} from the flagged one" in (page.locator("#frame").get_attribute("aria-label") or "")
    page.keyboard.press("ArrowRight")  # no edit while looking at another frame
    assert page.locator("#edits").inner_text() == "(no changes)"
    page.keyboard.press("," if step == 1 else ".")
    assert "(read only)" not in page.locator("#item-title").inner_text()
    _shoot(page, tmp_path, "review-track.png")
    assert console.errors == []


def test_a_3d_label_shows_the_frame_from_above_and_its_projected_cuboid(
    site, page, console, login, shared_data, tmp_path: Path
) -> None:
    site.seed_kitti(shared_data, calibrated_only=True)
    login(page, site, "auditor")
    shown = _labelled(page)
    while shown["label"]["cuboid"] is None:
        _next(page, "s", shown["id"])
        shown = _labelled(page)
    scene = page.evaluate("window.gtqaReview.scene")
    assert scene["calibrated"] and scene["projected"] is not None and len(scene["projected"]) == 8
    assert [b["flagged"] for b in scene["boxes"]].count(True) == 1
    assert page.locator("#bev").is_visible()
    said = page.locator("#bev").get_attribute("aria-label") or ""
    assert f"{len(scene['boxes'])} cuboids, the flagged {shown['label']['cls']} highlighted" in said
    assert "assumed" not in said, "the field of view is the calibration's"
    _shoot(page, tmp_path, "review-3d.png")
    assert console.errors == []


def test_other_labels_of_the_frame_are_deleted_fixed_and_drawn_each_as_an_audit(
    site, page, console, login, shared_data, tmp_path: Path
) -> None:
    site.seed_kitti(shared_data)
    login(page, site, "auditor")
    shown = _labelled(page)
    while len(page.evaluate("window.gtqaReview.item.neighbours")) < 2:
        _next(page, "s", shown["id"])
        shown = _labelled(page)
    first, second = page.evaluate("window.gtqaReview.item.neighbours")[:2]
    page.keyboard.press("l")  # the first other label
    page.keyboard.press("Delete")
    page.keyboard.press("l")  # the second
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Control+ArrowDown")  # its bottom edge 1 px down
    chosen = page.locator("#other-cls").input_value()  # the class a drawn box takes
    page.keyboard.press("b")  # a missing object drawn
    page.keyboard.press("Shift+ArrowLeft")
    assert page.locator("#edits").inner_text() == "(changed: 3 other labels)"
    _shoot(page, tmp_path, "review-frame-edits.png")
    assert page.evaluate("window.gtqaReview.box") == shown["box"], "the flagged label is untouched"
    page.keyboard.press("Escape")
    _next(page, "r", shown["id"])  # the flag itself is rejected; the frame's other labels corrected
    audits = _audits(site)
    (own,) = [a for a in audits if a.item_id == shown["id"]]
    assert own.verdict.value == "not_defect" and own.corrected is None
    edits = {a.id: a for a in audits if a.item_id is None}
    assert sorted(edits) == [f"{own.id}-1", f"{own.id}-2", f"{own.id}-3"]
    deleted, fixed, drawn = (edits[f"{own.id}-{n}"] for n in (1, 2, 3))
    assert deleted.label_key == first["id"] and deleted.corrected is None
    assert deleted.issue_type == "duplicate" and deleted.verdict.value == "defect"
    assert fixed.label_key == second["id"] and fixed.issue_type == "bad_box" and fixed.corrected is not None
    b = second["box"]
    got = fixed.corrected["box"]
    assert [got["x1"], got["y1"], got["x2"], got["y2"]] == pytest.approx(
        [b["x1"] + 1, b["y1"], b["x2"] + 1, b["y2"] + 1], abs=0.06
    )
    assert drawn.label_key is None and drawn.issue_type == "missing_object" and drawn.corrected is not None
    assert drawn.corrected["cls"] == chosen and drawn.batch_id == own.batch_id
    assert all(a.frame_key == own.frame_key for a in edits.values())
    assert page.locator("#pace-count").inner_text() == "1", "one decision, not four"
    assert console.errors == []


def test_an_earlier_correction_and_an_identical_redelivery_are_shown_and_the_item_has_a_link(
    site, page, browser, console, login, shared_data, tmp_path: Path
) -> None:
    first = site.seed_kitti(shared_data, vendor="acme")
    with site.sessions.begin() as session:  # batch 1: its top label corrected by an auditor
        item = claim_next(session, "admin", lease_s=900)
        while item is not None and item.label_key is None:  # held aside: the first flag of a label
            item = claim_next(session, "admin", lease_s=900)
        assert item is not None and item.label_key is not None
        ctx = item_context(session, item.id)
        assert ctx.label is not None
        moved = ctx.label.box.model_copy(update={"x1": ctx.label.box.x1 + 4})
        fixed = ctx.label.model_copy(update={"box": moved})
        decide(
            session, item.id, "admin", "defect", issue_type="bad_box", corrected=fixed, comment="left edge"
        )
    second = site.seed_kitti(shared_data, vendor="acme")  # the same frames delivered again
    login(page, site, "auditor")
    shown = _shown(page)
    for _ in range(20):
        if shown["label"] and (shown["label"]["id"], shown["finding"]["frame"]) == (
            item.label_key,
            item.frame_key,
        ):
            break
        _next(page, "s", shown["id"])
        shown = _shown(page)
    assert page.evaluate("window.gtqaReview.item.item.batch_id") == second.batch_id
    notice = page.locator("#redelivered").inner_text()
    assert f"identical to one already decided in batch {first.batch_id}" in notice
    assert "corrected to" in page.locator("#history").inner_text() and "left edge" in notice
    assert "acme" in page.locator("#item-meta").inner_text()
    _shoot(page, tmp_path, "review-history.png")
    link = page.locator("#item-link").get_attribute("href")
    assert link == f"/ui/items/{shown['id']}"
    other = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
    login(other, site, "ops")  # read only for others
    other.goto(f"{site.url}{link}")
    other.wait_for_selector("#review[data-state=readonly]")
    assert other.evaluate("Number(document.getElementById('review').dataset.itemId)") == shown["id"]
    assert other.locator("[data-verdict=defect]").is_disabled()
    other.keyboard.press("c")
    with site.sessions() as session:
        assert session.get_one(ReviewItemRow, shown["id"]).status.value == "claimed", "nothing decided"
    other.context.close()
    assert console.errors == []
