"""KITTI calibration files (``calib/<frame>.txt`` or ``calib/<sequence>.txt``)."""

from __future__ import annotations

from pathlib import Path

from gtqa.domain import Calibration, InputFormatError, InputProblem
from gtqa.formats._text import iter_lines, parse_floats

# The raw KITTI tracking names map onto the object benchmark's names.
_ALIASES = {"R_rect": "R0_rect", "Tr_velo_cam": "Tr_velo_to_cam"}
_SIZES = {"P2": 12, "R0_rect": 9, "Tr_velo_to_cam": 12}


def read_calib(path: Path, problems: list[InputProblem]) -> Calibration | None:
    """Read a calib file; malformed lines become problems, a file without P2 gives None."""
    values: dict[str, tuple[float, ...]] = {}
    for index, text in iter_lines(path, problems):
        key, sep, rest = text.partition(":")
        if not sep:
            key, _, rest = text.partition(" ")
        key = _ALIASES.get(key.strip(), key.strip())
        if key not in _SIZES:
            continue
        tokens = rest.split()
        try:
            if len(tokens) != _SIZES[key]:
                raise InputFormatError(
                    str(path), index + 1, f"{key} needs {_SIZES[key]} numbers, found {len(tokens)}"
                )
            values[key] = tuple(parse_floats(tokens, path, index, [key] * len(tokens)))
        except InputFormatError as exc:
            problems.append(exc.problem)
    if "P2" not in values:
        problems.append(InputProblem(path=str(path), message="calibration has no valid P2 line"))
        return None
    return Calibration(
        P2=values["P2"], R0_rect=values.get("R0_rect"), Tr_velo_to_cam=values.get("Tr_velo_to_cam")
    )
