"""Defect injection: corrupted copies of a dataset whose every defect is known, and scoring a review of
such a copy against them (``gtqa evals inject`` / ``gtqa evals score``).

``corrupt`` writes the copy and its manifest (``inject_folder``); ``families`` are the kinds of defect
and how each corrupts a label, with the seeded box and cuboid edits of ``perturb``; ``manifest`` is the
file that lists the defects; ``score`` matches a findings list against it. The eval harness (replaying
the reviewer on past human audits) is ``evals.harness``.
"""

from evals.inject.corrupt import InjectionError, inject, inject_folder, write_injection

__all__ = ["InjectionError", "inject", "inject_folder", "write_injection"]
