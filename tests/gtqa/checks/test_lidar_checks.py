"""Directional tests of the LiDAR checks on a synthetic AV2 log: a cuboid perturbed a little, then a
lot, and the check's score moves the right way (and a clean log gives nothing)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from av2_synthetic import Cuboid, SyntheticLog, moving_scene, write_log

from gtqa.checks.registry import get_check
from gtqa.checks.runner import chunk_scopes
from gtqa.checks.stats import compute_stats
from gtqa.formats.av2 import read_av2
from gtqa.spec import compile_spec

SPEC = Path(__file__).resolve().parents[3] / "specs" / "av2.md"
SWEEP = 6  # the perturbed sweep, mid-track
Perturb = Callable[[list[list[Cuboid]], float], None]


def _score(tmp_path: Path, check_id: str, perturb: Perturb, amount: float, track: str) -> float:
    """The check's highest raw on the perturbed cuboid's label (0 when it says nothing)."""
    rows = moving_scene()
    perturb(rows, amount)
    folder = write_log(tmp_path / f"{check_id}-{amount}", SyntheticLog(rows))
    data = read_av2(folder)
    spec = compile_spec(SPEC)
    stats = compute_stats(data.frames, spec.is_reviewed)
    findings = [f for s in chunk_scopes(data.frames, spec, stats) for f in get_check(check_id).run(s)]
    target = [lab.id for lab in data.frames[SWEEP].labels if lab.attributes["track_uuid"] == track]
    return max((f.raw for f in findings if f.label in target), default=0.0)


def _cub(rows: list[list[Cuboid]], track: str) -> Cuboid:
    return next(c for c in rows[SWEEP] if c.track == track)


def _shift(rows: list[list[Cuboid]], d: float) -> None:
    _cub(rows, "car").y += d


def _turn(rows: list[list[Cuboid]], a: float) -> None:
    _cub(rows, "car").yaw += a


def _move_bollard(rows: list[list[Cuboid]], d: float) -> None:
    _cub(rows, "bollard").x += d


def _resize(rows: list[list[Cuboid]], f: float) -> None:
    car = _cub(rows, "car")
    car.length, car.width = car.length * f, car.width * f


def _lift(rows: list[list[Cuboid]], dz: float) -> None:
    car = _cub(rows, "car")
    car.z = car.height / 2 + dz


def _copy_beside(rows: list[list[Cuboid]], d: float) -> None:
    twin = copy.copy(_cub(rows, "ped"))
    twin.track, twin.x = "twin", twin.x + d
    rows[SWEEP].append(twin)


def _reclass(rows: list[list[Cuboid]], scale: float) -> None:
    ped = _cub(rows, "ped")
    ped.length, ped.width = ped.length * scale, ped.width * scale


CASES = [
    ("lidar_motion", _shift, (0.0, 0.1, 1.5), "car"),
    ("lidar_motion", _turn, (0.0, 0.5, np.pi), "car"),
    ("lidar_motion", _move_bollard, (0.0, 0.04, 2.0), "bollard"),
    ("lidar_dims_track", _resize, (1.0, 1.08, 1.5), "car"),
    ("lidar_ground", _lift, (0.0, 0.4, 1.5), "car"),
    ("lidar_duplicate", _copy_beside, (3.0, 0.2, 0.05), "twin"),  # the copy: the shorter track
    ("lidar_size", _reclass, (1.0, 2.0, 6.0), "ped"),
]


@pytest.mark.parametrize(
    ("check_id", "perturb", "amounts", "track"), CASES, ids=[f"{c[0]}-{c[1].__name__}" for c in CASES]
)
def test_a_bigger_perturbation_scores_higher_and_none_scores_nothing(
    tmp_path: Path, check_id: str, perturb: Perturb, amounts: tuple[float, float, float], track: str
) -> None:
    none, little, lot = (_score(tmp_path, check_id, perturb, a, track) for a in amounts)
    assert none == 0.0
    assert little < lot and lot >= 0.9


def _sweep_scene(box_y: float, stored: int) -> tuple[SyntheticLog, int]:
    """One sweep: 400 points on a car-sized object at the origin + 20 m, the car's cuboid at box_y."""
    rng = np.random.default_rng(0)
    obj = rng.uniform([-2.0, -0.9, 0.35], [2.0, 0.9, 1.6], size=(400, 3)) + np.array([20.0, 0.0, 0.0])
    ground = np.c_[rng.uniform(0, 40, (2000, 2)) - np.array([0, 20]), np.zeros(2000)]
    rows = [[Cuboid("car", "REGULAR_VEHICLE", 20.0, box_y, 4.1, 1.9, 1.7, points=stored)]]
    return SyntheticLog(rows, sweeps={0: np.vstack([obj, ground])}), len(obj)


def _points_raw(tmp_path: Path, box_y: float, stored: int | None = None) -> tuple[float, dict[str, float]]:
    log, n = _sweep_scene(box_y, 0)
    log.rows[0][0].points = n if stored is None else stored
    data = read_av2(write_log(tmp_path / f"p{box_y}-{stored}", log))
    spec = compile_spec(SPEC)
    scope = next(chunk_scopes(data.frames, spec, compute_stats(data.frames, spec.is_reviewed)))
    findings = get_check("lidar_points").run(scope)
    return max((f.raw for f in findings), default=0.0), next((f.features for f in findings), {})


def test_points_spill_out_of_a_cuboid_shifted_off_its_object(tmp_path: Path) -> None:
    assert _points_raw(tmp_path, 0.0)[0] == 0.0
    assert 0 < _points_raw(tmp_path, 0.6)[0] < _points_raw(tmp_path, 1.2)[0]


def test_a_stored_point_count_the_sweep_contradicts_is_flagged_by_how_much(tmp_path: Path) -> None:
    assert _points_raw(tmp_path, 0.0, stored=395)[0] == 0.0
    assert 0 < _points_raw(tmp_path, 0.0, stored=300)[0] < _points_raw(tmp_path, 0.0, stored=40)[0]


def _cluster_raw(tmp_path: Path, labelled: bool, n_points: int) -> float:
    rng = np.random.default_rng(1)
    car = rng.uniform([-2.0, -0.9, 0.4], [2.0, 0.9, 1.6], size=(n_points, 3)) + np.array([15.0, 6.0, 0.0])
    ground = np.c_[rng.uniform(-25, 25, (4000, 2)), np.zeros(4000)]
    rows = [[Cuboid("other", "REGULAR_VEHICLE", -10.0, -10.0, 4.1, 1.9, 1.7)]]
    if labelled:
        rows[0].append(Cuboid("car", "REGULAR_VEHICLE", 15.0, 6.0, 4.1, 1.9, 1.7))
    data = read_av2(
        write_log(
            tmp_path / f"c{labelled}-{n_points}", SyntheticLog(rows, sweeps={0: np.vstack([car, ground])})
        )
    )
    spec = compile_spec(SPEC)
    scope = next(chunk_scopes(data.frames, spec, compute_stats(data.frames, spec.is_reviewed)))
    return max((f.raw for f in get_check("lidar_unlabelled_cluster").run(scope)), default=0.0)


def test_an_unlabelled_object_sized_cluster_is_proposed_more_strongly_the_more_points_it_has(
    tmp_path: Path,
) -> None:
    assert _cluster_raw(tmp_path, labelled=True, n_points=400) == 0.0
    assert (
        0
        < _cluster_raw(tmp_path, labelled=False, n_points=80)
        < _cluster_raw(tmp_path, labelled=False, n_points=400)
    )
