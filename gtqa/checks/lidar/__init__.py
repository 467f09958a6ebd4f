"""Checks of LiDAR cuboid tracks (Argoverse 2 style): points, world-frame motion, ground, tracks."""
