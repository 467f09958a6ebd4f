"""COCO instances JSON (ground truth) and COCO results JSON (predictions).

A dataset is one ``.json`` file, or every ``*.json`` of a folder (else of its ``annotations/`` folder).

* **Frames**: one per ``images[]`` entry. Frame id = the ``file_name`` stem; if two images of one file
  share a stem, every frame of that file takes its image id instead (a warning says so).
  ``Frame.index`` is the image id. Size from ``width``/``height``; when the image file is found and
  its real size differs, the real size wins (a warning says so). The image is ``file_name`` under an
  ``images/`` folder next to the JSON (or next to its ``annotations/`` folder); without that folder
  the review works from labels alone.
* **Video** (CocoVID, TAO): an image with ``video_id`` is frame ``frame_id`` (or ``frame_index``; else
  its position among that video's images) of the sequence named ``videos[].name`` (else the video
  id); its frame id is ``<sequence>/<index:06d>``, as for KITTI tracking.
* **Labels**: one per ``annotations[]`` entry; label id = ``str(id)``; class = the category ``name``;
  ``bbox`` ``[x, y, w, h]`` becomes ``Box2D(x, y, x + w, y + h)`` in pixels, the sums rounded to 1e-6 px
  so that corners written as a COCO box read back as the same floats (a negative size is kept, for the
  degenerate-box check to flag).
* **Crowd**: ``iscrowd: 1`` marks a region of many objects, the role KITTI's ``DontCare`` plays. By
  gtqa's reader-level convention it becomes class ``DontCare`` (the name the KITTI spec uses) with
  ``attributes {"iscrowd": True, "category": <its category name>}``; the writer turns it back.
* **Attributes**: the optional ``attributes`` object (CVAT's export) becomes ``Label.attributes``
  (scalars only; others are reported and left out, and kept by the writer). Booleans ``occluded`` and
  ``truncated`` there also set occlusion 1/0 and truncation 1.0/0.0.
* **Tracks**: ``track_id`` or ``instance_id`` (TAO, CocoVID), else ``attributes.track_id`` (CVAT),
  gives ``Label.track_id``; a negative id means none.
* **JSON labels carry no line**: ``Label.source`` names the file (line 0); the annotation id locates it.

A malformed image, category or annotation is skipped and reported with the file, its JSON path and
its line; the rest of the file is read. Label ids claimed twice are both kept, the second as ``id#2``.
"""

from gtqa.formats.coco.read import CROWD_KEYS, DONTCARE, corners, image_folders, images_folder, read_coco
from gtqa.formats.coco.results import read_coco_results
from gtqa.formats.coco.tables import CocoIds, coco_ids
from gtqa.formats.coco.write import category_name, write_coco

__all__ = [
    "CROWD_KEYS",
    "DONTCARE",
    "CocoIds",
    "category_name",
    "coco_ids",
    "corners",
    "image_folders",
    "images_folder",
    "read_coco",
    "read_coco_results",
    "write_coco",
]
