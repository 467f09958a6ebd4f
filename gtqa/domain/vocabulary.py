"""The vocabularies that cross layers, as enums: compared by member, never by string value.

``Verdict`` is an auditor's (and the judge's) answer on a flag; ``JudgeFailure`` says why a judge call
ended in "needs human"; ``Requirement`` is what a check needs of the data (and what data offers);
``CheckFamily`` groups the checks (the folders of ``gtqa/checks``).
"""

from __future__ import annotations

from enum import StrEnum


class Verdict(StrEnum):
    defect = "defect"  # the auditor confirmed a real defect
    not_defect = "not_defect"  # the flag (or spot-checked label) is fine
    unsure = "unsure"


class JudgeFailure(StrEnum):
    """Why a request ended in needs_human. Infrastructure failures are counted apart from answers."""

    disabled = "disabled"  # no endpoint configured
    budget = "budget"  # the run's call or cost budget is exhausted
    timeout = "timeout"
    connection = "connection"
    rate_limited = "rate_limited"  # 429 after every retry
    server_error = "server_error"  # 5xx after every retry
    api_error = "api_error"  # a non-retryable HTTP error (400, 401, 404 …)
    invalid_output = "invalid_output"  # not JSON, or JSON that does not match the schema
    refusal = "refusal"
    content_filter = "content_filter"
    truncated = "truncated"  # finish_reason "length"
    offline = "offline"  # an offline eval replay and the verdict is not in the cache


class Requirement(StrEnum):
    """What a check needs of the data; a check runs only on data offering all it requires."""

    predictions = "predictions"  # a detector's boxes beside the labels
    images = "images"  # the frames' pixels
    calib = "calib"  # camera calibration (projection matrices)
    cuboids = "cuboids"  # 3D boxes on the labels
    tracks = "tracks"  # track ids on the labels
    sequences = "sequences"  # frames ordered in sequences
    image_boxes = "image_boxes"  # 2D boxes in pixels (a LiDAR label's box is a footprint in metres)
    lidar = "lidar"  # LiDAR cuboids with their stored interior point counts
    lidar_points = "lidar_points"  # the sweep's LiDAR points
    ground = "ground"  # the ground height under each cuboid


class CheckFamily(StrEnum):
    """The checks' families, one folder of ``gtqa/checks`` each."""

    geometry = "geometry"  # a label's 2D box and attributes against the spec's written rules
    model = "model"  # labels against a detector's predictions
    image = "image"  # a box against the image's pixels
    three_d = "three_d"  # 3D boxes: sizes, projection, depth
    temporal = "temporal"  # tracks across the frames of a sequence
    lidar = "lidar"  # LiDAR cuboids against the sweep's points, the ego poses and the ground
