"""Defects injected into a copy of an AV2 log, on its annotations table (then read back like any log, so
every derived field — city pose, footprint, ground — is recomputed as for real data).

Families (one corrupted copy each): ``dims`` (l, w, h x [1.3, 1.8] or [0.55, 0.77]), ``yaw_flip`` (yaw +
pi), ``shift`` (centre moved 30-60% of the cuboid's longer side), ``drop`` (a mid-track cuboid removed),
``duplicate`` (a copy jittered <= 10% of its width, fresh track), ``class_flip`` (a confusable class from
the spec), ``id_switch`` (two tracks swap ids from one sweep on), ``spawned`` (a real cuboid of another
sweep placed where nothing is labelled within 3 m, fresh one-sweep track, no points), ``floating`` (lifted
0.5-1.5 m). Cuboids are picked mid-track (observed before and after).
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather

FAMILIES = (
    "dims",
    "yaw_flip",
    "shift",
    "drop",
    "duplicate",
    "class_flip",
    "id_switch",
    "spawned",
    "floating",
)
CONFUSABLE = {
    "REGULAR_VEHICLE": ["LARGE_VEHICLE", "BOX_TRUCK", "PEDESTRIAN"],
    "PEDESTRIAN": ["BICYCLIST", "OFFICIAL_SIGNALER", "REGULAR_VEHICLE"],
    "BICYCLE": ["MOTORCYCLE", "BICYCLIST"],
    "MOTORCYCLE": ["BICYCLE", "MOTORCYCLIST"],
    "BOLLARD": ["CONSTRUCTION_CONE", "SIGN"],
}


@dataclass
class Defect:
    family: str
    row: int | None  # row in the corrupted table (None: dropped)
    related: list[int] = field(default_factory=list)
    frame_stamp: int = 0  # dropped: the sweep it was in
    uuid: str = ""  # dropped: its track


@dataclass
class Corrupted:
    folder: Path
    defects: list[Defect]
    source_row: list[int]  # corrupted row -> source row (-1 for an added row)


def _columns(table: pa.Table) -> dict[str, np.ndarray]:
    return {c: np.array(table.column(c).to_numpy(zero_copy_only=False)) for c in table.column_names}


def inject(
    log: Path, out: Path, family: str, n: int, seed: int, rows_allowed: np.ndarray | None = None
) -> Corrupted:
    """A copy of ``log`` under ``out`` with ``n`` defects of ``family`` (cuboids drawn from
    ``rows_allowed`` when given); poses, map and sweeps are linked, not copied."""
    rng = np.random.default_rng(seed)
    cols = _columns(feather.read_table(log / "annotations.feather"))
    order = np.lexsort((cols["timestamp_ns"], cols["track_uuid"]))
    mid = _mid_track_rows(cols, order)
    if rows_allowed is not None:
        mid = np.intersect1d(mid, rows_allowed)
    picks = rng.choice(mid, size=min(n, len(mid)), replace=False)
    cols, defects, source = _APPLY[family](cols, picks, rng, log)
    folder = out / log.name
    folder.mkdir(parents=True, exist_ok=True)
    feather.write_feather(pa.table({k: v for k, v in cols.items()}), folder / "annotations.feather")
    for name in ("city_SE3_egovehicle.feather", "map", "sensors"):
        if (log / name).exists() and not (folder / name).exists():
            os.symlink((log / name).resolve(), folder / name)
    return Corrupted(folder, defects, source)


def _mid_track_rows(cols: dict[str, np.ndarray], order: np.ndarray) -> np.ndarray:
    uu = cols["track_uuid"][order]
    same_prev = np.r_[False, uu[1:] == uu[:-1]]
    same_next = np.r_[uu[:-1] == uu[1:], False]
    return np.asarray(np.sort(order[same_prev & same_next]))


def _neighbour(cols: dict[str, np.ndarray], row: int, step: int) -> int:
    """The same track's row ``step`` sweeps away (by time order)."""
    mine = np.flatnonzero(cols["track_uuid"] == cols["track_uuid"][row])
    mine = mine[np.argsort(cols["timestamp_ns"][mine])]
    at = int(np.flatnonzero(mine == row)[0])
    return int(mine[min(max(at + step, 0), len(mine) - 1)])


def _in_place(fn):  # type: ignore[no-untyped-def]
    """A family that edits picked rows without adding or removing any."""

    def apply(cols, picks, rng, log):  # type: ignore[no-untyped-def]
        for row in picks:
            fn(cols, int(row), rng)
        return cols, [Defect(fn.__name__, int(r)) for r in picks], list(range(len(cols["timestamp_ns"])))

    return apply


def dims(cols, row, rng):  # type: ignore[no-untyped-def]
    f = rng.uniform(1.3, 1.8) if rng.random() < 0.5 else rng.uniform(0.55, 0.77)
    for c in ("length_m", "width_m", "height_m"):
        cols[c][row] *= f


