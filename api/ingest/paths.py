"""Paths a client names: resolved (symlinks followed) and kept inside a boundary folder."""

from __future__ import annotations

from pathlib import Path

from api.errors import ApiError


def resolve_under(boundary: Path, base: Path, name: str, what: str) -> Path:
    """``name`` (relative to ``base``, or absolute) resolved with its symlinks, refused unless it is
    inside ``boundary`` and exists. Containment is checked first, so nothing is said about whether a
    path outside the boundary exists."""
    if "\x00" in name:
        raise ApiError(422, "invalid_path", f"the {what} path contains a NUL character")
    try:
        resolved = (base / name).resolve()
        inside = resolved.is_relative_to(boundary)
        exists = inside and resolved.exists()
    except (OSError, RuntimeError) as exc:  # symlink loops, names too long
        raise ApiError(
            422,
            "invalid_path",
            f"the {what} {name!r} cannot be resolved: {getattr(exc, 'strerror', None) or exc}",
        ) from None
    if not inside:
        raise ApiError(422, "path_outside_root", f"the {what} {name!r} is outside the allowed folder")
    if not exists:
        raise ApiError(422, "no_such_path", f"the {what} {name!r} does not exist")
    return resolved


def check_links_inside(folder: Path, boundary: Path) -> None:
    """Refuse a dataset folder holding a symlink that leads out of ``boundary`` (a label file linked
    to /etc/passwd would otherwise be read and stored). Linked folders inside are searched too."""
    pending, visited = [folder], set()
    while pending:
        current = pending.pop()
        real = current.resolve()
        if real in visited:
            continue
        visited.add(real)
        for path in current.iterdir():
            if path.is_symlink() and not _inside(path, boundary):
                raise ApiError(
                    422, "path_outside_root", f"{path.relative_to(folder)} links outside the allowed folder"
                )
            if path.is_dir():
                pending.append(path)


def _inside(path: Path, boundary: Path) -> bool:
    try:
        return path.resolve(strict=True).is_relative_to(boundary)
    except (OSError, RuntimeError):
        return False
