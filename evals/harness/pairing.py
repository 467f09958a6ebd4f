"""Joining the items of two runs on the same audits, for a paired comparison.

Items join by key (``frame|label|type``). A proposed missing object's key holds its rounded box; two
proposals of one frame whose keys differ but whose boxes overlap at IoU >= ``missing_iou`` (0.5, the
fusion's own merge threshold) are the same item, matched greedily, best overlap first. An item only one
run has is a flag the other run did not raise: it scores 0 there. The audit outcome is the first run's
when both have the item (the same audits give the same outcome; ``conflicts`` counts exceptions).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from evals.harness.records import EvalItem, sequence_of
from evals.harness.stats import cluster_ids
from gtqa.domain import IssueType
from gtqa.domain.boxes import iou_matrix
from gtqa.scoring.ranked import Scored


@dataclass(frozen=True)
class PairedItem:
    base: EvalItem | None
    cand: EvalItem | None

    @property
    def ref(self) -> EvalItem:
        item = self.base or self.cand
        assert item is not None
        return item

    @property
    def outcome(self) -> int | None:
        return self.base.outcome if self.base is not None else self.ref.outcome


def pair_items(
    base: Sequence[EvalItem], cand: Sequence[EvalItem], *, missing_iou: float = 0.5
) -> tuple[list[PairedItem], int]:
    """The union of both runs' items, and how many joined items disagree on their outcome."""
    by_key = {i.key: i for i in cand}
    pairs = [PairedItem(b, by_key.pop(b.key, None)) for b in base]
    lonely_base = [p for p in pairs if p.cand is None and p.ref.type is IssueType.missing_object]
    matched = _match_missing(
        [p.ref for p in lonely_base], [c for c in by_key.values() if _missing(c)], missing_iou
    )
    for _, c in matched:
        by_key.pop(c.key)
    joined = {b.key: c for b, c in matched}
    pairs = [PairedItem(p.base, joined.get(p.ref.key, p.cand)) if p.cand is None else p for p in pairs]
    pairs.extend(PairedItem(None, c) for c in by_key.values())
    conflicts = sum(1 for p in pairs if p.base and p.cand and p.base.outcome != p.cand.outcome)
    return pairs, conflicts


def _missing(item: EvalItem) -> bool:
    return item.type is IssueType.missing_object and item.label is None


def _match_missing(
    base: list[EvalItem], cand: list[EvalItem], min_iou: float
) -> list[tuple[EvalItem, EvalItem]]:
    out: list[tuple[EvalItem, EvalItem]] = []
    base_by_frame, cand_by_frame = _by_frame(base), _by_frame(cand)
    for frame in sorted(base_by_frame.keys() & cand_by_frame.keys()):
        bs, cs = base_by_frame[frame], cand_by_frame[frame]
        iou = iou_matrix(np.array([b.box for b in bs]), np.array([c.box for c in cs]))
        while iou.size and iou.max() >= min_iou:
            i, j = np.unravel_index(int(iou.argmax()), iou.shape)
            out.append((bs[i], cs[j]))
            iou[i, :], iou[:, j] = -1.0, -1.0
    return out


def _by_frame(items: list[EvalItem]) -> dict[str, list[EvalItem]]:
    groups: dict[str, list[EvalItem]] = {}
    for item in items:
        groups.setdefault(item.frame, []).append(item)
    return groups


@dataclass(frozen=True)
class PairedArrays:
    """Known paired items as arrays: each run's scores (0 where it lacks the flag) and the clusters."""

    items: list[PairedItem]
    base: Scored
    cand: Scored
    clusters: np.ndarray
    n_clusters: int

    @classmethod
    def of(cls, pairs: Sequence[PairedItem], cluster: str = "sequence") -> PairedArrays:
        known = [p for p in pairs if p.outcome is not None]
        y = np.array([p.outcome for p in known], dtype=np.float64)
        labels = [p.ref.frame if cluster == "frame" else sequence_of(p.ref.frame) for p in known]
        clusters, n = cluster_ids(labels)
        return cls(known, _side(known, y, "base"), _side(known, y, "cand"), clusters, n)

    def subset(self, mask: np.ndarray) -> PairedArrays:
        items = [p for p, keep in zip(self.items, mask, strict=True) if keep]
        clusters, n = cluster_ids([str(c) for c in self.clusters[mask]])
        return PairedArrays(items, self.base.cut(mask), self.cand.cut(mask), clusters, n)


def _side(known: list[PairedItem], y: np.ndarray, side: str) -> Scored:
    items = [p.base if side == "base" else p.cand for p in known]
    score = np.array([i.score if i is not None else 0.0 for i in items], dtype=np.float64)
    follows = np.array([i is not None and i.follows for i in items], dtype=bool)
    return Scored(
        score=score, y=y, present=np.array([i is not None for i in items], dtype=bool), follows=follows
    )
