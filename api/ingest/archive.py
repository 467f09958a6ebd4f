"""Unpacking an uploaded dataset archive (.zip or .tar.gz) without trusting it.

A zip is refused on its central directory alone, before anything is written (``check_zip_directory``:
member count, declared total and per-member size, compression ratio); a tar.gz, which has no
directory, on each header as it streams in. Every member is checked before a byte of it is written:
a relative name inside the folder (no absolute path, drive letter, ``..`` or backslash), a regular file
or a folder (no symlink, hard link, device or FIFO), not encrypted, not a duplicate. Sizes are bounded
twice, by what the headers declare and by the bytes actually written (in all and per member), so an
archive that lies about its sizes (a zip bomb) stops at the limit. Nothing is extracted by the
libraries' own ``extractall``.
"""

from __future__ import annotations

import re
import shutil
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Literal

ArchiveKind = Literal["zip", "tar.gz"]
_DRIVE = re.compile(r"[A-Za-z]:")  # C:/x and C:x are absolute or drive-relative where Windows reads them
_CHUNK = 1 << 20


class ArchiveError(ValueError):
    """The archive is malformed or unsafe; nothing of it is kept."""


@dataclass(frozen=True)
class Limits:
    max_bytes: int  # total unpacked size
    max_members: int
    max_member_bytes: int  # one file, unpacked (Settings.max_member_bytes)
    max_ratio: float = 200.0  # unpacked / packed size of one member (above RATIO_FLOOR bytes)


RATIO_FLOOR = 1 << 20  # small members compress well legitimately (an empty label file, a header)


def sniff(path: Path) -> ArchiveKind | None:
    """The archive kind from its first bytes (never from the name a client gave it)."""
    with path.open("rb") as fh:
        head = fh.read(4)
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "zip"
    if head.startswith(b"\x1f\x8b"):
        return "tar.gz"
    return None


def extract(archive: Path, kind: ArchiveKind, dest: Path, limits: Limits) -> None:
    """Unpack into the empty folder ``dest``; on ``ArchiveError`` the caller removes ``dest``."""
    budget = _Budget(limits)
    try:
        if kind == "zip":
            _extract_zip(archive, dest, budget)
        else:
            _extract_tar(archive, dest, budget)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error, NotImplementedError) as exc:
        raise ArchiveError(f"not a readable {kind} archive: {exc}") from None
    except OSError as exc:  # gzip.BadGzipFile, names the file system refuses (too long …)
        raise ArchiveError(f"cannot unpack the {kind} archive: {exc.strerror or exc}") from None
    if budget.members == 0:
        raise ArchiveError("the archive is empty")


def dataset_root(folder: Path) -> Path:
    """The dataset folder in an unpacked archive: the one top-level folder if that is all there is
    (``kitti.zip`` holding ``kitti/label_2/…``), else the archive's root."""
    entries = [p for p in folder.iterdir() if not p.name.startswith("__MACOSX")]
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return folder


def member_path(name: str) -> PurePosixPath:
    """The safe relative path of a member name, or ``ArchiveError``."""
    if not name or "\x00" in name or "\\" in name:
        raise ArchiveError(f"unsafe member name {name!r} (empty, NUL or backslash)")
    path = PurePosixPath(name)
    if path.is_absolute() or _DRIVE.match(name):
        raise ArchiveError(f"unsafe member name {name!r}: absolute path")
    if ".." in path.parts:
        raise ArchiveError(f"unsafe member name {name!r}: path traversal")
    parts = [p for p in path.parts if p not in ("", ".")]
    if not parts:
        raise ArchiveError(f"unsafe member name {name!r}")
    return PurePosixPath(*parts)


