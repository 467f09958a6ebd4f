"""3D checks: cuboid dimensions, 2D-3D consistency through the calibration, ground-plane geometry."""
