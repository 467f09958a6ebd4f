"""The one list of checks. The CLI, the agent, the workers, the API and the evals all iterate it.

Adding a check (docs/architecture.md, "Add a check"; tests/gtqa/checks/test_recipe.py follows it):

1. one module in its family's folder with a ``Params`` model (the thresholds, defaults from the spec),
   a pure ``check(scope, params) -> list[Finding]`` and ``CHECK = Check(...)``;
2. one line here, in ``CHECKS``;
3. a prior for its id in the spec's ``priors`` rule (``specs/kitti.md``): without one its flags get the
   spec's default prior, and the registry tests of the geometry, temporal and 3D families refuse it;
   every rule id the check cites must exist in the spec;
4. one directional test: a box perturbed a little, then a lot, and the score moves the right way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from gtqa.checks.base import Check
from gtqa.checks.geometry import (
    degenerate,
    duplicate,
    in_dontcare,
    min_size,
    occlusion_overlap,
    out_of_image,
    required_attributes,
    size_outlier,
    truncation_border,
    unknown_class,
)
from gtqa.checks.image import edge_fit, textureless
from gtqa.checks.lidar import cluster as lidar_cluster
from gtqa.checks.lidar import dims as lidar_dims
from gtqa.checks.lidar import duplicate as lidar_duplicate
from gtqa.checks.lidar import ground as lidar_ground
from gtqa.checks.lidar import motion as lidar_motion
from gtqa.checks.lidar import points as lidar_points
from gtqa.checks.lidar import size as lidar_size
from gtqa.checks.model import (
    detector_support,
    missing_object,
    pred_bad_box,
    pred_wrong_class,
    unsupported_label,
)
from gtqa.checks.temporal import (
    attribute_flip,
    dims_jump,
    short_track,
    track_class_change,
    track_gap,
    track_id_switch,
    track_jump,
)
from gtqa.checks.three_d import depth_height, dims_prior, projection
from gtqa.domain import Dataset, Frame, Requirement
from gtqa.domain.lidar import LIDAR_KEY, SWEEP_KEY, is_lidar

CHECKS: tuple[Check[Any], ...] = (
    degenerate.CHECK,
    duplicate.CHECK,
    out_of_image.CHECK,
    min_size.CHECK,
    size_outlier.CHECK,
    in_dontcare.CHECK,
    unknown_class.CHECK,
    required_attributes.CHECK,
    truncation_border.CHECK,
    occlusion_overlap.CHECK,
    missing_object.CHECK,
    pred_bad_box.CHECK,
    pred_wrong_class.CHECK,
    unsupported_label.CHECK,
    detector_support.CHECK,
    edge_fit.CHECK,
    textureless.CHECK,
    dims_prior.CHECK,
    projection.CHECK,
    depth_height.CHECK,
    track_gap.CHECK,
    track_class_change.CHECK,
    track_id_switch.CHECK,
    track_jump.CHECK,
    dims_jump.CHECK,
    attribute_flip.CHECK,
    short_track.CHECK,
    lidar_size.CHECK,
    lidar_duplicate.CHECK,
    lidar_ground.CHECK,
    lidar_motion.CHECK,
    lidar_dims.CHECK,
    lidar_points.CHECK,
    lidar_cluster.CHECK,
)

_BY_ID = {c.id: c for c in CHECKS}
assert len(_BY_ID) == len(CHECKS), "duplicate check id in the registry"


class UnknownCheckError(KeyError):
    def __init__(self, check_id: str) -> None:
        super().__init__(f"unknown check {check_id!r}; valid checks: {', '.join(sorted(_BY_ID))}")

    def __str__(self) -> str:
        return str(self.args[0])


def get_check(check_id: str) -> Check[Any]:
    try:
        return _BY_ID[check_id]
    except KeyError:
        raise UnknownCheckError(check_id) from None


def select(ids: Sequence[str] | None = None, *, exclude: Sequence[str] = ()) -> list[Check[Any]]:
    """The checks named (all of them by default), minus ``exclude``; unknown ids raise."""
    chosen = [get_check(i) for i in ids] if ids else list(CHECKS)
    skip = {get_check(i).id for i in exclude}
    return [c for c in chosen if c.id not in skip]


# Label attributes that offer a LiDAR feature (gtqa.domain.lidar): its cuboid, the sweep's points, and
# the ground under it.
_LIDAR_FEATURES = {
    LIDAR_KEY: Requirement.lidar,
    SWEEP_KEY: Requirement.lidar_points,
    "ground_z": Requirement.ground,
}


def data_features(frames: Iterable[Frame]) -> frozenset[Requirement]:
    """What the data offers, in the vocabulary of ``Check.requires``."""
    have: set[Requirement] = set()
    for frame in frames:
        if frame.predictions:
            have.add(Requirement.predictions)
        if frame.image:
            have.add(Requirement.images)
        if frame.calib:
            have.add(Requirement.calib)
        if frame.sequence is not None:
            have.add(Requirement.sequences)
        for label in frame.labels:
            if label.cuboid is not None:
                have.add(Requirement.cuboids)
            if label.track_id is not None:
                have.add(Requirement.tracks)
            if not is_lidar(label):
                have.add(Requirement.image_boxes)  # a box in pixels (a LiDAR label's box is metres)
            have.update(v for k, v in _LIDAR_FEATURES.items() if k in label.attributes)
    return frozenset(have)


def applicable(checks: Iterable[Check[Any]], dataset: Dataset | Iterable[Frame]) -> list[Check[Any]]:
    have = data_features(dataset)
    return [c for c in checks if c.requires <= have]
