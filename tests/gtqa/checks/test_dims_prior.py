from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gtqa.checks.scope import ReviewScope
from gtqa.checks.stats import compute_stats
from gtqa.checks.three_d import dims_prior
from gtqa.domain import Box2D, Cuboid3D, Dataset, Finding, Frame, IssueType, Label
from gtqa.formats import load_dataset
from gtqa.spec import load_spec

SPEC = load_spec()


def _label(h: float, w: float, l: float, cls: str = "Car", i: int = 0) -> Label:  # noqa: E741
    cuboid = Cuboid3D(h=h, w=w, l=l, x=1.0, y=1.6, z=20.0, rotation_y=0.0)
    return Label(id=f"f:{i}", frame="f", cls=cls, box=Box2D.from_seq((500, 160, 560, 200)), cuboid=cuboid)


def _run(*labels: Label) -> dict[str, Finding]:
    frame = Frame(id="f", labels=labels)
    scope = ReviewScope(frames=(frame,), spec=SPEC, stats=compute_stats([frame], SPEC.is_reviewed))
    return {f.label: f for f in dims_prior.CHECK.run(scope) if f.label}


def test_priors_come_from_the_spec() -> None:
    params = dims_prior.CHECK.params_for(SPEC)
    assert params.priors["Car"].h == pytest.approx(1.53) and params.priors["Pedestrian"].tolerance == 0.6


def test_a_typical_car_is_clean_and_a_two_storey_one_is_not() -> None:
    assert _run(_label(1.53, 1.63, 3.88)) == {}
    (finding,) = _run(_label(3.2, 1.63, 3.88)).values()
    assert finding.type is IssueType.geometry_3d and finding.raw == pytest.approx(1.0)
    assert "3D height 3.20 m is 2.09x the typical Car height of 1.53 m" in finding.message


def test_the_further_from_the_prior_the_stronger() -> None:
    rng = np.random.default_rng(30)
    for _ in range(20):
        dim = int(rng.integers(3))
        a, b = rng.uniform(0.4, 0.5), rng.uniform(0.8, 1.2)  # |log| x tolerance 0.6 (x1.5 for w, l)
        sign = rng.choice([-1.0, 1.0])
        raws = []
        for m in (a, b):
            size = np.array([1.53, 1.63, 3.88])
            size[dim] *= np.exp(sign * m * (0.6 if dim == 0 else 0.9))
            raws.append(_run(_label(*size)).get("f:0"))
        assert raws[1] is not None and (raws[0] is None or raws[0].raw < raws[1].raw)


def test_footprints_may_vary_more_than_heights() -> None:
    (tall,) = _run(_label(1.53 * 1.5, 1.63, 3.88)).values()
    assert tall.raw > 0.3 and tall.features["log_ratio_height"] == pytest.approx(np.log(1.5))
    assert _run(_label(1.53, 1.63, 3.88 * 1.5)) == {}  # a long car is a real thing


def test_unknown_cuboids_and_classes_without_a_prior_are_skipped() -> None:
    unknown = Label(id="f:0", frame="f", cls="Car", box=Box2D.from_seq((500, 160, 560, 200)))
    assert _run(unknown, _label(9.0, 9.0, 9.0, cls="Spaceship", i=1)) == {}


@pytest.fixture(scope="module")
def real(shared_data: Path) -> list[Dataset]:
    return [load_dataset(shared_data / "kitti_tracking"), load_dataset(shared_data / "kitti_object")]


def test_few_real_cuboids_are_far_from_the_priors(real: list[Dataset]) -> None:
    for dataset, allowed in zip(real, (0, 1), strict=True):
        scope = ReviewScope(
            frames=dataset.frames, spec=SPEC, stats=compute_stats(dataset.frames, SPEC.is_reviewed)
        )
        strong = [f for f in dims_prior.CHECK.run(scope) if f.raw >= 0.5]
        # Tracking 0016: none of 3,135 cuboids. kitti_object: one of 57, a pedestrian 0.41 m long
        # (0.49x the prior length; a person seen side-on, standing still).
        assert len(strong) <= allowed
