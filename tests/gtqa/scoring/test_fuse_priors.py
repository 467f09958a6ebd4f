from __future__ import annotations

import pytest

from gtqa.domain import Finding, IssueType
from gtqa.scoring import apply_priors, fuse, prior_probability
from gtqa.spec import load_spec
from gtqa.spec.rules import Prior


def _f(
    check: str,
    raw: float,
    *,
    label: str | None = "a:0",
    issue: IssueType = IssueType.bad_box,
    box: tuple[float, float, float, float] = (0, 0, 10, 10),
    frame: str = "f",
) -> Finding:
    return Finding(
        frame=frame,
        label=label,
        type=issue,
        score=raw,
        raw=raw,
        box=box,
        check=check,
        message=f"{check} says so",
        features={"x": raw},
    )


def test_prior_interpolates_in_log_odds_between_the_spec_ends() -> None:
    prior = Prior(p_low=0.1, p_high=0.9)
    assert prior_probability(prior, 0.0) == pytest.approx(0.1, abs=1e-6)
    assert prior_probability(prior, 1.0) == pytest.approx(0.9, abs=1e-6)
    assert prior_probability(prior, 0.5) == pytest.approx(0.5, abs=1e-6)
    values = [prior_probability(prior, r / 10) for r in range(11)]
    assert values == sorted(values)


def test_apply_priors_uses_the_checks_own_prior() -> None:
    spec = load_spec()
    [scored] = apply_priors([_f("degenerate_box", 1.0)], spec)
    assert scored.score == pytest.approx(spec.priors.for_check("degenerate_box").p_high, abs=1e-3)


def test_fuse_keeps_one_flag_per_label_and_type_with_noisy_or() -> None:
    flags = [_f("a", 0.5), _f("b", 0.5), _f("c", 0.9, issue=IssueType.duplicate)]
    fused = fuse(flags, spec_hash="h")
    assert len(fused) == 2
    bad = next(f for f in fused if f.type is IssueType.bad_box)
    assert bad.score == pytest.approx(0.75)
    assert bad.evidence == ("a", "b")
    assert bad.features == {"raw.a": 0.5, "raw.b": 0.5, "a.x": 0.5, "b.x": 0.5}
    assert bad.spec_hash == "h"
    assert fused[0].type is IssueType.duplicate  # highest score first


def test_fuse_merges_overlapping_missing_proposals_only() -> None:
    flags = [
        _f("m1", 0.9, label=None, issue=IssueType.missing_object, box=(0, 0, 10, 10)),
        _f("m2", 0.6, label=None, issue=IssueType.missing_object, box=(1, 0, 11, 10)),
        _f("m2", 0.7, label=None, issue=IssueType.missing_object, box=(50, 50, 60, 60)),
        _f("m1", 0.7, label=None, issue=IssueType.missing_object, box=(1, 0, 11, 10), frame="g"),
    ]
    fused = fuse(flags)
    assert len(fused) == 3
    merged = next(f for f in fused if f.frame == "f" and f.box[0] < 5)
    assert merged.box == (0, 0, 10, 10)  # the strongest proposal's box
    assert merged.score == pytest.approx(1 - 0.1 * 0.4)
    assert merged.track is None


def test_a_merged_proposal_keeps_the_track_of_a_gap_among_its_members() -> None:
    detector = _f("m1", 0.9, label=None, issue=IssueType.missing_object, box=(0, 0, 10, 10))
    gap = _f("gap", 0.6, label=None, issue=IssueType.missing_object, box=(1, 0, 11, 10))
    (merged,) = fuse([detector, gap.model_copy(update={"track": 7})])
    assert merged.check == "m1" and merged.track == 7
