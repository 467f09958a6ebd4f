"""BDD100K detection JSON and Scalabel / BDD100K box-tracking JSON.

A file is a list of frames, or a Scalabel dataset ``{"frames": [...], "config": {...}}``; a folder
is every ``*.json`` in it (BDD100K ships one box-tracking file per video).

* **Frames**: an image frame's id is its ``name`` stem. A frame with a ``videoName`` is frame
  ``frameIndex`` of that sequence, id ``<videoName>/<frameIndex:06d>`` (without ``frameIndex``, its
  position among that video's frames, with a warning). A frame met twice is read once, its labels
  joined (with a warning). The image is ``images/<name>`` or ``images/<videoName>/<name>`` next to the
  JSON (no such folder means a labels-only review); its own size wins over the frame's ``size`` or
  ``config.imageSize`` (a warning when they differ).
* **Labels**: those with a ``box2d {x1, y1, x2, y2}`` (pixels); others (lanes, drivable areas, other
  polygons) are not boxes and are not read (one warning per file counts them). Class = ``category``.
* **Label ids**: in image frames, the label's ``id`` when every image label of the dataset has a
  distinct one (BDD100K detection JSON), else ``<frame id>:<id>``. In video frames, ids repeat across
  frames by design (the id *is* the track identity), so the label id is ``<videoName>/<frameIndex:06d>:<id>``.
  A label without an id uses ``#<position in the frame>`` as its id. Whenever the label id is not the
  raw id, the raw id is kept in ``attributes["source_id"]``. An id claimed twice in one frame keeps
  both labels, the second as ``…#2`` (a warning: two boxes claiming one track in a frame is a defect).
* **Tracks** (video frames only): ``track_id`` is ``int(id)`` when every id of that video is a decimal
  number (BDD100K's ``"00091078"``), else the order of first appearance of the id in the video
  (by frame index, then label order), from 0. The ints are stable for a given file; what round-trips
  through the writer is the identity (which labels share a track) and the raw ids.
* **Attributes**: the label's scalar ``attributes`` are kept raw; boolean ``occluded`` also sets
  occlusion 1/0, boolean ``truncated`` truncation 1.0/0.0.
* **box3d** (Scalabel: ``location`` is the box *centre* in camera coordinates, ``dimension`` is
  ``[h, w, l]`` in metres, ``orientation`` ``[rx, ry, rz]`` in radians, ``alpha``) becomes a Cuboid3D
  with ``y = location.y + h / 2`` (gtqa's location is the bottom-face centre, as KITTI's; rounded to
  1e-6 m so a written cuboid reads back the same), ``rotation_y
  = orientation[1]`` (roll and pitch are not modelled) and ``Label.alpha`` (``alpha <= -10`` is unknown).

Writing (``write_bdd``) gives each label its raw id back; in a video frame the id written is the raw id
most labels of that track carry (so a corrected track id moves a label onto the track it joined), and
a label on no track (a DontCare region from KITTI tracking) is written without an id.

A malformed frame or label is skipped and reported with the file, its JSON path and its line; the
rest of the file is read. ``score`` on labels makes a file a prediction source (``read_bdd_predictions``).
"""

from gtqa.formats.bdd.ids import SOURCE_ID, label_ids
from gtqa.formats.bdd.read import read_bdd, read_bdd_predictions
from gtqa.formats.bdd.write import write_bdd

__all__ = ["SOURCE_ID", "label_ids", "read_bdd", "read_bdd_predictions", "write_bdd"]
