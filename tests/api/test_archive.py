"""Archive member names, checked before anything is written."""

from __future__ import annotations

import pytest

from api.ingest.archive import ArchiveError, member_path


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("kitti/label_2/000001.txt", "kitti/label_2/000001.txt"),
        ("./kitti//a.txt", "kitti/a.txt"),
        ("dir/", "dir"),
    ],
)
def test_safe_names_are_normalised(name: str, path: str) -> None:
    assert str(member_path(name)) == path


@pytest.mark.parametrize(
    "name", ["", ".", "./", "../a", "a/../../b", "a/..", "/etc/passwd", "C:/x", "c:x", "a\\b", "a\x00b"]
)
def test_unsafe_names_are_refused(name: str) -> None:
    with pytest.raises(ArchiveError):
        member_path(name)
