"""The temporal and 3D checks as a family: registered with stated priors, and chunk-independent."""

from __future__ import annotations

import pkgutil
from pathlib import Path

import numpy as np
import pytest

import gtqa.checks.temporal as temporal
import gtqa.checks.three_d as three_d
from gtqa.checks.registry import CHECKS
from gtqa.checks.runner import chunk_scopes
from gtqa.checks.scope import CONTEXT_FRAMES
from gtqa.checks.stats import compute_stats
from gtqa.domain import Box2D, CheckFamily, Dataset, Finding, Label
from gtqa.formats import load_dataset
from gtqa.spec import load_spec

SPEC = load_spec()
FAMILIES = {CheckFamily.temporal: temporal, CheckFamily.three_d: three_d}


def test_every_module_is_registered_with_a_stated_prior() -> None:
    registered = {c.fn.__module__: c for c in CHECKS}
    for family, package in FAMILIES.items():
        for m in pkgutil.iter_modules(package.__path__):
            if m.name.startswith("_"):
                continue
            check = registered[f"gtqa.checks.{family}.{m.name}"]
            assert check.family == family and check.requires, check.id
            assert check.id in SPEC.priors.checks, f"no prior for {check.id} in the spec's priors rule"
            assert all(r in SPEC.rules for r in check.rule_ids), check.rule_ids
            params = check.params_for(SPEC)
            assert getattr(params, "window", CONTEXT_FRAMES) <= CONTEXT_FRAMES


def _defect(x: Label, kind: int, t: int) -> list[Label]:
    """The labels that replace ``x`` for one kind of defect."""
    b = np.array(x.box.as_list())
    if kind == 0:
        return []  # dropped
    if kind == 1:
        return [x.model_copy(update={"cls": "Cyclist" if x.cls != "Cyclist" else "Pedestrian"})]
    if kind == 2:
        return [x.model_copy(update={"box": Box2D.from_seq(b + np.array([0, 0.3, 0, 0.3]) * (b[3] - b[1]))})]
    if kind == 3:
        return [x.model_copy(update={"occlusion": 2 if x.occlusion != 2 else 0})]
    if kind == 4:
        return [x, x.model_copy(update={"id": f"{x.id}+", "track_id": 900 + t})]  # pasted, new track
    if kind == 5:
        return [x, x.model_copy(update={"id": f"{x.id}*"})]  # the same track id twice
    c = x.cuboid
    return [x.model_copy(update={"cuboid": c.model_copy(update={"h": c.h * 1.3})})] if c else [x]


def _perturbed(dataset: Dataset, seed: int) -> Dataset:
    """0016 with a few of each defect the temporal checks look for, so that they have findings."""
    rng = np.random.default_rng(seed)
    frames = list(dataset.frames)
    for t in rng.choice(np.arange(5, len(frames) - 5), 24, replace=False):
        labels = [x for x in frames[t].labels if x.track_id is not None]
        x = labels[int(rng.integers(len(labels)))]
        rest = [y for y in frames[t].labels if y.id != x.id]
        frames[t] = frames[t].model_copy(
            update={"labels": (*rest, *_defect(x, int(rng.integers(7)), int(t)))}
        )
    # A broken id: one track renamed from frame 100 on.
    frames = [
        f.model_copy(
            update={
                "labels": tuple(
                    y.model_copy(update={"track_id": 777}) if y.track_id == 16 and f.index >= 100 else y
                    for y in f.labels
                )
            }
        )
        for f in frames
    ]
    return dataset.model_copy(update={"frames": tuple(frames)})


@pytest.fixture(scope="module")
def tracking(shared_data: Path) -> Dataset:
    return load_dataset(shared_data / "kitti_tracking")


def _findings(dataset: Dataset, check_id: str, chunk_size: int) -> list[Finding]:
    check = next(c for c in CHECKS if c.id == check_id)
    stats = compute_stats(dataset.frames, SPEC.is_reviewed)
    scopes = chunk_scopes(dataset.frames, SPEC, stats, chunk_size=chunk_size)
    return sorted((f for s in scopes for f in check.run(s)), key=lambda f: (f.frame, f.label or "", f.box))


@pytest.mark.parametrize("check_id", sorted(c.id for c in CHECKS if c.family is CheckFamily.temporal))
def test_temporal_findings_do_not_depend_on_chunking(tracking: Dataset, check_id: str) -> None:
    dataset = _perturbed(tracking, seed=50)
    small, whole = _findings(dataset, check_id, 7), _findings(dataset, check_id, 500)
    assert small, f"{check_id} found nothing to compare"
    assert [f.model_dump() for f in small] == [f.model_dump() for f in whole]
