"""Argoverse 2 sensor-dataset logs: LiDAR cuboid tracks in the ego frame, ego poses, sweeps, ground.

Read with pyarrow rather than the ``av2`` package: av2 0.3.6 requires torch, kornia, numba, polars,
pyproj and more to import, for what amounts to reading four feather files and one raster here.
"""

from gtqa.formats.av2._tables import TableError, read_points
from gtqa.formats.av2.reader import is_log, read_av2
from gtqa.formats.av2.writer import write_av2

__all__ = ["TableError", "is_log", "read_av2", "read_points", "write_av2"]
