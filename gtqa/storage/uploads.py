"""The folders uploaded archives are unpacked into (``<home>/ingest/<id>/``), and sweeping the ones a
killed upload left behind.

An upload's folder carries a marker file from the moment it is made until its batch is committed; the
API removes the folder itself when an ingest fails, but a process killed meanwhile cannot. A folder
still marked after ``older_than_s`` belongs to no batch and is removed by the reconciler's sweep.
"""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

log = logging.getLogger(__name__)

UNFINISHED = ".unfinished"


def mark_unfinished(folder: Path) -> None:
    (folder / UNFINISHED).touch()


def mark_finished(folder: Path) -> None:
    """The upload's batch is committed: the folder is the batch's source and must stay."""
    (folder / UNFINISHED).unlink(missing_ok=True)


def sweep_unfinished(root: Path, *, older_than_s: float, now: float | None = None) -> list[Path]:
    """Remove the upload folders under ``root`` still marked unfinished ``older_than_s`` seconds after
    their marker was made; the folders removed."""
    cutoff = (time.time() if now is None else now) - older_than_s
    removed = []
    for marker in sorted(root.glob(f"*/{UNFINISHED}")):
        try:
            if marker.stat().st_mtime >= cutoff:
                continue
        except FileNotFoundError:
            continue  # finished (or swept) meanwhile
        shutil.rmtree(marker.parent, ignore_errors=True)
        log.warning("removed %s, the folder of an upload that never finished", marker.parent)
        removed.append(marker.parent)
    return removed
