"""Defect injection: a corrupted copy of a dataset plus the manifest of every defect put into it.

``n = round(rate x reviewed objects)`` defects (DontCare and other region classes are not objects),
split evenly over the requested families the data supports (the remainder goes to families drawn with
the seed), each on a distinct label. A family that runs out of candidates passes its shortfall to the
others, one defect at a time. Everything is drawn from ``numpy.random.default_rng(seed)``, so a seed
reproduces the copy and its manifest exactly.

The copy is written with the format's own writer. Every folder of the source other than its labels
(images, calibration, predictions) is symlinked into the copy, never copied.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from evals.inject.families import (
    LABEL_FAMILIES,
    InjectionState,
    PendingDefect,
    candidates,
    inject_spawned,
)
from evals.inject.manifest import (
    MANIFEST_NAME,
    Family,
    FamilyCount,
    Manifest,
    ManifestEntry,
    write_manifest,
)
from evals.ranking import round_half_up
from gtqa.domain import Dataset, Label
from gtqa.formats import WRITERS, load_dataset
from gtqa.spec import CompiledSpec

LABEL_DIRS = {"kitti": "label_2", "kitti-tracking": "label_02"}

_UNSUPPORTED = {
    Family.track_break: "the data has no track ids",
    Family.scaled_3d: "the data has no 3D boxes",
    Family.attribute: "no label has a known truncation or occlusion",
    Family.class_flip: "no class to flip to",
    Family.spawned: "needs at least two frames with reviewed labels",
}


class InjectionError(ValueError):
    pass


# Formats whose labels the families cannot corrupt, and why (refused before anything is read or written).
REFUSED = {
    "av2": (
        "the injector's families corrupt image boxes, and an AV2 label is a LiDAR cuboid (its box is a "
        "derived bird's-eye footprint in metres); AV2 cuboid defects are injected by "
        "benchmarks/_av2_inject.py (run benchmarks/bench_av2.py)"
    ),
}


def refuse_format(fmt: str) -> None:
    """``InjectionError`` naming why ``fmt`` data cannot be injected into, for a format in ``REFUSED``."""
    if fmt in REFUSED:
        supported = ", ".join(sorted(LABEL_DIRS))
        raise InjectionError(f"cannot inject into {fmt!r} data: {REFUSED[fmt]}; supported: {supported}")


@dataclass(frozen=True)
class Injection:
    """The corrupted dataset (new labels still carry temporary ids) and its defects, before writing."""

    dataset: Dataset
    defects: list[PendingDefect]
    requested: dict[Family, int]
    unsupported: dict[Family, str]
    n_reviewed: int
    n_requested: int


def inject(
    dataset: Dataset, spec: CompiledSpec, *, rate: float, seed: int, families: Sequence[Family] | None = None
) -> Injection:
    if not 0.0 <= rate <= 1.0:
        raise InjectionError(f"rate must be in [0, 1], got {rate}")
    refuse_format(dataset.format)
    rng = np.random.default_rng(seed)
    state = InjectionState.start(dataset, spec)
    chosen = [f for f in Family if f in (families or list(Family))]  # application order
    pools = {f: _shuffled(candidates(state, f), rng) for f in chosen}
    supported = [f for f in chosen if pools[f]]
    unsupported = {f: _UNSUPPORTED.get(f, "no reviewed labels") for f in chosen if not pools[f]}
    n = round_half_up(rate * len(state.source_reviewed))
    quotas = _even_split(n, supported, rng)
    streams = {f: _stream(state, f, pools[f], rng) for f in supported}
    defects: list[PendingDefect] = []
    for family in supported:
        defects.extend(d for _, d in zip(range(quotas[family]), streams[family], strict=False))
    defects.extend(_fill_shortfall(n - len(defects), supported, streams))
    frames = tuple(f.model_copy(update={"labels": tuple(state.labels[f.id])}) for f in dataset.frames)
    return Injection(
        dataset=dataset.model_copy(update={"frames": frames}),
        defects=defects,
        requested=quotas,
        unsupported=unsupported,
        n_reviewed=len(state.source_reviewed),
        n_requested=n,
    )


def _shuffled(items: list[str], rng: np.random.Generator) -> list[str]:
    return [items[i] for i in rng.permutation(len(items))]


def _even_split(n: int, families: list[Family], rng: np.random.Generator) -> dict[Family, int]:
    if not families:
        return {}
    base, extra = divmod(n, len(families))
    lucky = set(rng.choice(len(families), size=extra, replace=False).tolist()) if extra else set()
    return {f: base + (i in lucky) for i, f in enumerate(families)}


def _stream(
    state: InjectionState, family: Family, pool: list[str], rng: np.random.Generator
) -> Iterator[PendingDefect]:
    """Defects of one family, lazily: walks the shuffled candidates, skipping reserved labels and
    candidates the family cannot corrupt (a box too near the border to shift)."""
    by_id: dict[str, Label] = {lab.id: lab for lab in state.source_reviewed}
    for key in pool:
        if family == Family.spawned:
            defect = inject_spawned(state, key, rng)
        elif key in state.reserved:
            continue
        else:
            defect = LABEL_FAMILIES[family](state, by_id[key], rng)
            if defect is not None:
                state.reserved.add(key)
                defect = replace(defect, detail={"original_label": key, **defect.detail})
        if defect is not None:
            yield defect


def _fill_shortfall(
    missing: int, families: list[Family], streams: dict[Family, Iterator[PendingDefect]]
) -> Iterator[PendingDefect]:
    live = list(families)
    while missing > 0 and live:
        for family in list(live):
            defect = next(streams[family], None)
            if defect is None:
                live.remove(family)
                continue
            missing -= 1
            yield defect
            if missing == 0:
                return


# --- writing ----------------------------------------------------------------------------------------


def write_injection(
    injection: Injection,
    source: Path,
    out: Path,
    *,
    spec: CompiledSpec,
    seed: int,
    rate: float,
    overwrite: bool = False,
) -> Manifest:
    fmt = injection.dataset.format
    refuse_format(fmt)
    if fmt not in WRITERS or fmt not in LABEL_DIRS:
        # JSON formats (coco, bdd) have writers, but where their label files and image folders sit
        # varies too much to link the rest of the source safely
        raise InjectionError(f"cannot inject into {fmt!r} data; supported: {', '.join(sorted(LABEL_DIRS))}")
    _prepare(source, out, LABEL_DIRS[fmt], overwrite)
    ids = WRITERS[fmt](injection.dataset, out)
    if (source / "frames.txt").is_file():
        (out / "frames.txt").write_text(
            "".join(f"{f.id}\n" for f in injection.dataset.frames), encoding="utf-8"
        )
    _link_siblings(source, out, LABEL_DIRS[fmt])
    entries = tuple(_entry(i, d, ids) for i, d in enumerate(injection.defects, start=1))
    counts = {
        f: FamilyCount(requested=injection.requested[f], injected=sum(e.family == f for e in entries))
        for f in injection.requested
    }
    manifest = Manifest(
        source=str(source.resolve()),
        format=fmt,
        seed=seed,
        rate=rate,
        spec=f"{spec.name}@{spec.hash[:12]}",
        n_reviewed=injection.n_reviewed,
        n_requested=injection.n_requested,
        families=counts,
        unsupported=injection.unsupported,
        entries=entries,
    )
    write_manifest(manifest, out)
    return manifest


def _entry(index: int, defect: PendingDefect, ids: dict[str, str]) -> ManifestEntry:
    return ManifestEntry(
        id=f"d{index:04d}",
        family=defect.family,
        issue_type=defect.family.issue_type,
        frame=defect.frame,
        label=ids[defect.label] if defect.label is not None else None,
        box=tuple(round(v, 6) for v in defect.box),
        related=tuple(ids[r] for r in defect.related),
        detail=defect.detail,
    )


def _prepare(source: Path, out: Path, label_dir: str, overwrite: bool) -> None:
    """Refuse to write into the source, or over a folder that is not an earlier injected copy."""
    src, dst = source.resolve(), out.resolve()
    if dst == src or src in dst.parents:
        raise InjectionError(f"{out} is inside the source dataset {source}: choose another folder")
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise InjectionError(f"{out} is not empty (pass --overwrite to replace an earlier injected copy)")
        if not (out / MANIFEST_NAME).is_file():
            raise InjectionError(
                f"{out} holds no {MANIFEST_NAME}: not an injected copy, refusing to overwrite"
            )
        for child in out.iterdir():
            if child.is_symlink():
                child.unlink()
        for path in (out / label_dir).glob("*.txt"):
            path.unlink()
    out.mkdir(parents=True, exist_ok=True)


def _link_siblings(source: Path, out: Path, label_dir: str) -> None:
    for child in sorted(source.iterdir()):
        if child.is_dir() and child.name != label_dir and not (out / child.name).exists():
            (out / child.name).symlink_to(child.resolve(), target_is_directory=True)


def inject_folder(
    source: Path,
    out: Path,
    spec: CompiledSpec,
    *,
    fmt: str | None = None,
    rate: float = 0.08,
    seed: int = 0,
    families: Sequence[Family] | None = None,
    overwrite: bool = False,
) -> Manifest:
    """Read a dataset (labels only), inject defects and write the corrupted copy and its manifest."""
    if fmt is not None:
        refuse_format(fmt)  # before reading: an AV2 log takes seconds to read
    dataset = load_dataset(source, fmt)
    injection = inject(dataset, spec, rate=rate, seed=seed, families=families)
    return write_injection(injection, source, out, spec=spec, seed=seed, rate=rate, overwrite=overwrite)
