"""The auditor's review page in Chromium, keyboard only: log in, decide five items (one with a corrected
box, moved and resized with the arrow keys), and find exactly those audits in the database; on SQLite and
on PostgreSQL. Also: the page with its evidence and boxes, an empty queue, and no console error."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from gtqa.storage.models import AuditRow, FindingRow, ReviewItemRow

pytestmark = pytest.mark.browser

SCREENSHOTS = os.environ.get("GTQA_SCREENSHOT_DIR")  # set to docs/ to refresh the README's pictures


def _item(page: Any) -> dict[str, Any]:
    """The item the page shows (its id, and what the page's script holds of it), once it has been on
    screen the minimum time (0.4 s by default) a decision needs."""
    page.wait_for_selector("#review[data-state=ready]")
    page.wait_for_function("() => performance.now() - window.gtqaReview.shownAt > 450")
    got: dict[str, Any] = page.evaluate(
        "() => ({id: Number(document.getElementById('review').dataset.itemId),"
        " label: window.gtqaReview.item.label, finding: window.gtqaReview.item.finding})"
    )
    return got


def _press(page: Any, key: str, before: int) -> None:
    """Press a decision key and wait for the next item (or the empty queue) to be shown."""
    page.keyboard.press(key)
    page.wait_for_function(
        "id => { const r = document.getElementById('review');"
        " return r.dataset.state === 'empty' || Number(r.dataset.itemId) !== id; }",
        arg=before,
    )


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_an_auditor_reviews_five_items_with_the_keyboard(site, page, console, login) -> None:
    site.seed(frames=8)
    login(page, site, "auditor")
    assert page.url.endswith("/ui/review")
    decided: dict[int, str] = {}

    first = _item(page)
    _press(page, "c", first["id"])  # confirm the flag as it is
    decided[first["id"]] = "defect"

    second = _item(page)
    assert second["label"] is not None, "the second item is a flagged label"
    page.keyboard.press("z")  # zoom to the object
    for _ in range(3):
        page.keyboard.press("ArrowRight")  # move 3 px right
    page.keyboard.press("Shift+ArrowDown")  # move 10 px down
    page.keyboard.press("Control+ArrowRight")  # resize: the right edge 1 px further
    assert page.locator("#edits").inner_text() == "(changed: box)"
    _press(page, "c", second["id"])  # confirm, with the corrected box
    decided[second["id"]] = "defect"

    for key, verdict in (("r", "not_defect"), ("u", "unsure"), ("r", "not_defect")):
        shown = _item(page)
        _press(page, key, shown["id"])
        decided[shown["id"]] = verdict

    with site.sessions() as session:
        audits = list(session.scalars(select(AuditRow).where(AuditRow.auditor == "auditor")))
        statuses = {i: session.get_one(ReviewItemRow, i).status.value for i in decided}
    assert {a.item_id: a.verdict.value for a in audits} == decided
    assert set(statuses.values()) == {"decided"}
    assert all(a.seconds is not None and a.seconds >= 0 for a in audits), "the page records the time"
    fixed = next(a for a in audits if a.item_id == second["id"])
    box = second["label"]["box"]
    expected = [box["x1"] + 3, box["y1"] + 10, box["x2"] + 4, box["y2"] + 10]
    assert fixed.corrected is not None
    got = fixed.corrected["box"]
    assert [got["x1"], got["y1"], got["x2"], got["y2"]] == pytest.approx(expected)
    assert fixed.corrected["cls"] == second["label"]["cls"], "only the box was corrected"
    assert page.locator("#pace-count").inner_text() == "5"
    assert console.errors == []


def test_the_page_shows_the_evidence_and_the_queue_left(site, page, console, login, tmp_path: Path) -> None:
    delivery = site.seed(frames=6, judge_costs=(0.002,))
    login(page, site, "auditor")
    shown = _item(page)
    while shown["finding"]["type"] != "bad_box":  # the flag with a proposed box, a rule and a judge
        _press(page, "s", shown["id"])
        shown = _item(page)
    assert page.locator("#item-title").inner_text() == f"bad box · frame {delivery.frames[0].id}"
    checks = page.locator("#checks tbody tr").all_inner_texts()
    assert [row.split("\t")[0] for row in checks] == ["pred_bad_box", "box_size"]  # both scored above 0
    assert "The box edge leaves a gap" in page.locator("#judge").inner_text()
    assert "Rule box-size" in page.locator("#rules").inner_text()
    with site.sessions() as session:
        pending = session.scalar(select(func.count()).where(ReviewItemRow.status == "pending"))
    assert page.locator("#queue-left").inner_text() == str(pending)
    label = page.locator("#frame").get_attribute("aria-label") or ""
    assert "1242 by 375 pixels (no image, labels only)" in label
    assert "2 other labels" in label
    target = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path
    page.screenshot(path=str(target / "review.png"))
    assert (target / "review.png").stat().st_size < 1_000_000
    page.keyboard.press("p")  # take the proposed box
    assert page.locator("#edits").inner_text() == "(changed: box)"
    page.keyboard.press("x")  # and undo
    assert page.locator("#edits").inner_text() == "(no changes)"
    page.keyboard.press("?")
    assert page.locator("#help").is_visible()
    page.keyboard.press("Escape")
    assert not page.locator("#help").is_visible()
    page.keyboard.press("z")
    assert "zoomed to the object" in (page.locator("#frame").get_attribute("aria-label") or "")
    assert page.locator("#zoom").get_attribute("aria-pressed") == "true"
    assert console.errors == []


def test_a_proposal_that_follows_the_flag_is_shown_with_it(site, page, console, login) -> None:
    site.seed(frames=6, followers=True)
    login(page, site, "auditor")
    shown = _item(page)
    while shown["finding"]["type"] != "bad_box":
        _press(page, "s", shown["id"])
        shown = _item(page)
    label = page.locator("#frame").get_attribute("aria-label") or ""
    assert "1 more proposals of this object, queued after it" in label
    with site.sessions() as session:
        queued = session.execute(
            select(ReviewItemRow.priority, FindingRow.follows)
            .join(FindingRow, FindingRow.id == ReviewItemRow.finding_id)
            .where(FindingRow.frame_key == shown["finding"]["frame"])
        ).all()
        last_leader = session.scalar(
            select(func.min(ReviewItemRow.priority))
            .join(FindingRow, FindingRow.id == ReviewItemRow.finding_id)
            .where(FindingRow.follows.is_(False))
        )
    follower = [p for p, follows in queued if follows]
    assert len(follower) == 1 and last_leader is not None and follower[0] < last_leader
    assert console.errors == []


def test_a_missing_object_is_added_with_its_class(site, page, console, login) -> None:
    site.seed(frames=3)  # flag types by frame: bad box, wrong class, missing object
    login(page, site, "auditor")
    for _ in range(2):
        _press(page, "s", _item(page)["id"])  # skip the first two
    missing = _item(page)
    assert missing["label"] is None and missing["finding"]["type"] == "missing_object"
    assert page.locator("#status").text_content() == "", "nothing said of the skipped item stays"
    page.keyboard.press("k")  # to the class field
    assert page.evaluate("document.activeElement.id") == "cls"
    page.keyboard.press("Escape")  # back to the frame
    _press(page, "c", missing["id"])
    page.wait_for_selector("#review[data-state=empty]")
    assert page.locator("#empty").is_visible()
    with site.sessions() as session:
        audit = session.scalars(select(AuditRow).where(AuditRow.item_id == missing["id"])).one()
    assert audit.verdict.value == "defect" and audit.corrected is not None
    assert audit.corrected["cls"] == "Car"
    assert [audit.corrected["box"][k] for k in ("x1", "y1", "x2", "y2")] == [1000.0, 160.0, 1080.0, 220.0]
    assert console.errors == []


def test_a_frame_with_an_image_is_drawn_under_its_boxes(site, page, console, login, tmp_path: Path) -> None:
    images = tmp_path / "delivery"
    images.mkdir()
    site.seed(frames=2, images=images)
    login(page, site, "auditor")
    _item(page)
    page.wait_for_function("() => window.gtqaReview.imageReady === true")
    assert "pixels (image)" in (page.locator("#frame").get_attribute("aria-label") or "")
    assert console.errors == []


def test_a_class_and_an_attribute_are_corrected_with_the_keyboard(site, page, console, login) -> None:
    site.seed(frames=4)
    login(page, site, "auditor")
    shown = _item(page)
    while shown["label"] is None:
        _press(page, "s", shown["id"])
        shown = _item(page)
    page.keyboard.press("k")  # the class field
    page.keyboard.press("ArrowDown")  # the next class in the list
    page.keyboard.press("Enter")  # back to the frame
    chosen = page.locator("#cls").input_value()
    assert chosen != shown["label"]["cls"]
    page.keyboard.press("a")  # the attributes: truncation
    page.keyboard.type("0.3")
    page.keyboard.press("Enter")
    assert page.locator("#edits").inner_text() == "(changed: class, truncation)"
    _press(page, "c", shown["id"])
    with site.sessions() as session:
        audit = session.scalars(select(AuditRow).where(AuditRow.item_id == shown["id"])).one()
    assert audit.issue_type is not None
    assert audit.corrected is not None
    assert audit.corrected["cls"] == chosen and audit.corrected["truncation"] == pytest.approx(0.3)
    assert console.errors == []


def test_the_box_can_be_dragged_with_the_mouse(site, page, console, login) -> None:
    site.seed(frames=2)
    login(page, site, "auditor")
    shown = _item(page)
    box = shown["label"]["box"]
    frame = page.locator("#frame").bounding_box()
    width, height = page.evaluate("window.gtqaReview.size")
    scale = min(frame["width"] / width, frame["height"] / height)  # the whole frame, centred
    left = frame["x"] + (frame["width"] - width * scale) / 2
    top = frame["y"] + (frame["height"] - height * scale) / 2
    x, y = left + (box["x1"] + box["x2"]) / 2 * scale, top + (box["y1"] + box["y2"]) / 2 * scale
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 40, y + 20, steps=4)
    page.mouse.up()
    moved = [float(page.locator(f"#{k}").input_value()) for k in ("x1", "y1", "x2", "y2")]
    dx, dy = 40 / scale, 20 / scale
    expected = [box["x1"] + dx, box["y1"] + dy, box["x2"] + dx, box["y2"] + dy]
    assert moved == pytest.approx(expected, abs=0.6)  # the page keeps a tenth of a pixel
    assert page.locator("#edits").inner_text() == "(changed: box)"
    assert console.errors == []