def yaw_flip(cols, row, rng):  # type: ignore[no-untyped-def]
    qw, qz = cols["qw"][row], cols["qz"][row]
    cols["qw"][row], cols["qz"][row] = -qz, qw


def shift(cols, row, rng):  # type: ignore[no-untyped-def]
    d = rng.uniform(0.3, 0.6) * max(cols["length_m"][row], cols["width_m"][row])
    a = rng.uniform(0, 2 * np.pi)
    cols["tx_m"][row] += d * np.cos(a)
    cols["ty_m"][row] += d * np.sin(a)


def class_flip(cols, row, rng):  # type: ignore[no-untyped-def]
    cls = str(cols["category"][row])
    options = CONFUSABLE.get(cls, ["REGULAR_VEHICLE" if cls != "REGULAR_VEHICLE" else "PEDESTRIAN"])
    cols["category"][row] = options[int(rng.integers(len(options)))]


def floating(cols, row, rng):  # type: ignore[no-untyped-def]
    cols["tz_m"][row] += rng.uniform(0.5, 1.5)


def _drop(cols, picks, rng, log):  # type: ignore[no-untyped-def]
    keep = np.setdiff1d(np.arange(len(cols["timestamp_ns"])), picks)
    defects = [
        Defect("drop", None, frame_stamp=int(cols["timestamp_ns"][r]), uuid=str(cols["track_uuid"][r]))
        for r in picks
    ]
    new_row = {int(old): i for i, old in enumerate(keep)}
    for d, r in zip(defects, picks, strict=True):  # the labels either side of the gap are related
        d.related = [
            new_row[n] for n in (_neighbour(cols, int(r), -1), _neighbour(cols, int(r), 1)) if n in new_row
        ]
    return {k: v[keep] for k, v in cols.items()}, defects, [int(k) for k in keep]


def _append(cols, new_rows):  # type: ignore[no-untyped-def]
    return {
        k: np.concatenate([v, np.array([r[k] for r in new_rows], dtype=v.dtype)]) for k, v in cols.items()
    }


def _duplicate(cols, picks, rng, log):  # type: ignore[no-untyped-def]
    n0, rows = len(cols["timestamp_ns"]), []
    for r in picks:
        new = {k: v[r] for k, v in cols.items()}
        jitter = 0.1 * cols["width_m"][r]
        new["tx_m"] += rng.uniform(-jitter, jitter)
        new["ty_m"] += rng.uniform(-jitter, jitter)
        new["track_uuid"] = str(uuid.UUID(int=int(rng.integers(2**62))))
        rows.append(new)
    defects = [Defect("duplicate", n0 + i, related=[int(r)]) for i, r in enumerate(picks)]
    return _append(cols, rows), defects, list(range(n0)) + [-1] * len(rows)


def _spawned(cols, picks, rng, log):  # type: ignore[no-untyped-def]
    n0, rows, stamps = len(cols["timestamp_ns"]), [], cols["timestamp_ns"]
    for r in picks:
        here = stamps == stamps[r]
        for _ in range(50):  # a cuboid of another sweep, where nothing is labelled within 3 m
            src = int(rng.integers(n0))
            d = np.hypot(cols["tx_m"][here] - cols["tx_m"][src], cols["ty_m"][here] - cols["ty_m"][src])
            if stamps[src] != stamps[r] and d.min() > 3.0:
                break
        new = {k: v[src] for k, v in cols.items()}
        new["timestamp_ns"], new["num_interior_pts"] = stamps[r], 0
        new["track_uuid"] = str(uuid.UUID(int=int(rng.integers(2**62))))
        rows.append(new)
    defects = [Defect("spawned", n0 + i) for i in range(len(rows))]
    return _append(cols, rows), defects, list(range(n0)) + [-1] * len(rows)


def _id_switch(cols, picks, rng, log):  # type: ignore[no-untyped-def]
    stamps, uu = cols["timestamp_ns"], cols["track_uuid"].astype(object)
    defects = []
    for r in picks:
        t, a = stamps[r], uu[r]
        others = [
            i for i in np.flatnonzero((stamps == t) & (uu != a)) if cols["category"][i] == cols["category"][r]
        ]
        if not others:
            continue
        b_row = int(rng.choice(others))
        b = uu[b_row]
        later = stamps >= t
        ma, mb = later & (uu == a), later & (uu == b)
        uu[ma], uu[mb] = b, a
        related = [b_row, _neighbour(cols, int(r), -1), _neighbour(cols, b_row, -1)]
        defects.append(Defect("id_switch", int(r), related=related))
    cols["track_uuid"] = uu.astype(str)
    return cols, defects, list(range(len(stamps)))


_APPLY = {
    "dims": _in_place(dims),
    "yaw_flip": _in_place(yaw_flip),
    "shift": _in_place(shift),
    "class_flip": _in_place(class_flip),
    "floating": _in_place(floating),
    "drop": _drop,
    "duplicate": _duplicate,
    "spawned": _spawned,
    "id_switch": _id_switch,
}
