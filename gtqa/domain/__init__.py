"""The domain model: frozen value types shared by every layer (see each module for units and frames)."""

from gtqa.domain.audits import BLIND_SOURCES, Audit, AuditSource, GoldAnswer
from gtqa.domain.dataset import (
    Dataset,
    InputFormatError,
    InputProblem,
    ProblemLevel,
    RecordKind,
    dropped_counts,
    dropped_summary,
)
from gtqa.domain.findings import Finding, IssueType, JudgeOpinion, Severity
from gtqa.domain.geometry import Box2D, Calibration, Cuboid3D
from gtqa.domain.labels import Frame, Label, Prediction, SourceRef
from gtqa.domain.stream import FrameStream
from gtqa.domain.vocabulary import CheckFamily, JudgeFailure, Requirement, Verdict

__all__ = [
    "BLIND_SOURCES",
    "Audit",
    "AuditSource",
    "Box2D",
    "Calibration",
    "CheckFamily",
    "Cuboid3D",
    "Dataset",
    "Finding",
    "Frame",
    "FrameStream",
    "GoldAnswer",
    "InputFormatError",
    "InputProblem",
    "IssueType",
    "JudgeFailure",
    "JudgeOpinion",
    "Label",
    "Prediction",
    "ProblemLevel",
    "RecordKind",
    "Requirement",
    "Severity",
    "SourceRef",
    "Verdict",
    "dropped_counts",
    "dropped_summary",
]
