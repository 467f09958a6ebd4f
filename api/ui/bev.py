"""The bird's-eye view of a LiDAR frame (an Argoverse 2 sweep) for the review page: what to draw.

A payload builder only (the review page's template owns the drawing): every cuboid's footprint as a
polygon, the flagged one marked, the sweep's points (a bounded, evenly spaced subset) when it has them,
and the flagged track's path in the world, brought into this sweep's ego frame with the ego poses, the
flagged sweep marked. All coordinates are ego-frame metres of the flagged sweep (x forwards, y left).
``bev_svg`` renders a payload as a standalone SVG (for a screenshot, or a page without scripts).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, Field

from gtqa.domain import Frame, Label
from gtqa.domain.lidar import is_lidar, lidar_cuboids

Points = NDArray[np.float64]
PointLoader = Callable[[str], Points | None]
MAX_POINTS = 20_000
PAGE_POINTS = 8_000  # on the review page: enough to see the scene, about 130 kB of SVG


class LidarView(BaseModel):
    """The review page's bird's-eye view of a LiDAR label's sweep: the SVG and what it holds."""

    svg: str = Field(description="the view as SVG (bev_svg), ego frame of the flagged sweep")
    cuboids: int = Field(description="the sweep's cuboids drawn")
    points: int = Field(description="the sweep's LiDAR points drawn (a bounded subset; 0 without points)")
    path: int = Field(description="the flagged track's sweeps on its drawn world path")
    flagged_cls: str | None = Field(description="the flagged cuboid's class")


def footprints(labels: Sequence[Label]) -> Points:
    """(N, 4, 2) footprint corners, ego frame, metres, counter-clockwise from front-left."""
    cub = lidar_cuboids(labels)
    c, s = np.cos(cub.yaw), np.sin(cub.yaw)
    hl, hw = cub.dims[:, 0] / 2, cub.dims[:, 1] / 2
    local = np.stack(
        [np.stack([hl, hw], 1), np.stack([-hl, hw], 1), np.stack([-hl, -hw], 1), np.stack([hl, -hw], 1)], 1
    )
    rot = np.stack([np.stack([c, -s], 1), np.stack([s, c], 1)], 1)  # (N, 2, 2)
    return np.asarray(np.einsum("nij,nkj->nki", rot, local) + cub.centre[:, None, :2], dtype=np.float64)


def track_path(flagged: Label, track_frames: Sequence[Frame]) -> list[dict[str, Any]]:
    """The flagged label's track across ``track_frames``, in the flagged sweep's ego frame."""
    a = flagged.attributes
    if not {"city_x", "ego_x", "ego_yaw"} <= a.keys():
        return []
    ex, ey, eyaw = float(a["ego_x"]), float(a["ego_y"]), float(a["ego_yaw"])
    c, s = np.cos(-eyaw), np.sin(-eyaw)
    path = []
    for frame in track_frames:
        for lab in frame.labels:
            if lab.track_id == flagged.track_id and "city_x" in lab.attributes:
                dx = float(lab.attributes["city_x"]) - ex
                dy = float(lab.attributes["city_y"]) - ey
                path.append(
                    {
                        "frame": frame.id,
                        "x": c * dx - s * dy,
                        "y": s * dx + c * dy,
                        "flagged": lab.id == flagged.id,
                    }
                )
    return path


def bev_payload(
    frame: Frame,
    flagged: str | None,
    track_frames: Sequence[Frame],
    load_points: PointLoader,
    max_points: int = MAX_POINTS,
) -> dict[str, Any]:
    labels = [lab for lab in frame.labels if is_lidar(lab)]
    corners = footprints(labels) if labels else np.zeros((0, 4, 2))
    cuboids = [
        {
            "label": lab.id,
            "cls": lab.cls,
            "track": lab.track_id,
            "corners": corners[i].round(3).tolist(),
            "flagged": lab.id == flagged,
        }
        for i, lab in enumerate(labels)
    ]
    sweep = next((str(lab.attributes["sweep"]) for lab in labels if "sweep" in lab.attributes), None)
    points = load_points(sweep) if sweep else None
    if points is not None and len(points) > max_points:
        points = points[np.linspace(0, len(points) - 1, max_points).astype(np.int64)]
    target = next((lab for lab in labels if lab.id == flagged), None)
    return {
        "frame": frame.id,
        "cuboids": cuboids,
        "points": [] if points is None else points[:, :2].round(2).tolist(),
        "path": track_path(target, track_frames) if target is not None else [],
    }


def lidar_view(
    frame: Frame, flagged: Label, track_frames: Sequence[Frame], load_points: PointLoader
) -> LidarView:
    """The flagged LiDAR label's sweep from above, as the review page embeds it."""
    view = bev_payload(frame, flagged.id, track_frames, load_points, max_points=PAGE_POINTS)
    return LidarView(
        svg=bev_svg(view), cuboids=len(view["cuboids"]), points=len(view["points"]),
        path=len(view["path"]), flagged_cls=flagged.cls,
    )  # fmt: skip


def bev_svg(payload: dict[str, Any], half_extent_m: float = 60.0, size_px: int = 800) -> str:
    """A standalone SVG of the payload: x forwards is up, y left is left. The points are one path of
    zero-length round-capped strokes (a dot each: a few bytes a point, not an element a point); the
    flagged sweep's place on the track is ringed, under the cuboids so the flagged one stays visible."""
    k = size_px / (2 * half_extent_m)

    def px(x: float, y: float) -> str:
        return f"{size_px / 2 - y * k:.1f},{size_px / 2 - x * k:.1f}"

    def dot(x: float, y: float) -> tuple[str, str]:
        u, v = px(x, y).split(",")
        return u, v

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size_px}" height="{size_px}"'
        f' viewBox="0 0 {size_px} {size_px}"><rect width="100%" height="100%" fill="#111"/>'
    ]  # a background rect, not a style attribute: the pages' CSP forbids inline styles
    if payload["points"]:
        d = "".join(f"M{px(x, y)}h0" for x, y in payload["points"])
        parts.append(
            f'<path d="{d}" stroke="#8a8a8a" stroke-width="1.4" stroke-linecap="round" data-role="points"'
            f' data-count="{len(payload["points"])}"/>'
        )
    if payload["path"]:
        line = " ".join(px(p["x"], p["y"]) for p in payload["path"])
        parts.append(
            f'<polyline points="{line}" fill="none" stroke="#ffcc00" stroke-width="1.5" data-role="track"/>'
        )
        for p in payload["path"]:
            if p["flagged"]:
                u, v = dot(p["x"], p["y"])
                parts.append(
                    f'<circle cx="{u}" cy="{v}" r="10" fill="none" stroke="#ffcc00" stroke-width="2"'
                    f' data-role="flagged-sweep" data-frame="{escape(str(p["frame"]))}"/>'
                )
    for c in sorted(payload["cuboids"], key=lambda c: bool(c["flagged"])):  # the flagged one on top
        colour, width = ("#ff3b30", 3) if c["flagged"] else ("#4cd964", 1)
        pts = " ".join(px(x, y) for x, y in c["corners"])
        parts.append(
            f'<polygon points="{pts}" fill="none" stroke="{colour}" stroke-width="{width}"'
            f' data-label="{escape(str(c["label"]))}"/>'
        )
    parts.append(f'<circle cx="{size_px / 2}" cy="{size_px / 2}" r="4" fill="#0af" data-role="ego"/>')
    return "".join(parts) + "</svg>"
