"""Calibrated defect probabilities learned from past audits.

``fit_calibration`` trains a gradient-boosted model (LightGBM) on the evidence of flags whose outcome
auditors know (``gtqa.scoring.targets``), then maps its output to probabilities with one logistic map
(Platt scaling) fitted on out-of-fold predictions (grouped by frame, so a frame never calibrates
itself). The booster sees each flag's issue type among its features, so its output is already per
type; the map is strictly increasing and shared, so the probabilities keep the model's ranking. (An
isotonic map's steps tie flags the model told apart, and maps fitted per type on a few dozen positives
each reorder the types against the model: on the re-check, both cost AP and recall; see
benchmarks/RESULTS.md.) The model's validation metrics include the calibration error per issue type.
The model file is JSON: versioned, carrying the booster as LightGBM's own text, the spec hash it was
fitted under, what it depends on in that spec (``gtqa.scoring.pinning``: the rules and checks whose
evidence it reads, and their parameters), a hash of its training data and its own validation metrics.
It applies under any spec whose dependencies are unchanged (an unrelated rule, a prior for another
check, a class it never saw or an edit of prose keeps it); applying it where a dependency changed raises
``CalibrationSpecMismatchError`` naming the rule, unless the caller says so explicitly. A file without
the dependencies (written before they were recorded) is pinned to the whole spec hash, as it was.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from gtqa.domain import Finding, IssueType
from gtqa.scoring.features import FeatureSpace
from gtqa.scoring.fuse import mark_followers
from gtqa.scoring.pinning import SpecPin, mismatch_message
from gtqa.scoring.reliability import brier, expected_calibration_error
from gtqa.scoring.scorer import PriorScorer, Scorer, fused_priors
from gtqa.spec import CompiledSpec, content_hash

MODEL_KIND: Literal["gtqa-calibration"] = "gtqa-calibration"
MODEL_VERSION = 2  # 2: logistic maps (1 had isotonic ones)
# Small trees, strong regularisation: audits are scarce (hundreds of positives), features are many.
LGB_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_data_in_leaf": 20,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "verbose": -1,
    "seed": 0,
    "num_threads": 2,
    "deterministic": True,
    "force_row_wise": True,
}
ROUNDS = 100
ENSEMBLE = 5  # boosters with different bagging seeds, averaged: steadier rankings on scarce audits
MIN_TYPE_ITEMS = 60  # a type's own calibration error is reported above this many audited flags


class CalibrationSpecMismatchError(ValueError):
    """A calibration fitted under one spec applied to flags of another."""


class LogisticMap(BaseModel):
    """A strictly increasing map from model output p to probability: sigmoid(a * logit(p) + b)."""

    model_config = ConfigDict(frozen=True)

    a: float
    b: float

    def __call__(self, p: np.ndarray) -> np.ndarray:
        return np.asarray(1.0 / (1.0 + np.exp(-(self.a * _logit(p) + self.b))), dtype=np.float64)

    @classmethod
    def fit(cls, p: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> LogisticMap:
        from sklearn.linear_model import LogisticRegression

        # Practically unpenalised: two parameters fitted on hundreds of audits need no shrinkage.
        lr = LogisticRegression(C=1e6, max_iter=1000).fit(_logit(p)[:, None], y, sample_weight=w)
        a = float(lr.coef_[0, 0])
        if a <= 0.0:  # the model ranks backwards on these audits: keep its order, calibrate the level
            return cls(a=1e-6, b=float(_logit(np.array([y.mean()]))[0]))
        return cls(a=a, b=float(lr.intercept_[0]))


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(np.asarray(p, dtype=np.float64), 1e-6, 1.0 - 1e-6)
    return np.asarray(np.log(q / (1.0 - q)), dtype=np.float64)


class CalibrationModel(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Literal["gtqa-calibration"] = MODEL_KIND
    version: int = MODEL_VERSION
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    spec_name: str
    spec_hash: str
    pin: SpecPin | None = Field(default=None, description="what it depends on in the spec; None: the hash")
    formats: tuple[str, ...] = Field(default=(), description="data formats of the training datasets")
    detectors: tuple[str, ...] = Field(default=(), description="detector names seen in training")
    training_hash: str = Field(description="hash of the training flags' evidence and targets")
    features: FeatureSpace
    boosters: tuple[str, ...] = Field(description="LightGBM models in LightGBM's text format, averaged")
    calibrator: LogisticMap = Field(description="booster output -> probability, for every type seen")
    types: tuple[IssueType, ...] = Field(description="issue types seen in training; others keep priors")
    counts: dict[str, dict[str, int]] = Field(description="issue type -> {items, positives}")
    validation: dict[str, float] = Field(description="out-of-fold metrics on the training audits")
    params: dict[str, Any]
    rounds: int

    @cached_property
    def _parsed_boosters(self) -> list[Any]:
        """The boosters parsed once per model: parsing their text takes ~0.1 s, and scoring is per chunk."""
        import lightgbm as lgb

        return [lgb.Booster(model_str=text) for text in self.boosters]

    def raw_scores(self, findings: Sequence[Finding]) -> np.ndarray:
        return _predict(self._parsed_boosters, self.features.matrix(findings))

    def predict(self, findings: Sequence[Finding]) -> np.ndarray:
        """Calibrated probabilities; NaN for flags of issue types the model never saw."""
        if not findings:
            return np.zeros(0)
        raw = self.raw_scores(findings)
        out = np.full(len(findings), np.nan)
        seen = np.array([f.type in self.types for f in findings])
        out[seen] = self.calibrator(raw[seen])
        return out

    def spec_changes(self, spec: CompiledSpec) -> list[str]:
        """What changed in ``spec`` that this calibration depends on (empty: it applies under ``spec``)."""
        if spec.hash == self.spec_hash:
            return []
        if self.pin is None:  # a file from before dependencies were recorded: pinned to the whole spec
            return [f"the whole spec (the file records no dependencies; fitted under {self.spec_hash[:12]})"]
        return self.pin.changes(spec)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.model_dump_json(indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> CalibrationModel:
        text = path.read_text(encoding="utf-8")
        version = _file_version(text)
        if version is not None and version != MODEL_VERSION:
            raise CalibrationVersionError(
                f"{path}: calibration file version {version}, this gtqa reads version {MODEL_VERSION}: "
                "refit it with gtqa calibrate (for the KITTI spec: scripts/build_calibration.sh)"
            )
        return cls.model_validate_json(text)


class CalibrationVersionError(ValueError):
    """A calibration file written by another version of the format."""


def _file_version(text: str) -> object:
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return None  # let validation say what is wrong with it
    return data.get("version", MODEL_VERSION) if isinstance(data, dict) else None


def _train(x: np.ndarray, y: np.ndarray, rounds: int, seed: int, w: np.ndarray | None = None) -> list[Any]:
    import lightgbm as lgb

    data = lgb.Dataset(x, label=y, weight=w, free_raw_data=False)
    return [
        lgb.train({**LGB_PARAMS, "seed": seed * ENSEMBLE + k}, data, num_boost_round=rounds)
        for k in range(ENSEMBLE)
    ]


def _predict(boosters: list[Any], x: np.ndarray) -> np.ndarray:
    return np.asarray(np.mean([b.predict(x) for b in boosters], axis=0), dtype=np.float64)


def group_folds(groups: Sequence[str], folds: int, seed: int) -> np.ndarray:
    """A fold number per item, whole groups kept together (shuffled, balanced by size)."""
    names = sorted(set(groups))
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(names))
    fold_of = {names[i]: k % folds for k, i in enumerate(order)}
    return np.array([fold_of[g] for g in groups], dtype=int)


def _oof(
    x: np.ndarray, y: np.ndarray, fold: np.ndarray, rounds: int, seed: int, w: np.ndarray | None = None
) -> np.ndarray:
    out = np.zeros(len(y))
    for k in np.unique(fold):
        test = fold == k
        if len(np.unique(y[~test])) < 2:
            out[test] = y[~test].mean() if (~test).any() else 0.5
            continue
        wk = None if w is None else w[~test]
        out[test] = _predict(_train(x[~test], y[~test], rounds, seed, wk), x[test])
    return out


def fit_calibration(
    findings: Sequence[Finding],
    targets: Sequence[float | None],
    groups: Sequence[str],
    spec: CompiledSpec,
    *,
    folds: int = 5,
    seed: int = 0,
    rounds: int = ROUNDS,
    formats: Sequence[str] = (),
    detectors: Sequence[str] = (),
    weights: Sequence[float] | None = None,
) -> CalibrationModel:
    """Fit on the flags whose target is known; ``groups`` (one per flag, e.g. its frame) keep related
    flags in one fold when fitting the probability maps. Give every flag of the audited frames, with None
    targets where the outcome is unknown: a flag's context features depend on its frame's other flags.
    ``weights`` (one per flag, optional) weigh the known flags in the boosters and the map, e.g. inverse
    inclusion probabilities when the audited flags were not a random sample (``evals.replay``)."""
    known = [i for i, t in enumerate(targets) if t is not None]
    items = [findings[i] for i in known]
    y = np.array([targets[i] for i in known], dtype=np.float64)
    w = None if weights is None else np.array([weights[i] for i in known], dtype=np.float64)
    if len(np.unique(y)) < 2:
        raise ValueError("calibration needs audits with both real defects and false alarms")
    # Features over every flag given (context features see the whole frame, audited or not), rows of
    # the audited ones.
    space, matrix = FeatureSpace.fit_matrix(findings)
    x = matrix[known]
    fold = group_folds([groups[i] for i in known], folds, seed)
    oof = _oof(x, y, fold, rounds, seed, w)
    types = np.array([f.type.value for f in items])
    calibrated = _cross_fitted(oof, y, fold)
    validation = {
        "items": float(len(y)),
        "positives": float(y.sum()),
        "ece_oof": expected_calibration_error(calibrated, y),
        "brier_oof": brier(calibrated, y),
    }
    counts: dict[str, dict[str, int]] = {}
    for t in sorted(set(types)):
        mask = types == t
        counts[t] = {"items": int(mask.sum()), "positives": int(y[mask].sum())}
        if mask.sum() >= MIN_TYPE_ITEMS:
            validation[f"ece_oof.{t}"] = expected_calibration_error(calibrated[mask], y[mask])
    return CalibrationModel(
        spec_name=spec.name,
        spec_hash=spec.hash,
        pin=_pin(spec, findings),
        formats=tuple(sorted(set(formats))),
        detectors=tuple(sorted(set(detectors))),
        training_hash=content_hash(
            [x.round(6).tolist(), y.tolist(), *([] if w is None else [w.round(6).tolist()])]
        ),
        features=space,
        boosters=tuple(b.model_to_string() for b in _train(x, y, rounds, seed, w)),
        calibrator=LogisticMap.fit(oof, y, w),
        types=tuple(IssueType(t) for t in sorted(set(types))),
        counts=counts,
        validation=validation,
        params={**LGB_PARAMS, "seed": seed},
        rounds=rounds,
    )


def _pin(spec: CompiledSpec, findings: Sequence[Finding]) -> SpecPin:
    """What the calibration depends on: the checks whose evidence its flags carry (and their context
    features, over every flag given), on the classes of those flags."""
    checks = {c for f in findings for c in (f.check, *f.evidence)}
    return SpecPin.of(spec, checks, {f.cls for f in findings if f.cls})


def _cross_fitted(oof: np.ndarray, y: np.ndarray, fold: np.ndarray) -> np.ndarray:
    """Out-of-fold calibrated probabilities: each fold's flags mapped by a map fitted on the other folds'
    out-of-fold scores (a map scored on its own data would look better than it is)."""
    out = np.zeros(len(y))
    for k in np.unique(fold):
        test = fold == k
        out[test] = LogisticMap.fit(oof[~test], y[~test])(oof[test])
    return out


def cross_validated_scores(
    findings: Sequence[Finding],
    targets: Sequence[float | None],
    groups: Sequence[str],
    spec: CompiledSpec,
    *,
    folds: int = 5,
    seed: int = 0,
    rounds: int = ROUNDS,
    extra: tuple[Sequence[Finding], Sequence[float | None], Sequence[str]] = ((), (), ()),
) -> tuple[np.ndarray, np.ndarray]:
    """Every flag's calibrated score from a model fitted without its group (outer grouped K-fold), and
    the fold of each flag. Flags of types a fold's model never saw keep their prior score. ``extra``
    (flags, targets, groups of other audited data) joins every fold's training and is never scored: a
    calibration fitted on several datasets, evaluated on one of them."""
    fold = group_folds(groups, folds, seed)
    scores = np.array([f.score for f in findings], dtype=np.float64)
    extra_findings, extra_targets, extra_groups = extra
    for k in range(folds):
        test = [int(i) for i in np.flatnonzero(fold == k)]
        train = [int(i) for i in np.flatnonzero(fold != k)]
        model = fit_calibration(
            [*(findings[i] for i in train), *extra_findings],
            [*(targets[i] for i in train), *extra_targets],
            [*(groups[i] for i in train), *extra_groups],
            spec,
            folds=folds,
            seed=seed,
            rounds=rounds,
        )
        p = model.predict([findings[i] for i in test])
        scores[test] = np.where(np.isnan(p), scores[test], p)
    return scores, fold


class CalibratedScorer:
    """Priors and fusion first, then the calibration's probability for the types it was fitted on."""

    name = "calibrated"

    def __init__(self, model: CalibrationModel, *, allow_spec_mismatch: bool = False) -> None:
        self.model = model
        self.allow_spec_mismatch = allow_spec_mismatch
        self._warned: set[str] = set()
        self._applies: set[str] = set()  # spec hashes whose dependencies were found unchanged

    def score(self, raw: Sequence[Finding], spec: CompiledSpec) -> list[Finding]:
        self.check_spec(spec)
        # The model's inputs; which flag leads is decided on the final scores.
        return mark_followers(apply_model(self.model, fused_priors(raw, spec)))

    def check_spec(self, spec: CompiledSpec) -> None:
        """Raise when the spec changed what the calibration depends on, or warn once when that is allowed."""
        if spec.hash in self._warned or spec.hash in self._applies:
            return
        changes = self.model.spec_changes(spec)
        if not changes:
            self._applies.add(spec.hash)
            return
        message = (
            f"calibration was fitted under spec {self.model.spec_name} {self.model.spec_hash[:12]} but the "
            f"flags are scored under {spec.name} {spec.hash[:12]}, and {mismatch_message(changes)}: its "
            "probabilities may not hold"
        )
        if not self.allow_spec_mismatch:
            raise CalibrationSpecMismatchError(
                message + " (refit it with gtqa calibrate, or allow the mismatch explicitly)"
            )
        self._warned.add(spec.hash)
        warnings.warn(message, stacklevel=2)


