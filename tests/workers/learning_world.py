"""A synthetic reviewed batch for the learning-queue tests: every label carries one flag whose evidence
``size_outlier.x`` says how likely it is a real defect (sigmoid(10x - 5)), while its prior score is
uniform noise, so a calibration fitted on audits of it ranks far better than the priors."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from gtqa.domain import Box2D, Dataset, Finding, Frame, IssueType, Label
from gtqa.scoring.calibration import CalibrationModel, fit_calibration
from gtqa.spec import CompiledSpec
from gtqa.storage import (
    build_review_items,
    chunk_ids,
    claim_chunk,
    create_review_job,
    finish_chunk,
    ingest_batch,
)
from workers.learning import Fitter


def queue_synthetic(
    sessions: sessionmaker[Session], spec: CompiledSpec, n_frames: int, n_labels: int, seed: int = 7
) -> tuple[int, dict[str, bool]]:
    """A reviewed KITTI batch: one flag per label, stored and queued; the truth per label key."""
    rng = np.random.default_rng(seed)
    frames, findings, truth = [], [], {}
    for f in range(n_frames):
        key = f"{f:06d}"
        labels = []
        for i in range(n_labels):
            box = Box2D(x1=60.0 * i, y1=20.0, x2=60.0 * i + 40.0, y2=80.0)
            labels.append(Label(id=f"{key}:{i}", frame=key, cls="Car", box=box))
            x = float(rng.uniform())
            truth[f"{key}:{i}"] = bool(rng.uniform() < 1.0 / (1.0 + np.exp(-(10 * x - 5))))
            findings.append(_flag(key, i, box, x, float(rng.uniform(0.1, 0.9))))
        frames.append(Frame(id=key, width=1242, height=375, labels=tuple(labels)))
    dataset = Dataset(name="synthetic", format="kitti", root="/data", frames=tuple(frames))
    with sessions.begin() as session:
        batch = ingest_batch(session, dataset, spec)
        job = create_review_job(session, batch.id, spec_hash=spec.hash, chunk_size=n_frames)
    with sessions.begin() as session:
        (chunk_id,) = chunk_ids(session, job.id)
        lease = claim_chunk(session, chunk_id, "w", lease_s=60)
        assert lease is not None
        finish_chunk(session, chunk_id, "w", findings, spec)
        build_review_items(session, job.id, spec, spot_check_share=0.0)
    return job.id, truth


def _flag(frame: str, i: int, box: Box2D, x: float, prior: float) -> Finding:
    return Finding(
        frame=frame,
        label=f"{frame}:{i}",
        type=IssueType.bad_box,
        score=prior,
        raw=prior,
        box=(box.x1, box.y1, box.x2, box.y2),
        check="size_outlier",
        message="",
        features={"size_outlier.x": x},
        cls="Car",
    )


def quick_fitter(flip: bool = False, delay: float = 0.0) -> Fitter:
    """A small LightGBM fit (3 folds, 20 rounds); ``flip``: on the opposite outcomes (a worse model)."""

    def fit(
        flags: Sequence[Finding],
        targets: Sequence[float | None],
        groups: Sequence[str],
        spec: CompiledSpec,
        weights: Sequence[float],
    ) -> CalibrationModel:
        time.sleep(delay)
        y = [None if t is None else (1.0 - t if flip else t) for t in targets]
        return fit_calibration(flags, y, groups, spec, folds=3, rounds=20, weights=weights)

    return fit
