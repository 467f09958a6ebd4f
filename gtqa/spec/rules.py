"""The rule kinds a spec may contain, each a pydantic model of its parameters.

Units: pixels for image sizes, metres for 3D dimensions, fractions in [0, 1] for areas and visibility.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

from gtqa.domain import IssueType, Severity

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
Pixels = Annotated[float, Field(ge=0.0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ClassDef(_Strict):
    severity: Severity = Severity.medium
    confusable: list[str] = Field(default_factory=list, description="classes often mistaken for this one")
    reviewed: bool = Field(default=True, description="False for region classes such as DontCare")
    aliases: list[str] = Field(
        default_factory=list,
        description="other spellings of this class in label files (e.g. 'car' for Car, 'person' for "
        "pedestrian): checks see such a label under this class's name",
    )

    @model_serializer(mode="wrap")
    def _without_empty_aliases(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """No ``aliases`` key when there are none, so a spec without aliases keeps the content hash it
        had before aliases existed (the shipped KITTI calibration is pinned to that hash)."""
        data: dict[str, Any] = handler(self)
        if not self.aliases:
            data.pop("aliases", None)
        return data


class Taxonomy(_Strict):
    kind: Literal["taxonomy"] = "taxonomy"
    classes: dict[str, ClassDef]
    dontcare: str | None = Field(default=None, description="the class that marks unlabelled regions")

    @model_validator(mode="after")
    def _aliases_name_one_class(self) -> Taxonomy:
        owner: dict[str, str] = {}
        for name, definition in self.classes.items():
            for alias in definition.aliases:
                if alias in self.classes or alias in owner:
                    other = alias if alias in self.classes else owner[alias]
                    raise ValueError(f"alias {alias!r} of {name!r} already names {other!r}")
                owner[alias] = name
        return self


class SizeLimit(_Strict):
    min_height_px: Pixels = 0.0
    min_width_px: Pixels = 0.0


class SizeLimits(_Strict):
    kind: Literal["size_limits"] = "size_limits"
    default: SizeLimit = SizeLimit()
    classes: dict[str, SizeLimit] = Field(default_factory=dict)

    def for_class(self, cls: str) -> SizeLimit:
        return self.classes.get(cls, self.default)


class DimsPrior(_Strict):
    h: Annotated[float, Field(gt=0)]
    w: Annotated[float, Field(gt=0)]
    l: Annotated[float, Field(gt=0)]  # noqa: E741
    tolerance: Annotated[float, Field(gt=0, description="|log(size / prior)| that scores 1.0")] = 0.7


class Dimensions3D(_Strict):
    kind: Literal["dimensions_3d"] = "dimensions_3d"
    classes: dict[str, DimsPrior]


# A key of a label's free attributes (``Label.attributes``), e.g. BDD's ``occluded`` or ``truncated``.
# Not a label *field*: truncation, occlusion, alpha, cuboid and track_id are positional in KITTI, and
# None there means "unknown", which is never a defect.
AttributeName = str


class RequiredAttributes(_Strict):
    """Free-attribute keys every label of a class must carry (``default`` for unlisted classes)."""

    kind: Literal["required_attributes"] = "required_attributes"
    default: list[AttributeName] = Field(default_factory=list)
    classes: dict[str, list[AttributeName]] = Field(default_factory=dict)

    def for_class(self, cls: str) -> list[AttributeName]:
        return self.classes.get(cls, self.default)


class DontCare(_Strict):
    kind: Literal["dontcare"] = "dontcare"
    max_inside: Fraction = Field(default=0.5, description="share of a label's area that may lie in DontCare")
    ignore_proposals_inside: Fraction = 0.5


class Truncation(_Strict):
    kind: Literal["truncation"] = "truncation"
    border_margin_px: Pixels = 2.0
    min_when_touching: Fraction = Field(default=0.05, description="truncation expected at the border")
    max_when_inside: Fraction = Field(default=0.0, description="truncation allowed away from the border")


class Occlusion(_Strict):
    kind: Literal["occlusion"] = "occlusion"
    visible: dict[int, tuple[Fraction, Fraction]] = Field(
        description="occlusion level -> (min, max) visible share of the box"
    )


class Thresholds(_Strict):
    kind: Literal["thresholds"] = "thresholds"
    checks: dict[str, dict[str, Any]] = Field(default_factory=dict, description="check id -> params")


class Prior(_Strict):
    p_low: Fraction = Field(description="probability of a real defect when the check's raw score is 0+")
    p_high: Fraction = Field(description="probability of a real defect when the raw score is 1")


class Priors(_Strict):
    kind: Literal["priors"] = "priors"
    default: Prior = Prior(p_low=0.05, p_high=0.6)
    checks: dict[str, Prior] = Field(default_factory=dict)

    def for_check(self, check: str) -> Prior:
        return self.checks.get(check, self.default)


class Severities(_Strict):
    kind: Literal["severity"] = "severity"
    types: dict[IssueType, Severity] = Field(default_factory=dict)


class JudgeRule(_Strict):
    """A rule only a reader can apply (prose); the LLM judge is asked about labels it concerns."""

    kind: Literal["judge"] = "judge"
    applies_to: list[str] = Field(description="classes whose labels this rule concerns")
    issue_type: IssueType = IssueType.spec_violation
    question: str = Field(description="the yes/no question put to the judge, in the spec's own words")
    ask_when: Literal["flagged", "always"] = Field(
        default="flagged", description="flagged: only labels some check flagged; always: every such label"
    )


RuleParams = (
    Taxonomy
    | SizeLimits
    | Dimensions3D
    | RequiredAttributes
    | DontCare
    | Truncation
    | Occlusion
    | Thresholds
    | Priors
    | Severities
    | JudgeRule
)
KINDS: dict[str, type[BaseModel]] = {m.model_fields["kind"].default: m for m in get_args(RuleParams)}
# Kinds a spec has at most once (their parameters are global); judge rules may repeat.
SINGLETON_KINDS = frozenset(KINDS) - {"judge"}