def apply_model(model: CalibrationModel, fused: Sequence[Finding]) -> list[Finding]:
    p = model.predict(fused)
    return [f if np.isnan(pi) else _calibrated(f, float(pi)) for f, pi in zip(fused, p, strict=True)]


def _calibrated(f: Finding, p: float) -> Finding:
    # The prior stays among the features: it is the model's own input, and evidence for auditors.
    return f.model_copy(update={"score": p, "features": {**f.features, "prior": f.score}})


REFIT = "refit it with gtqa calibrate (for the KITTI spec: scripts/build_calibration.sh)"


def default_calibration_path(spec: CompiledSpec) -> Path:
    """Where a spec's default calibration lives: ``<spec>.calibration.json`` next to the spec file."""
    path = Path(spec.path)
    return path.with_name(f"{path.stem}.calibration.json")


@dataclass(frozen=True)
class CalibrationStatus:
    """Whether a spec's default calibration applies under it, and if not, why (for the pages)."""

    path: Path
    formats: tuple[str, ...]
    changes: tuple[str, ...]  # what changed in the spec that it depends on; empty: it applies
    error: str | None = None  # the file cannot be read by this gtqa

    @property
    def applies(self) -> bool:
        return self.error is None and not self.changes

    @property
    def note(self) -> str:
        if self.error is not None:
            return f"{self.error}: the spec's priors score its flags"
        if self.changes:
            return f"{mismatch_message(self.changes)}: the spec's priors score its flags; {REFIT}"
        return f"applies to {', '.join(self.formats)} data"


