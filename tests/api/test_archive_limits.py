"""Archive limits are checked on the archive's own directory before a byte is written: member count,
declared total size, per-member size and compression ratio; a tar.gz on each header as it streams."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from api.ingest import archive
from api.ingest.archive import ArchiveError, Limits, extract
from gtqa.settings import Settings

LIMITS = Limits(max_bytes=8 << 20, max_members=20, max_member_bytes=2 << 20, max_ratio=50.0)
ZEROS = bytes(3 << 20)  # 3 MiB that deflate to a few KiB


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _tar(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def _refused_unwritten(tmp_path: Path, source: Path, kind: archive.ArchiveKind, monkeypatch) -> str:
    """Extract ``source`` expecting a refusal; prove that no member was written."""
    copies: list[Path] = []
    monkeypatch.setattr(archive._Budget, "copy", lambda self, src, target: copies.append(target))
    dest = tmp_path / "out"
    dest.mkdir()
    with pytest.raises(ArchiveError) as caught:
        extract(source, kind, dest, LIMITS)
    assert copies == [] and not any(dest.rglob("*")), "a refused archive wrote files"
    return str(caught.value)


def test_too_many_members_are_refused_on_the_directory(tmp_path: Path, monkeypatch) -> None:
    source = _zip(tmp_path / "a.zip", {f"d/{i}.txt": b"x" for i in range(LIMITS.max_members + 1)})
    assert "members, more than" in _refused_unwritten(tmp_path, source, "zip", monkeypatch)


def test_a_declared_total_over_the_limit_is_refused_on_the_directory(tmp_path: Path, monkeypatch) -> None:
    members = {f"d/{i}.bin": bytes(range(256)) * 7000 for i in range(6)}  # 6 x 1.7 MiB, incompressible-ish
    source = _zip(tmp_path / "a.zip", members)
    assert "declares" in _refused_unwritten(tmp_path, source, "zip", monkeypatch)


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_one_member_over_its_limit_is_refused_before_writing(
    tmp_path: Path, monkeypatch, kind: archive.ArchiveKind
) -> None:
    # A zip is refused before its first (small) member is written; a tar.gz, which has no directory, at
    # the big member's header, before a byte of it.
    if kind == "zip":
        source = _zip(tmp_path / "a.zip", {"d/a.txt": b"x", "d/big.bin": ZEROS})
    else:
        source = _tar(tmp_path / "a.tgz", {"d/big.bin": ZEROS})
    assert "bytes unpacked, more than" in _refused_unwritten(tmp_path, source, kind, monkeypatch)


def test_a_member_that_inflates_too_far_is_refused_on_the_directory(tmp_path: Path, monkeypatch) -> None:
    source = _zip(tmp_path / "a.zip", {"d/bomb.bin": bytes(int(1.5 * (1 << 20)))})
    assert "inflates" in _refused_unwritten(tmp_path, source, "zip", monkeypatch)


def test_small_members_that_compress_well_are_no_bomb(tmp_path: Path) -> None:
    source = _zip(tmp_path / "a.zip", {f"d/{i}.txt": bytes(64 << 10) for i in range(10)})
    dest = tmp_path / "out"
    dest.mkdir()
    extract(source, "zip", dest, LIMITS)
    assert len(list(dest.rglob("*.txt"))) == 10


def test_the_default_limits_are_bounded_by_the_upload_limit() -> None:
    s = Settings(_env_file=None)
    assert s.max_extract_bytes <= 4 * s.max_upload_bytes
    assert s.max_member_bytes < s.max_extract_bytes and s.max_archive_members <= 50_000
