"""What an auditor sees of a queue item: the flag, the label, the frame around it, the rules cited."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session

from api.queries.findings import frame_findings
from api.schemas.queue import ItemContextOut, ItemOut, RuleText
from gtqa.domain import Frame
from gtqa.spec import CompiledSpec, Rule
from gtqa.storage import ItemContext, NotFoundError, batch_record, item_context, load_frames


def item_view(
    session: Session,
    item_id: int,
    spec_of: Callable[[str], CompiledSpec | None],
    image_url: str,
    *,
    frames: dict[str, Frame] | None = None,
) -> ItemContextOut:
    """``spec_of`` finds the job's spec by hash (None if it is gone: the rules are then left out). The
    frame read is left in ``frames`` (by its key), for a caller that shows more of it."""
    ctx = item_context(session, item_id)
    spec = spec_of(ctx.spec_hash)
    frame = item_frame(session, ctx)
    if frames is not None:
        frames[frame.id] = frame
    # A flag's finding is one of its job's findings in its frame: one query reads them all.
    found = frame_findings(session, ctx.item.job_id, frame.id)
    finding = next((f for f in found if f.id == ctx.item.finding_id), None)
    others = [f for f in found if f.id != ctx.item.finding_id]
    cited = finding.rule_ids if finding else ()
    rules = [RuleText(id=r.id, section=r.section, prose=r.prose) for r in _rules(spec, cited)]
    return ItemContextOut(
        item=ItemOut.of(ctx.item), dataset=ctx.dataset, spec_hash=ctx.spec_hash, finding=finding,
        label=ctx.label, neighbours=[lb for lb in frame.labels if lb.id != ctx.item.label_key],
        predictions=list(frame.predictions), frame_findings=others, rules=rules, width=frame.width,
        height=frame.height, image_url=image_url if frame.image else None,
    )  # fmt: skip


def item_frame(session: Session, ctx: ItemContext) -> Frame:
    return load_frames(session, ctx.item.batch_id, [ctx.item.frame_key])[0]


def item_image(session: Session, item_id: int) -> Path:
    """The image file of an item's frame, only if it lies inside its batch's source folder."""
    ctx = item_context(session, item_id)
    frame = item_frame(session, ctx)
    if frame.image is None:
        raise NotFoundError(f"frame {frame.id} has no image")
    source = Path(batch_record(session, ctx.item.batch_id).source_path).resolve()
    image = Path(frame.image).resolve()
    if not image.is_relative_to(source) or not image.is_file():
        raise NotFoundError(f"the image of frame {frame.id} is not available")
    return image


def _rules(spec: CompiledSpec | None, ids: tuple[str, ...]) -> list[Rule]:
    if spec is None:
        return []
    return [spec.rules[i] for i in ids if i in spec.rules]