class _Budget:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.members = 0
        self.declared = 0
        self.written = 0
        self.seen: set[PurePosixPath] = set()

    def admit(self, name: PurePosixPath, declared: int) -> None:
        self.members += 1
        self.declared += max(declared, 0)
        if self.members > self.limits.max_members:
            raise ArchiveError(f"more than {self.limits.max_members} members")
        if self.declared > self.limits.max_bytes:
            raise ArchiveError(f"unpacks to more than {self.limits.max_bytes} bytes")
        if name in self.seen:
            raise ArchiveError(f"member {name} appears twice")
        self.seen.add(name)

    def copy(self, source: IO[bytes], target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("xb") as out:
            size = 0
            for chunk in iter(lambda: source.read(_CHUNK), b""):
                self.written += len(chunk)
                size += len(chunk)
                if self.written > self.limits.max_bytes:  # the header lied: a bomb
                    raise ArchiveError(f"unpacks to more than {self.limits.max_bytes} bytes")
                if size > self.limits.max_member_bytes:
                    raise ArchiveError(f"a member unpacks to more than {self.limits.max_member_bytes} bytes")
                out.write(chunk)


def check_zip_directory(infos: list[zipfile.ZipInfo], limits: Limits) -> None:
    """Refuse a zip on its central directory alone, before anything is written: too many members,
    too large in all or in one member, or a member that claims to inflate too far (a bomb)."""
    if len(infos) > limits.max_members:
        raise ArchiveError(f"{len(infos)} members, more than {limits.max_members}")
    total = sum(max(i.file_size, 0) for i in infos)
    if total > limits.max_bytes:
        raise ArchiveError(f"declares {total} bytes unpacked, more than {limits.max_bytes}")
    for info in infos:
        _check_member(info.filename, info.file_size, info.compress_size, limits)


def _check_member(name: str, size: int, packed: int | None, limits: Limits) -> None:
    if size > limits.max_member_bytes:
        raise ArchiveError(f"member {name!r} is {size} bytes unpacked, more than {limits.max_member_bytes}")
    if packed is not None and size > RATIO_FLOOR and size / max(packed, 1) > limits.max_ratio:
        raise ArchiveError(
            f"member {name!r} inflates {size / max(packed, 1):.0f}x, more than {limits.max_ratio:.0f}x"
        )


def _extract_zip(archive: Path, dest: Path, budget: _Budget) -> None:
    with zipfile.ZipFile(archive) as zf:
        check_zip_directory(zf.infolist(), budget.limits)
        for info in zf.infolist():
            name = member_path(info.filename)
            mode = info.external_attr >> 16  # Unix mode; its file type is 0 when the zip says none
            if info.flag_bits & 0x1:
                raise ArchiveError(f"member {name} is encrypted")
            if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
                raise ArchiveError(f"member {name} is a {_kind_of(mode)}, not a file or folder")
            budget.admit(name, info.file_size)
            if info.is_dir():
                (dest / name).mkdir(parents=True, exist_ok=True)
                continue
            with zf.open(info) as source:
                budget.copy(source, dest / name)


def _extract_tar(archive: Path, dest: Path, budget: _Budget) -> None:
    with tarfile.open(archive, mode="r:gz") as tf:
        for member in _members(tf):
            name = member_path(member.name)
            if not (member.isreg() or member.isdir()):
                raise ArchiveError(f"member {name} is a {_tar_kind(member)}, not a file or folder")
            _check_member(str(name), member.size, None, budget.limits)  # a tar has no packed sizes
            budget.admit(name, member.size)
            if member.isdir():
                (dest / name).mkdir(parents=True, exist_ok=True)
                continue
            source = tf.extractfile(member)
            if source is None:
                raise ArchiveError(f"member {name} cannot be read")
            with source:
                budget.copy(source, dest / name)
        _drain(tf, budget)


def _drain(tf: tarfile.TarFile, budget: _Budget) -> None:
    """Read the compressed stream to its end (padding included, within the budget), so a truncated
    archive is an error even when its last member happened to be complete."""
    stream = tf.fileobj
    assert stream is not None
    for chunk in iter(lambda: stream.read(_CHUNK), b""):
        budget.written += len(chunk)
        if budget.written > budget.limits.max_bytes:
            raise ArchiveError(f"unpacks to more than {budget.limits.max_bytes} bytes")


def _members(tf: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    # Iterating (not getmembers()) reads headers one at a time: a huge index never sits in memory.
    member = tf.next()
    while member is not None:
        yield member
        member = tf.next()


def _kind_of(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "symlink"
    return "special file"


def _tar_kind(member: tarfile.TarInfo) -> str:
    if member.issym():
        return "symlink"
    if member.islnk():
        return "hard link"
    return "special file"


def remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
