"""The recipe for adding a check (gtqa/checks/registry.py, docs/architecture.md "Add a check"), followed
step by step with a toy check of a box's aspect ratio, and what each step changes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from cli.main import app
from gtqa.checks import registry
from gtqa.checks.base import Check, CheckParams, label_finding
from gtqa.checks.registry import UnknownCheckError
from gtqa.checks.scope import ReviewScope
from gtqa.checks.stats import compute_stats
from gtqa.domain import Box2D, CheckFamily, Dataset, Finding, Frame, IssueType, Label
from gtqa.review import review_dataset
from gtqa.scoring.priors import prior_probability
from gtqa.spec import CompiledSpec, compile_text, load_spec
from gtqa.spec.rules import Prior

SHIPPED = Path(__file__).resolve().parents[3] / "specs" / "kitti.md"
PRIORS_HEAD = "default: {p_low: 0.05, p_high: 0.6}\nchecks:\n"
TOY_PRIOR = Prior(p_low=0.4, p_high=0.95)


# Step 1: one module with Params, a pure check and CHECK (written here, as a module would be).


class Params(CheckParams):
    max_aspect: float = 6.0  # the longer side over the shorter one above which a box is suspect
    full_excess: float = 1.0  # log(aspect / max_aspect) that scores 1.0


def check(scope: ReviewScope, params: Params) -> list[Finding]:
    out: list[Finding] = []
    for frame in scope.frames:
        reviewed = scope.reviewed(frame)
        if not reviewed:
            continue
        boxes = frame.label_boxes()[[i for i, _ in reviewed]]
        w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
        aspect = np.maximum(w / h, h / w)
        excess = np.log(aspect / params.max_aspect)
        raw = np.clip(excess / params.full_excess, 0.0, 1.0)
        for k in np.flatnonzero(excess > 0):
            label = reviewed[k][1]
            message = (
                f"{label.cls} box is {aspect[k]:.1f} times longer than wide (at most {params.max_aspect:g})"
            )
            features = {"aspect": float(aspect[k])}
            out.append(
                label_finding(
                    label, IssueType.bad_box, float(raw[k]), CHECK.id, message, params, features=features
                )
            )
    return out


CHECK: Check[Any] = Check(
    id="toy_aspect",
    fn=check,
    params=Params,
    issue_types=(IssueType.bad_box,),
    family=CheckFamily.geometry,
    description="boxes far longer than wide (a recipe's toy)",
)


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Step 2: one line in the registry (``CHECKS``), as the module's import and entry would add it."""
    monkeypatch.setattr(registry, "CHECKS", (*registry.CHECKS, CHECK))
    monkeypatch.setattr(registry, "_BY_ID", {**registry._BY_ID, CHECK.id: CHECK})
    yield


def _spec_with_prior() -> CompiledSpec:
    """Step 3: the shipped spec with a prior for the check in its priors rule."""
    text = SHIPPED.read_text(encoding="utf-8")
    assert text.count(PRIORS_HEAD) == 1, "the priors rule of specs/kitti.md moved: mend this test"
    line = f"  {CHECK.id}: {{p_low: {TOY_PRIOR.p_low}, p_high: {TOY_PRIOR.p_high}}}\n"
    return compile_text(text.replace(PRIORS_HEAD, PRIORS_HEAD + line), str(SHIPPED))


def _dataset(width: float, height: float) -> Dataset:
    labels = (
        Label(id="f:0", frame="f", cls="Car", box=Box2D(x1=100, y1=100, x2=160, y2=140)),
        Label(id="f:1", frame="f", cls="Car", box=Box2D(x1=300, y1=100, x2=300 + width, y2=100 + height)),
    )
    frame = Frame(id="f", width=1242, height=375, labels=labels)
    return Dataset(name="toy", format="kitti", root="/toy", frames=(frame,))


def _raw(width: float, height: float) -> float:
    spec = load_spec()
    frames = _dataset(width, height).frames
    scope = ReviewScope(frames=frames, spec=spec, stats=compute_stats(frames, spec.is_reviewed))
    found = CHECK.run(scope)
    return found[0].raw if found else 0.0


def test_an_unregistered_check_is_refused_by_name() -> None:
    with pytest.raises(UnknownCheckError, match="unknown check 'toy_aspect'; valid checks:"):
        registry.select(["toy_aspect"])


def test_a_registered_check_is_run_by_the_review_and_listed_by_the_command(registered: None) -> None:
    result = review_dataset(_dataset(400, 20), load_spec(), checks=["toy_aspect"])
    (finding,) = result.findings
    assert (finding.check, finding.label, finding.type) == ("toy_aspect", "f:1", IssueType.bad_box)
    listed = CliRunner().invoke(app, ["checks"])
    assert listed.exit_code == 0 and "toy_aspect" in listed.stdout


def test_its_prior_in_the_spec_maps_its_evidence_to_a_probability(registered: None) -> None:
    shipped, stated = load_spec(), _spec_with_prior()
    assert CHECK.id not in shipped.priors.checks and stated.priors.checks[CHECK.id] == TOY_PRIOR
    data = _dataset(400, 20)
    (default,) = review_dataset(data, shipped, checks=["toy_aspect"]).findings
    (own,) = review_dataset(data, stated, checks=["toy_aspect"]).findings
    assert default.raw == own.raw > 0
    assert default.score == pytest.approx(prior_probability(shipped.priors.default, default.raw))
    assert own.score == pytest.approx(prior_probability(TOY_PRIOR, own.raw))
    assert own.score > default.score  # the stated belief, not the spec's default, decides


def test_step_4_a_longer_box_scores_higher() -> None:
    """The directional test: stretch a box a little, then a lot; the evidence moves the right way."""
    rng = np.random.default_rng(7)
    height = float(rng.uniform(15, 25))
    scores = [_raw(height * ratio, height) for ratio in (2.0, 7.0, 12.0, 30.0)]
    assert scores[0] == 0.0 and 0.0 < scores[1] < scores[2] < scores[3] <= 1.0
