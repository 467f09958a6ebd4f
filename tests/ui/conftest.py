"""The pages' tests run a real server: uvicorn in a thread of the test process, on a free loopback port,
against a database of its own (a temporary SQLite file; PostgreSQL where a test asks for it, created and
dropped by ``new_database`` in tests/conftest.py). The browser tests drive Debian's Chromium with
playwright (``chromium`` fixture: never downloaded; missing, the tests skip, or fail under CI).

The data is built in the test: a small labels-only delivery (frames of 1242 x 375 pixels, a few labels
each, a detector box per label), flags of several types stored as a worker would store them, and the
queue built from them. Every user has a real API token, which the login page exchanges for a cookie.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from gtqa.domain import Box2D, Dataset, Finding, Frame, IssueType, JudgeOpinion, Label, Prediction
from gtqa.formats import load_dataset
from gtqa.review import review_dataset
from gtqa.scoring import mark_followers
from gtqa.settings import Settings
from gtqa.spec import CompiledSpec, load_spec
from gtqa.storage import (
    Role,
    build_review_items,
    chunk_ids,
    claim_chunk,
    create_review_job,
    create_user,
    finish_chunk,
    ingest_batch,
    make_engine,
    make_session_factory,
    upgrade,
)

WIDTH, HEIGHT = 1242, 375
CLASSES = ("Car", "Pedestrian", "Cyclist", "Van")
FLAG_TYPES = (IssueType.bad_box, IssueType.wrong_class, IssueType.missing_object, IssueType.attribute)
EVIDENCE = {
    IssueType.bad_box: ("pred_bad_box", ("pred_bad_box", "box_size")),
    IssueType.wrong_class: ("class_confusion", ("class_confusion",)),
    IssueType.missing_object: ("missing_object", ("missing_object",)),
    IssueType.attribute: ("required_attributes", ("required_attributes",)),
}


# --- the data ---------------------------------------------------------------------------------------


def _label(frame: int, i: int) -> Label:
    x = 60.0 + 260 * i
    return Label(
        id=f"{frame:06d}:{i}", frame=f"{frame:06d}", cls=CLASSES[(frame + i) % len(CLASSES)],
        box=Box2D(x1=x, y1=150, x2=x + 90, y2=230), truncation=0.0, occlusion=i % 3,
    )  # fmt: skip


def _image(folder: Path, n: int) -> str:
    """A synthetic PNG of the frame size (a grey road under a blue sky), written in the test."""
    import cv2
    import numpy as np

    pixels = np.full((HEIGHT, WIDTH, 3), (90, 90, 90), np.uint8)
    pixels[: HEIGHT // 3] = (200, 160, 110)  # BGR
    path = folder / f"{n:06d}.png"
    cv2.imwrite(str(path), pixels)
    return str(path)


def _frame(n: int, labels: int, images: Path | None = None) -> Frame:
    made = tuple(_label(n, i) for i in range(labels))
    image = _image(images, n) if images is not None else None
    predictions = tuple(
        Prediction(frame=lb.frame, cls=lb.cls, box=Box2D(x1=lb.box.x1 + 6, y1=146, x2=lb.box.x2 + 4, y2=232),
                   score=0.91, raw_score=0.91, detector="test-detector")
        for lb in made
    )  # fmt: skip
    return Frame(id=f"{n:06d}", image=image, width=WIDTH, height=HEIGHT, labels=made, predictions=predictions)


def _flag(frame: Frame, n: int, cost: float | None) -> Finding:
    """One flag on the frame, its type by frame number; a judge opinion costing ``cost`` (if given)."""
    issue = FLAG_TYPES[n % len(FLAG_TYPES)]
    check, evidence = EVIDENCE[issue]
    score = round(0.95 - 0.04 * n, 3)
    judge = None
    if cost is not None:
        judge = JudgeOpinion(
            verdict="defect", confidence=0.8, reasoning="The box edge leaves a gap to the car's rear.",
            model="test-model", prompt_id="box-fit", prompt_version=1, cost_usd=cost, cached=cost == 0,
        )  # fmt: skip
    if issue == IssueType.missing_object:
        box = (1000.0, 160.0, 1080.0, 220.0)
        return Finding(
            frame=frame.id, label=None, type=issue, score=score, box=box, check=check, cls="Car",
            message="a detection with no label", evidence=evidence, raw=score, judge=judge,
        )  # fmt: skip
    lb = frame.labels[0]
    proposed = (lb.box.x1 + 6, 146.0, lb.box.x2 + 4, 232.0) if issue == IssueType.bad_box else None
    return Finding(
        frame=frame.id, label=lb.id, type=issue, score=score, box=tuple(lb.box.as_list()),
        check=check, message=f"{issue.value.replace('_', ' ')} suspected on {lb.cls}", cls=lb.cls,
        proposed_box=proposed, evidence=evidence, raw=score, features={f"raw.{c}": score for c in evidence},
        rule_ids=("box-size",) if issue == IssueType.bad_box else (), judge=judge,
    )  # fmt: skip


@dataclass(frozen=True)
class Delivery:
    """What ``seed`` stored: the batch and job ids, and the frames (for expected values)."""

    batch_id: int
    job_id: int
    frames: tuple[Frame, ...]


def seed(
    sessions: sessionmaker[Session],
    spec: CompiledSpec,
    *,
    frames: int = 8,
    labels: int = 3,
    name: str = "ui-test",
    vendor: str = "acme",
    team: str = "red",
    due: date | None = None,
    spot_check_share: float = 0.0,
    judge_costs: tuple[float | None, ...] = (None,),
    images: Path | None = None,
    followers: bool = False,
) -> Delivery:
    """A delivery with one flag per frame (types cycle, scores fall with the frame number, judge costs
    cycle through ``judge_costs``), reviewed as a worker would store it, and its queue built. With
    ``images`` (a folder, the delivery's source) every frame gets a synthetic PNG there; else the
    delivery is labels only. With ``followers``, a bad-box flag's proposed box is also a missing-object
    proposal that follows it (``gtqa.scoring.mark_followers``)."""
    made = tuple(_frame(n, labels, images) for n in range(frames))
    dataset = Dataset(name=name, format="kitti", root=f"/synthetic/{name}", frames=made)
    flags: dict[str, list[Finding]] = {}
    for n, f in enumerate(made):
        flag = _flag(f, n, judge_costs[n % len(judge_costs)])
        flags[f.id] = [flag]
        if followers and flag.proposed_box is not None:
            also = flag.model_copy(
                update={"label": None, "type": IssueType.missing_object, "box": flag.proposed_box,
                        "proposed_box": None, "score": flag.score / 2, "judge": None}
            )  # fmt: skip
            flags[f.id] = mark_followers([flag, also])
    with sessions.begin() as session:
        source = str(images) if images is not None else None
        batch = ingest_batch(
            session, dataset, spec, vendor=vendor, team=team, due_date=due, source_path=source
        )
        job = create_review_job(session, batch.id, spec_hash=spec.hash, chunk_size=4)
    with sessions.begin() as session:
        for chunk in chunk_ids(session, job.id):
            lease = claim_chunk(session, chunk, "worker", lease_s=60)
            assert lease is not None
            finish_chunk(session, chunk, "worker", [x for k in lease.frame_keys for x in flags[k]], spec)
        build_review_items(session, job.id, spec, spot_check_share=spot_check_share, seed=7)
    return Delivery(batch.id, job.id, made)


REAL = {  # the shared data's folders: format and detections
    "kitti_object": ("kitti", "predictions/box2d.list"),
    "kitti_tracking": ("kitti-tracking", "detections"),
}


def seed_kitti(
    sessions: sessionmaker[Session],
    spec: CompiledSpec,
    data: Path,
    *,
    name: str = "kitti_object",
    calibrated_only: bool = False,
    **batch: Any,
) -> Delivery:
    """Real KITTI frames (``data/<name>``: the object frames with images, or tracking sequence 0016)
    with their detections, reviewed by the checks (no judge), stored as a worker would store them, and
    their queue built; with ``calibrated_only``, only the flags of frames with a calibration are queued."""
    root = data / name
    fmt, detections = REAL[name]
    dataset = load_dataset(root, fmt, [root / detections])
    calibrated = {f.id for f in dataset.frames if f.calib is not None}
    flags: dict[str, list[Finding]] = {}
    for f in review_dataset(dataset, spec).findings:
        if not calibrated_only or f.frame in calibrated:
            flags.setdefault(f.frame, []).append(f)
    with sessions.begin() as session:
        made = ingest_batch(session, dataset, spec, vendor=batch.get("vendor", "kitti-vendor"),
                            team=batch.get("team", "blue"), source_path=str(root))  # fmt: skip
        job = create_review_job(session, made.id, spec_hash=spec.hash, chunk_size=8)
    with sessions.begin() as session:
        for chunk in chunk_ids(session, job.id):
            lease = claim_chunk(session, chunk, "worker", lease_s=60)
            assert lease is not None
            finish_chunk(
                session, chunk, "worker", [x for k in lease.frame_keys for x in flags.get(k, [])], spec
            )
        build_review_items(session, job.id, spec, spot_check_share=0.0, seed=7)
    return Delivery(made.id, job.id, dataset.frames)


# --- the server -------------------------------------------------------------------------------------


@dataclass
class Site:
    """A running server, its database and a token per role (and per extra user)."""

    url: str
    settings: Settings
    sessions: sessionmaker[Session]
    spec: CompiledSpec
    tokens: dict[str, str] = field(default_factory=dict)

    def add_user(self, name: str, role: Role) -> str:
        with self.sessions.begin() as session:
            _, token = create_user(session, name, role)
        self.tokens[name] = token
        return token

    def seed(self, **options: Any) -> Delivery:
        return seed(self.sessions, self.spec, **options)

    def seed_kitti(self, data: Path, **options: Any) -> Delivery:
        return seed_kitti(self.sessions, self.spec, data, **options)


@contextmanager
def serve(settings: Settings) -> Iterator[str]:
    """``create_app(settings)`` served by uvicorn in a thread on a free loopback port; its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(settings), log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    """SQLite unless a test parametrizes ``backend`` itself (``indirect``) to add PostgreSQL."""
    return str(request.param)


@pytest.fixture
def store(
    backend: str, tmp_path: Path, new_database: Callable[..., AbstractContextManager[str]]
) -> Iterator[Site]:
    """A site's database and users, with no server (``url`` is empty): for tests that read what the
    pages would show without serving them."""
    with new_database(backend, tmp_path, "gtqa_ui") as url:
        upgrade(url)
        settings = Settings(
            _env_file=None,
            home=tmp_path / "home",
            database_url=url,
            spot_check_share=0.0,
            second_review_share=0.0,
        )
        engine: Engine = make_engine(url, pool_size=2)
        try:
            built = Site("", settings, make_session_factory(engine), load_spec(None))
            for role in Role:
                built.add_user(role.value, role)
            yield built
        finally:
            engine.dispose()


@pytest.fixture
def site(store: Site) -> Iterator[Site]:
    """``store`` served: its ``url`` is the running server's."""
    with serve(store.settings) as store.url:
        yield store


# --- the browser ------------------------------------------------------------------------------------


@dataclass
class Console:
    """What the pages wrote to the console as errors, and uncaught exceptions: a test fails on any."""

    errors: list[str] = field(default_factory=list)

    def watch(self, page: Any) -> None:
        page.on("console", lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))


# Module scope, not session: Playwright's sync API keeps an event loop running in this thread while it
# is open, and every later test that calls asyncio.run (the agent, the workers) would fail on it.
@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    from evals.harness.browser import CHROMIUM_ARGS

    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=str(chromium), args=list(CHROMIUM_ARGS))
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def console() -> Console:
    return Console()


@pytest.fixture
def page(browser: Any, console: Console) -> Iterator[Any]:
    """A fresh browser context (no cookies) and page, 1400 x 900, its console watched."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    console.watch(opened)
    try:
        yield opened
    finally:
        context.close()


def log_in(page: Any, site: Site, who: str) -> None:
    """Log in from the login page with the keyboard only: type the token, press Enter."""
    page.goto(f"{site.url}/ui/login")
    page.wait_for_function("() => document.activeElement?.id === 'token'")  # autofocus
    page.keyboard.type(site.tokens[who])
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "/ui/login" not in page.url, f"{who} could not log in"


@pytest.fixture
def login() -> Callable[[Any, Site, str], None]:
    return log_in
