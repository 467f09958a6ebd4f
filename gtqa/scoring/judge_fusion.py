"""Fusing the LLM judge's verdict into a heuristic defect probability.

The judge is treated as a noisy witness of known accuracy ``a`` (measured on past audits; a setting until
then): a "defect" verdict multiplies the odds of a defect by ``a / (1 - a)``, a "not_defect" verdict
divides them by it, "unsure" or no answer leaves them alone. The judge's own stated confidence ``c``
shrinks that accuracy towards a coin flip (``a' = 0.5 + (a - 0.5) * c``), so a hesitant verdict moves
the score less. With ``a = 0.5`` the judge cannot move anything, whatever it says.
"""

from __future__ import annotations

import math

from gtqa.domain import Finding, JudgeOpinion, Verdict
from gtqa.scoring.priors import logit, sigmoid


def judge_likelihood_ratio(opinion: JudgeOpinion, accuracy: float) -> float:
    if opinion.verdict not in (Verdict.defect, Verdict.not_defect):
        return 1.0
    confidence = 1.0 if opinion.confidence is None else opinion.confidence
    effective = min(max(0.5 + (accuracy - 0.5) * confidence, 1e-3), 1 - 1e-3)
    ratio = effective / (1.0 - effective)
    return ratio if opinion.verdict == Verdict.defect else 1.0 / ratio


def fuse_judge(finding: Finding, opinion: JudgeOpinion, *, accuracy: float) -> Finding:
    """The finding with the judge's opinion attached and its score updated (the heuristic score kept)."""
    heuristic = finding.score if finding.heuristic_score is None else finding.heuristic_score
    ratio = judge_likelihood_ratio(opinion, accuracy)
    score = sigmoid(logit(heuristic) + math.log(ratio)) if ratio != 1.0 else heuristic
    return finding.model_copy(
        update={
            "score": score,
            "heuristic_score": heuristic,
            "judge": opinion,
            "needs_human": opinion.verdict is None,
        }
    )
