"""From an auditor's correction (a patch of the judged label) to the corrected gtqa Label."""

from __future__ import annotations

from pydantic import ValidationError

from api.schemas.queue import Correction
from gtqa.domain import Label
from gtqa.storage import DecisionError, ItemContext


def corrected_label(ctx: ItemContext, correction: Correction) -> Label:
    """The judged label with the correction's fields replaced (its id and frame kept), or for a missing
    object a new label, which needs ``cls`` and ``box``; ``DecisionError`` (422) otherwise."""
    patch = correction.patch()
    if ctx.label is not None:
        base = ctx.label.model_dump(exclude={"source"})
    elif "cls" in patch and "box" in patch:
        base = {"id": f"{ctx.item.frame_key}:added-{ctx.item.id}", "frame": ctx.item.frame_key}
    else:
        raise DecisionError("the correction of a missing object needs cls and box")
    try:
        return Label.model_validate({**base, **patch})
    except ValidationError as exc:
        raise DecisionError(f"invalid correction: {exc.errors()[0]['msg']}") from None