def default_calibration_status(spec: CompiledSpec) -> CalibrationStatus | None:
    """The spec's default calibration and whether it applies under ``spec``; None when it has none."""
    path = default_calibration_path(spec)
    if not path.is_file():
        return None
    try:
        model = CalibrationModel.load(path)
    except (CalibrationVersionError, ValueError, OSError) as exc:
        return CalibrationStatus(path, (), (), str(exc).splitlines()[0])
    return CalibrationStatus(path, model.formats, tuple(model.spec_changes(spec)))


@dataclass(frozen=True)
class ScorerChoice:
    scorer: Scorer
    note: str  # which scorer, and why
    stale: bool  # a default calibration exists but was fitted under another spec version or file format


def default_scorer(spec: CompiledSpec, data_format: str) -> ScorerChoice:
    """The spec's default calibration when it was fitted on ``data_format`` data under a spec whose rules
    it depends on are those of ``spec``, else the spec's priors (a calibration whose rules changed
    scores against evidence it was not fitted on)."""
    path = default_calibration_path(spec)
    if not path.is_file():
        return ScorerChoice(PriorScorer(), f"no default calibration at {path}: the spec's priors", False)
    try:
        model = CalibrationModel.load(path)
    except CalibrationVersionError as exc:
        return ScorerChoice(PriorScorer(), f"{exc}; using the spec's priors", True)
    if data_format not in model.formats:
        note = f"{path} was fitted on {', '.join(model.formats)}, not {data_format}: the spec's priors"
        return ScorerChoice(PriorScorer(), note, False)
    changes = model.spec_changes(spec)
    if changes:
        note = (
            f"the default calibration {path} was fitted under another version of spec {spec.name} "
            f"({model.spec_hash[:12]}, now {spec.hash[:12]}) and {mismatch_message(changes)}: using the "
            f"spec's priors; {REFIT}"
        )
        return ScorerChoice(PriorScorer(), note, True)
    return ScorerChoice(
        CalibratedScorer(model), f"calibration: {path} (fitted on {', '.join(model.formats)})", False
    )


