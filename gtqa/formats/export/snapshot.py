"""The source files a lossless export patches, kept at ingest: each file content-addressed once under
``<store>/blobs/<sha256>``, and per batch a manifest ``<store>/batches/<key>.json`` naming them by their
path relative to the dataset. When the delivery's folder is gone, the export rebuilds it from there
instead of writing a degraded copy."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from gtqa.domain import Dataset
from gtqa.formats._json import json_files
from gtqa.formats.av2.reader import ANNOTATIONS, log_dirs

_LABEL_FOLDERS = {"kitti": "label_2", "kitti-tracking": "label_02"}
_CHUNK = 1 << 20


def source_files(root: Path, fmt: str) -> list[Path]:
    """The files of a dataset a lossless export reads and patches (label files, not images)."""
    if fmt in _LABEL_FOLDERS:
        folder = root / _LABEL_FOLDERS[fmt]
        files = sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []
        listed = root / "frames.txt"  # which frames a KITTI object dataset holds
        return [listed, *files] if listed.is_file() else files
    if fmt == "av2":  # each log's annotations.feather (not its sweeps, poses or map)
        return [log / ANNOTATIONS for log in log_dirs(root) if (log / ANNOTATIONS).is_file()]
    return json_files(root)


def keep_source(root: Path, fmt: str, store: Path, key: str) -> int:
    """Keep the dataset's source files under ``store`` for batch ``key``; how many bytes were new."""
    files: dict[str, str] = {}
    added = 0
    for path in source_files(root, fmt):
        digest, size = _keep_blob(path, store / "blobs")
        added += size
        files[path.name if root.is_file() else path.relative_to(root).as_posix()] = digest
    manifest = {"name": root.name, "file": root.is_file(), "format": fmt, "files": files}
    _write_atomically(store / "batches" / f"{key}.json", json.dumps(manifest, indent=1).encode())
    return added


def kept_or_given(dataset: Dataset, store: Path, key: str, into: Path) -> Dataset:
    """The dataset itself when its source is readable, else with its root at the copy kept for batch
    ``key`` (rebuilt under ``into``); the export refuses it when neither is there."""
    if Path(dataset.root).exists():
        return dataset
    restored = restore_source(store, key, into)
    return dataset if restored is None else dataset.model_copy(update={"root": str(restored)})


def restore_source(store: Path, key: str, into: Path) -> Path | None:
    """Rebuild batch ``key``'s source under ``into``; the dataset root to read, or None when none was
    kept (or a blob is missing)."""
    try:
        manifest = json.loads((store / "batches" / f"{key}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    root = into / str(manifest["name"])
    folder = into if manifest["file"] else root
    for rel, digest in manifest["files"].items():
        blob = store / "blobs" / digest[:2] / digest
        if not blob.is_file():
            return None
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(blob, target)
    return root


def _keep_blob(path: Path, blobs: Path) -> tuple[str, int]:
    sha = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            sha.update(chunk)
    digest = sha.hexdigest()
    target = blobs / digest[:2] / digest
    if target.is_file():
        return digest, 0
    target.parent.mkdir(parents=True, exist_ok=True)
    _write_atomically(target, path.read_bytes())
    return digest, target.stat().st_size


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".keep-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
