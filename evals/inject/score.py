"""Scoring a findings list against the manifest of an injected copy.

Matching, item by item in rank order (items: see :mod:`evals.items`):

* a label item hits a defect when its label id is the entry's ``label`` or one of its ``related`` ids
  (a flag on the original of a duplicate, or on the label before a track break, finds that defect);
* a proposed missing object hits a ``dropped`` entry of the same frame when their IoU is >= 0.5 (the
  best-overlapping entry not yet found);
* each defect is found once. An item that would only hit defects already found is *neutral*: neither a
  hit nor a false alarm. Neutral items are left out of the ranking altogether, so they take no rank in
  the precision of later hits and no place in a review budget (an auditor reviews the duplicate pair or
  the re-found box together with the first find);
* every other item is a false alarm.

Metrics (see :mod:`evals.ranking`): AP over the ranked items; recall at review budgets of 5 % and 10 %
of the dataset's reviewed labels (budget = that many top items). Per family: recall at the budgets is
counted on the *shared* queue (what an auditor working the real queue finds of that family); AP ranks
only that family's hits (positives) and the false alarms (negatives): items that found a defect of
another family are correct finds, not false alarms, so they are dropped rather than counted against
the family. *Typed* recall counts only hits where one of the flags collapsed into the item has the
defect's issue type (a duplicate flagged as a duplicate, not as a bad box).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from evals.inject.manifest import Family, Manifest, ManifestEntry
from evals.items import ReviewItem, ious_with, review_items
from evals.ranking import average_precision, precision_at, recall_at, round_half_up
from gtqa.domain import Finding, IssueType

DEFAULT_BUDGETS = (0.05, 0.10)


class Outcome(StrEnum):
    hit = "hit"
    false_alarm = "false_alarm"
    neutral = "neutral"


@dataclass(frozen=True)
class MatchedItem:
    item: ReviewItem
    outcome: Outcome
    entry: ManifestEntry | None = None

    @property
    def typed(self) -> bool:
        return self.entry is not None and self.entry.issue_type in self.item.types


class FamilyScore(BaseModel):
    model_config = ConfigDict(frozen=True)

    family: Family
    issue_type: IssueType
    n: int
    found: int
    typed_found: int
    recall: float
    typed_recall: float
    ap: float
    recall_at: dict[str, float]


class InjectedScore(BaseModel):
    model_config = ConfigDict(frozen=True)

    n_defects: int
    n_reviewed_labels: int
    n_items: int
    hits: int
    false_alarms: int
    neutral: int
    ap: float
    budgets: dict[str, int]
    recall_at: dict[str, float]
    precision_at: dict[str, float]
    recall: float
    typed_recall: float
    families: list[FamilyScore]


def match_items(
    items: Sequence[ReviewItem], entries: Sequence[ManifestEntry], *, missing_iou: float = 0.5
) -> list[MatchedItem]:
    by_label: dict[str, list[ManifestEntry]] = {}
    for e in entries:  # the entry's own label first, then entries that only name it as related
        if e.label is not None:
            by_label.setdefault(e.label, []).append(e)
    for e in entries:
        for r in e.related:
            by_label.setdefault(r, []).append(e)
    dropped: dict[str, list[ManifestEntry]] = {}
    for e in entries:
        if e.family == Family.dropped:
            dropped.setdefault(e.frame, []).append(e)
    found: set[str] = set()
    out: list[MatchedItem] = []
    for item in items:
        if item.label is None:
            pool = dropped.get(item.frame, [])
            ious = ious_with(item.box, [e.box for e in pool])
            near = [(float(v), e) for v, e in zip(ious, pool, strict=True) if v >= missing_iou]
        else:
            near = [(1.0, e) for e in by_label.get(item.label, [])]
        out.append(_outcome(item, near, found))
    return out


def _outcome(item: ReviewItem, near: list[tuple[float, ManifestEntry]], found: set[str]) -> MatchedItem:
    fresh = [(v, e) for v, e in near if e.id not in found]
    if fresh:
        entry = max(fresh, key=lambda ve: ve[0])[1]  # max() keeps the first of equals
        found.add(entry.id)
        return MatchedItem(item, Outcome.hit, entry)
    return MatchedItem(item, Outcome.neutral if near else Outcome.false_alarm)


def budget_sizes(n_reviewed_labels: int, budgets: Sequence[float]) -> dict[str, int]:
    return {f"{b * 100:g}%": round_half_up(b * n_reviewed_labels) for b in budgets}


def score_injected(
    findings: list[Finding],
    manifest: Manifest,
    n_reviewed_labels: int,
    *,
    budgets: Sequence[float] = DEFAULT_BUDGETS,
    missing_iou: float = 0.5,
) -> InjectedScore:
    matched = match_items(review_items(findings), manifest.entries, missing_iou=missing_iou)
    ranked = [m for m in matched if m.outcome != Outcome.neutral]
    hits = [m.outcome == Outcome.hit for m in ranked]
    n = len(manifest.entries)
    sizes = budget_sizes(n_reviewed_labels, budgets)
    families = [_family_score(f, manifest, ranked, sizes) for f in Family if manifest.of_family(f)]
    return InjectedScore(
        n_defects=n,
        n_reviewed_labels=n_reviewed_labels,
        n_items=len(matched),
        hits=sum(hits),
        false_alarms=len(ranked) - sum(hits),
        neutral=len(matched) - len(ranked),
        ap=average_precision(hits, n),
        budgets=sizes,
        recall_at={name: recall_at(hits, k, n) for name, k in sizes.items()},
        precision_at={name: precision_at(hits, k) for name, k in sizes.items()},
        recall=sum(hits) / n if n else 0.0,
        typed_recall=sum(m.typed for m in ranked) / n if n else 0.0,
        families=families,
    )


def _family_score(
    family: Family, manifest: Manifest, ranked: list[MatchedItem], sizes: dict[str, int]
) -> FamilyScore:
    n = len(manifest.of_family(family))
    mine = [m.outcome == Outcome.hit and m.entry is not None and m.entry.family == family for m in ranked]
    own_ranking = [
        is_mine for is_mine, m in zip(mine, ranked, strict=True) if is_mine or m.outcome != Outcome.hit
    ]
    typed = sum(1 for is_mine, m in zip(mine, ranked, strict=True) if is_mine and m.typed)
    return FamilyScore(
        family=family,
        issue_type=family.issue_type,
        n=n,
        found=sum(mine),
        typed_found=typed,
        recall=sum(mine) / n,
        typed_recall=typed / n,
        ap=average_precision(own_ranking, n),
        recall_at={name: recall_at(mine, k, n) for name, k in sizes.items()},
    )
