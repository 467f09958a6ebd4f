"""Turning check evidence into calibrated defect probabilities, one flag per defect, and priorities."""

from gtqa.scoring.fuse import fuse, mark_followers, review_order
from gtqa.scoring.priority import priority
from gtqa.scoring.priors import apply_priors, prior_probability

__all__ = ["apply_priors", "fuse", "mark_followers", "prior_probability", "priority", "review_order"]
