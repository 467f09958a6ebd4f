from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gtqa.checks.geometry import truncation_border
from gtqa.checks.runner import chunk_scopes
from gtqa.checks.scope import ReviewScope
from gtqa.checks.stats import compute_stats
from gtqa.domain import Box2D, Finding, Frame, IssueType, Label
from gtqa.formats import load_dataset
from gtqa.spec import load_spec

W, H = 1224, 370


def _run(
    box: tuple[float, float, float, float], truncation: float | None, size: tuple[int, int] | None = (W, H)
) -> list[Finding]:
    spec = load_spec()
    label = Label(id="f:0", frame="f", cls="Car", box=Box2D.from_seq(box), truncation=truncation)
    frame = Frame(id="f", width=size[0] if size else None, height=size[1] if size else None, labels=(label,))
    scope = ReviewScope(frames=(frame,), spec=spec, stats=compute_stats([frame], spec.is_reviewed))
    return truncation_border.CHECK.run(scope)


def test_params_come_from_the_spec() -> None:
    params = truncation_border.CHECK.params_for(load_spec())
    assert (params.border_margin_px, params.min_when_touching, params.max_when_inside) == (2, 0.05, 0.1)


def test_consistent_labels_pass() -> None:
    assert _run((100, 150, 300, 250), 0.0) == []  # inside, not truncated
    assert _run((0, 150, 100, 250), 0.5) == []  # at the left border, truncated
    assert _run((1100, 150, W - 1, 250), 0.3) == []  # at the right border, truncated


def test_unknown_truncation_or_image_size_is_never_a_finding() -> None:
    assert _run((0, 150, 100, 250), None) == []
    assert _run((400, 150, 500, 250), None) == []
    assert _run((400, 150, 500, 250), 0.8, size=None) == []


def test_truncated_but_inside_is_strong_evidence() -> None:
    (finding,) = _run((400, 150, 500, 250), 0.5)
    assert finding.type is IssueType.attribute and finding.raw == pytest.approx(1.0)
    assert "truncation is 0.50 but the box is 119 px from the nearest (bottom) border" in finding.message
    assert finding.rule_ids == ("truncation",)


def test_touching_but_not_truncated_is_weak_evidence() -> None:
    (finding,) = _run((1100, 150, W - 1, 250), 0.0)
    assert finding.raw == pytest.approx(0.3)
    assert "touches the right image border but truncation is 0.00" in finding.message


def test_more_truncation_farther_from_the_border_scores_higher() -> None:
    rng = np.random.default_rng(5)
    for _ in range(20):
        w, h = rng.uniform(20, 120), rng.uniform(20, 100)
        near, far = rng.uniform(3, 8), rng.uniform(40, 100)  # px from the left border
        t_little, t_lot = rng.uniform(0.12, 0.2), rng.uniform(0.4, 0.9)
        (a,) = _run((near, 150, near + w, 150 + h), t_little)
        (b,) = _run((far, 150, far + w, 150 + h), t_lot)
        (c,) = _run((far, 150, far + w, 150 + h), t_little)
        assert b.raw > c.raw > a.raw > 0


def _real(root: Path) -> tuple[list[Finding], int]:
    spec = load_spec()
    data = load_dataset(root)
    stats = compute_stats(data.frames, spec.is_reviewed)
    findings = [f for s in chunk_scopes(data.frames, spec, stats) for f in truncation_border.CHECK.run(s)]
    return findings, sum(1 for lab in data.labels() if spec.is_reviewed(lab.cls))


@pytest.mark.parametrize(("name", "bound"), [("kitti_tracking", 0.12), ("kitti_object", 0.05)])
def test_real_labels_rarely_disagree_and_never_strongly(shared_data: Path, name: str, bound: float) -> None:
    # Measured: no real label is truncated away from the borders. Touching-but-0 is 9.6% of tracking
    # labels (209 of the 300 are one parked car cut by the right border, truncated in the image yet
    # marked level 0) and 1 of 57 object labels; those stay weak (raw 0.3).
    findings, n = _real(shared_data / name)
    assert len(findings) <= bound * n
    assert sum(f.raw >= 0.5 for f in findings) <= 0.001 * n
