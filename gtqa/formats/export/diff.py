"""What audits changed in a dataset: labels replaced, removed and added, by label id."""

from __future__ import annotations

from dataclasses import dataclass, field

from gtqa.domain import Dataset, Frame, Label


@dataclass
class Changes:
    """``changed`` maps a source label's id to its corrected label, ``removed`` holds the ids of source
    labels gone from the corrected dataset, ``added`` the new labels by frame id (in order)."""

    changed: dict[str, Label] = field(default_factory=dict)
    removed: set[str] = field(default_factory=set)
    added: dict[str, list[Label]] = field(default_factory=dict)
    frames: dict[str, Frame] = field(default_factory=dict)  # corrected frames by id

    def __bool__(self) -> bool:
        return bool(self.changed or self.removed or self.added)


def changes(original: Dataset, corrected: Dataset) -> Changes:
    """The difference between a dataset as read and its corrected copy (a label's ``source`` is where
    it was read from, not part of what it says, so it is not compared)."""
    before = {label.id: label for label in original.labels()}
    out = Changes(frames={f.id: f for f in corrected.frames})
    seen: set[str] = set()
    for frame in corrected.frames:
        for label in frame.labels:
            old = before.get(label.id)
            if old is None:
                out.added.setdefault(frame.id, []).append(label)
                continue
            seen.add(label.id)
            if old is not label and _content(old) != _content(label):  # most labels are the same object
                out.changed[label.id] = label
    out.removed = set(before) - seen
    return out


def _content(label: Label) -> Label:
    return label.model_copy(update={"source": None})
