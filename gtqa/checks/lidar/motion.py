"""World-frame motion of LiDAR cuboid tracks: jumps no real object makes, static objects that travel,
and headings against the direction of travel (a flipped yaw).

With the ego poses every cuboid has a city-frame centre (``gtqa.domain.lidar``). Per track, in frame
order:

* **jump**: the acceleration implied by a centre's distance from the line through its neighbours
  (``2 r / (dt1 dt2)``, m/s^2; at a track's ends, from the extrapolation of the next two), less half of
  what its neighbours show (``own_jump``: a moved cuboid also disturbs its neighbours' estimates). A shifted
  cuboid or two tracks whose ids swapped make it jump. Measured on the shared AV2 log (11,364 cuboids,
  114 tracks): at most 5.3 m/s^2 (a truck cab), 99th percentile 2.6 for vehicles and 0.5 for people;
* **static moving**: a cuboid of a static class (bollard, cone, sign...) away from the median of its
  track within the window; measured spread at most 0.11 m;
* **heading**: a yaw about pi away from its neighbours' (a one-frame flip), or, for a track moving
  faster than ``min_speed``, away from the direction of travel; no real cuboid of the log is more than
  120 degrees off (2,513 moving observations).
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from gtqa.checks.base import Check, CheckParams, ramp
from gtqa.checks.lidar._lidar import (
    NON_RIGID_CLASSES,
    STATIC_CLASSES,
    WorldTrack,
    windowed_median,
    world_tracks,
)
from gtqa.checks.scope import ReviewScope
from gtqa.domain import CheckFamily, Finding, IssueType, Requirement
from gtqa.domain.geometry import FloatArray
from gtqa.domain.lidar import wrap_angle

CHECK_ID = "lidar_motion"


class Params(CheckParams):
    accel_start: float = Field(default=8.0, gt=0, description="m/s^2 implied by a jump: no evidence below")
    accel_full: float = Field(default=40.0, gt=0, description="m/s^2 that is full evidence")
    people_factor: float = Field(default=0.5, gt=0, description="x the accelerations for non-rigid classes")
    static_start: float = Field(default=0.3, ge=0, description="m from the track's median: no evidence below")
    static_full: float = Field(default=1.5, gt=0, description="m from the track's median: full evidence")
    flip_start: float = Field(default=1.75, ge=0, description="rad of yaw off its neighbours: no evidence")
    flip_full: float = Field(default=2.8, gt=0, description="rad of yaw off: full evidence")
    min_speed: float = Field(default=2.0, gt=0, description="m/s above which travel direction is compared")
    neighbours: int = Field(default=3, ge=1, le=10, description="observations each side for yaw and speed")


def check(scope: ReviewScope, params: Params) -> list[Finding]:
    out: list[Finding] = []
    for track in world_tracks(scope):
        if len(track.index) >= 2:
            out.extend(_jumps(track, params))
            out.extend(_heading(track, params))
        if track.cls in STATIC_CLASSES:
            out.extend(_static(track, params))
    return out


def implied_accel(xy: FloatArray, t: FloatArray) -> FloatArray:
    """Per observation, 2 r / (dt1 dt2): r its distance from the constant-velocity path of two
    neighbours (both sides inside a track, the next two at its ends)."""
    n = len(t)
    if n < 3:
        return np.zeros(n)
    prev, nxt = np.arange(n) - 1, np.arange(n) + 1
    prev[0], nxt[0], prev[-1], nxt[-1] = 1, 2, n - 2, n - 3
    ta, tb = t[prev], t[nxt]
    w = np.where(np.abs(tb - ta) > 1e-6, (t - ta) / np.where(tb == ta, 1.0, tb - ta), 0.0)
    pred = xy[prev] + w[:, None] * (xy[nxt] - xy[prev])
    r = np.linalg.norm(xy - pred, axis=1)
    dt = np.abs(t - ta) * np.abs(t - tb)
    return np.asarray(2 * r / np.maximum(dt, 1e-4), dtype=np.float64)


def _jumps(track: WorldTrack, params: Params) -> list[Finding]:
    accel = own_jump(implied_accel(track.cub.city[:, :2], track.cub.time_s))
    factor = params.people_factor if track.cls in NON_RIGID_CLASSES else 1.0
    raw = ramp(accel, params.accel_start * factor, params.accel_full * factor)
    issue = IssueType.track_id if len(track.index) >= 3 else IssueType.bad_box
    return [
        CHECK.flag(
            track.cub.labels[i],
            float(raw[i]),
            f"track {track.id} jumps here: {accel[i]:.0f} m/s^2 implied"
            f" (limit {params.accel_start * factor:g})",
            params,
            issue=issue,
            features={"accel": float(accel[i])},
        )
        for i in np.flatnonzero((raw > 0) & track.in_scope)
    ]


def own_jump(accel: FloatArray) -> FloatArray:
    """The part of each observation's implied acceleration its neighbours do not explain: a cuboid
    moved by d implies 2d/dt^2 at itself but d/dt^2 at each neighbour (their interpolation uses it), so
    half the larger neighbour's value is taken off; a step (two tracks swapping ids) keeps half."""
    padded = np.r_[0.0, accel, 0.0]
    return np.asarray(np.clip(accel - 0.5 * np.maximum(padded[:-2], padded[2:]), 0.0, None), dtype=np.float64)


