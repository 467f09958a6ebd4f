"""Turn a JudgeRequest into chat messages, keeping instructions and data apart.

The spec rules are trusted text (the spec author's) and go in verbatim. The label and the evidence are
untrusted: they are JSON-encoded into one ``<label_data>`` block, ASCII-only, with ``<``, ``>`` and ``&``
written as JSON ``\\u`` escapes, so no value can close the block, open another, or pass for a tag.
What the model must answer is fixed by ``response_format``, never by text.
"""

from __future__ import annotations

import json
from typing import Any

from openai.types.chat import ChatCompletionContentPartParam, ChatCompletionMessageParam

from agents.judge.models import JudgeRequest, RuleText
from agents.judge.prompts import Prompt

DATA_OPEN = "<label_data>"
DATA_CLOSE = "</label_data>"
_NEUTRALISE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


def data_json(request: JudgeRequest) -> str:
    """The untrusted part of a request as neutralised JSON (parses back to the same values)."""
    payload: dict[str, Any] = {"label": request.label.as_prompt_data()}
    if request.evidence is not None:
        payload["evidence"] = request.evidence.model_dump(mode="json")
    text = json.dumps(payload, ensure_ascii=True, sort_keys=True)
    # Outside strings JSON has no <, > or &, so escaping them everywhere only touches string contents.
    return text.translate(_NEUTRALISE)


def messages(prompt: Prompt, request: JudgeRequest) -> list[ChatCompletionMessageParam]:
    user_text = prompt.render_user(
        {
            "rules": "\n\n".join(_rule_block(r) for r in request.rules),
            "label_data": f"{DATA_OPEN}\n{data_json(request)}\n{DATA_CLOSE}",
            "image_note": _image_note(request),
        }
    )
    parts: list[ChatCompletionContentPartParam] = [{"type": "text", "text": user_text}]
    if request.image is not None:
        parts.append({"type": "image_url", "image_url": {"url": request.image.data_url, "detail": "high"}})
    return [{"role": "system", "content": prompt.system}, {"role": "user", "content": parts}]


def _rule_block(rule: RuleText) -> str:
    lines = [f'<spec_rule id="{rule.id}">', rule.prose]
    if rule.question:
        lines.append(f"\nQuestion: {rule.question}")
    if rule.issue_type:
        lines.append(f"Issue type when broken: {rule.issue_type.value}")
    lines.append("</spec_rule>")
    return "\n".join(lines)


def _image_note(request: JudgeRequest) -> str:
    image = request.image
    if image is None:
        return "No image is available for this label."
    x, y = image.origin
    return (
        f"The image crop follows ({image.width}x{image.height} px): its top-left corner is at ({x}, {y}) in"
        f" the full image and it is scaled by {image.scale:.3g}; the label's box is the green rectangle."
    )
