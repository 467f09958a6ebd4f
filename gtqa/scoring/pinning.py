"""What a calibration depends on in its spec: the dependency fingerprint it is pinned to.

A calibration reads the evidence of some checks (their features, and the priors that map their raw
strength to the ``prior`` feature) on labels of some classes. It depends on the parts of the spec's
rules that shape that evidence, and on nothing else:

* ``priors`` and ``thresholds``: only the entries of the checks whose evidence it read (a prior or a
  threshold for another check, e.g. one added since, leaves it applying);
* rules with per-class parameters (``taxonomy``, ``size_limits``, ``dimensions_3d``,
  ``required_attributes``): each class it saw, and the rule's other parameters (a class it never saw
  may be added or edited);
* every other rule kind that checks read (``dontcare``, ``truncation``, ``occlusion``): all of it;
* never ``severity`` (it orders the queue, after scoring) nor ``judge`` rules (they ask the judge).

A rule's prose, its section and its line are not parameters: editing them keeps the calibration. The
fingerprint is one content hash per part (``priors:duplicate``, ``dimensions_3d:Car``,
``dimensions_3d``), so a mismatch names the rule and the part that changed. A rule of a kind the spec
does not hold counts as its documented defaults, so writing the defaults out changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from gtqa.spec import CompiledSpec, content_hash
from gtqa.spec.rules import (
    Dimensions3D,
    DontCare,
    Occlusion,
    RequiredAttributes,
    SizeLimits,
    Taxonomy,
    Truncation,
)

# Rule kinds whose parameters are per class, under a ``classes`` mapping.
_PER_CLASS: tuple[type[BaseModel], ...] = (Taxonomy, SizeLimits, Dimensions3D, RequiredAttributes)
_WHOLE: tuple[type[BaseModel], ...] = (DontCare, Truncation, Occlusion)


class SpecPin(BaseModel):
    """The parts of a spec a calibration was fitted under: what it read, and a hash per part."""

    model_config = ConfigDict(frozen=True)

    checks: tuple[str, ...] = Field(description="checks whose evidence the calibration read")
    classes: tuple[str, ...] = Field(description="label classes of the flags it was fitted on")
    parts: dict[str, str] = Field(description="'<kind>' or '<kind>:<check or class>' -> content hash")
    rule_ids: dict[str, str] = Field(default_factory=dict, description="rule kind -> rule id, when fitted")

    @classmethod
    def of(cls, spec: CompiledSpec, checks: Iterable[str], classes: Iterable[str]) -> SpecPin:
        read, seen = tuple(sorted(set(checks))), tuple(sorted(set(classes)))
        return cls(checks=read, classes=seen, parts=_parts(spec, read, seen), rule_ids=_rule_ids(spec))

    def changes(self, spec: CompiledSpec) -> list[str]:
        """What changed in ``spec`` that the calibration depends on, a phrase per part (none: it applies)."""
        now = _parts(spec, self.checks, self.classes)
        changed = [key for key in sorted(self.parts) if now.get(key) != self.parts[key]]
        return [_describe(key, spec, self.rule_ids) for key in changed]


def mismatch_message(changes: Sequence[str]) -> str:
    """One sentence naming what changed (the rule, and the check or class of it)."""
    return "the spec changed what it depends on: " + "; ".join(changes)


def _parts(spec: CompiledSpec, checks: Sequence[str], classes: Sequence[str]) -> dict[str, str]:
    priors, thresholds = spec.priors, spec.thresholds
    out = {f"priors:{c}": content_hash(priors.for_check(c).model_dump(mode="json")) for c in checks}
    out |= {f"thresholds:{c}": content_hash(thresholds.checks.get(c, {})) for c in checks}
    for model in _PER_CLASS:
        out |= _per_class(_rule(spec, model), classes)
    for model in _WHOLE:
        params = _rule(spec, model)
        out[str(params["kind"])] = content_hash(params)
    return out


def _rule(spec: CompiledSpec, model: type[BaseModel]) -> dict[str, Any]:
    """The spec's rule of this kind, or the kind's defaults (the typed accessors' fallbacks)."""
    kind = str(model.model_fields["kind"].default)
    params: BaseModel = getattr(spec, kind)
    return params.model_dump(mode="json")


def _per_class(params: Mapping[str, Any], classes: Sequence[str]) -> dict[str, str]:
    kind, per_class = str(params["kind"]), params.get("classes", {})
    rest = {k: v for k, v in params.items() if k != "classes"}
    out = {kind: content_hash(rest)}
    out |= {f"{kind}:{c}": content_hash(per_class.get(c)) for c in classes}
    return out


def _rule_ids(spec: CompiledSpec) -> dict[str, str]:
    return {r.kind: r.id for r in spec.rules.values() if r.kind not in ("judge", "severity")}


def _describe(key: str, spec: CompiledSpec, fitted_ids: Mapping[str, str]) -> str:
    kind, _, part = key.partition(":")
    rule_id = _rule_ids(spec).get(kind) or fitted_ids.get(kind) or kind
    if not part:
        return f"rule {rule_id} ({kind})"
    what = "check" if kind in ("priors", "thresholds") else "class"
    return f"rule {rule_id} ({kind}) for {what} {part}"