def _heading(track: WorldTrack, params: Params) -> list[Finding]:
    yaw, xy, t = track.cub.city_yaw, track.cub.city[:, :2], track.cub.time_s
    off_neighbours = neighbour_yaw_offset(yaw, params.neighbours)
    n, k = len(yaw), params.neighbours
    lo, hi = np.maximum(np.arange(n) - k, 0), np.minimum(np.arange(n) + k, n - 1)
    span = t[hi] - t[lo]
    v = (xy[hi] - xy[lo]) / np.where(span > 0, span, np.inf)[:, None]
    moving = np.linalg.norm(v, axis=1) >= params.min_speed
    off_travel = np.where(moving, np.abs(wrap_angle(np.arctan2(v[:, 1], v[:, 0]) - yaw)), 0.0)
    off = np.maximum(off_neighbours, off_travel)
    raw = ramp(off, params.flip_start, params.flip_full)
    return [
        CHECK.flag(
            track.cub.labels[i],
            float(raw[i]),
            f"heading {np.degrees(off_neighbours[i]):.0f} deg off its track's neighbours, "
            f"{np.degrees(off_travel[i]):.0f} deg off its direction of travel (flipped yaw?)",
            params,
            issue=IssueType.geometry_3d,
            features={"yaw_off_neighbours": off_neighbours[i], "yaw_off_travel": off_travel[i]},
        )
        for i in np.flatnonzero((raw > 0) & track.in_scope)
    ]


def neighbour_yaw_offset(yaw: FloatArray, k: int) -> FloatArray:
    """Per observation, the median |yaw difference| to the (up to) ``k`` observations on each side."""
    n = len(yaw)
    shifts = [s for s in range(-k, k + 1) if s != 0]
    diffs = np.full((n, len(shifts)), np.nan)
    for col, s in enumerate(shifts):  # 2k shifted copies of the track, not a loop over observations
        src = np.arange(n) + s
        ok = (src >= 0) & (src < n)
        diffs[ok, col] = np.abs(wrap_angle(yaw[src[ok]] - yaw[ok]))
    has = np.isfinite(diffs).any(axis=1)
    out = np.zeros(n)
    out[has] = np.nanmedian(diffs[has], axis=1)
    return out


def _static(track: WorldTrack, params: Params) -> list[Finding]:
    xy = track.cub.city[:, :2]
    med = windowed_median(xy, track.near())
    dist = np.linalg.norm(xy - med, axis=1)
    raw = ramp(dist, params.static_start, params.static_full)
    return [
        CHECK.flag(
            track.cub.labels[i],
            float(raw[i]),
            f"a {track.cls} (static class) {dist[i]:.2f} m from where its track stands",
            params,
            issue=IssueType.bad_box,
            features={"static_offset_m": float(dist[i])},
        )
        for i in np.flatnonzero((raw > 0) & track.in_scope)
    ]


CHECK = Check(
    id=CHECK_ID,
    fn=check,
    params=Params,
    issue_types=(IssueType.track_id, IssueType.bad_box, IssueType.geometry_3d),
    family=CheckFamily.lidar,
    description="LiDAR tracks in the city frame: impossible jumps, static objects moving, flipped headings",
    requires=frozenset({Requirement.lidar, Requirement.tracks, Requirement.sequences}),
)
