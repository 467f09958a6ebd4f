"""gtqa evals: measuring the reviewer, never testing it (see README, "Evals for spec authors").

``harness`` replays the reviewer on past human audits and compares two runs (``gtqa evals run`` /
``compare`` / ``runs``); ``inject`` makes corrupted copies whose every defect is known and scores a
review of them (``gtqa evals inject`` / ``score``). Beside them: ``recheck`` scores against the KITTI
crowd re-check, ``items`` groups flags into review items, ``ranking`` holds the ranking metrics (AP,
P@k, R@k) both use, ``calibration_data`` assembles what ``gtqa calibrate`` fits on, ``suggest`` picks
what to audit next, ``report`` prints scores, and ``cli`` is the ``gtqa evals`` command group.
"""