def as_fused_prior(stored: Finding) -> Finding:
    """The fused-priors flag a stored flag was scored from (the calibration's input): a calibrated flag
    keeps its prior among its features (``_calibrated``), a judged flag its pre-judge score as
    ``heuristic_score``; which flag follows which is decided again on the new scores."""
    features = dict(stored.features)
    prior = features.pop("prior", None)
    before_judge = stored.heuristic_score if stored.heuristic_score is not None else stored.score
    return stored.model_copy(
        update={
            "score": prior if prior is not None else before_judge,
            "features": features,
            "heuristic_score": None,
            "judge": None,
            "needs_human": False,
            "follows": False,
        }
    )


def rescored(stored: Sequence[Finding], model: CalibrationModel | None) -> list[Finding]:
    """Stored flags (whole frames: context features) scored again by ``model`` (None: the spec's priors),
    in the input order. A judge's opinion moves the new score by the same log-odds it moved the old one
    (the judge's likelihood ratio does not depend on the calibration), and followers are marked again."""
    priors = [as_fused_prior(f) for f in stored]
    scored = apply_model(model, priors) if model is not None else priors
    judged = [_rejudged(new, old) for new, old in zip(scored, stored, strict=True)]
    slots: dict[tuple[object, ...], list[int]] = {}
    for i, f in enumerate(judged):
        slots.setdefault(_identity(f), []).append(i)
    out = list(judged)
    for f in mark_followers(judged):  # returns them in review order, followers marked
        out[slots[_identity(f)].pop(0)] = f
    return out


def _identity(f: Finding) -> tuple[object, ...]:
    return (f.frame, f.label, f.type, f.check, tuple(f.box), f.score)


def _rejudged(new: Finding, old: Finding) -> Finding:
    if old.heuristic_score is None:
        return new
    shift = float(_logit(np.array([old.score]))[0] - _logit(np.array([old.heuristic_score]))[0])
    score = float(1.0 / (1.0 + np.exp(-(_logit(np.array([new.score]))[0] + shift))))
    return new.model_copy(
        update={
            "score": score,
            "heuristic_score": new.score,
            "judge": old.judge,
            "needs_human": old.needs_human,
        }
    )
